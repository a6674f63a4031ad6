"""Power hooks on a local cluster: `raiden power`, what status says of a node that is off, bad hooks.

The hook is the tests' own switch (power_switch.py): for this machine it records
the node's power; the virtual cluster's tests (test_membership.py) cut real nodes.
"""

from __future__ import annotations

import json
from pathlib import Path

import power_switch

from conftest import Raiden, wait_for


def _inventory(raiden: Raiden, extra: str = "", node_extra: str = "") -> tuple[Path, Path]:
    switch, state = power_switch.local_switch(raiden.cwd)
    hooks = power_switch.hook_lines(switch)
    path = raiden.cwd / "raiden.toml"
    path.write_text(
        f'[cluster]\nname = "powered"\n{hooks}\n{extra}\n\n[[nodes]]\nhost = "localhost"\nengines = 2\n{node_extra}\n'
    )
    return path, state


def _node(raiden: Raiden) -> dict:
    ran = raiden("status", "--json")
    assert ran.code in (0, 1), ran
    return ran.json()["nodes"][0]


def test_power_off_and_on_a_node_of_a_running_cluster(raiden: Raiden) -> None:
    _, state = _inventory(raiden)
    ran = raiden("up")
    assert ran.code == 0, ran
    try:
        node = _node(raiden)
        assert node["power"]["hooks"] == ["on", "off", "status"]
        # the supervisor reads power_status as it starts, and every 30 s
        assert wait_for(lambda: _node(raiden)["power"]["state"] == "on", 20)
        assert "POWER" in raiden("status").out

        ran = raiden("power", "off", "localhost")
        assert ran.code == 0, ran
        assert "localhost: off" in ran.out
        assert json.loads(state.read_text()) == {"localhost": "off"}
        status = raiden("status", "--json").json()
        node = status["nodes"][0]
        # off on purpose is not a fault: the node says off, the cluster is not degraded
        assert node["state"] == "off" and node["power"]["state"] == "off", node
        assert status["engines"]["alive"] == 0 and status["state"] != "degraded", status
        assert raiden("power", "status", "localhost").out.strip() == "localhost: off"

        ran = raiden("power", "on", "localhost")
        assert ran.code == 0, ran
        assert "localhost back: cluster 'powered' has 2 engines on 1 node now" in ran.out, ran.out
        status = raiden("status", "--json").json()
        assert status["nodes"][0]["state"] == "up" and status["engines"]["alive"] == 2
        assert status["state"] == "running"
        ran = raiden("power", "cycle", "all")
        assert ran.code == 0, ran
        assert raiden("status", "--json").json()["engines"]["alive"] == 2
        log = (state.parent / "power.json.log").read_text().split("\n")
        assert [line.split()[1] for line in log if line and line.split()[1] != "status"] == ["off", "on", "off", "on"]
        kinds = [e["kind"] for e in raiden("events", "--json", "-n", "100").json()["events"]]
        for kind in ("power-off", "power-on", "power-cycle", "node-back"):
            assert kind in kinds, kinds
        # a relay that fails while the cluster runs: said in one line, and the node's engines start again
        Path(f"{state}.broken").write_text("localhost")
        ran = raiden("power", "off", "localhost")
        assert ran.code == 1 and ran.err.strip().endswith("exited with code 3: relay for localhost does not answer")
        assert wait_for(lambda: raiden("status", "--json").json()["engines"]["alive"] == 2, 60)
        assert "power-failed" in [e["kind"] for e in raiden("events", "--json").json()["events"]]
    finally:
        raiden("down")


def test_power_hooks_without_a_cluster_and_their_errors(raiden: Raiden) -> None:
    path, state = _inventory(raiden)
    # a stopped cluster: the hooks run from the CLI
    ran = raiden("power", "off", "all")
    assert ran.code == 0 and "localhost: off" in ran.out, ran
    assert raiden("power", "status", "localhost").out.strip() == "localhost: off"
    # what a user can get wrong: one line each, exit 2, nothing run
    for argv, words in (
        (("power", "on", "pi9"), "no node 'pi9'"),
        (("power", "reboot", "localhost"), "invalid choice: 'reboot'"),
    ):
        ran = raiden(*argv)
        assert ran.code == 2 and words in ran.err and len(ran.err.strip().splitlines()) == 1, ran
    # a relay that fails: the node and the program named, exit 1, no traceback
    Path(f"{state}.broken").write_text("localhost")
    ran = raiden("power", "on", "localhost")
    assert ran.code == 1 and "localhost: power_on (" in ran.err and "exited with code 3" in ran.err, ran
    assert "relay for localhost does not answer" in ran.err and "Traceback" not in ran.err
    # a node without hooks
    path.write_text('[cluster]\nname = "bare"\n\n[[nodes]]\nhost = "localhost"\n')
    ran = raiden("power", "cycle", "localhost")
    assert ran.code == 2 and "localhost: no power_off hook" in ran.err, ran
    ran = raiden("power", "on", "all")
    assert ran.code == 2 and "no node has a power_on hook" in ran.err, ran


def test_remove_a_node_of_a_stopped_cluster_keeps_the_rest_of_the_file(raiden: Raiden) -> None:
    path = raiden.cwd / "raiden.toml"
    path.write_text(
        '# my desk cluster\n[cluster]\nname = "desk"\ncontroller_ip = "10.0.0.1"\n\n'
        '[[nodes]]\nhost = "10.0.0.11"  # the top board\nengines = 3\n\n'
        '# the middle board, borrowed\n[[nodes]]\nhost = "10.0.0.12"\nlabels = ["borrowed"]\n\n'
        '# the bottom board\n[[nodes]]\nhost = "10.0.0.13"\n'
    )
    ran = raiden("remove", "10.0.0.12")
    assert ran.code == 0 and ran.out.strip() == "10.0.0.12: removed from raiden.toml", ran
    assert path.read_text() == (
        '# my desk cluster\n[cluster]\nname = "desk"\ncontroller_ip = "10.0.0.1"\n\n'
        '[[nodes]]\nhost = "10.0.0.11"  # the top board\nengines = 3\n\n'
        '# the bottom board\n[[nodes]]\nhost = "10.0.0.13"\n'
    )
    ran = raiden("remove", "10.0.0.99")
    assert ran.code == 2 and "no node '10.0.0.99'" in ran.err and len(ran.err.splitlines()) == 1, ran
    ran = raiden("reload")
    assert ran.code == 3 and "cluster 'desk' is not running" in ran.err, ran
