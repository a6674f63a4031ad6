"""Blocks of a page made from the code: ``<!-- KEY -->`` (or ``<!-- KEY:ARG -->``) ... ``<!-- /KEY -->``.

The docs' settings tables, the command's reference, the REST routes and the guide's lessons are such
blocks; each maker's ``python -m`` rewrites them (``rewrite``), and the docs tests compare a page
with ``fill`` of itself, so a stale block fails them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path


def fill(text: str, key: str, make: Callable[[str | None], str]) -> str:
    """``text`` with every ``KEY`` block's body replaced by ``make(ARG)`` (ARG None for ``<!-- KEY -->``)."""
    block = re.compile(rf"(<!-- {re.escape(key)}(?::(\S+))? -->\n)(.*?)(<!-- /{re.escape(key)} -->)", re.S)
    return block.sub(lambda m: f"{m.group(1)}{make(m.group(2))}{m.group(4)}", text)


def rewrite(render: Callable[[str], str], what: str, argv: list[str] | None = None) -> int:
    """Each page named on the command line, its blocks made again; says which ones changed."""
    for name in argv if argv is not None else sys.argv[1:]:
        page = Path(name)
        text = page.read_text()
        if (new := render(text)) != text:
            page.write_text(new)
            print(f"{page}: {what} written")
    return 0
