"""Lesson 07: Fault tolerance: lose an engine, keep the results. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from typing import Any

from raiden_lab.workshop.checks import Exercise

TITLE = "Fault tolerance: lose an engine, keep the results"
TEACHES = "engine crashes, retries, a task that is not safe to run twice and its idempotent fix, the supervisor, memory per node (an engine killed for memory, and the fix)"
MINUTES = 25  # in class
RUN_TIME = "46 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "75 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "kills engines (each engine kills itself: on Pis and in seats too); `memory_per_engine` for its memory part"


def check_fault_results(answer: Any, cluster: Any) -> tuple[bool, str]:
    # the lesson's ITEMS: 100 per engine of the cluster (counting one that is being restarted right now)
    items = 100 * max(len(cluster.ids), sum(len(n["engines"]) for n in cluster.nodes))
    want = [x * x for x in range(items)]
    try:
        got = list(answer)
    except TypeError:
        return False, f"expected the list the map returned, got {type(answer).__name__}."
    if got == want:
        records = getattr(answer, "records", None)
        if not isinstance(records, list):
            return False, "the right squares, but not a list that cluster.map returned: keep what the map returns."
        # which engine died during which map: the map's own record of its chunks sent again
        lost = [r for r in records if r.get("kind") == "chunk" and r.get("outcome") == "retried"]
        if not lost:
            return False, "all the results, but no engine died during this map: kill one while it runs."
        died = sorted({r["engine"] for r in lost if r.get("engine") is not None})
        who = f"engine {', '.join(map(str, died))}" if died else "an engine"
        first = lost[0]
        return True, (
            f"right: all {items} results, each once and in order, although {who} died during this map "
            f"(items {first['first']}-{first['first'] + first['items'] - 1} ran again elsewhere)."
        )
    if len(got) != len(want):
        return False, f"{len(got)} results for {items} items."
    return False, f"the results are not the squares of 0..{items - 1} in order."


def check_restart_event(answer: Any, cluster: Any) -> tuple[bool, str]:
    kinds = {e["kind"] for e in cluster.events(500)}
    if answer == "engine-restarted" and answer in kinds:
        return True, "right: the supervisor logged it, with the delay it waited."
    if answer in kinds:
        return False, f"'{answer}' is in the log, but it is not the one about the new engine."
    return False, f"there is no event of kind {answer!r} in this cluster's log."


EXERCISES: dict[str, Exercise] = {
    "07.results": Exercise(
        check_fault_results, "run the map in the cell that kills the engine, and keep what cluster.map returns.", True
    ),
    "07.event": Exercise(check_restart_event, "%raiden events lists what the supervisor did and when.", True),
}
