"""The exercises' checks: each compares a student's answer with what the cluster or a reference says.

A check returns ``(ok, message)``. A wrong answer's message says what was
wrong (a value, a case that failed), and ``check()`` adds the exercise's hint;
neither ever spells out the solution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class StudentError(Exception):
    """The student's own function raised while being checked."""


@dataclass(frozen=True)
class Exercise:
    check: Callable[[Any, Any], tuple[bool, str]]
    hint: str | tuple[str, ...]  # one hint, or tiers: each a little nearer, none the answer
    needs_cluster: bool = False

    @property
    def hints(self) -> tuple[str, ...]:
        return (self.hint,) if isinstance(self.hint, str) else self.hint


def call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise StudentError(f"expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except Exception as e:
        shown = ", ".join(repr(a) if len(repr(a)) < 40 else type(a).__name__ for a in args)
        raise StudentError(
            f"{getattr(fn, '__name__', 'your function')}({shown}) raised {type(e).__name__}: {e}"
        ) from None


def close(a: Any, b: float, rel: float = 1e-9) -> bool:
    try:
        return math.isclose(float(a), b, rel_tol=rel, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


def number(answer: Any) -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise StudentError(f"expected a number, got {type(answer).__name__}")
    return float(answer)
