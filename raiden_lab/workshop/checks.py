"""The exercises' checks: each compares a student's answer with what the cluster or a reference says.

A check returns ``(ok, message)``. A wrong answer's message says what was
wrong (a value, a case that failed), and ``check()`` adds the exercise's hint;
neither ever spells out the solution.
"""

from __future__ import annotations

import math
import numbers
import time
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
    """A real number: Python's, or numpy's scalars (``numpy.int64(42)`` is as right as ``42``); not a bool."""
    if isinstance(answer, bool) or type(answer).__name__ == "bool_" or not isinstance(answer, numbers.Real):
        raise StudentError(f"expected a number, got {type(answer).__name__}")
    return float(answer)


def mapped_on_cluster(answer: Any, function: str, items: int) -> str | None:
    """Why ``answer`` is not what ``cluster.map`` returned for ``function`` over ``items`` items, run by the
    engines; None when it is. A list made in the notebook has the right values and no record of engines."""
    records = getattr(answer, "records", None)
    if not isinstance(records, list):
        return "the right values, but not as cluster.map returns them: map it on the cluster and keep what it returns."
    ran = [r for r in records if r.get("kind") == "chunk" and r.get("outcome") == "ok"]
    names = {str(r.get("function", "")).rsplit(".", 1)[-1] for r in ran}
    if function not in names or sum(r.get("items") or 0 for r in ran) < items:
        return f"a map returned this, but not one of {function} over all {items} items."
    return None


def cluster_mapped(cluster: Any, function: str, items: int, within_s: float = 3600) -> bool:
    """Whether this notebook's cluster ran ``function`` over ``items`` items or more in one map, lately."""
    maps: dict[Any, int] = {}
    for r in cluster.tasks.between(time.time() - within_s):
        if r.get("kind") == "chunk" and r.get("outcome") == "ok" and str(r.get("function", "")).endswith(function):
            maps[r.get("map")] = maps.get(r.get("map"), 0) + (r.get("items") or 0)
    return any(n >= items for n in maps.values())
