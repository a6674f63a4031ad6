"""Every exercise of the workshop: its check (``checks.py``), its hints, and whether it asks the cluster."""

from __future__ import annotations

from .checks import (
    Exercise,
    check_engines,
    check_engines_per_node,
    check_estimate,
    check_fault_results,
    check_fewest_engines,
    check_image,
    check_interleave,
    check_limit,
    check_mapper,
    check_patent,
    check_pi,
    check_pids,
    check_reducer,
    check_restart_event,
    check_ring,
    check_scaled,
    check_split,
    check_sum_of_squares,
    check_totals,
    check_warmup,
)

CHECKS: dict[str, Exercise] = {
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
    "02.estimate": Exercise(
        check_estimate, "the points fall in a square of area 1; the quarter circle's area is pi / 4."
    ),
    "02.pi": Exercise(
        check_pi,
        "map count_hits over the seeds with the same number of samples each, add the hits, "
        "then use estimate_pi on the totals.",
    ),
    "03.interleave": Exercise(check_interleave, "Python slices take a step: rows[start::step]."),
    "03.image": Exercise(
        check_image,
        (
            "a map calls the function once per item: what is the item here, one row or one pixel?",
            "map takes one list per argument of the function; the arguments that are the same for every row "
            "need a list of their own too.",
        ),
    ),
    "04.jit": Exercise(check_sum_of_squares, "a plain loop with an accumulator is what numba compiles best."),
    "04.warmup": Exercise(
        check_warmup,
        (
            "the section 'Warm up every engine' above does this for another function.",
            "the types are written as numba signatures: RESULT(ARGUMENT), with int64 for a 64-bit integer.",
        ),
        True,
    ),
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
    "07.results": Exercise(
        check_fault_results, "run the map in the cell that kills the engine, and keep what cluster.map returns.", True
    ),
    "07.event": Exercise(check_restart_event, "%raiden events lists what the supervisor did and when.", True),
    "08.mapper": Exercise(
        check_mapper,
        (
            "the lesson's count_words finds the words; here each word is counted together with the one after it.",
            "a list and the same list shifted by one place, walked side by side, give each word and the next.",
        ),
    ),
    "08.reducer": Exercise(
        check_reducer,
        (
            "a key counts once for each document that has it, however often that document says it.",
            "the keys of a Counter are what it holds; a Counter can count the keys of many Counters.",
        ),
    ),
    "08.patent": Exercise(
        check_patent,
        "your reduced counts are per corpus; count per document instead (the mapper's output, one per document).",
    ),
}
