"""What the site shows from the tests' own runs: the lessons with their outputs, the browser tests' screenshots.

``make site-from-tests`` (after ``make test``, or the lesson and browser tests alone) brings both in:

- ``lessons``: the lesson tests keep each lesson as it ran on the laptop cluster in
  ``test-output/lessons/``; this writes ``docs/lessons/NN-name.md`` and the figures beside it. A page is
  the lesson's cells in order: its text as written, its code as it ran (a solution cell shows the
  solution ``%raiden solution`` loads), and what each cell printed or drew. The docs test fails when a
  page's code is no longer its lesson's (``code_blocks`` against ``lesson_code``).
- ``screens``: every ``_static/screens/NAME.png`` a page shows is copied from ``test-output/NAME.png``,
  where the browser tests save their screenshots; the docs test fails on a page showing a screenshot no
  test takes.

    python docs/fromtests.py lessons test-output/lessons docs/lessons
    python docs/fromtests.py screens test-output docs
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import nbformat

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FENCE = "```"
CODE = re.compile(r"^```ipython3\n(.*?)^```$", re.S | re.M)


def lesson_code(notebook: Path) -> list[str]:
    """The code of a lesson as it runs with every solution loaded (what a page shows)."""
    from raiden_lab import workshop

    nb = nbformat.read(notebook, as_version=4)
    code = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if "solution" in cell.metadata.get("tags", []):
            source = workshop.solution(source.split()[-1])
        code.append(source.rstrip("\n"))
    return code


def code_blocks(page: Path) -> list[str]:
    """The code blocks of a lesson's page, in order."""
    return [block.rstrip("\n") for block in CODE.findall(page.read_text())]


def _fenced(kind: str, text: str) -> str:
    fence = FENCE
    while fence in text:  # a block that holds ``` itself
        fence += "`"
    return f"{fence}{kind}\n{text.rstrip(chr(10))}\n{fence}\n"


def render(nb: nbformat.NotebookNode, stem: str, images: Path) -> str:
    """A lesson that ran, as MyST Markdown; its figures written into ``images`` as ``STEM-N.png``."""
    parts = [
        f"<!-- made by docs/fromtests.py from test-output/lessons/{stem}.ipynb (make site-from-tests); do not edit -->\n"
    ]
    figure = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.rstrip("\n") + "\n")
            continue
        if cell.cell_type != "code":
            continue
        parts.append(_fenced("ipython3", cell.source))
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(_fenced("text", ANSI.sub("", out.text)))
            elif out.output_type == "error":
                parts.append(_fenced("text", ANSI.sub("", "\n".join(out.traceback))))
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                if "image/png" in data:
                    figure += 1
                    name = f"{stem}-{figure}.png"
                    (images / name).write_bytes(base64.b64decode(data["image/png"]))
                    parts.append(f"![a figure the cell drew]({images.name}/{name})\n")
                elif "application/vnd.jupyter.widget-view+json" in data:
                    parts.append("*(a live widget in JupyterLab)*\n")
                elif "text/plain" in data:
                    parts.append(_fenced("text", ANSI.sub("", data["text/plain"])))
    return "\n".join(parts)


SCREEN = re.compile(r"_static/screens/([\w.-]+\.png)")


def screens_shown(docs: Path) -> set[str]:
    """The screenshots the pages show (``_static/screens/NAME.png``)."""
    return {name for page in docs.rglob("*.md") for name in SCREEN.findall(page.read_text())}


def screens(source: Path, docs: Path) -> int:
    folder = docs / "_static" / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [name for name in sorted(screens_shown(docs)) if not (source / name).is_file()]
    if missing:
        print(f"{source}: no {', '.join(missing)}; run the browser tests first (make test)")
        return 2
    for name in sorted(screens_shown(docs)):
        (folder / name).write_bytes((source / name).read_bytes())
        print(folder / name)
    return 0


def lessons(source: Path, target: Path) -> int:
    ran = sorted(source.glob("*.ipynb"))
    if not ran:
        print(
            f"{source}: no lessons that ran; run the lesson tests first (make test, or pytest tests/test_workshop.py)"
        )
        return 2
    images = target / "img"
    images.mkdir(parents=True, exist_ok=True)
    for old in images.glob("*.png"):
        old.unlink()
    for notebook in ran:
        nb = nbformat.read(notebook, as_version=4)
        (target / f"{notebook.stem}.md").write_text(render(nb, notebook.stem, images))
        print(f"{target / notebook.stem}.md")
    return 0


if __name__ == "__main__":
    what, source, target = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    sys.exit({"lessons": lessons, "screens": screens}[what](source, target))
