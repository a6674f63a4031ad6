"""The guard of the shared virtual cluster (conftest._shared_vpi_left_as_found) sees what a module left.

It works through ``vcluster.changes`` and ``vcluster.reset``; here they meet each kind of change on a
cluster of this test's own, so that breaking it harms no other module.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

import vcluster
from conftest import need_root_cluster, wait_for


@pytest.fixture
def pair(tmp_path: Path):
    need_root_cluster()
    cluster = vcluster.build(tmp_path, ["g1", "g2"], subnet=vcluster.subnet(85))
    try:
        yield cluster
    finally:
        vcluster.teardown(cluster)


def _sshd_pid(cluster: vcluster.VirtualCluster, node: vcluster.VNode) -> int:
    return int((cluster.base / "keys" / f"sshd_{node.name}.pid").read_text())


def test_a_cut_link_a_dead_sshd_and_a_process_left_are_named_and_put_right(pair) -> None:
    g1, g2 = pair.nodes
    assert vcluster.changes(pair) == []  # as built

    pair.set_link(g1, up=False)
    os.kill(_sshd_pid(pair, g2), signal.SIGKILL)
    left = subprocess.Popen(["ip", "netns", "exec", g2.namespace, "sleep", "600"])
    (pair.base / "work" / "g2").mkdir(parents=True)
    (pair.base / "work" / "g2" / "engine.log").write_text("a test's leftovers\n")
    assert wait_for(lambda: any("sshd does not answer" in c for c in vcluster.changes(pair)), 10)

    found = vcluster.changes(pair)
    assert "g1: its link is down" in found
    assert "g2: its sshd does not answer" in found
    assert [c for c in found if c.startswith(f"g2: still running: {left.pid} sleep 600")], found

    vcluster.reset(pair)
    assert vcluster.changes(pair) == []
    assert left.wait(10) == -signal.SIGKILL
    assert not (pair.base / "work").exists()
    known = pair.base / "known_hosts"  # each node's own host key, checked
    known.write_text(
        "".join(f"{n.address} {(pair.base / 'keys' / f'host_{n.name}.pub').read_text()}" for n in pair.nodes)
    )
    for node in pair.nodes:  # reachable over SSH again, with the cluster's key
        said = subprocess.run(
            ["ssh", "-i", str(pair.identity), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={known}", f"root@{node.address}", "echo", "up"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert said.stdout.strip() == "up", (node.name, said.stderr)
