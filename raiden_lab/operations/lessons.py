"""The workshop's lessons as files: which there are, where they live, a copy for a learner, a solution.

The CLI (``raiden lab --workshop``), the server's lesson routes and the ``%raiden solution`` magic read
them here; ``raiden_lab.workshop`` (the checks a lesson calls) re-exports them for notebooks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import InputError

WORKSHOP_FILES = Path(__file__).resolve().parent.parent / "workshop"  # solutions/, and lessons/ in a wheel
WORKSHOP_DIR = "raiden-workshop"  # where `raiden lab --workshop` and the launcher tiles put copies of lessons

# (file, title): the launcher shows one tile per lesson, in this order
LESSONS: list[tuple[str, str]] = [
    ("00-tour.ipynb", "A tour of the cluster"),
    ("01-px.ipynb", "%px and %%px"),
    ("02-monte-carlo-pi.ipynb", "Scatter, gather, reduce: Monte Carlo pi"),
    ("03-load-balancing.ipynb", "Load balancing: Mandelbrot rows"),
    ("04-numba.ipynb", "numba on every engine"),
    ("05-scaling.ipynb", "Scaling laws: Amdahl and Gustafson"),
    ("06-heat-equation.ipynb", "Domain decomposition: the heat equation"),
    ("07-fault-tolerance.ipynb", "Fault tolerance: lose an engine, keep the results"),
    ("08-map-reduce.ipynb", "Map-reduce over a text corpus"),
]


def exercise_names() -> list[str]:
    """Every exercise, in lesson order: each has its solution (``workshop/solutions/ID.ipy``)."""
    return sorted(p.stem for p in (WORKSHOP_FILES / "solutions").glob("*.ipy"))


def solution(exercise: str) -> str:
    """One exercise's solution, as code to read and then run: ``%raiden solution ID`` loads it into its cell.

    The solutions live in the package, not in the lessons, so running every
    cell of a lesson never runs one.
    """
    names = exercise_names()
    if exercise not in names:
        raise InputError(f"no exercise named {exercise!r}; the exercises are {', '.join(names)}")
    code = (WORKSHOP_FILES / "solutions" / f"{exercise}.ipy").read_text()
    return f"# A solution to {exercise}: read it, then run this cell to check it.\n{code}"


def lessons_dir() -> Path:
    """Where the lessons are: inside the installed wheel, or ``notebooks/`` of a source checkout."""
    packaged = WORKSHOP_FILES / "lessons"
    if (packaged / LESSONS[0][0]).is_file():
        return packaged
    source = WORKSHOP_FILES.parent.parent / "notebooks"
    if (source / LESSONS[0][0]).is_file():
        return source
    raise InputError(f"the workshop lessons are missing: looked in {packaged} and {source}")


def copy_lesson(name: str, folder: str | os.PathLike[str]) -> Path:
    """Copy one lesson into ``folder`` (made if missing); an existing copy is kept, never overwritten."""
    names = [file for file, _ in LESSONS]
    if name not in names:
        raise InputError(f"no lesson named {name!r}; the lessons are {', '.join(names)}")
    target_dir = Path(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    if not target.exists():
        shutil.copyfile(lessons_dir() / name, target)
    return target


def copy_workshop(folder: str | os.PathLike[str]) -> Path:
    """Every lesson and the instructor's guide into ``folder`` (copies already there are kept)."""
    for name, _ in LESSONS:
        copy_lesson(name, folder)
    guide = Path(folder) / "README.md"
    if not guide.exists():
        shutil.copyfile(lessons_dir() / "README.md", guide)
    return Path(folder)
