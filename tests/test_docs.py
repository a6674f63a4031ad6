"""The documentation site: it builds with no warning, its quick start runs, its inventory table is complete.

`make docs` runs Sphinx with `-W`; here the same build, once as it is and once with a broken
link put in (which must fail it), then the quick start's Python blocks and the README's, run
in a real kernel against a real local cluster, as a newcomer would paste them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from raiden_lab.classroom.settings import CLASS_KEYS
from raiden_lab.config import inventory, power
from raiden_lab.launchers.mpi import MPILauncher
from raiden_lab.launchers.slurm import SlurmLauncher

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _build(source: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_docs_build_with_no_warning_and_a_broken_link_fails_them(tmp_path) -> None:
    pytest.importorskip("sphinx", reason="the docs need sphinx (pip install -e '.[docs]')")
    built = _build(DOCS, tmp_path / "html")
    assert built.returncode == 0 and built.stderr == "", built.stderr
    pages = {p.stem for p in (tmp_path / "html").glob("*.html")}
    wanted = {"index", "quickstart", "pis", "inventory", "notebooks", "panel", "launchers", "security", "class"}
    assert wanted | {"operations", "architecture", "contributing", "changelog"} <= pages, pages
    # the check can fail: a link to a page that does not exist is a warning, so an error
    repo = tmp_path / "repo"  # the docs and what they include, with one link broken
    broken = repo / "docs"
    shutil.copytree(DOCS, broken, ignore=shutil.ignore_patterns("_build"))
    for name in ("CONTRIBUTING.md", "CHANGELOG.md", "raiden_lab/config/example.toml"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, repo / name)
    (broken / "pis.md").write_text((broken / "pis.md").read_text() + "\nSee [the wiring](wiring.md).\n")
    failed = _build(broken, tmp_path / "broken-html")
    warnings = [line for line in failed.stderr.splitlines() if "WARNING" in line]
    assert failed.returncode != 0 and len(warnings) == 1 and "wiring" in warnings[0], failed.stderr


def test_every_inventory_key_is_in_the_docs_table() -> None:
    text = (DOCS / "inventory.md").read_text()
    rows = "\n".join(line for line in text.splitlines() if line.startswith("| `"))
    named = set(re.findall(r"`([a-z_]+)`", rows))
    keys = {
        "cluster": set(inventory.CLUSTER_KEYS),
        "nodes": set(inventory.NODE_KEYS) | set(power.NODE_KEYS),
        "class": set(CLASS_KEYS),
        "mpi": set(MPILauncher.settings_keys()),
        "slurm": set(SlurmLauncher.settings_keys()),
    }
    for table, wanted in keys.items():
        assert wanted <= named, f"docs/inventory.md lacks [{table}] keys {sorted(wanted - named)}"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_the_quick_start_runs_as_written(raiden, monkeypatch) -> None:
    """Every Python block of the quick start and the README, in order, in one real kernel, on a local cluster."""
    blocks = _python_blocks(DOCS / "quickstart.md") + _python_blocks(ROOT / "README.md")
    assert len(blocks) >= 4, blocks
    assert raiden("up").code == 0
    try:
        monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(b) for b in blocks])
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(raiden.cwd)}}
        ).execute()
        out = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
        assert "<RaidenCluster 'local':" in out and "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in out, out
    finally:
        raiden("down")
