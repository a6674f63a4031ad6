"""The virtual Pi cluster: engines over real SSH to namespaced hosts, as on a stack of Pis.

pi1-pi3 are healthy, pi4's Python lacks ipyparallel, and the subnet's .99 has no
host behind it. Tests in this module run in order against one cluster.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

import vcluster
from conftest import _make_raiden

pytestmark = pytest.mark.vcluster

UNREACHABLE = f"{vcluster.subnet(77)}.99"  # in the shared cluster's subnet (conftest.vpi), no host behind it


@pytest.fixture(scope="module")
def vraiden(vpi, tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("vraiden"))
    inventory = vpi.inventory("vpi", [vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3"), vpi.node("pi4"), UNREACHABLE])
    try:
        yield raiden, inventory
    finally:
        raiden("down", "-i", str(inventory))


def test_doctor_checks_every_node_and_names_the_broken_ones(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    ran = raiden("doctor", "-i", str(inventory), "--json")
    assert ran.code == 1, ran
    nodes = {n["host"]: n for n in ran.json()["nodes"]}
    for name in ("pi1", "pi2", "pi3"):
        node = nodes[vpi.node(name).address]
        assert node["ok"] and node["problems"] == [], node
        assert node["cores"] == os.cpu_count() and node["arch"] and node["rtt"] is not None
        assert abs(node["clock_skew"]) < 1.0
        assert node["packages"]["ipyparallel"] == ran.json()["head"]["packages"]["ipyparallel"]
    pi4 = nodes[vpi.node("pi4").address]
    assert not pi4["ok"]
    assert any(
        p.startswith(f"{vpi.node('pi4').address}: ipyparallel is not installed there") and "install ipyparallel==" in p
        for p in pi4["problems"]
    ), pi4["problems"]
    lost = nodes[UNREACHABLE]
    assert not lost["ok"] and lost["problems"][0].startswith(f"{UNREACHABLE}: unreachable over SSH")

    table = raiden("doctor", "-i", str(inventory))
    assert table.code == 1
    assert f"problem: {UNREACHABLE}: unreachable" in table.out
    known_hosts = raiden.home / "vpi" / "known_hosts"
    assert {line.split()[0] for line in known_hosts.read_text().splitlines()} == {
        vpi.node(n).address for n in ("pi1", "pi2", "pi3", "pi4")
    }


def test_up_starts_the_nodes_that_pass_and_names_the_rest(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 1, ran
    assert "is up: 6 engines on 3 nodes" in ran.out
    assert f"skipping {vpi.node('pi4').address}: ipyparallel is not installed there" in ran.err
    assert f"skipping {UNREACHABLE}: unreachable over SSH" in ran.err
    assert f"not started on {vpi.node('pi4').address}, {UNREACHABLE}" in ran.err

    status = raiden("status", "-i", str(inventory), "--json")
    assert status.code == 1  # running, but some nodes failed
    model = status.json()
    assert model["state"] == "degraded"
    states = {n["host"]: n["state"] for n in model["nodes"]}
    assert states == {
        vpi.node("pi1").address: "up",
        vpi.node("pi2").address: "up",
        vpi.node("pi3").address: "up",
        vpi.node("pi4").address: "failed",
        UNREACHABLE: "failed",
    }
    assert model["engines"] == {"alive": 6, "total": 6}


def test_engines_report_their_own_node_address(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    ran = raiden.python(
        "import json, raiden_lab\n"
        f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
        "def my_address(head):\n"
        "    import socket\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "    s.connect((head, 9))\n"
        "    return s.getsockname()[0]\n"
        f"addresses = c.direct.apply_sync(my_address, {vpi.head!r})\n"
        "print(json.dumps({'by_id': dict(zip(c.ids, addresses)),\n"
        "                  'nodes': {n['host']: [e['id'] for e in n['engines']] for n in c.nodes}}))\n"
    )
    assert ran.code == 0, ran.err
    got = json.loads(ran.out)
    for name in ("pi1", "pi2", "pi3"):
        address = vpi.node(name).address
        ids = got["nodes"][address]
        assert len(ids) == 2
        assert [got["by_id"][str(i)] for i in ids] == [address, address]


def test_engine_sets_run_in_each_nodes_own_work_folder(vpi, vraiden) -> None:
    for name in ("pi1", "pi2", "pi3"):
        node = vpi.node(name)
        logs = sorted(p.name for p in (node.work_dir / "logs").iterdir())
        assert len(logs) == 2 and all(log.startswith("engine-") for log in logs)
        assert any("ipyparallel.engine" in p for p in vpi.processes(node))
    assert not (vpi.node("pi4").work_dir / "logs").exists()


def test_no_key_travels_in_a_file_or_on_a_command_line(vpi, vraiden) -> None:
    raiden, _ = vraiden
    client_file = raiden.home / "vpi" / "profile" / "security" / "ipcontroller-client.json"
    key = json.loads(client_file.read_text())["key"]
    assert stat.S_IMODE(client_file.stat().st_mode) == 0o600
    for name in ("pi1", "pi2", "pi3"):
        node = vpi.node(name)
        for proc in vpi.processes(node):
            assert key not in proc
        for path in node.work_dir.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path


def test_controller_listens_on_the_cluster_address_only(vpi, vraiden) -> None:
    import psutil

    raiden, inventory = vraiden
    controller = raiden("status", "-i", str(inventory), "--json").json()["controller"]
    proc = psutil.Process(controller["pid"])
    procs = [proc, *proc.children(recursive=True)]
    listening = {
        (c.laddr.ip, c.laddr.port)
        for p in procs
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    # Every port that engines and clients use is bound to the cluster's address; the rest are
    # ipyparallel's internal scheduler links on loopback, which no other machine can reach.
    assert {(vpi.head, port) for port in controller["ports"].values()} <= listening
    assert {ip for ip, _ in listening} <= {vpi.head, "127.0.0.1"}


def test_restart_one_node_leaves_the_others_alone(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    before = raiden("status", "-i", str(inventory), "--json").json()
    pids = {n["host"]: {e["id"]: e["pid"] for e in n["engines"]} for n in before["nodes"]}
    pi2 = vpi.node("pi2").address
    ran = raiden("restart", pi2, "-i", str(inventory))
    assert ran.code == 0, ran
    after = raiden("status", "-i", str(inventory), "--json").json()
    new = {n["host"]: {e["id"]: e["pid"] for e in n["engines"]} for n in after["nodes"]}
    assert set(new[pi2]) == set(pids[pi2]) and not set(new[pi2].values()) & set(pids[pi2].values())
    for name in ("pi1", "pi3"):
        assert new[vpi.node(name).address] == pids[vpi.node(name).address]
    assert after["engines"] == {"alive": 6, "total": 6}


def test_restart_of_a_node_that_failed_preflight_says_why(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    ran = raiden("restart", vpi.node("pi4").address, "-i", str(inventory))
    assert ran.code == 1
    assert "failed the preflight" in ran.err and len(ran.err.strip().splitlines()) == 1


def test_down_leaves_no_engine_process_on_any_node(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    ran = raiden("down", "-i", str(inventory))
    assert ran.code == 0, ran
    assert "stopped; no engine left on 3 nodes" in ran.out
    for node in vpi.nodes:
        assert vpi.processes(node) == [], node.name
    assert raiden("status", "-i", str(inventory), "--json").json()["state"] == "stopped"


def test_a_changed_host_key_is_refused(vpi, vraiden) -> None:
    raiden, inventory = vraiden
    known_hosts = raiden.home / "vpi" / "known_hosts"
    pi1 = vpi.node("pi1").address
    # Pretend pi1 was recorded with another key: a man in the middle, or a rebuilt node.
    other = vpi.base / "keys" / "host_pi2.pub"
    lines = [line for line in known_hosts.read_text().splitlines() if not line.startswith(pi1 + " ")]
    lines.append(f"{pi1} {' '.join(other.read_text().split()[:2])}")
    known_hosts.write_text("\n".join(lines) + "\n")
    only_pi1 = vpi.inventory("vpi", [vpi.node("pi1")], filename="only-pi1.toml")
    ran = raiden("doctor", "-i", str(only_pi1), "--json")
    assert ran.code == 1
    (node,) = ran.json()["nodes"]
    assert node["problems"] == [
        f"{pi1}: its host key differs from the one recorded on first use; if the node was rebuilt, "
        "remove its line from the cluster's known_hosts and try again"
    ]


def test_engines_that_cannot_reach_the_controller_are_named(vpi, raiden) -> None:
    """A controller_ip the head has but the nodes cannot reach: up says so instead of hanging."""
    hidden = f"{vcluster.subnet(89)}.1"
    subprocess.run(["ip", "addr", "add", f"{hidden}/32", "dev", "lo"], check=True)
    inventory = vpi.inventory("unreachable-head", [vpi.node("pi3")], controller_ip=hidden)
    try:
        ran = raiden("up", "-i", str(inventory), "--timeout", "60")
        assert ran.code == 1, ran
        address = vpi.node("pi3").address
        assert f"{address}: every engine exited before registering with the controller" in ran.err
        assert f"not started on {address}" in ran.err
        status = raiden("status", "-i", str(inventory), "--json").json()
        assert status["state"] == "degraded" and status["nodes"][0]["state"] == "failed"
    finally:
        raiden("down", "-i", str(inventory))
        subprocess.run(["ip", "addr", "del", f"{hidden}/32", "dev", "lo"], check=False)
    assert vpi.processes(vpi.node("pi3")) == []


def test_paths_from_the_inventory_never_reach_a_shell_unquoted(vpi, raiden) -> None:
    weird = vpi.base / "odd dir"
    weird.mkdir(exist_ok=True)
    python = weird / "py; touch PWNED $(touch PWNED2)"
    python.write_text(f'#!/bin/sh\nexec "{vpi.node("pi2").python}" "$@"\n')
    python.chmod(0o755)
    inventory = vpi.base / "paths.toml"
    pi2, pi3 = vpi.node("pi2"), vpi.node("pi3")
    inventory.write_text(
        f'[cluster]\nname = "paths"\ncontroller_ip = "{vpi.head}"\nuser = "root"\n'
        f'identity_file = "{vpi.identity}"\n'
        f'[[nodes]]\nhost = "{pi2.address}"\npython = "{python}"\nwork_dir = "{vpi.base / "w p2"}"\n'
        f'[[nodes]]\nhost = "{pi3.address}"\npython = "/nonexistent/bin/python3"\nwork_dir = "{vpi.base / "w p3"}"\n'
    )
    ran = raiden("doctor", "-i", str(inventory), "--json")
    assert ran.code == 1
    nodes = {n["host"]: n for n in ran.json()["nodes"]}
    assert nodes[pi2.address]["ok"], nodes[pi2.address]
    assert nodes[pi2.address]["work_dir"] == str(vpi.base / "w p2")
    assert nodes[pi3.address]["problems"] == [
        f"{pi3.address}: no Python at '/nonexistent/bin/python3' there; set 'python' for {pi3.address} in "
        f"{inventory} to the node's interpreter"
    ]
    assert not list(vpi.base.rglob("PWNED*")) and not list(raiden.cwd.rglob("PWNED*"))
    assert not os.path.exists("/root/PWNED") and not os.path.exists("/root/PWNED2")


def test_provision_creates_a_missing_environment_from_a_wheelhouse(vpi, raiden, tmp_path) -> None:
    """A new Pi without internet: its venv does not exist; wheels travel over SSH; doctor passes after."""
    from raiden_lab.operations.provision import head_requirements

    wheelhouse = tmp_path / "wheelhouse"
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "-d",
            str(wheelhouse),
            *head_requirements(),
        ],
        capture_output=True,
        text=True,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    pi1 = vpi.node("pi1")
    venv = vpi.base / "fresh-pi" / "venv"
    inventory = vpi.base / "fresh.toml"
    inventory.write_text(
        f'[cluster]\nname = "fresh"\ncontroller_ip = "{vpi.head}"\nuser = "root"\nidentity_file = "{vpi.identity}"\n'
        f'[[nodes]]\nhost = "{pi1.address}"\npython = "{venv}/bin/python"\nwork_dir = "{vpi.base / "fresh-pi" / "work"}"\n'
    )
    before = raiden("doctor", "-i", str(inventory), "--json")
    assert before.code == 1 and "no Python at" in before.json()["nodes"][0]["problems"][0]
    ran = raiden("provision", "-i", str(inventory), "--wheelhouse", str(wheelhouse), timeout=900)
    assert ran.code == 0, ran
    assert f"{pi1.address}: creating a virtual environment at {venv}" in ran.out
    assert "from the wheelhouse" in ran.out
    after = raiden("doctor", "-i", str(inventory), "--json")
    assert after.code == 0, after.out
    assert after.json()["nodes"][0]["executable"].startswith(str(venv))
    again = raiden("provision", "-i", str(inventory), "--wheelhouse", str(wheelhouse), timeout=600)
    assert again.code == 0 and "copying 0 of" in again.out and "creating" not in again.out
    assert "copying raiden_lab" not in again.out  # the same code is there
    # the head moves on (an edit, no release): the node's copy differs by content, not by version string
    (copied,) = venv.glob("lib/python*/site-packages/raiden_lab/node/probe.py")
    copied.write_text(copied.read_text() + "\n# the code of an older checkout\n")
    stale = raiden("doctor", "-i", str(inventory), "--json")
    assert stale.code == 1, stale.out
    problem = stale.json()["nodes"][0]["problems"][0]
    assert problem.startswith(f"{pi1.address}: runs other Raiden code (0.1.0+") and "`raiden provision" in problem
    fixed = raiden("provision", "-i", str(inventory), "--wheelhouse", str(wheelhouse), timeout=600)
    assert fixed.code == 0 and f"{pi1.address}: copying raiden_lab 0.1.0+" in fixed.out, fixed
    assert raiden("doctor", "-i", str(inventory)).code == 0
