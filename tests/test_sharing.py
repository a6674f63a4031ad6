"""Node-aware data: `cluster.broadcast` sends one copy per node, which that node's engines share.

On the virtual cluster: two nodes of two engines each get two copies (one each), every
engine sees the same values, an array is a read-only memory map of its node's copy,
and `forget` frees them. `scatter` splits an array's rows the same way (one message per
node, each engine a read-only view of its rows) and `gather` joins them again.
"""

from __future__ import annotations

import json

import pytest

from conftest import _make_raiden

CHECK = """
import json, os, numpy, raiden_lab
c = raiden_lab.connect(inventory={inventory!r})
data = numpy.arange(3_000_000, dtype=numpy.float64)  # 24 MB
c.broadcast("data", data)
c.broadcast("settings", {{"scale": 2.5, "labels": ["a", "b"]}})
def look():
    import os
    return (os.environ["RAIDEN_NODE"], type(data).__name__, data.filename, float(data.sum()),
            bool(data.flags.writeable), settings["scale"] * 2)
seen = c.direct.apply_sync(look)
paths = sorted(set(s[2] for s in seen))
c.forget("data")
gone = [not os.path.exists(p) for p in paths]
left = c.direct.apply_sync(lambda: "data" in globals())
print(json.dumps({{"seen": seen, "paths": paths, "gone": gone, "left": left, "want": float(data.sum())}}))
"""


SCATTER = """
import json, os, numpy, raiden_lab
c = raiden_lab.connect(inventory={inventory!r})
table = numpy.arange(10_001 * 3, dtype=numpy.float64).reshape(10_001, 3)  # rows that do not split evenly
c.scatter("rows", table)
def look():
    import os
    return (os.environ.get("RAIDEN_NODE", "here"), type(rows).__name__, rows.filename, rows.shape[0],
            float(rows[:, 0].min()) if len(rows) else None, bool(rows.flags.writeable))
seen = c.direct.apply_sync(look)
back = c.gather("rows")
c.direct.execute("doubled = rows * 2", block=True)  # the engines compute from their rows
doubled = c.gather("doubled", like="rows")
paths = sorted(set(s[2] for s in seen))
c.forget("rows")
print(json.dumps({{"seen": seen, "paths": paths, "same": bool(numpy.array_equal(back, table)),
                  "doubled": bool(numpy.array_equal(doubled, table * 2)),
                  "gone": [not os.path.exists(p) for p in paths]}}))
"""


def _check_scatter(raiden, inventory, nodes: int, engines: int) -> None:
    ran = raiden.python(SCATTER.format(inventory=str(inventory)), timeout=180)
    assert ran.code == 0, ran
    got = json.loads(ran.out.strip().splitlines()[-1])
    seen = got["seen"]
    assert len(seen) == engines and sum(s[3] for s in seen) == 10_001  # every row once
    assert {s[3] for s in seen} <= {10_001 // engines, 10_001 // engines + 1}, seen  # as even as can be
    assert all(s[1] == "memmap" and s[5] is False for s in seen), seen  # a read-only view, no copy of its own
    assert len(got["paths"]) == nodes  # one copy per node
    assert got["same"] and got["doubled"] and all(got["gone"])


@pytest.mark.vcluster
def test_broadcast_sends_one_copy_per_node_shared_by_its_engines(vpi, tmp_path_factory) -> None:
    raiden = _make_raiden(tmp_path_factory.mktemp("share"))
    pi1, pi2 = vpi.node("pi1"), vpi.node("pi2")
    inventory = vpi.inventory("share", [pi1, pi2], engines=2)
    try:
        assert raiden("up", "-i", str(inventory)).code == 0
        ran = raiden.python(CHECK.format(inventory=str(inventory)), timeout=120)
        assert ran.code == 0, ran
        got = json.loads(ran.out.strip().splitlines()[-1])
        seen = got["seen"]
        assert len(seen) == 4 and {s[0] for s in seen} == {pi1.address, pi2.address}
        # every engine: a read-only memory map with the right values, and the plain object
        assert all(s[1] == "memmap" and s[3] == got["want"] and s[4] is False and s[5] == 5.0 for s in seen), seen
        # one file per node, shared by that node's two engines
        by_node = {node: {s[2] for s in seen if s[0] == node} for node in (pi1.address, pi2.address)}
        assert all(len(files) == 1 for files in by_node.values()) and len(got["paths"]) == 2, by_node
        assert got["gone"] == [True, True] and got["left"] == [False] * 4
        _check_scatter(raiden, inventory, nodes=2, engines=4)
    finally:
        raiden("down", "-i", str(inventory))


def test_broadcast_on_a_local_cluster_and_a_bad_name(tmp_path) -> None:
    raiden = _make_raiden(tmp_path)
    (raiden.cwd / "raiden.toml").write_text(
        '[cluster]\nname = "share1"\n\n[[nodes]]\nhost = "localhost"\nengines = 2\n'
    )
    try:
        assert raiden("up").code == 0
        ran = raiden.python(CHECK.format(inventory=str(raiden.cwd / "raiden.toml")).replace("RAIDEN_NODE", "HOME"))
        assert ran.code == 0, ran
        got = json.loads(ran.out.strip().splitlines()[-1])
        assert len(got["paths"]) == 1 and got["paths"][0].startswith("/dev/shm/raiden-")
        assert all(s[1] == "memmap" and s[3] == got["want"] for s in got["seen"])
        ran = raiden.python("import raiden_lab\nraiden_lab.connect().broadcast('two words', 1)\n")
        assert ran.code == 1 and "ValueError: broadcast: 'two words' is not a Python name" in ran.err
        _check_scatter(raiden, raiden.cwd / "raiden.toml", nodes=1, engines=2)
        ran = raiden.python("import raiden_lab\nraiden_lab.connect().gather('nothing')\n")
        assert ran.code == 1 and "gather: nothing was scattered as 'nothing'" in ran.err
    finally:
        raiden("down")
