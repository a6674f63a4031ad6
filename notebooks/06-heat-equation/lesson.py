"""Lesson 06: Domain decomposition: the heat equation. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from typing import Any

from raiden_lab.workshop.checks import Exercise, call
from raiden_lab.workshop.reference import (
    reference_ring,
)

TITLE = "Domain decomposition: the heat equation"
TEACHES = "domain decomposition, ghost cells (and what stale ones do), halo exchange, a step predicted from the latency and profiled; its MPI variant (`Sendrecv` between ranks, and why not `Send` then `Recv`)"
MINUTES = 35  # in class
RUN_TIME = "13 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "7 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "numpy; the MPI section: Open MPI and mpi4py (else it says so and goes on)"


def check_split(answer: Any, _: Any) -> tuple[bool, str]:
    for cells, parts in ((10, 3), (12, 4), (7, 7), (100, 16), (5, 2)):
        got = call(answer, cells, parts)
        try:
            blocks = [(int(a), int(b)) for a, b in got]
        except (TypeError, ValueError):
            return False, f"split({cells}, {parts}) returned {got!r}, not a list of (start, stop) pairs."
        if len(blocks) != parts:
            return False, f"split({cells}, {parts}) gave {len(blocks)} blocks."
        if (
            blocks[0][0] != 0
            or blocks[-1][1] != cells
            or any(a[1] != b[0] for a, b in zip(blocks, blocks[1:], strict=False))
        ):
            return (
                False,
                f"split({cells}, {parts}) = {blocks}: the blocks must cover 0..{cells} with no gap or overlap.",
            )
        sizes = [b - a for a, b in blocks]
        if max(sizes) - min(sizes) > 1:
            return False, f"split({cells}, {parts}) = {blocks}: sizes {sizes} differ by more than one cell."
    return True, "right: contiguous blocks, as even as they can be."


def check_ring(answer: Any, _: Any) -> tuple[bool, str]:
    for edges in (
        [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)],
        [(1.0, 9.0), (7.0, 8.0)],
        [(0.5, 0.25)],
        [(float(i), float(i) + 0.5) for i in range(16)],
    ):
        got = call(answer, edges)
        want = reference_ring(edges)
        try:
            got = [tuple(g) for g in got]
        except TypeError:
            return False, f"halos_ring({edges}) returned {got!r}, not a list of pairs."
        if got != want:
            if len(got) == len(want) and [tuple(reversed(g)) for g in got] == want:
                return False, f"halos_ring({edges}) = {got}: left and right are swapped."
            if None in sum(got, ()):
                return False, f"halos_ring({edges}) = {got}: in a ring no block is at an end."
            return False, f"halos_ring({edges}) returned {got}."
    return (
        True,
        "right: in a ring every block has two neighbours, and heat that leaves one end comes back in the other.",
    )


EXERCISES: dict[str, Exercise] = {
    "06.split": Exercise(
        check_split,
        (
            "every block gets the same number of cells, and the cells left over go one each to the first blocks.",
            "a built-in gives a division's quotient and remainder at once: the base size, and how many get one more.",
        ),
    ),
    "06.ring": Exercise(
        check_ring,
        (
            "a ghost cell holds a copy of a neighbouring block's cell: which cell of the neighbour touches this block?",
            "in a ring the blocks wrap around: the first block's left neighbour is the last block.",
            "Python's negative indices and % (modulo) both wrap around a list.",
        ),
    ),
}
