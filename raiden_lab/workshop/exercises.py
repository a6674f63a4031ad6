"""Every exercise of the workshop, from each lesson's own ``lesson.py`` (``operations/lessons.py`` finds them).

A lesson's declaration is run here, once, when a notebook first checks an exercise: its source is
compiled and run as a module of its own (nothing is written beside it), and its ``EXERCISES`` join
``CHECKS`` (``every_exercise()``).
"""

from __future__ import annotations

import sys
import types
from functools import cache
from typing import Any

from ..operations.lessons import Lesson, catalog
from .checks import Exercise


def load(found: Lesson) -> types.ModuleType:
    name = f"raiden_lab_lesson_{found.number}"
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name)
        module.__file__ = str(found.declaration)
        sys.modules[name] = module  # before it runs: its dataclasses and annotations look it up
        exec(compile(found.declaration.read_text(), str(found.declaration), "exec"), module.__dict__)
    return module


def every_exercise() -> dict[str, Exercise]:
    """Every lesson's exercises, by id (the lessons' folders read once)."""
    return _every(catalog())


@cache
def _every(lessons: tuple[Lesson, ...]) -> dict[str, Exercise]:
    checks: dict[str, Exercise] = {}
    for found in lessons:
        declared = load(found).EXERCISES
        if list(declared) != list(found.exercises):  # the catalog read the same literals
            raise RuntimeError(f"{found.declaration}: EXERCISES must be a dict literal with string keys")
        checks.update(declared)
    return checks


def __getattr__(name: str) -> Any:
    if name == "CHECKS":  # every exercise, by id
        return every_exercise()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
