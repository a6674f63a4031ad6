"""Sphinx configuration: the documentation site, built by `make docs` (MyST Markdown, the Furo theme)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from raiden_lab import __version__  # noqa: E402

project = "Raiden Lab"
copyright = "2026, the Raiden Lab developers"
release = version = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "Raiden Lab"
html_static_path = ["_static"]
