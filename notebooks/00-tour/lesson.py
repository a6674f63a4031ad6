"""Lesson 00: A tour of the cluster. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from typing import Any

from raiden_lab.workshop.checks import Exercise

TITLE = "A tour of the cluster"
TEACHES = "nodes, engines, the dashboard, `apply_sync`"
MINUTES = 15  # in class
RUN_TIME = "1 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "6 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "-"


def check_engines(answer: Any, cluster: Any) -> tuple[bool, str]:
    n = len(cluster.ids)
    if answer == n:
        return True, f"right: {n} engines, each one a Python process that runs your code."
    return False, f"{answer!r} is not how many engines are registered."


def check_engines_per_node(answer: Any, cluster: Any) -> tuple[bool, str]:
    want = {n["host"]: len(n["engines"]) for n in cluster.nodes}
    if not isinstance(answer, dict):
        return False, f"expected a dict of node -> number of engines, got {type(answer).__name__}."
    if answer == want:
        return True, f"right: {len(want)} node(s), {sum(want.values())} engines in all."
    missing = sorted(set(want) - set(answer))
    if missing:
        return False, f"node(s) {', '.join(missing)} are missing from your dict."
    return False, "the keys are right but some counts are not."


EXERCISES: dict[str, Exercise] = {
    "00.engines": Exercise(
        check_engines,
        (
            "the dashboard counts them in its header.",
            "cluster.ids lists the engines' ids: how many are there?",
        ),
        True,
    ),
    "00.per_node": Exercise(
        check_engines_per_node, "cluster.nodes is a list of dicts; each has a 'host' and a list of 'engines'.", True
    ),
}
