"""Lesson 01: %px and %%px. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

import os
from typing import Any

from raiden_lab.workshop.checks import Exercise

TITLE = "%px and %%px"
TEACHES = "SPMD, push/pull (a pushed value is a copy), `--targets`, remote errors, what a message costs (latency and bandwidth, measured and fitted)"
MINUTES = 30  # in class
RUN_TIME = "3 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "4 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "-"


def check_totals(answer: Any, cluster: Any) -> tuple[bool, str]:
    want = [sum(range(i * 1000)) for i in sorted(cluster.ids)]
    got = list(answer) if isinstance(answer, (list, tuple)) else answer
    if got == want:
        # the same numbers computed here, in the notebook, are not the exercise: the engines must hold them
        try:
            held = list(cluster.direct.pull("total", block=True))
        except Exception:  # no `total` on some engine: ipyparallel raises the engines' NameError
            held = None
        if held != want:
            return False, "right numbers, but the engines do not hold them as `total`: compute them on the engines."
        return True, "right: every engine computed its own total, and pull brought them back in engine order."
    if isinstance(got, list) and len(got) != len(want):
        return False, f"{len(got)} totals for {len(want)} engines."
    return False, "the totals do not match what each engine should have computed from its my_id."


def check_pids(answer: Any, cluster: Any) -> tuple[bool, str]:
    want = cluster.direct.apply_sync(os.getpid)
    if isinstance(answer, dict):
        answer = [answer.get(i) for i in sorted(cluster.ids)]
    if not isinstance(answer, (list, tuple)):
        return False, (
            f"expected a list with one process id per engine, got {type(answer).__name__} {answer!r}: "
            "one number is one process's id, and os.getpid() in a notebook cell is the notebook's own."
        )
    if list(answer) == list(want):
        return True, f"right: {len(set(want))} different processes."
    if len(set(answer)) == 1 and len(want) > 1:
        return False, "all your pids are the same: that is one process, probably this notebook's kernel."
    return False, "these are not the engines' process ids (in engine order)."


EXERCISES: dict[str, Exercise] = {
    "01.totals": Exercise(
        check_totals,
        (
            "each engine must compute its own total, from its own my_id: on the engines, not here.",
            "a %%px cell runs on every engine; a DirectView method brings a variable of the engines back.",
            "that method is the opposite of push.",
        ),
        True,
    ),
    "01.pids": Exercise(
        check_pids,
        (
            "os.getpid() in this notebook is the notebook's own process: ask the engines.",
            "%px runs one line on every engine and keeps what it assigns there; then bring it back, as in 01.totals.",
        ),
        True,
    ),
}
