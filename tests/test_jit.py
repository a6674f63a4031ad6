"""numba on every engine: compiled per node from source, cached per node, mapped in chunks."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import _make_raiden

KERNELS = """
import math
import raiden_lab

SCALE = 2.0

@raiden_lab.jit
def inner(x):
    return x * SCALE

@raiden_lab.jit(fastmath=True)
def series(n):
    s = 0.0
    for i in range(n):
        s += inner(i) + math.sqrt(i)
    return s

def series_py(n):
    s = 0.0
    for i in range(n):
        s += i * SCALE + math.sqrt(i)
    return s
"""


@pytest.fixture(scope="module")
def jitc(tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("jit"))
    (raiden.cwd / "kernels.py").write_text(KERNELS)
    assert raiden("up").code == 0
    try:
        yield raiden
    finally:
        raiden("down")


def _py(raiden, body: str):
    ran = raiden.python("import json, sys, raiden_lab\nsys.path.insert(0, '.')\n" + textwrap.dedent(body))
    assert ran.code == 0, ran.err
    return json.loads(ran.out.strip().splitlines()[-1])


def test_jitted_map_equals_plain_python_and_runs_here_too(jitc) -> None:
    got = _py(
        jitc,
        """
        import kernels
        c = raiden_lab.connect()
        print(json.dumps({"map": c.map(kernels.series, range(300)),
                          "py": [kernels.series_py(n) for n in range(300)],
                          "here": kernels.series(10)}))
    """,
    )
    assert got["map"] == pytest.approx(got["py"], rel=1e-12)
    assert got["here"] == pytest.approx(got["py"][10])


def test_warmup_compiles_on_every_engine_then_a_restarted_engine_hits_the_cache(jitc) -> None:
    script = """
        import kernels
        c = raiden_lab.connect()
        print(json.dumps(list(c.warmup(kernels.series, "float64(int64)"))))
    """
    first = _py(jitc, script)
    assert [r["engine"] for r in first] == [0, 1]
    assert all(r["node"] == "localhost" and r["arch"] and r["seconds"] > 0 for r in first)
    assert jitc("restart", "localhost").code == 0
    again = _py(jitc, script)
    assert all(r["cache_hit"] for r in again), again
    cache = jitc.home / "local" / "work" / "jit"
    assert any(p.name.startswith("raiden_jit_series_") for p in cache.iterdir())
    assert any(p.suffix == ".nbi" for p in (cache / "__pycache__").iterdir())


def test_a_changed_function_recompiles(jitc) -> None:
    def version(k: int) -> None:
        (jitc.cwd / "changing.py").write_text(f"import raiden_lab\n\n@raiden_lab.jit\ndef g(x):\n    return x + {k}\n")

    script = """
        import changing
        c = raiden_lab.connect()
        rows = c.warmup(changing.g, "int64(int64)")
        print(json.dumps({"hit": [r["cache_hit"] for r in rows], "value": c.map(changing.g, [1])}))
    """
    version(1)
    one = _py(jitc, script)
    version(2)
    two = _py(jitc, script)
    assert two["value"] == [3] and one["value"] == [2]
    assert not any(two["hit"])  # a new function is compiled, never taken from the old entry


def test_a_function_numba_cannot_compile_gives_one_clear_error(jitc) -> None:
    (jitc.cwd / "broken.py").write_text('import raiden_lab\n\n@raiden_lab.jit\ndef h(x):\n    return x + "a"\n')
    ran = jitc.python(
        "import sys, raiden_lab\nsys.path.insert(0, '.')\nimport broken\nc = raiden_lab.connect()\n"
        "try:\n    c.warmup(broken.h, 'int64(int64)')\nexcept raiden_lab.RaidenError as e:\n    print(str(e))\n"
    )
    assert ran.code == 0, ran.err
    lines = ran.out.strip().splitlines()
    assert lines[0] == "h: numba could not compile it on localhost:"
    assert lines[1].startswith("TypingError:")
    assert ran.out.count("could not compile") == 1


def test_functions_that_cannot_travel_are_named(jitc) -> None:
    (jitc.cwd / "travel.py").write_text(
        "import raiden_lab\n\ndef helper(x):\n    return x\n\n@raiden_lab.jit\ndef k(x):\n    return helper(x)\n"
    )
    ran = jitc.python("import sys, raiden_lab\nsys.path.insert(0, '.')\nimport travel\ntravel.k(1)\n")
    assert ran.code == 1
    assert "k: calls helper, which is not a raiden_lab.jit function; decorate helper with @raiden_lab.jit" in ran.err


def test_engines_split_the_cores_for_numba_threads(jitc) -> None:
    threads = _py(
        jitc,
        """
        import os
        c = raiden_lab.connect()
        print(json.dumps(c.direct.apply_sync(lambda: __import__("os").environ.get("NUMBA_NUM_THREADS"))))
    """,
    )
    import os

    assert threads == [str(max(1, os.cpu_count() // 2))] * 2


def test_chunked_map_keeps_order_and_loses_nothing_when_an_engine_dies(jitc) -> None:
    got = _py(
        jitc,
        """
        import os, signal
        c = raiden_lab.connect()
        victim = c.nodes[0]["engines"][1]["pid"]
        def slow(x):
            import time
            time.sleep(0.0005)
            return x * 3
        out = []
        for i, r in enumerate(c.imap(slow, range(20000), progress=False)):
            out.append(r)
            if i == 2000:
                os.kill(victim, signal.SIGKILL)
        print(json.dumps({"ok": out == [x * 3 for x in range(20000)], "n": len(out)}))
    """,
    )
    assert got == {"ok": True, "n": 20000}


def test_map_of_many_tiny_items_in_explicit_chunks(jitc) -> None:
    got = _py(
        jitc,
        """
        c = raiden_lab.connect()
        a = c.map(lambda x, y: x - y, range(50000), range(0, 100000, 2), chunksize=777)
        b = sorted(c.map(abs, range(-500, 500), ordered=False))
        print(json.dumps({"a": a == [x - 2 * x for x in range(50000)], "b": b == sorted(abs(x) for x in range(-500, 500))}))
    """,
    )
    assert got == {"a": True, "b": True}
