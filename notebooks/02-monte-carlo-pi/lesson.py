"""Lesson 02: Scatter, gather, reduce: Monte Carlo pi. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

import math
from typing import Any

from raiden_lab.workshop.checks import Exercise, call, close, cluster_mapped
from raiden_lab.workshop.reference import (
    PI_SAMPLES,
    PI_SEEDS,
    count_hits,
)

TITLE = "Scatter, gather, reduce: Monte Carlo pi"
TEACHES = "scatter, gather, reductions, independent seeds (and one seed everywhere: the error stays put), 1/sqrt(N), a one-engine baseline"
MINUTES = 25  # in class
RUN_TIME = "2 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "3 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "matplotlib"


def check_estimate(answer: Any, _: Any) -> tuple[bool, str]:
    for hits, samples in ((785, 1000), (3, 4), (0, 10), (7853982, 10**7)):
        got = call(answer, hits, samples)
        want = 4 * hits / samples
        if not close(got, want):
            if close(got, hits / samples):
                return False, f"estimate_pi({hits}, {samples}) = {got!r}: that is the quarter circle's share."
            return False, f"estimate_pi({hits}, {samples}) returned {got!r}."
    return True, "right: the fraction of hits estimates the quarter circle's area, pi / 4."


def check_pi(answer: Any, cluster: Any) -> tuple[bool, str]:
    hits = sum(count_hits(PI_SAMPLES, s) for s in PI_SEEDS)
    want = 4 * hits / (PI_SAMPLES * len(PI_SEEDS))
    if close(answer, want, rel=1e-12):
        if not cluster_mapped(cluster, "count_hits", len(PI_SEEDS)):
            return False, (
                f"the right estimate, but this notebook's cluster ran no map of count_hits over {len(PI_SEEDS)} "
                "seeds: the engines should throw the darts."
            )
        return True, f"right: {want:.6f}, off by {abs(want - math.pi):.1e} with {PI_SAMPLES * len(PI_SEEDS):,} samples."
    if close(answer, math.pi, rel=1e-6):
        return False, "that is math.pi, not your cluster's estimate."
    return False, f"{answer!r} is not the estimate from seeds 0-15 with {PI_SAMPLES:,} samples each."


EXERCISES: dict[str, Exercise] = {
    "02.estimate": Exercise(
        check_estimate, "the points fall in a square of area 1; the quarter circle's area is pi / 4."
    ),
    "02.pi": Exercise(
        check_pi,
        (
            "each seed is one task: the engines throw the darts, the notebook only adds up what comes back.",
            "the estimate needs every dart: the hits of all the tasks, and all the samples they threw together.",
        ),
        True,
    ),
}
