"""The wheel a user installs: the prebuilt lab extension, the server extension's config, the lessons, the corpus."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_everything_a_user_needs_without_node(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("raiden_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    labext = f"{data}/data/share/jupyter/labextensions/raiden-lab"
    assert f"{labext}/package.json" in names
    assert f"{labext}/install.json" in names
    assert any(n.startswith(f"{labext}/static/remoteEntry.") for n in names)
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/raiden_lab.json" in names
    lessons = sorted(
        n.rsplit("/", 1)[1] for n in names if n.startswith("raiden_lab/workshop/lessons/") and n.endswith(".ipynb")
    )
    assert lessons == sorted(p.name for p in (ROOT / "notebooks").glob("*/*.ipynb"))
    assert "raiden_lab/workshop/lessons/README.md" in names
    assert "raiden_lab/workshop/corpus/GPL-3.txt" in names
    # every lesson's folder: its declaration and every exercise's solution (`%raiden solution ID`); lesson 05's
    # recorded run
    from raiden_lab.operations.lessons import catalog

    for found in catalog():
        where = f"raiden_lab/workshop/lessons/{found.folder.name}"
        assert f"{where}/lesson.py" in names
        assert {f"{where}/solutions/{exercise}.ipy" for exercise in found.exercises} <= names
    assert not any("__pycache__" in n for n in names)
    assert "raiden_lab/workshop/data/scaling-16-engines.json" in names
    assert "raiden_lab/node/runner.py" in names
    assert "raiden_lab/config/example.toml" in names  # what `raiden init` writes
