"""The machine as it changes, on the virtual Pi cluster: nodes join and leave a running cluster
under a running map, and the power switch (power_switch.py: kills a namespace's processes and
cuts its link, then brings back its link and sshd) turns nodes off, on, and heals a hung one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import power_switch
import pytest

from conftest import Raiden, _make_raiden, wait_for

pytestmark = pytest.mark.vcluster

# A map that runs for a while: each item takes 0.1 s and says which node ran it.
MAP = """
import json, os, sys, time, raiden_lab
c = raiden_lab.connect(inventory={inventory!r})
def work(x):
    import os, time
    time.sleep(0.1)
    return x * x, os.environ.get("RAIDEN_NODE")
print("started", flush=True)
out = c.map(work, range({items}))
print(json.dumps({{"squares": [r[0] for r in out], "nodes": [r[1] for r in out]}}), flush=True)
"""


def _status(raiden: Raiden, inventory: Path) -> dict:
    ran = raiden("status", "--json", "-i", str(inventory))
    assert ran.code in (0, 1), ran
    return ran.json()


def _kinds(raiden: Raiden, inventory: Path) -> list[str]:
    return [e["kind"] for e in raiden("events", "--json", "-n", "300", "-i", str(inventory)).json()["events"]]


def _start_map(raiden: Raiden, inventory: Path, items: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", MAP.format(inventory=str(inventory), items=items)],
        cwd=raiden.cwd,
        env=raiden.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started", proc.stderr.read()
    return proc


def _raiden_processes(vpi, node) -> list[str]:
    return [p for p in vpi.processes(node) if "raiden" in p or "ipyparallel" in p]


def test_nodes_join_and_leave_a_running_cluster_under_a_running_map(vpi, tmp_path_factory) -> None:
    raiden = _make_raiden(tmp_path_factory.mktemp("grow"))
    pi1, pi2, pi3 = vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3")
    inventory = vpi.inventory("grow", [pi1, pi2], engines=2)
    try:
        assert raiden("up", "-i", str(inventory)).code == 0
        mapping = _start_map(raiden, inventory, 1500)
        time.sleep(2)
        # grow: pi3 appended to the file as `raiden add` does, then applied live
        text = inventory.read_text()
        inventory.write_text(
            text + f'\n# the third board\n[[nodes]]\nhost = "{pi3.address}"\npython = "{pi3.python}"\n'
            f'work_dir = "{pi3.work_dir}"\n'
        )
        started = time.monotonic()
        ran = raiden("reload", "-i", str(inventory))
        joined_s = time.monotonic() - started
        assert ran.code == 0, ran
        assert f"{pi3.address} joined: cluster 'grow' has 6 engines on 3 nodes now" in ran.out, ran.out
        print(f"\nfrom `raiden reload` to pi3's engines registered: {joined_s:.1f} s")
        assert mapping.poll() is None, "the map ended before the node joined: make it longer"
        nodes = {n["host"]: n for n in _status(raiden, inventory)["nodes"]}
        assert sorted(e["id"] for e in nodes[pi3.address]["engines"]) == [4, 5]

        # shrink: pi1 drained while the map runs; its tasks finish, then it leaves the file and the cluster
        time.sleep(3)
        ran = raiden("remove", pi1.address, "--drain", "-i", str(inventory))
        assert ran.code == 0, ran
        assert f"{pi1.address}: drained" in ran.out and f"{pi1.address}: removed from {inventory}" in ran.out
        assert mapping.poll() is None, "the map ended before the node left: make it longer"
        assert pi1.address not in inventory.read_text() and "# the third board" in inventory.read_text()
        status = _status(raiden, inventory)
        assert [n["host"] for n in status["nodes"]] == [pi2.address, pi3.address]
        assert status["engines"]["alive"] == 4 and status["state"] == "running"
        assert wait_for(lambda: not _raiden_processes(vpi, pi1), 20), _raiden_processes(vpi, pi1)

        out, err = mapping.communicate(timeout=300)
        assert mapping.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        # every result once, in order: none lost or doubled across the join and the removal
        assert result["squares"] == [x * x for x in range(1500)]
        ran_on = {host: result["nodes"].count(host) for host in set(result["nodes"])}
        assert ran_on.get(pi3.address, 0) > 50, ran_on  # the running map used the node that joined
        assert ran_on.get(pi1.address, 0) > 0, ran_on
        kinds = _kinds(raiden, inventory)
        for kind in ("node-added", "node-draining", "node-removed"):
            assert kind in kinds, kinds
        # a cluster setting is not changed live: said, and nothing changed
        inventory.write_text(inventory.read_text().replace("engines_per_node = 2", "engines_per_node = 3"))
        ran = raiden("reload", "-i", str(inventory))
        assert ran.code == 1 and "engines_per_node changed in [cluster]" in ran.err, ran
        assert _status(raiden, inventory)["engines"]["alive"] == 4
        # the last node cannot be removed
        inventory.write_text(inventory.read_text().replace("engines_per_node = 3", "engines_per_node = 2"))
        assert raiden("remove", pi3.address, "-i", str(inventory)).code == 0
        ran = raiden("remove", pi2.address, "-i", str(inventory))
        assert ran.code == 2 and "is the only node" in ran.err, ran
    finally:
        raiden("down", "-i", str(inventory))
    for node in (pi1, pi2, pi3):
        assert not _raiden_processes(vpi, node), _raiden_processes(vpi, node)


def _freeze(node) -> list[int]:
    """SIGSTOP the node's sshd processes and its agent: the node hangs, as a Pi with a wedged kernel."""
    stopped = []
    pids = subprocess.run(["ip", "netns", "pids", node.namespace], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if any(b"sshd" in w for w in words[:2]) or b"--work-dir" in words:
                os.kill(int(pid), signal.SIGSTOP)
                stopped.append(int(pid))
        except OSError:
            continue
    return stopped


def test_power_off_on_and_a_hung_node_healed_by_a_power_cycle(vpi, tmp_path_factory) -> None:
    raiden = _make_raiden(tmp_path_factory.mktemp("power"))
    pi1, pi2 = vpi.node("pi1"), vpi.node("pi2")
    switch, state = vpi.power_switch([pi1, pi2])
    hooks = power_switch.hook_lines(switch)
    inventory = vpi.inventory("powered", [pi1, pi2], engines=2, extra=f'{hooks}\npower_cycle_after = "5s"')
    try:
        assert raiden("up", "-i", str(inventory)).code == 0
        # off on request: the node's processes are gone, status says off (not down), the cluster is not degraded
        ran = raiden("power", "off", pi1.address, "-i", str(inventory))
        assert ran.code == 0, ran
        status = _status(raiden, inventory)
        node = next(n for n in status["nodes"] if n["host"] == pi1.address)
        assert node["state"] == "off" and node["power"] == {"hooks": ["on", "off", "status"], "state": "off"}
        assert status["state"] == "running" and status["engines"]["alive"] == 2, status
        assert not vpi.processes(pi1)
        time.sleep(8)  # longer than power_cycle_after: a node off on purpose is not healed
        assert json.loads(state.read_text())[pi1.address] == "off"
        started = time.monotonic()
        ran = raiden("power", "on", pi1.address, "-i", str(inventory))
        print(f"\nfrom `raiden power on` (node off) to its engines registered: {time.monotonic() - started:.1f} s")
        assert ran.code == 0, ran
        assert _status(raiden, inventory)["engines"]["alive"] == 4

        # a hung node: its sshd and agent stopped; it is marked down, power-cycled after 5 s, and rejoins
        frozen = _freeze(pi2)
        assert frozen
        hung = time.monotonic()

        def healed() -> bool:
            status = _status(raiden, inventory)
            return (
                status["engines"]["alive"] == 4
                and status["state"] == "running"
                and "power-cycle" in _kinds(raiden, inventory)
            )

        assert wait_for(healed, 180, every=1), _status(raiden, inventory)
        print(f"from a hung node to its engines working again through a power cycle: {time.monotonic() - hung:.1f} s")
        events = raiden("events", "--json", "-n", "300", "-i", str(inventory)).json()["events"]
        mine = [(e["kind"], e["message"]) for e in events if e["host"] == pi2.address]
        kinds = [k for k, _ in mine]
        assert kinds.index("node-down") < kinds.index("power-cycle") < kinds.index("node-back"), mine
        assert any("power-cycled (try 1 of 3)" in m for k, m in mine if k == "power-cycle"), mine
        log = [line.split()[1:] for line in Path(f"{state}.log").read_text().splitlines()]
        assert ["off", pi2.address] in log and ["on", pi2.address] in log
        # a map still answers from every node
        ran = raiden.python(
            f"import raiden_lab\nc = raiden_lab.connect(inventory={str(inventory)!r})\n"
            "print(sorted(set(c.map(lambda x: __import__('os').environ['RAIDEN_NODE'], range(200)))))\n"
        )
        assert ran.code == 0 and pi1.address in ran.out and pi2.address in ran.out, ran
    finally:
        raiden("down", "-i", str(inventory))
        subprocess.run([*switch, "on", pi1.address], capture_output=True)
        subprocess.run([*switch, "on", pi2.address], capture_output=True)
    for node in (pi1, pi2):
        assert not [p for p in vpi.processes(node) if "raiden" in p], vpi.processes(node)


def test_idle_nodes_are_powered_off_and_powered_on_when_work_waits(vpi, tmp_path_factory) -> None:
    raiden = _make_raiden(tmp_path_factory.mktemp("save"))
    pi1, pi2 = vpi.node("pi1"), vpi.node("pi2")
    switch, state = vpi.power_switch([pi1, pi2])
    hooks = power_switch.hook_lines(switch)
    inventory = vpi.inventory("saver", [pi1, pi2], engines=2, extra=f'{hooks}\npower_save_after = "4s"')
    try:
        assert raiden("up", "-i", str(inventory)).code == 0

        # no work: one node is powered off, one stays up to take work
        def one_off() -> list[str]:
            return [n["host"] for n in _status(raiden, inventory)["nodes"] if n["state"] == "off"]

        assert wait_for(lambda: len(one_off()) == 1, 30), _status(raiden, inventory)
        (saved,) = one_off()
        time.sleep(5)
        assert len(one_off()) == 1  # never the last one
        # work waits for engines: the saved node is powered on and the running map uses it
        mapping = _start_map(raiden, inventory, 400)
        out, err = mapping.communicate(timeout=300)
        assert mapping.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["squares"] == [x * x for x in range(400)]
        assert saved in result["nodes"], {h: result["nodes"].count(h) for h in set(result["nodes"])}
        events = raiden("events", "--json", "-n", "300", "-i", str(inventory)).json()["events"]
        said = [e["message"] for e in events if e["host"] == saved]
        assert any("powered off to save power" in m for m in said), said
        assert any("tasks wait for engines: powered on again" in m for m in said), said
    finally:
        raiden("down", "-i", str(inventory))
        subprocess.run([*switch, "on", pi1.address], capture_output=True)
        subprocess.run([*switch, "on", pi2.address], capture_output=True)


def test_a_map_timeout_interrupts_engines_on_other_nodes(vpi, tmp_path_factory) -> None:
    raiden = _make_raiden(tmp_path_factory.mktemp("stops"))
    inventory = vpi.inventory("stops", [vpi.node("pi1"), vpi.node("pi2")], engines=1)
    try:
        assert raiden("up", "-i", str(inventory)).code == 0
        ran = raiden.python(
            "import time, raiden_lab\n"
            f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
            "def slow(x):\n    import time\n    time.sleep(30)\n    return x\n"
            "start = time.monotonic()\n"
            "try:\n    c.map(slow, range(4), timeout=2)\nexcept raiden_lab.MapTimeout as e:\n"
            "    print(round(time.monotonic() - start, 1), e)\n"
            "start = time.monotonic()\n"
            "print(c.map(abs, range(-2, 0)), round(time.monotonic() - start, 1))\n",
            timeout=60,
        )
        assert ran.code == 0, ran
        stopped, answered = ran.out.strip().splitlines()
        assert float(stopped.split()[0]) < 8 and "engines 0, 1 were interrupted" in stopped, ran.out
        assert answered.startswith("[2, 1]") and float(answered.split()[-1]) < 5, ran.out
    finally:
        raiden("down", "-i", str(inventory))
