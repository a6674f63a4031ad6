"""The cluster looks after itself: sensors, dead engines, lost nodes, a dead controller.

Runs on the virtual Pi cluster (pi1-pi3, 2 engines each). The Pi's sensors
cannot exist here, so each node's agent reads a file the test writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import _make_raiden, dashboard_html

pytestmark = pytest.mark.vcluster

MAP_SCRIPT = """
import json, os, signal, sys, time, raiden_lab
c = raiden_lab.connect(inventory={inventory!r})
def work(x):
    import time
    time.sleep({task_s})
    return x * x
results = []
for i, r in enumerate(c.imap(work, range({n}))):
    results.append(r)
    if i == {signal_after}:
        print("halfway", flush=True)
        {action}
print(json.dumps(results), flush=True)
"""


@pytest.fixture(scope="module")
def heal(vpi, tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("heal"))
    sensors = vpi.base / "sensors"
    for node in vpi.nodes:
        _set_sensor(sensors, node.address, temp_c=45.0, throttled=0)
    raiden.env["RAIDEN_THERMAL_PATH"] = str(sensors / "{host}" / "temp")
    raiden.env["RAIDEN_THROTTLED_PATH"] = str(sensors / "{host}" / "throttled")
    raiden.env["RAIDEN_POWER_PATH"] = str(sensors / "{host}" / "power")  # a PoE HAT's reading, in microwatts
    inventory = vpi.inventory("heal", [vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3")])
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 0, ran
    try:
        yield raiden, inventory, sensors
    finally:
        raiden("down", "-i", str(inventory))
        for node in vpi.nodes:
            vpi.set_link(node, up=True)


def _set_sensor(sensors: Path, host: str, temp_c: float, throttled: int, watts: float = 3.0) -> None:
    folder = sensors / host
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "power").write_text(f"{int(watts * 1e6)}\n")
    (folder / "temp").write_text(f"{int(temp_c * 1000)}\n")
    (folder / "throttled").write_text(f"{throttled:#x}\n")


def _status(raiden, inventory) -> dict:
    return raiden("status", "-i", str(inventory), "--json").json()


def _node(status: dict, host: str) -> dict:
    return next(n for n in status["nodes"] if n["host"] == host)


def _wait_for(what, condition, timeout: float) -> float:
    """Poll ``condition`` until it holds; return the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.2)
    return time.monotonic() - start


def _events(raiden, inventory, kind: str) -> list[dict]:
    return [
        e for e in raiden("events", "-i", str(inventory), "--json", "-n", "500").json()["events"] if e["kind"] == kind
    ]


def test_every_node_reports_a_sample_a_second(vpi, heal) -> None:
    raiden, inventory, _ = heal
    first = {n["host"]: n["sample"]["time"] for n in _status(raiden, inventory)["nodes"]}
    time.sleep(2.5)
    status = _status(raiden, inventory)
    for node in status["nodes"]:
        sample = node["sample"]
        assert sample["time"] - first[node["host"]] >= 1.5
        assert len(sample["cpu"]) == os.cpu_count()
        assert sample["temperature"] == 45.0 and sample["throttled"]["raw"] == 0
        assert sample["memory"]["total"] > 0 and sample["disk_free"] > 0 and len(sample["load"]) == 3
        engine_pids = {str(e["id"]): e["pid"] for e in node["engines"]}
        assert {k: v["pid"] for k, v in sample["engines"].items()} == engine_pids
        assert all(v["memory"] > 0 for v in sample["engines"].values())


def test_a_hot_throttled_node_shows_in_status_and_events(vpi, heal) -> None:
    raiden, inventory, sensors = heal
    pi2 = vpi.node("pi2").address
    _set_sensor(sensors, pi2, temp_c=82.5, throttled=0x50005)
    _wait_for("the hot sample", lambda: _node(_status(raiden, inventory), pi2)["sample"]["temperature"] == 82.5, 10)
    sample = _node(_status(raiden, inventory), pi2)["sample"]
    assert sample["throttled"]["under_voltage"] and sample["throttled"]["throttled"]
    assert sample["throttled"]["under_voltage_occurred"] and not sample["throttled"]["freq_capped"]
    table = raiden("status", "-i", str(inventory)).out
    row = next(line for line in table.splitlines() if line.strip().startswith(pi2))
    assert "82°C" in row and "under voltage, throttled" in row
    began = [e for e in _events(raiden, inventory, "throttling-began") if e["host"] == pi2]
    assert sorted(e["message"] for e in began) == ["throttled", "under voltage"]
    hot = [e for e in _events(raiden, inventory, "temperature-high") if e["host"] == pi2]
    assert len(hot) == 1 and hot[0]["message"].startswith("82.5 °C")

    _set_sensor(sensors, pi2, temp_c=50.0, throttled=0x50000)
    _wait_for("throttling to end", lambda: len(_events(raiden, inventory, "throttling-ended")) == 2, 10)
    assert [e["host"] for e in _events(raiden, inventory, "temperature-normal")] == [pi2]


def _run_map(raiden, inventory, n: int, action: str, signal_after: int = 100, task_s: float = 0.02):
    script = MAP_SCRIPT.format(inventory=str(inventory), n=n, signal_after=signal_after, task_s=task_s, action=action)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=raiden.cwd,
        env=raiden.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish_map(proc: subprocess.Popen, n: int) -> None:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    results = json.loads(out.strip().splitlines()[-1])
    assert results == [x * x for x in range(n)]  # every result, once, in order


def test_killed_engine_mid_map_loses_nothing_and_comes_back(vpi, heal) -> None:
    raiden, inventory, _ = heal
    pi1 = _node(_status(raiden, inventory), vpi.node("pi1").address)
    victim = pi1["engines"][0]
    proc = _run_map(raiden, inventory, 1200, f"os.kill({victim['pid']}, signal.SIGKILL)")
    assert proc.stdout.readline().strip() == "halfway"
    killed_at = time.monotonic()
    _finish_map(proc, 1200)

    def back() -> bool:
        engine = next(e for e in _node(_status(raiden, inventory), pi1["host"])["engines"] if e["id"] == victim["id"])
        return engine["state"] in ("idle", "busy") and engine["pid"] != victim["pid"]

    _wait_for("the engine's restart", back, timeout=max(1.0, 15 - (time.monotonic() - killed_at)))
    assert [e["host"] for e in _events(raiden, inventory, "engine-restarted")] == [pi1["host"]]


def test_node_cut_off_mid_map_is_marked_down_and_rejoins(vpi, heal) -> None:
    raiden, inventory, _ = heal
    pi3 = vpi.node("pi3")
    proc = _run_map(raiden, inventory, 1500, "pass")
    assert proc.stdout.readline().strip() == "halfway"
    vpi.set_link(pi3, up=False)
    try:
        took = _wait_for(
            "pi3 marked down", lambda: _node(_status(raiden, inventory), pi3.address)["state"] == "down", timeout=10
        )
        print(f"pi3 marked down {took:.1f} s after its link went down")
        _finish_map(proc, 1500)
        status = _status(raiden, inventory)
        assert status["state"] == "degraded"
        assert all(e["state"] == "dead" for e in _node(status, pi3.address)["engines"])
    finally:
        vpi.set_link(pi3, up=True)

    def rejoined() -> bool:
        node = _node(_status(raiden, inventory), pi3.address)
        return node["state"] == "up" and all(e["state"] in ("idle", "busy") for e in node["engines"])

    took = _wait_for("pi3 back with its engines", rejoined, timeout=90)
    print(f"pi3 back {took:.1f} s after its link came up")
    assert _status(raiden, inventory)["engines"] == {"alive": 6, "total": 6}
    assert [e["host"] for e in _events(raiden, inventory, "node-down")] == [pi3.address]
    assert [e["host"] for e in _events(raiden, inventory, "node-back")] == [pi3.address]
    assert len([p for p in vpi.processes(pi3) if "ipyparallel.engine" in p and "nanny" not in p]) == 2


def test_killed_controller_is_restarted_and_engines_register_again(vpi, heal) -> None:
    raiden, inventory, _ = heal
    before = _status(raiden, inventory)["controller"]["pid"]
    os.kill(before, signal.SIGKILL)

    def recovered() -> bool:
        status = _status(raiden, inventory)
        return (
            status["controller"]["pid"] != before and status["engines"]["alive"] == 6 and status["state"] == "running"
        )

    _wait_for("the cluster's recovery", recovered, timeout=90)
    assert len(_events(raiden, inventory, "controller-restarted")) == 1
    ran = raiden.python(
        f"import raiden_lab; c = raiden_lab.connect(inventory={str(inventory)!r}); "
        "print(c.map(lambda x: -x, range(12)))"
    )
    assert ran.code == 0, ran.err
    assert ran.out.strip() == str([-x for x in range(12)])


def test_each_node_compiles_into_its_own_cache(vpi, heal) -> None:
    raiden, inventory, _ = heal
    (raiden.cwd / "kern.py").write_text(
        "import raiden_lab\n\n@raiden_lab.jit\ndef poly(x):\n    return 3.0 * x * x + 1.0\n"
    )
    script = (
        "import json, sys, raiden_lab\nsys.path.insert(0, '.')\nimport kern\n"
        f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
        "rows = list(c.warmup(kern.poly, 'float64(float64)'))\n"
        "print(json.dumps({'rows': rows, 'map': c.map(kern.poly, [0.0, 1.0, 2.0])}))\n"
    )
    ran = raiden.python(script)
    assert ran.code == 0, ran.err
    got = json.loads(ran.out)
    assert got["map"] == [1.0, 4.0, 13.0]
    nodes = sorted(r["node"] for r in got["rows"])
    assert nodes == sorted(2 * [vpi.node(n).address for n in ("pi1", "pi2", "pi3")])
    for name in ("pi1", "pi2", "pi3"):
        cache = vpi.node(name).work_dir / "jit"
        assert any(p.name.startswith("raiden_jit_poly_") for p in cache.iterdir())
        assert any(p.suffix == ".nbi" for p in (cache / "__pycache__").iterdir()), name
    assert raiden("restart", vpi.node("pi2").address, "-i", str(inventory)).code == 0
    ran = raiden.python(script)
    rows = json.loads(ran.out)["rows"]
    assert all(r["cache_hit"] for r in rows if r["node"] == vpi.node("pi2").address), rows


STRAGGLER_SCRIPT = """
import json, raiden_lab
c = raiden_lab.connect(inventory={inventory!r})
def spin(x):
    import time
    end = time.process_time() + 0.15  # CPU work: a node whose CPU runs slower takes longer
    while time.process_time() < end:
        pass
    return x
with raiden_lab.report({report!r}, title="one hot node"):
    results = c.map(spin, range(24), chunksize=1)
print(json.dumps(list(results)))
"""


def _duty_cycle(pids: list[int], stop_s: float, run_s: float, until: threading.Event) -> None:
    """A CPU that runs a tenth of the time: what a Pi's throttled clock does to its engines."""
    while not until.is_set():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        time.sleep(stop_s)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        time.sleep(run_s)


def test_a_throttled_node_is_the_straggler_the_stream_and_the_report_show(vpi, heal, tmp_path) -> None:
    from raiden_lab.config.paths import ClusterPaths
    from raiden_lab.operations.taskfile import stream_model

    raiden, inventory, sensors = heal
    pi2 = vpi.node("pi2").address
    status = _status(raiden, inventory)
    slow = [e["pid"] for e in _node(status, pi2)["engines"] if e.get("pid")]
    assert len(slow) == 2, _node(status, pi2)
    _set_sensor(sensors, pi2, temp_c=84.0, throttled=0x50004, watts=6.0)  # throttled now (and since boot), hot
    _wait_for(
        "the throttled sample", lambda: _node(_status(raiden, inventory), pi2)["sample"]["temperature"] == 84.0, 10
    )
    report = tmp_path / "hot.html"
    until = threading.Event()
    cycling = threading.Thread(target=_duty_cycle, args=(slow, 0.045, 0.005, until), daemon=True)
    cycling.start()
    try:
        ran = subprocess.run(
            [sys.executable, "-c", STRAGGLER_SCRIPT.format(inventory=str(inventory), report=str(report))],
            cwd=raiden.cwd, env=raiden.env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    finally:
        until.set()
        cycling.join()
        for pid in slow:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        _set_sensor(sensors, pi2, temp_c=50.0, throttled=0x50000)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout.strip().splitlines()[-1]) == list(range(24))

    # the report: pi2's tasks are the stragglers, and it says why
    data = json.loads(report.with_suffix(".json").read_text())
    stragglers = data["stragglers"]
    assert stragglers and {s["node"] for s in stragglers} == {pi2}, stragglers
    assert all(any(w.startswith("throttled at 84 °C") for w in s["why"]) for s in stragglers), stragglers
    hot = next(n for n in data["nodes"] if n["host"] == pi2)
    assert hot["throttled_samples"] > 0 and hot["max_temperature"] == 84.0

    # energy: each node's power readings over the run (pi2 draws 6 W, the others 3 W), shared among the tasks
    energy = data["energy"]
    span = data["wall_s"]
    by_node = {n["host"]: n for n in energy["nodes"]}
    assert set(by_node) == {vpi.node(p).address for p in ("pi1", "pi2", "pi3")}
    assert by_node[pi2]["mean_watts"] == pytest.approx(6.0, rel=0.2) and by_node[pi2]["joules"] == pytest.approx(
        6.0 * span, rel=0.25
    )
    assert by_node[vpi.node("pi1").address]["mean_watts"] == pytest.approx(3.0, rel=0.01)
    (spin,) = energy["functions"]
    assert spin["items"] == 24 and spin["joules"] == pytest.approx(energy["total_j"], rel=1e-6)
    assert energy["per_result_j"] == pytest.approx(energy["total_j"] / 24)

    # the stream (what the sidebar and dashboards draw): pi2's lanes hold the long tasks, its heat is throttled
    paths = ClusterPaths("heal", Path(raiden.env["RAIDEN_HOME"]))
    stream = stream_model(paths.root, paths.store, seconds=300)
    spins = [t for t in stream["tasks"] if t["function"] == "spin"]
    assert len(spins) == 24, stream["tasks"]
    on_pi2 = sorted(t["end"] - t["start"] for t in spins if t["node"] == pi2)
    elsewhere = sorted(t["end"] - t["start"] for t in spins if t["node"] != pi2)
    assert on_pi2 and elsewhere and on_pi2[-1] > elsewhere[-1], (on_pi2, elsewhere)  # the longest lane box is pi2's
    board = dashboard_html(raiden, inventory)  # the notebook's dashboard draws the same stream
    assert len(re.findall(r"class='raiden-stream-task raiden-stream-ok'[^>]*><title>spin ", board)) == 24, board
    assert re.search(rf"{re.escape(pi2)}: 84.0 °C, (\d+ MHz, )?throttled</title>", board), board
    heat = next(n for n in stream["nodes"] if n["host"] == pi2)
    assert any(s["throttled"] for s in heat["samples"]) and sorted(heat["engines"]) == sorted(
        e["id"] for e in _node(status, pi2)["engines"]
    )
