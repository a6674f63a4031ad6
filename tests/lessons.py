"""Running a lesson as a learner would, and what every lesson must show: for test_workshop and test_workshop_vpi."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from raiden_lab import workshop

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
OUTPUT = ROOT / "test-output"
CHECK_CALL = re.compile(r"""workshop\.check\(\s*["']([\w.]+)["']""")


def lesson_file(name: str) -> Path:
    """The notebook of a lesson, in its folder (``notebooks/02-monte-carlo-pi/02-monte-carlo-pi.ipynb``)."""
    return NOTEBOOKS / name.removesuffix(".ipynb") / name


def cell_text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.data.get("text/plain", ""))
        elif o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
    return "".join(out)


def run_lesson(raiden, name: str, cwd: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run every cell, with each solution loaded into its cell first: as a learner who asked for all of them."""
    nb = nbformat.read(lesson_file(name), as_version=4)
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            cell.source = workshop.solution(cell.source.split()[-1])
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb, time.perf_counter() - start


def assert_lesson_taught(name: str, nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        text = cell_text(cell)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in tags:
            assert errors, f"{name}: {cell.source[:60]!r} was meant to show an error"
            continue
        assert not errors, f"{name}: {cell.source[:60]!r} raised {cell_text(cell)[-300:]}"
        for exercise in CHECK_CALL.findall(cell.source):
            if "exercise" in tags:  # the exercise as given, unanswered: a cross, and no hint before a first try
                assert f"✘ {exercise}: no answer yet" in text and "Hint" not in text, (name, text)
            elif "solution" in tags:  # the solution, loaded on request, passes its check
                assert f"✔ {exercise}: right" in text, (name, text)
        assert "✘" not in text or "exercise" in tags, (name, cell.source[:60], text)


def save_run(name: str, nb: nbformat.NotebookNode) -> Path:
    """Keep a lesson as it ran on the laptop cluster, outputs and all: ``make site-from-tests`` puts it in the site."""
    folder = OUTPUT / "lessons"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def record_time(name: str, seconds: float, where: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "lesson-times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times.setdefault(where, {})[name] = round(seconds, 1)
    path.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
