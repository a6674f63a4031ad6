"""The workshop: every lesson executed by a real kernel, every check right for solutions and wrong for mistakes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from conftest import STRICT, wait_for
from lessons import (
    CHECK_CALL,
    NOTEBOOKS,
    assert_lesson_taught,
    cell_text,
    lesson_file,
    record_time,
    run_lesson,
    save_run,
)
from raiden_lab import workshop
from raiden_lab.errors import InputError
from raiden_lab.notebook.scaling import engine_counts
from raiden_lab.operations import lessons as lessons_module
from raiden_lab.operations.lessons import exercise_names, guide_table, render_guide
from raiden_lab.operations.status import cluster_events
from raiden_lab.workshop.exercises import CHECKS

LESSON_FILES = [x.file for x in workshop.catalog()]


# -- the lessons as files ----------------------------------------------------------------------------


def test_nine_lessons_in_order_each_with_goals_checked_exercises_and_solutions_on_request() -> None:
    on_disk = sorted(p.name for p in NOTEBOOKS.glob("*/*.ipynb"))
    assert on_disk == LESSON_FILES
    # a lesson is its folder: its notebook, its declaration, a solution for each of its exercises, nothing else
    for found in workshop.catalog():
        assert found.notebook.parent.name == found.file[:-6]
        assert sorted(p.name for p in found.folder.iterdir() if p.name != "__pycache__") == sorted(
            [found.file, "lesson.py", "solutions"]
        ), found.folder
        assert sorted(p.stem for p in (found.folder / "solutions").iterdir()) == sorted(found.exercises)
    assert [name[:2] for name in LESSON_FILES] == [f"{i:02d}" for i in range(9)]
    used: set[str] = set()
    for name in LESSON_FILES:
        nb = nbformat.read(lesson_file(name), as_version=4)
        assert nb.cells[0].source.startswith(f"# {name[:2]} · "), name  # one title, then prose
        assert "**Goals.**" in nb.cells[0].source, name
        assert not any(
            line.startswith("# # ") for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
        ), name
        exercises = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
        loaders = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
        assert len(exercises) >= 2, name
        assert len(loaders) == len(exercises), name
        for ex, loader in zip(exercises, loaders, strict=True):
            ids = CHECK_CALL.findall(ex.source)
            assert len(ids) == 1, (name, ex.source)
            # under each exercise, a cell that loads its solution when asked: nothing of it is in the lesson
            assert loader.source == f"%raiden solution {ids[0]}", (name, loader.source)
            assert CHECK_CALL.findall(workshop.solution(ids[0])) == ids
            assert not ex.get("outputs"), f"{name}: committed with outputs"
            used.update(ids)
            lesson = "\n".join(c.source for c in nb.cells)
            for line in workshop.solution(ids[0]).splitlines()[1:]:  # after the comment that introduces it
                code = line.split("#")[0].strip()
                common = code.startswith(("import ", "from ")) or "workshop.check" in code
                given = len(code) < 16 or common or code in ex.source  # imports, or the exercise's own lines
                assert given or code not in lesson, (name, ids[0], code)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name}: committed with outputs"
    # every check is some lesson's exercise, and every exercise has a check; the class's grid lists them
    assert used == set(CHECKS) == set(exercise_names())


def test_a_solution_is_loaded_into_its_cell_only_when_asked() -> None:
    """``%raiden solution ID`` in a real kernel replaces its cell with the solution (as %load does), running none."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:

        def run(code: str) -> tuple[dict, str]:
            said: list[str] = []
            reply = client.execute_interactive(
                code, timeout=60, output_hook=lambda m: said.append(m["content"].get("text", ""))
            )
            return reply["content"], "".join(said)

        run("%load_ext raiden_lab")
        reply, said = run("%raiden solution 01.totals")
        assert reply["status"] == "ok" and said == ""
        [payload] = reply["payload"]
        assert payload["source"] == "set_next_input" and payload["replace"] is True
        assert payload["text"] == workshop.solution("01.totals")
        assert payload["text"].startswith("# A solution to 01.totals: read it, then run this cell")
        reply, said = run("'pid' in dir(), 'totals' in dir()")
        assert reply["status"] == "ok"  # nothing of the solution ran
        reply, said = run("%raiden solution 01.total")
        assert reply["status"] == "ok" and not reply["payload"]
        assert said.strip().startswith("raiden: no exercise named '01.total'; the exercises are 00.engines")
        reply, said = run("%raiden solution")
        assert said.strip() == "raiden: usage: %raiden solution EXERCISE (e.g. %raiden solution 01.totals)"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_an_unknown_exercise_is_named_with_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"no exercise named '02\.pie'; the exercises are 00\.engines"):
        workshop.check("02.pie", 3.14)


def test_a_lesson_is_copied_once_and_never_overwritten(tmp_path: Path) -> None:
    copy = workshop.copy_lesson("02-monte-carlo-pi.ipynb", tmp_path / "workshop")
    assert copy.read_bytes() == lesson_file("02-monte-carlo-pi.ipynb").read_bytes()
    copy.write_text("my notes")
    assert workshop.copy_lesson("02-monte-carlo-pi.ipynb", tmp_path / "workshop").read_text() == "my notes"
    with pytest.raises(InputError, match="no lesson named '99-x.ipynb'; the lessons are 00-tour.ipynb"):
        workshop.copy_lesson("99-x.ipynb", tmp_path)


def test_the_corpus_ships_with_the_package() -> None:
    docs = workshop.corpus()
    assert len(docs) == 14 and "GPL-3" in docs and "Apache-2.0" in docs
    assert sum(len(t.split()) for t in docs.values()) > 30_000


# -- checks that need no cluster: the solution passes, typical mistakes fail with a hint -----------


def _unwritten(rows, n): ...  # your code here


def _interleave(rows, n):
    return [rows[k::n] for k in range(n)]


def _split(cells, parts):
    size, extra = divmod(cells, parts)
    out, start = [], 0
    for k in range(parts):
        out.append((start, start + size + (k < extra)))
        start = out[-1][1]
    return out


def _mapper(text):
    words = re.findall(r"[a-z]+", text.lower())
    return Counter(zip(words, words[1:], strict=False))


def _count_words(text):  # lesson 08's own mapper, of single words
    return Counter(re.findall(r"[a-z]+", text.lower()))


SOLVED = {
    "02.estimate": (
        lambda h, s: 4 * h / s,
        [(lambda h, s: h / s, "quarter circle's share"), (lambda h, s: 4 * h // s, "returned 3")],
    ),
    "03.interleave": (
        _interleave,
        [
            (
                lambda rows, n: [rows[k * len(rows) // n : (k + 1) * len(rows) // n] for k in range(n)],
                "every row is there, but neighbouring rows still go to the same engine",
            )
        ],
    ),
    "05.engines": (
        9,
        [
            (8, "8 engines give a speedup of 4.71, short of 5"),
            (50, "reach 5 (8.47), but fewer do too"),
            ("nine", "expected a number, got str"),
        ],
    ),
    "05.limit": (20.0, [(float("inf"), "is not the limit"), (0.05, "is not the limit")]),
    "05.scaled": (
        60.85,
        [(15.42, "the speedup of the fixed problem (Amdahl)"), (64, "no serial work at all"), (3.0, "is not how many")],
    ),
    "06.split": (
        _split,
        [
            (lambda c, p: [(k * (c // p), (k + 1) * (c // p)) for k in range(p)], "must cover 0..10"),
            (
                lambda c, p: [(0, c - p + 1)] + [(c - p + k, c - p + k + 1) for k in range(1, p)],
                "differ by more than one cell",
            ),
        ],
    ),
    "06.ring": (
        lambda e: [(e[k - 1][1], e[(k + 1) % len(e)][0]) for k in range(len(e))],
        [
            (
                lambda e: [
                    (e[k - 1][1] if k else None, e[k + 1][0] if k < len(e) - 1 else None) for k in range(len(e))
                ],
                "in a ring no block is at an end",
            ),
            (lambda e: [(e[(k + 1) % len(e)][0], e[k - 1][1]) for k in range(len(e))], "left and right are swapped"),
        ],
    ),
    "08.mapper": (
        _mapper,
        [
            (_count_words, "counts single words; this mapper counts each word with the next"),
            (lambda t: Counter(zip(w := re.findall(r"[A-Za-z]+", t), w[1:], strict=False)), "keeps capitals"),
            (lambda t: Counter(" ".join(p) for p in _mapper(t).elements()), "should be a (word, next word) tuple"),
            (lambda t: t.split(), "returned list, not a Counter"),
        ],
    ),
    "08.reducer": (
        lambda cs: Counter(k for c in cs for k in c),
        [
            (lambda cs: sum(cs, Counter()), "those are the total counts"),
            (lambda cs: cs[0], "returned {'a': 2, 'b': 1}"),
            (lambda cs: Counter(), "returned {}"),
        ],
    ),
    "08.patent": ("GPL-3", [("Apache-2.0", "another licence says it more"), ("GPL", "is not one of the corpus")]),
}


@pytest.mark.parametrize("exercise", sorted(SOLVED))
def test_a_solution_passes_and_mistakes_fail_with_a_hint(exercise: str) -> None:
    right, wrongs = SOLVED[exercise]
    result = workshop.check(exercise, right)
    assert result.ok, result
    assert repr(result).startswith(f"✔ {exercise}: right")
    for wrong, says in wrongs:
        result = workshop.check(exercise, wrong)
        assert not result.ok
        assert repr(result).startswith(f"✘ {exercise}: "), result
        assert says in result.message, result.message
        assert f"Hint: {CHECKS[exercise].hints[0]}" in result.message
    for unanswered in (..., _unwritten):  # no hint before a first try: the ... as given, or a function left empty
        said = workshop.check(exercise, unanswered)
        assert not said.ok and said.message.startswith("no answer yet") and "Hint" not in said.message


def test_hints_come_in_tiers_and_none_is_the_answer() -> None:
    # tiers: the check shows the first, workshop.hint() the next ones, and stays at the last
    tiers = CHECKS["06.ring"].hints
    assert len(tiers) == 3
    said = workshop.check("06.ring", lambda edges: edges).message  # a first try, wrong
    assert said.endswith(f"Hint: {tiers[0]} (another: workshop.hint('06.ring'))"), said
    assert repr(workshop.hint("06.ring")) == f"✘ 06.ring: Hint 2 of 3: {tiers[1]} (another: workshop.hint('06.ring'))"
    assert repr(workshop.hint("06.ring")) == f"✘ 06.ring: Hint 3 of 3: {tiers[2]}"
    assert repr(workshop.hint("06.ring")) == f"✘ 06.ring: Hint 3 of 3: {tiers[2]}"
    # no hint holds a line of the exercise's own solution (what the six hints named in issue 20 did)
    for exercise, ex in CHECKS.items():
        hints = " ".join(ex.hints)
        for line in workshop.solution(exercise).splitlines()[1:]:
            code = line.split("#")[0].strip()
            if len(code) >= 12 and "workshop.check" not in code:
                assert code not in hints, (exercise, code)
                call = code.split("=", 1)[-1].strip()  # the right-hand side alone
                assert len(call) < 12 or call not in hints, (exercise, call)
        # nor its recipe: two of the functions the solution calls named together (the old 02.pi hint: "map
        # count_hits ..., then use estimate_pi"), or a slice with a step (the old 03.interleave's rows[start::step])
        common = {"check", "range", "len", "list", "print", "sorted", "set", "dict", "int", "float", "str"}
        called = set(re.findall(r"(\w+)\(", workshop.solution(exercise))) - common
        named = {f for f in called if re.search(rf"\b{f}\b", hints)}
        assert len(named) < 2, (exercise, named)
        assert not re.search(r"\[[^\]]*::[^\]]*\]", hints), (exercise, hints)


def test_a_prediction_is_put_beside_the_measurement() -> None:
    assert repr(workshop.compare("speedup", 40, 50.0)) == "◆ speedup: predicted 40, measured 50: within a factor of two"
    assert "12.5 times what you thought" in workshop.compare("speedup", 4, 50.0).message
    assert "5.0 times less than you thought" in workshop.compare("speedup", 250, 50.0).message
    assert "no prediction was written" in workshop.compare("speedup", ..., 50.0).message
    assert "'fast' is not a number" in workshop.compare("speedup", "fast", 50.0).message


def test_a_function_that_raises_is_reported_not_raised() -> None:
    result = workshop.check("06.split", lambda cells, parts: cells / 0)
    assert not result.ok
    assert result.message.startswith("<lambda>(10, 3) raised ZeroDivisionError: division by zero. Hint:")


def test_a_plain_function_is_not_a_jit_function() -> None:
    def plain(n):
        return sum(i * i for i in range(n))

    result = workshop.check("04.jit", plain)
    assert not result.ok and "decorate it with @raiden_lab.jit" in result.message
    import raiden_lab

    jitted = workshop.check("04.jit", raiden_lab.jit(sum_of_squares))
    assert jitted.ok, jitted
    import numba

    njitted = workshop.check("04.jit", numba.njit(sum_of_squares))  # numba's own is numba compiling too
    assert njitted.ok and "in this notebook only, @raiden_lab.jit on every engine too" in njitted.message, njitted


def test_a_numpy_scalar_is_as_right_as_a_python_number() -> None:
    import numpy

    from raiden_lab.workshop.checks import StudentError, number

    assert number(numpy.int64(42)) == 42.0 and number(numpy.float32(0.5)) == 0.5 and number(7) == 7.0
    for wrong in (True, numpy.bool_(True), "42", None):
        with pytest.raises(StudentError, match="expected a number"):
            number(wrong)


def _cube(n):
    return n * n * n


def sum_of_squares(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


# -- the lessons, run end to end on the local cluster --------------------------------------------


def test_the_recorded_run_ships_labelled_and_a_cluster_records_its_own(local, tmp_path) -> None:
    shipped = workshop.recorded.load()
    assert "16 engines" in shipped.label and f"ONE {shipped.raw['head']['cpus']}-core" in shipped.label
    assert shipped.node_sizes == [4, 4, 4, 4]
    for table in (shipped.compute, shipped.modelled):
        assert [r["engines"] for r in table] == engine_counts(16) and table[0]["speedup"] == 1.0
    # any cluster records its own, with the same command a teacher would run
    out = local.cwd / "mine.json"
    ran = subprocess.run(
        [sys.executable, "-m", "raiden_lab.workshop.recorded", str(out), "--label", "two local engines", "--seconds", "1"],
        cwd=local.cwd, env=local.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    mine = workshop.recorded.load(out)
    engines = len(local("status", "--json").json()["nodes"][0]["engines"])
    assert mine.label == "two local engines" and mine.node_sizes == [engines]
    assert [r["engines"] for r in mine.compute] == list(range(1, engines + 1))
    assert ran.stdout.startswith("two local engines\n\ntasks that compute:\nengines  seconds")
    # a file that is not a recording: one sentence naming it
    (tmp_path / "bad.json").write_text('{"label": "x"}')
    with pytest.raises(InputError, match=r"bad\.json: not a recorded scaling run \(KeyError: 'node_sizes'\)"):
        workshop.recorded.load(tmp_path / "bad.json")
    with pytest.raises(InputError, match=r"missing\.json: cannot read the recorded run"):
        workshop.recorded.load(tmp_path / "missing.json")


def test_checks_that_ask_the_cluster(local, monkeypatch) -> None:
    monkeypatch.setenv("RAIDEN_HOME", str(local.home))
    import os

    import raiden_lab

    with raiden_lab.connect() as cluster:
        n = len(cluster.ids)
        assert workshop.check("00.engines", n, cluster=cluster).ok
        assert "is not how many engines" in workshop.check("00.engines", n + 1, cluster=cluster).message
        assert workshop.check("00.per_node", {"localhost": n}, cluster=cluster).ok
        assert "some counts are not" in workshop.check("00.per_node", {"localhost": n + 2}, cluster=cluster).message
        for i in cluster.ids:
            cluster.client[i]["my_id"] = i
        here = [sum(range(i * 1000)) for i in sorted(cluster.ids)]  # the right numbers, computed in the notebook
        said = workshop.check("01.totals", here, cluster=cluster).message
        assert "the engines do not hold them as `total`" in said, said
        cluster.direct.execute("total = sum(range(my_id * 1000))")
        assert workshop.check("01.totals", cluster.direct.pull("total"), cluster=cluster).ok
        assert not workshop.check("01.totals", [0] * n, cluster=cluster).ok
        assert workshop.check("01.pids", cluster.direct.apply_sync(os.getpid), cluster=cluster).ok
        assert "one process" in workshop.check("01.pids", [os.getpid()] * n, cluster=cluster).message
        said = workshop.check("01.pids", os.getpid(), cluster=cluster).message  # pids = os.getpid(): a sentence
        assert said.startswith("expected a list with one process id per engine, got int"), said
        table = cluster.warmup(raiden_lab.jit(sum_of_squares), "int64(int64)")
        assert workshop.check("04.warmup", table, cluster=cluster).ok
        assert "not in the table" in workshop.check("04.warmup", type(table)(table[:0]), cluster=cluster).message
        other = cluster.warmup(raiden_lab.jit(sum_of_squares), "float64(float64)")
        assert "the exercise asks for 64-bit integers" in workshop.check("04.warmup", other, cluster=cluster).message
        cube = cluster.warmup(raiden_lab.jit(_cube), "int64(int64)")
        assert "the exercise compiles sum_of_squares" in workshop.check("04.warmup", cube, cluster=cluster).message
        # 02.pi and 03.image: the right numbers made in the notebook are not the cluster's work
        from raiden_lab.workshop.reference import count_hits, mandel_row

        pi = 4 * sum(count_hits(50_000, s) for s in range(16)) / 800_000
        said = workshop.check("02.pi", pi, cluster=cluster).message
        assert "ran no map of count_hits over 16 seeds" in said, said
        hits = cluster.map(count_hits, [50_000] * 16, range(16))
        assert workshop.check("02.pi", 4 * sum(hits) / 800_000, cluster=cluster).ok
        assert "that is math.pi" in workshop.check("02.pi", 3.141592653589793, cluster=cluster).message
        here = [mandel_row(y, 160, 120, 100) for y in range(120)]
        assert "not as cluster.map returns them" in workshop.check("03.image", here, cluster=cluster).message
        drawn = cluster.map(mandel_row, range(120), [160] * 120, [120] * 120, [100] * 120)
        assert workshop.check("03.image", drawn, cluster=cluster).ok
        assert "not in order" in workshop.check("03.image", here[::-1], cluster=cluster).message
        # 07.results: which engine died during which map
        items = 100 * n
        said = workshop.check("07.results", [x * x for x in range(items)], cluster=cluster).message
        assert "not a list that cluster.map returned" in said, said  # the right squares, made here
        notebook = {"__name__": "__main__"}  # functions as a notebook defines them (sent by value)
        calm = cluster.map(eval("lambda x: x * x", notebook), range(items))
        said = workshop.check("07.results", calm, cluster=cluster).message
        assert "no engine died during this map" in said, said
        victim = cluster.ids[-1]
        killed = workshop.kill_engine(cluster, victim, after=0.5)
        assert killed["engine"] == victim and killed["pid"] > 0
        slow_square = eval("lambda x: __import__('time').sleep(0.05) or x * x", notebook)
        survived = cluster.map(slow_square, range(items), chunksize=10)
        said = workshop.check("07.results", survived, cluster=cluster).message
        assert f"although engine {victim} died during this map" in said, said
        assert wait_for(lambda: any(e["kind"] == "engine-died" for e in cluster_events(cluster.paths)), 30)
        said = workshop.check("07.results", calm, cluster=cluster).message  # an engine died, but not in that map
        assert "no engine died during this map" in said, said
        cluster.wait_for_engines(n, timeout=120)  # the supervisor restarts it
        assert (
            f"{items - 1} results for {items} items"
            in workshop.check("07.results", [x * x for x in range(items - 1)], cluster=cluster).message
        )
        assert (
            "not the squares"
            in workshop.check("07.results", [x * x for x in range(1, items + 1)], cluster=cluster).message
        )
        assert (
            "no event of kind 'engine-rebooted'"
            in workshop.check("07.event", "engine-rebooted", cluster=cluster).message
        )
        assert (
            "not the one about the new engine" in workshop.check("07.event", "cluster-running", cluster=cluster).message
        )


@pytest.mark.parametrize("name", LESSON_FILES)
def test_lesson_runs_end_to_end_on_the_local_cluster(local, name: str, monkeypatch) -> None:
    monkeypatch.setenv("RAIDEN_HOME", str(local.home))
    nb, seconds = run_lesson(local, name, local.cwd)
    assert_lesson_taught(name, nb)
    record_time(name, seconds, "local")
    save_run(name, nb)
    text = "".join(cell_text(c) for c in nb.cells)
    if name == "00-tour.ipynb":
        assert "cluster 'local' is already running" in text
        assert "localhost       up       engines" in text
    if name == "03-load-balancing.ipynb":  # predict, then measure; and what task size costs
        assert re.search(r"◆ static split, seconds: measured [\d.]+; no prediction was written", text), text
        by_size = [
            int(p) for p in re.findall(r"'[\d.]+ ms': '(\d+)%'", text.split("by task duration:")[1].split("\n")[0])
        ]
        assert len(by_size) == 6 and by_size[-1] > by_size[0], text  # 300 ms tasks waste less than 1 ms ones
        assert "returned at once; all done yet? False" in text, text  # an AsyncResult, iterated as rows arrive
        first, whole = re.search(r"first row after ([\d.]+) s; all 160 rows after ([\d.]+) s", text).groups()
        assert float(first) < float(whole), text
        # the two splits watched in the task stream: what the lanes show, measured from the task records
        assert re.search(r"engines busy, static blocks: \d+%; one row at a time: \d+%", text), text
        assert "same image both ways: True" in text, text
    if name == "05-scaling.ipynb":  # predict from a profile, then measure; the recorded 16-engine run, labelled
        engines = len(local("status", "--json").json()["nodes"][0]["engines"])
        assert f"engine counts to measure: {list(range(1, engines + 1))}" in text, text
        assert f"engines per node, in the order they join: [{engines}]" in text, text
        assert re.search(r"◆ serial fraction: measured [\d.]+; no prediction was written", text), text
        assert re.search(rf"◆ speedup on {engines} engines: measured [\d.]+; no prediction was written", text), text
        assert re.search(r"◆ speedup of 16 engines on 2 cores: measured [\d.]+; no prediction", text), text
        assert "Recorded on Raiden's virtual Pi cluster: 4 virtual nodes x 4 engines = 16 engines" in text, text
        report = json.loads((local.cwd / "05-scaling.json").read_text())  # the run kept as a report
        assert report["version"] == 1 and {f["function"] for f in report["functions"]} >= {"work"}
        assert re.search(r"saved 05-scaling.html: \d+ tasks", text), text
        # weak scaling: about 8 s per engine, measured on one engine; the grown problem's one-engine time labelled
        one = float(re.search(r"one engine, 8 tasks: ([\d.]+) s measured", text).group(1))
        assert 4 < one < 30, text
        assert re.search(rf"{engines} engines, +{8 * engines} tasks: [\d.]+ s; one engine would need [\d.]+ s "
                         r"\(extrapolated\)", text), text  # fmt: skip
    if name == "04-numba.ipynb":  # predict, then measure: the run writes no prediction, and is told so
        assert re.search(r"◆ numba speedup, one row: measured [\d.]+; no prediction was written", text), text
        one_core = float(re.search(r"numba on one core, here: +[\d.]+ s +\(([\d.]+)x faster", text).group(1))
        assert one_core > 1, text  # one core compiled beats every engine interpreting
        # the GIL and oversubscription, measured: threads of one engine, then threads on every engine at once
        assert re.search(r"pure Python +one thread [\d.]+ s, two threads \(twice the work\) [\d.]+ s", text), text
        assert re.search(r"numba, nogil +one thread [\d.]+ s, two threads", text), text
        assert re.search(r"◆ pure Python, two threads' time over one's: measured [\d.]+; no prediction", text), text
        assert re.search(r"every engine at once, one thread each: [\d.]+ s; \d+ threads each", text), text
    if name == "06-heat-equation.ipynb":  # a step's time predicted from lesson 01's latency, then measured
        assert re.search(r"◆ milliseconds per step: measured [\d.]+; no prediction was written", text), text
        assert re.search(r"a step: [\d.]+ ms, [\d.]+ round trips' worth", text), text
        profile = re.search(r"one step: [\d.]+ ms; computing [\d.]+ ms \((\d+)%\), the rest \((\d+)%\)", text)
        assert profile and int(profile.group(1)) + int(profile.group(2)) in (99, 100, 101), text
    if name == "06-heat-equation.ipynb":  # what breaks, shown: stale ghost cells give a wrong answer
        error = re.search(
            r"largest error with stale ghost cells: ([\d.]+) degrees, at cell (\d+) \(the boundary is at (\d+)\)", text
        )
        assert error and float(error.group(1)) > 0.1 and abs(int(error.group(2)) - int(error.group(3))) <= 2, text
    if name == "02-monte-carlo-pi.ipynb":  # what breaks, shown: one seed everywhere, and the error stays put
        assert "one seed: every task threw the same darts: True" in text, text
        assert "◆ one seed: error at 64 tasks / at 4: measured 1; no prediction was written" in text, text
    if name == "01-px.ipynb":  # what breaks, shown: a pushed list is a copy
        assert "this notebook's list: ['bread']" in text and "['bread', 'milk']" in text, text
        # what a message costs: measured both ways, fitted, put beside the learner's prediction
        assert re.search(r"notebook to engine: latency [\d.]+ ms \+ bytes / [\d,]+ MB/s \(12 sizes", text), text
        assert re.search(r"engine to engine \(one node\): latency [\d.]+ ms \+ bytes / [\d,]+ MB/s", text), text
        assert re.search(r"◆ 8 MiB round trip, ms: measured [\d.]+; no prediction was written", text), text
    if name == "07-fault-tolerance.ipynb":  # the laptop's cluster sets no memory limit, and the lesson says how
        assert "this cluster sets no memory_per_engine" in text and "set memory_per_engine in [cluster]" in text
    if name == "07-fault-tolerance.ipynb":  # what breaks, shown: a log appended to, then an idempotent task
        assert re.search(r"\d+ lines logged for \d+ tasks: \d+ tasks ran twice", text), text
        assert text.count("results, all right: True") == 2 and "tasks, each once: True" in text, text
        retried = re.search(r"(\d+) chunk\(s\) retried; every item computed once in the results: True", text)
        assert retried and int(retried.group(1)) >= 1 and "were sent again" in text, text
    if name == "08-map-reduce.ipynb":  # data pushed once or shipped with every task; hash() is per engine
        assert "same answers: True" in text, text
        sent = re.search(r"shipped with every task: [\d.]+ s, ([\d.]+) MiB sent", text)
        assert sent and 10 * 16 <= float(sent.group(1)) <= 50 * 16, text  # 16 tasks, each with 10-50 MB of data
        engines = len(local("status", "--json").json()["nodes"][0]["engines"])
        assert f"a ratio near {16 / engines:.1f} when sending is the cost" in text, text
        assert re.search(r"◆ shipping every time, times slower: measured [\d.]+; no prediction was written", text)
        said = re.findall(r"hash: (-?\d+)  crc32: (\d+)", text)
        assert len(said) == len(local("status", "--json").json()["nodes"][0]["engines"]), text
        assert len({h for h, _ in said}) > 1 and len({c for _, c in said}) == 1, said
    if name == "06-heat-equation.ipynb" and (shutil.which("mpiexec") or STRICT):
        # the MPI variant started its own MPI cluster of the same size, and its answer is the serial one
        engines = local("status", "--json").json()["engines"]["total"]
        assert f"{engines} MPI ranks: " in text
        assert re.search(r"rank to rank \(MPI\): latency [\d.]+ ms \+ bytes / [\d,]+ MB/s", text), text
        assert re.search(rf"8 MiB from rank 0 to {engines - 1} ranks: one by one [\d.]+ s, MPI's Bcast [\d.]+ s", text)
        assert re.search(r"◆ star over tree, 8 MiB: measured [\d.]+; no prediction was written", text), text
        assert text.count("bit for bit the serial answer: True") == 2
        assert not (local.cwd / "heat-mpi.toml").exists()  # the lesson leaves its folder as it was
        inventory = local.cwd.parent / "heat-mpi.toml"  # the same cluster, named from outside the folder
        inventory.write_text('[cluster]\nname = "heat-mpi"\nlauncher = "mpi"\n\n[[nodes]]\nhost = "localhost"\n')
        assert local("status", "-i", str(inventory), "--json").json()["state"] == "stopped"


def test_the_guides_table_of_lessons_is_the_lessons_declarations() -> None:
    """The instructor's guide lists the lessons from each folder's lesson.py
    (``python -m raiden_lab.operations.lessons notebooks/README.md`` writes it)."""
    guide = (NOTEBOOKS / "README.md").read_text()
    assert "<!-- lessons -->" in guide
    assert render_guide(guide, workshop.catalog()) == guide, (
        "run `python -m raiden_lab.operations.lessons notebooks/README.md`"
    )


def test_the_guides_agendas_add_up_and_give_each_lesson_its_minutes() -> None:
    """The one-day and two-half-days plans: each lesson's row has the minutes its lesson.py declares, every
    row starts where the one before it ended, and every lesson is in each plan once."""
    guide = (NOTEBOOKS / "README.md").read_text()
    declared = {x.number: x.minutes for x in workshop.catalog()}
    day = guide.split("**One day**")[1].split("**Two half-days**")[0]
    halves = guide.split("**Two half-days**")[1].split("For three hours only")[0]
    for plan, rows in (
        (day, r"^\| (\d\d):(\d\d) \| (.*?) \| (\d+) \|$"),
        (halves, r"^\| \d \| (\d\d):(\d\d) \| (.*?) \| (\d+) \|$"),
    ):
        found = [(int(h) * 60 + int(m), what, int(n)) for h, m, what, n in re.findall(rows, plan, re.M)]
        lessons = {what[:2]: n for _, what, n in found if re.match(r"\d\d · ", what)}
        assert lessons == declared, (lessons, declared)
        for (start, what, n), (after, _, _) in zip(found, found[1:], strict=False):
            assert after in (start + n, 13 * 60), (what, start, n, after)  # a half-day's second day starts at 13:00


def test_a_new_lesson_is_one_folder(tmp_path: Path, monkeypatch) -> None:
    """A lesson added as a folder (notebook, lesson.py, solutions/) and nothing else is in the catalog, the
    server's lesson routes, the guide's table, `raiden lab --workshop`'s copies, and its exercise is checked
    with its hints and its solution loaded."""
    lessons = tmp_path / "lessons"
    shutil.copytree(NOTEBOOKS, lessons, ignore=shutil.ignore_patterns("__pycache__"))
    new = lessons / "09-doubling"
    (new / "solutions").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 09 · Doubling\n\n**Goals.** double")])
    nbformat.write(nb, new / "09-doubling.ipynb")
    (new / "lesson.py").write_text(
        "from raiden_lab.workshop.checks import Exercise, call\n\n"
        'TITLE = "Doubling"\nTEACHES = "twice"\nMINUTES = 5\nRUN_TIME = "1 s"\nNEEDS = "-"\n\n\n'
        "def check_double(answer, _):\n"
        "    ok = call(answer, 21) == 42\n"
        '    return ok, "right: 42." if ok else "double(21) is not 42."\n\n\n'
        'EXERCISES = {"09.double": Exercise(check_double, ("multiply by two.", "x * 2"))}\n'
    )
    (new / "solutions" / "09.double.ipy").write_text(
        'def double(x):\n    return 2 * x\nworkshop.check("09.double", double)\n'
    )
    monkeypatch.setattr(lessons_module, "lessons_dir", lambda: lessons)
    assert workshop.catalog()[-1].file == "09-doubling.ipynb" and "09.double" in exercise_names()
    from raiden_lab.server.manager import ClusterManager

    assert ClusterManager(tmp_path).lessons()[-1] == {
        "file": "09-doubling.ipynb",
        "number": "09",
        "title": "Doubling",
        "copy": None,
    }
    assert "| 09 | Doubling | twice | 09.double | 5 | 1 s | - |" in guide_table(workshop.catalog())
    assert (workshop.copy_workshop(tmp_path / "copies") / "09-doubling.ipynb").is_file()
    wrong = workshop.check("09.double", lambda x: x + 2)
    assert not wrong and "double(21) is not 42. Hint: multiply by two." in wrong.message
    assert workshop.check("09.double", lambda x: 2 * x)
    assert "return 2 * x" in workshop.solution("09.double")
