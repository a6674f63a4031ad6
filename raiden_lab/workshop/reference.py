"""The workshop's reference material: the lessons' own kernels and data, that the checks compare against.

Standard library only, so a lesson (or an engine) may import it too.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


def corpus() -> dict[str, str]:
    """The workshop's text corpus (free-software licences), by name: no downloads needed."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt"))}


# -- 02 Monte Carlo pi -----------------------------------------------------------------------------


def count_hits(samples: int, seed: int) -> int:
    """The lesson's generator: points in the unit square that fall inside the quarter circle."""
    rng = random.Random(seed)
    hits = 0
    for _ in range(samples):
        x = rng.random()
        y = rng.random()
        if x * x + y * y <= 1.0:
            hits += 1
    return hits


PI_SEEDS = range(16)
PI_SAMPLES = 50_000


# -- 03 load balancing -----------------------------------------------------------------------------

MANDEL = {"width": 160, "height": 120, "maxiter": 100}


def mandel_row(y: int, width: int, height: int, maxiter: int) -> list[int]:
    """Iterations before escape for each pixel of row ``y`` (the lesson's pure-Python kernel)."""
    ci = 1.2 * y / (height - 1)  # the upper half: rows near the axis cost far more than those above
    row = []
    for x in range(width):
        cr = -2.2 + 3.2 * x / (width - 1)
        zr = zi = 0.0
        n = 0
        while n < maxiter and zr * zr + zi * zi <= 4.0:
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            n += 1
        row.append(n)
    return row


# -- 06 heat equation -------------------------------------------------------------------------------


def reference_ring(edges: list[tuple[float, float]]) -> list[tuple[float, float]]:
    n = len(edges)
    return [(edges[(k - 1) % n][1], edges[(k + 1) % n][0]) for k in range(n)]


# -- 08 map-reduce ---------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


SAMPLE = "The Program, the program's code; and THE Licensee: 2 licensees."
