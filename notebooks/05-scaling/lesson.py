"""Lesson 05: Scaling laws: Amdahl and Gustafson. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from typing import Any

from raiden_lab import scaling
from raiden_lab.workshop.checks import Exercise, close, number

TITLE = "Scaling laws: Amdahl and Gustafson"
TEACHES = "speedup, efficiency, a serial fraction predicted then fitted, Gustafson, engines against cores (a recorded 16-engine run)"
MINUTES = 30  # in class
RUN_TIME = "37 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "45 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "any size; on two engines the recorded 16-engine run fills in the curves"


def check_fewest_engines(answer: Any, _: Any) -> tuple[bool, str]:
    n = number(answer)
    if n != int(n) or n < 1:
        return False, f"{answer!r} is not a number of engines."
    got = scaling.amdahl(n, 0.1)
    if got < 5 - 1e-9:
        return False, f"{int(n)} engines give a speedup of {got:.2f}, short of 5."
    if scaling.amdahl(n - 1, 0.1) >= 5 - 1e-9:
        return False, f"{int(n)} engines reach 5 ({got:.2f}), but fewer do too."
    return True, "right: and twice as many would give only 6.7; at 10% serial, 10x is out of reach."


def check_limit(answer: Any, _: Any) -> tuple[bool, str]:
    if close(answer, 20.0, rel=1e-6):
        return True, "right: with 5% serial, no number of engines gives more than 20x."
    return False, f"{answer!r} is not the limit of amdahl(n, 0.05) as n grows."


def check_scaled(answer: Any, _: Any) -> tuple[bool, str]:
    got = number(answer)
    if close(got, scaling.gustafson(64, 0.05), rel=1e-3):
        return True, "right: the grown problem keeps 64 engines busy; Amdahl's fixed one would give about 15."
    if close(got, scaling.amdahl(64, 0.05), rel=1e-2):
        return False, f"{got:.4g} is the speedup of the fixed problem (Amdahl); this one grew with the machine."
    if close(got, 64, rel=1e-6):
        return False, "64 would mean no serial work at all; 5% of the 64-engine run was serial."
    return False, f"{got:.4g} is not how many times longer one engine takes."


EXERCISES: dict[str, Exercise] = {
    "05.engines": Exercise(
        check_fewest_engines,
        (
            "scaling.amdahl(n, s) gives the speedup on n engines: try a few n and watch it approach 5.",
            "a loop over n = 1, 2, 3 ... that stops at the first n whose speedup is 5 or more.",
        ),
    ),
    "05.limit": Exercise(check_limit, "let n grow without bound in amdahl(n, s): what is left of the time?"),
    "05.scaled": Exercise(
        check_scaled,
        (
            "one engine must do the serial part once and all 64 engines' parallel parts one after another.",
            "in the 64-engine run, 5% of the time was serial and 95% was parallel, on each of 64 engines.",
        ),
    ),
}
