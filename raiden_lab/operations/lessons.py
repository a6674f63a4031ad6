"""The workshop's lessons, each its own folder: the catalog, a copy for a learner, a solution.

A lesson is ``notebooks/NN-name/`` (inside the wheel, ``raiden_lab/workshop/lessons/NN-name/``):
the notebook ``NN-name.ipynb``, ``lesson.py`` (its title, what it teaches, its minutes in class, what
it needs, and ``EXERCISES``: each exercise's check and tiered hints) and ``solutions/ID.ipy``. The
catalog reads ``lesson.py``'s literals without running it, so the CLI (``raiden lab --workshop``),
the server's lesson routes and the guide's table (``python -m raiden_lab.operations.lessons
notebooks/README.md``) find a new folder with no other file changed; ``raiden_lab.workshop`` loads
the checks themselves when a notebook calls one.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..generated import fill, rewrite

WORKSHOP_FILES = Path(__file__).resolve().parent.parent / "workshop"  # lessons/ inside a wheel
WORKSHOP_DIR = "raiden-workshop"  # where `raiden lab --workshop` and the launcher tiles put copies of lessons
FOLDER_RE = re.compile(r"^[0-9]{2}-[a-z0-9-]{1,64}$")
DECLARED = ("TITLE", "TEACHES", "MINUTES", "RUN_TIME", "NEEDS")


@dataclass(frozen=True)
class Lesson:
    folder: Path
    title: str
    teaches: str
    minutes: int
    run_time: str
    needs: str
    exercises: tuple[str, ...]  # in the order lesson.py declares them
    seat_time: str = "-"  # RUN_TIME_SEAT: executed top to bottom in a student's seat on the virtual Pi cluster

    @property
    def number(self) -> str:
        return self.folder.name[:2]

    @property
    def file(self) -> str:
        """The notebook's file name, as a learner's copy is named."""
        return f"{self.folder.name}.ipynb"

    @property
    def notebook(self) -> Path:
        return self.folder / self.file

    @property
    def declaration(self) -> Path:
        return self.folder / "lesson.py"


def read_lesson(folder: Path) -> Lesson:
    """A lesson folder's declaration, by its literals (``lesson.py`` is not run): InputError naming what is wrong."""
    path = folder / "lesson.py"
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError) as e:
        raise InputError(f"{path}: cannot read the lesson's declaration ({e})") from None
    found: dict[str, Any] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id in DECLARED and node.value is not None:
            found[target.id] = ast.literal_eval(node.value)
        elif isinstance(target, ast.Name) and target.id == "RUN_TIME_SEAT" and node.value is not None:
            found["RUN_TIME_SEAT"] = ast.literal_eval(node.value)
        elif isinstance(target, ast.Name) and target.id == "EXERCISES" and isinstance(node.value, ast.Dict):
            found["EXERCISES"] = tuple(ast.literal_eval(k) for k in node.value.keys if k is not None)
    missing = [name for name in (*DECLARED, "EXERCISES") if name not in found]
    if missing:
        raise InputError(f"{path}: the lesson declares no {', '.join(missing)}; see another lesson's lesson.py")
    if not (folder / f"{folder.name}.ipynb").is_file():
        raise InputError(f"{folder}: no notebook {folder.name}.ipynb in the lesson's folder")
    return Lesson(
        folder,
        found["TITLE"],
        found["TEACHES"],
        found["MINUTES"],
        found["RUN_TIME"],
        found["NEEDS"],
        found["EXERCISES"],
        found.get("RUN_TIME_SEAT", "-"),
    )


def lessons_dir() -> Path:
    """Where the lesson folders are: inside the installed wheel, or ``notebooks/`` of a source checkout."""
    for folder in (WORKSHOP_FILES / "lessons", WORKSHOP_FILES.parent.parent / "notebooks"):
        if (folder / "README.md").is_file():
            return folder
    raise InputError(f"the workshop lessons are missing: looked in {WORKSHOP_FILES / 'lessons'} and notebooks/")


@cache
def _catalog(where: Path) -> tuple[Lesson, ...]:
    return tuple(read_lesson(p) for p in sorted(where.iterdir()) if p.is_dir() and FOLDER_RE.fullmatch(p.name))


def catalog() -> tuple[Lesson, ...]:
    """Every lesson, in order: one per folder ``NN-name`` of the lessons."""
    return _catalog(lessons_dir())


def lesson(file: str) -> Lesson:
    """The lesson whose notebook is ``file`` (``02-monte-carlo-pi.ipynb``); InputError listing them otherwise."""
    for found in catalog():
        if found.file == file:
            return found
    raise InputError(f"no lesson named {file!r}; the lessons are {', '.join(x.file for x in catalog())}")


def exercise_names() -> list[str]:
    """Every exercise, in lesson order."""
    return [name for found in catalog() for name in found.exercises]


def solution(exercise: str) -> str:
    """One exercise's solution, as code to read and then run: ``%raiden solution ID`` loads it into its cell.

    The solutions live beside the lesson, not in it, so running every cell of a lesson never runs one.
    """
    owner = next((found for found in catalog() if exercise in found.exercises), None)
    if owner is None:
        raise InputError(f"no exercise named {exercise!r}; the exercises are {', '.join(exercise_names())}")
    code = (owner.folder / "solutions" / f"{exercise}.ipy").read_text()
    return f"# A solution to {exercise}: read it, then run this cell to check it.\n{code}"


def copy_lesson(file: str, folder: str | os.PathLike[str]) -> Path:
    """Copy one lesson's notebook into ``folder`` (made if missing); a copy already there is kept."""
    source = lesson(file).notebook
    target_dir = Path(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / file
    if not target.exists():
        shutil.copyfile(source, target)
    return target


def copy_workshop(folder: str | os.PathLike[str]) -> Path:
    """Every lesson and the instructor's guide into ``folder`` (copies already there are kept)."""
    for found in catalog():
        copy_lesson(found.file, folder)
    guide = Path(folder) / "README.md"
    if not guide.exists():
        shutil.copyfile(lessons_dir() / "README.md", guide)
    return Path(folder)


def guide_table(lessons: tuple[Lesson, ...]) -> str:
    rows = [
        "| # | Lesson | Teaches | Exercises | Minutes in class | Run time, laptop* | Run time, a seat on Pis* | Needs |",
        "|---|--------|---------|-----------|------------------|-------------------|--------------------------|-------|",
    ]
    rows += [
        f"| {x.number} | {x.title} | {x.teaches} | {', '.join(x.exercises)} | {x.minutes} | {x.run_time} "
        f"| {x.seat_time} | {x.needs} |"
        for x in lessons
    ]
    return "\n".join(rows) + "\n"


def render_guide(text: str, lessons: tuple[Lesson, ...]) -> str:
    """The guide with its ``<!-- lessons -->`` block made from the lessons' declarations."""
    return fill(text, "lessons", lambda _: guide_table(lessons))


if __name__ == "__main__":
    raise SystemExit(rewrite(lambda text: render_guide(text, catalog()), "the lessons' table"))
