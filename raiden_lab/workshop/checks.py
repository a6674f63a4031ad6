"""The exercises' checks: each compares a student's answer with what the cluster or a reference says.

A check returns ``(ok, message)``. A wrong answer's message says what was
wrong (a value, a case that failed), and ``check()`` adds the exercise's hint;
neither ever spells out the solution.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import scaling  # the public API, as a lesson uses it
from .reference import MANDEL, PI_SAMPLES, PI_SEEDS, SAMPLE, corpus, count_hits, mandel_row, reference_ring, words


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


def _call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise StudentError(f"expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except Exception as e:
        shown = ", ".join(repr(a) if len(repr(a)) < 40 else type(a).__name__ for a in args)
        raise StudentError(
            f"{getattr(fn, '__name__', 'your function')}({shown}) raised {type(e).__name__}: {e}"
        ) from None


def _close(a: Any, b: float, rel: float = 1e-9) -> bool:
    try:
        return math.isclose(float(a), b, rel_tol=rel, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


# -- 00 the tour -----------------------------------------------------------------------------------


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


# -- 01 %px ----------------------------------------------------------------------------------------


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


# -- 02 Monte Carlo pi -----------------------------------------------------------------------------


def check_estimate(answer: Any, _: Any) -> tuple[bool, str]:
    for hits, samples in ((785, 1000), (3, 4), (0, 10), (7853982, 10**7)):
        got = _call(answer, hits, samples)
        want = 4 * hits / samples
        if not _close(got, want):
            if _close(got, hits / samples):
                return False, f"estimate_pi({hits}, {samples}) = {got!r}: that is the quarter circle's share."
            return False, f"estimate_pi({hits}, {samples}) returned {got!r}."
    return True, "right: the fraction of hits estimates the quarter circle's area, pi / 4."


def check_pi(answer: Any, _: Any) -> tuple[bool, str]:
    hits = sum(count_hits(PI_SAMPLES, s) for s in PI_SEEDS)
    want = 4 * hits / (PI_SAMPLES * len(PI_SEEDS))
    if _close(answer, want, rel=1e-12):
        return True, f"right: {want:.6f}, off by {abs(want - math.pi):.1e} with {PI_SAMPLES * len(PI_SEEDS):,} samples."
    if _close(answer, math.pi, rel=1e-6):
        return False, "that is math.pi, not your cluster's estimate."
    return False, f"{answer!r} is not the estimate from seeds 0-15 with {PI_SAMPLES:,} samples each."


# -- 03 load balancing ---------------------------------------------------------------------------------


def check_interleave(answer: Any, _: Any) -> tuple[bool, str]:
    for rows, n in ((list(range(10)), 3), (list(range(7)), 2), (list(range(4)), 4), (list(range(3)), 5)):
        got = _call(answer, rows, n)
        want = [rows[k::n] for k in range(n)]
        try:
            got = [list(part) for part in got]
        except TypeError:
            return False, f"interleave({rows}, {n}) returned {got!r}, not a list of lists."
        if got != want:
            if sorted(sum(got, [])) == rows and len(got) == n:
                return False, (
                    f"interleave({rows}, {n}) returned {got}: every row is there, but engine k "
                    "should get rows k, k+n, k+2n, ..."
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
        return True, f"right: {len(got)} rows, in order."
    if len(got) != len(want):
        return False, f"{len(got)} rows; the image has {len(want)}."
    if sorted(map(tuple, got)) == sorted(map(tuple, want)):
        return False, "every row is there but not in order."
    return False, "some rows differ from the reference image."


# -- 04 numba --------------------------------------------------------------------------------------


def check_sum_of_squares(answer: Any, _: Any) -> tuple[bool, str]:
    from .. import jit

    if not isinstance(answer, jit.JitFunction):
        return False, "this is a plain Python function: decorate it with @raiden_lab.jit."
    for n in (0, 1, 10, 1000, 100_000):
        got = _call(answer, n)
        want = sum(i * i for i in range(n))
        if got != want:
            return False, f"sum_of_squares({n}) returned {got!r}, not {want}."
    return True, "right: numba compiled it, and it gives what Python gives."


def check_warmup(answer: Any, cluster: Any) -> tuple[bool, str]:
    from .. import jit

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


# -- 05 scaling laws -------------------------------------------------------------------------------


def _number(answer: Any) -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise StudentError(f"expected a number, got {type(answer).__name__}")
    return float(answer)


def check_fewest_engines(answer: Any, _: Any) -> tuple[bool, str]:
    n = _number(answer)
    if n != int(n) or n < 1:
        return False, f"{answer!r} is not a number of engines."
    got = scaling.amdahl(n, 0.1)
    if got < 5 - 1e-9:
        return False, f"{int(n)} engines give a speedup of {got:.2f}, short of 5."
    if scaling.amdahl(n - 1, 0.1) >= 5 - 1e-9:
        return False, f"{int(n)} engines reach 5 ({got:.2f}), but fewer do too."
    return True, "right: and twice as many would give only 6.7; at 10% serial, 10x is out of reach."


def check_limit(answer: Any, _: Any) -> tuple[bool, str]:
    if _close(answer, 20.0, rel=1e-6):
        return True, "right: with 5% serial, no number of engines gives more than 20x."
    return False, f"{answer!r} is not the limit of amdahl(n, 0.05) as n grows."


def check_scaled(answer: Any, _: Any) -> tuple[bool, str]:
    got = _number(answer)
    if _close(got, scaling.gustafson(64, 0.05), rel=1e-3):
        return True, "right: the grown problem keeps 64 engines busy; Amdahl's fixed one would give about 15."
    if _close(got, scaling.amdahl(64, 0.05), rel=1e-2):
        return False, f"{got:.4g} is the speedup of the fixed problem (Amdahl); this one grew with the machine."
    if _close(got, 64, rel=1e-6):
        return False, "64 would mean no serial work at all; 5% of the 64-engine run was serial."
    return False, f"{got:.4g} is not how many times longer one engine takes."


# -- 06 the heat equation --------------------------------------------------------------------------


def check_split(answer: Any, _: Any) -> tuple[bool, str]:
    for cells, parts in ((10, 3), (12, 4), (7, 7), (100, 16), (5, 2)):
        got = _call(answer, cells, parts)
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
        got = _call(answer, edges)
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


# -- 07 fault tolerance ----------------------------------------------------------------------------


def check_fault_results(answer: Any, cluster: Any) -> tuple[bool, str]:
    # the lesson's ITEMS: 100 per engine of the cluster (counting one that is being restarted right now)
    items = 100 * max(len(cluster.ids), sum(len(n["engines"]) for n in cluster.nodes))
    want = [x * x for x in range(items)]
    try:
        got = list(answer)
    except TypeError:
        return False, f"expected the list the map returned, got {type(answer).__name__}."
    if got == want:
        from ..operations.status import cluster_events

        died = [e for e in cluster_events(cluster.paths, limit=500) if e["kind"] == "engine-died"]
        if not died or died[-1]["time"] < time.time() - 600:
            return False, "all the results, but no engine died in the last ten minutes: run the cell that kills one."
        return True, f"right: all {items} results, each once and in order, although an engine died."
    if len(got) != len(want):
        return False, f"{len(got)} results for {items} items."
    return False, f"the results are not the squares of 0..{items - 1} in order."


def check_restart_event(answer: Any, cluster: Any) -> tuple[bool, str]:
    from ..operations.status import cluster_events

    kinds = {e["kind"] for e in cluster_events(cluster.paths, limit=500)}
    if answer == "engine-restarted" and answer in kinds:
        return True, "right: the supervisor logged it, with the delay it waited."
    if answer in kinds:
        return False, f"'{answer}' is in the log, but it is not the one about the new engine."
    return False, f"there is no event of kind {answer!r} in this cluster's log."


# -- 08 map-reduce ---------------------------------------------------------------------------------


def _pairs(text: str) -> Counter:
    w = words(text)
    return Counter(zip(w, w[1:], strict=False))


def check_mapper(answer: Any, _: Any) -> tuple[bool, str]:
    for text in (SAMPLE, "", "one", "a b a b"):
        got = _call(answer, text)
        want = _pairs(text)
        if not isinstance(got, dict):
            return False, f"mapper({text!r}) returned {type(got).__name__}, not a Counter."
        if Counter(got) == want:
            continue
        if Counter(got) == Counter(words(text)) and text:
            return False, f"mapper({text!r}) counts single words; this mapper counts each word with the next."
        if any(not isinstance(k, tuple) for k in got):
            key = next(k for k in got if not isinstance(k, tuple))
            return False, f"mapper({text!r}) has the key {key!r}; each key should be a (word, next word) tuple."
        if any(w != w.lower() for k in got for w in k):
            return False, f"mapper({text!r}) keeps capitals: 'The' and 'the' should be one word."
        return False, f"mapper({text!r}) returned {dict(got)}."
    return True, "right: one Counter per document, computed wherever the document is."


def check_reducer(answer: Any, _: Any) -> tuple[bool, str]:
    parts = [Counter(a=2, b=1), Counter(b=3), Counter(), Counter(c=1, a=1)]
    got = _call(answer, [Counter(p) for p in parts])
    if not isinstance(got, dict):
        return False, f"reducer returned {type(got).__name__}, not a Counter."
    if Counter(got) == Counter(a=2, b=2, c=1):
        got_empty = _call(answer, [])
        if Counter(got_empty or {}) != Counter():
            return False, f"reducer([]) returned {got_empty!r}: no documents, no words."
        return True, "right: document frequency, what search engines weigh words by; it adds up in any order too."
    if Counter(got) == Counter(a=3, b=4, c=1):
        return False, "those are the total counts (what the lesson's reduce added up), not numbers of documents."
    return False, f"reducer of four small Counters returned {dict(got)}."


def check_patent(answer: Any, _: Any) -> tuple[bool, str]:
    counts = {name: _pairs(text)[("patent", "license")] for name, text in corpus().items()}
    best = max(counts, key=counts.get)
    if answer == best:
        return True, f"right: {best} says 'patent license' {counts[best]} times."
    if answer in counts:
        return False, f"{answer} says 'patent license' {counts[answer]} times; another licence says it more."
    return False, f"{answer!r} is not one of the corpus's documents ({', '.join(counts)})."
