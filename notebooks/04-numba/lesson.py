"""Lesson 04: numba on every engine. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from typing import Any

from raiden_lab import jit
from raiden_lab.workshop.checks import Exercise, call

TITLE = "numba on every engine"
TEACHES = "jit, warmup, per-node cache, speedups (predicted), one compiled core against every engine interpreting, threads and the GIL, oversubscription"
MINUTES = 30  # in class
RUN_TIME = "9 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "8 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "numba on every node; restarts one node's engines"


def check_sum_of_squares(answer: Any, _: Any) -> tuple[bool, str]:

    here_only = type(answer).__module__.startswith("numba") and hasattr(answer, "py_func")  # numba.njit's own
    if not isinstance(answer, jit.JitFunction) and not here_only:
        return False, "this is a plain Python function: decorate it with @raiden_lab.jit."
    for n in (0, 1, 10, 1000, 100_000):
        got = call(answer, n)
        want = sum(i * i for i in range(n))
        if got != want:
            return False, f"sum_of_squares({n}) returned {got!r}, not {want}."
    if here_only:
        return True, (
            "right: numba compiled it, and it gives what Python gives; numba.njit compiles it in this notebook "
            "only, @raiden_lab.jit on every engine too."
        )
    return True, "right: numba compiled it, and it gives what Python gives."


def check_warmup(answer: Any, cluster: Any) -> tuple[bool, str]:

    if not isinstance(answer, jit.WarmupTable):
        return False, f"expected the table that cluster.warmup(...) returns, got {type(answer).__name__}."
    engines = {row["engine"] for row in answer}
    missing = sorted(set(cluster.ids) - engines)
    if missing:
        return False, f"engine(s) {missing} are not in the table."
    function, signatures = getattr(answer, "function", None), getattr(answer, "signatures", ())
    if function != "sum_of_squares":
        return False, f"this table is for {function or 'another function'}; the exercise compiles sum_of_squares."
    if "int64(int64)" not in [str(s).replace(" ", "") for s in signatures]:
        return (
            False,
            f"compiled for {', '.join(map(str, signatures)) or 'no types'}; the exercise asks for 64-bit integers.",
        )
    hits = sum(1 for row in answer if row["cache_hit"])
    return True, f"right: compiled on {len(engines)} engines; {hits} found it in their node's cache."


EXERCISES: dict[str, Exercise] = {
    "04.jit": Exercise(check_sum_of_squares, "a plain loop with an accumulator is what numba compiles best."),
    "04.warmup": Exercise(
        check_warmup,
        (
            "the section 'Warm up every engine' above does this for another function.",
            "the types are written as numba signatures: RESULT(ARGUMENT), with int64 for a 64-bit integer.",
        ),
        True,
    ),
}
