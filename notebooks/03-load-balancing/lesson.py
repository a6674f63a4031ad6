"""Lesson 03: Load balancing: Mandelbrot rows. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from typing import Any

from raiden_lab.workshop.checks import Exercise, call, mapped_on_cluster
from raiden_lab.workshop.reference import (
    MANDEL,
    mandel_row,
)

TITLE = "Load balancing: Mandelbrot rows"
TEACHES = "static vs dynamic scheduling (predicted, then timed), results as they arrive (`AsyncResult`), task size and chunk size against efficiency, timelines"
MINUTES = 25  # in class
RUN_TIME = "14 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "17 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "-"


def check_interleave(answer: Any, _: Any) -> tuple[bool, str]:
    for rows, n in ((list(range(10)), 3), (list(range(7)), 2), (list(range(4)), 4), (list(range(3)), 5)):
        got = call(answer, rows, n)
        want = [rows[k::n] for k in range(n)]
        try:
            got = [list(part) for part in got]
        except TypeError:
            return False, f"interleave({rows}, {n}) returned {got!r}, not a list of lists."
        if got != want:
            if sorted(sum(got, [])) == rows and len(got) == n:
                return False, (
                    f"interleave({rows}, {n}) returned {got}: every row is there, but neighbouring rows "
                    "still go to the same engine."
                )
            return False, f"interleave({rows}, {n}) returned {got}."
    return True, "right: neighbouring rows, which cost about the same, now go to different engines."


def check_image(answer: Any, _: Any) -> tuple[bool, str]:
    want = [mandel_row(y, MANDEL["width"], MANDEL["height"], MANDEL["maxiter"]) for y in range(MANDEL["height"])]
    try:
        got = [list(r) for r in answer]
    except TypeError:
        return False, f"expected a list of rows, got {type(answer).__name__}."
    if got == want:
        if problem := mapped_on_cluster(answer, "mandel_row", len(want)):
            return False, problem
        return True, f"right: {len(got)} rows, in order, drawn by the engines."
    if len(got) != len(want):
        return False, f"{len(got)} rows; the image has {len(want)}."
    if sorted(map(tuple, got)) == sorted(map(tuple, want)):
        return False, "every row is there but not in order."
    return False, "some rows differ from the reference image."


EXERCISES: dict[str, Exercise] = {
    "03.interleave": Exercise(
        check_interleave,
        (
            "deal the rows out like cards: one to each engine in turn, then round again.",
            "a slice can take a third number: try list(range(10))[1:10:3] in a cell and look at what it gives.",
        ),
    ),
    "03.image": Exercise(
        check_image,
        (
            "a map calls the function once per item: what is the item here, one row or one pixel?",
            "map takes one list per argument of the function; the arguments that are the same for every row "
            "need a list of their own too.",
        ),
    ),
}
