"""Broken or hostile nodes of the virtual Pi cluster, and what the head does about them.

A node whose agent prints garbage, 1 MiB lines and thousands of lines a second; nodes
whose clocks are a day ahead and a week behind (libfaketime under their Python); a
node that accepts SSH but whose Python hangs; a node whose host key differs from the
one in the user's own known_hosts; SSH settings of the user's that must not reach a node.
"""

from __future__ import annotations

import glob
import json
import pwd
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Raiden, _make_raiden, need, wait_for
from raiden_lab.config.inventory import Node
from raiden_lab.transport.ssh import Target
from unixusers import identity, missing_requirements, unix_users

REAL = sys.executable

NOISY = """#!{real}
# The node's Python, as a broken or hostile node would run Raiden's agent: with noise in its output.
import os, subprocess, sys, threading, time, json
real, mode = {real!r}, {mode!r}
if "--work-dir" not in sys.argv:  # not the agent (the probe, the runner): the plain interpreter
    os.execv(real, [real] + sys.argv[1:])
agent = subprocess.Popen([real] + sys.argv[1:], stdout=subprocess.PIPE)
lock = threading.Lock()

def say(data):
    with lock:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

def noise():
    big = b"x" * (1 << 20) + b"\\n"
    while True:
        if mode == "garbage":
            for data in (b"[1, 2, 3]\\n", b'"a string"\\n', b"not json\\n", b'{{"temperature": "hot"}}\\n', big):
                say(data)
            time.sleep(0.5)
        else:  # a flood: 10,000 sample-like lines a second
            line = json.dumps({{"time": time.time(), "cpu_percent": 1.0}}).encode() + b"\\n"
            say(line * 1000)
            time.sleep(0.1)

threading.Thread(target=noise, daemon=True).start()
for line in agent.stdout:
    say(line)
"""


def _libfaketime() -> str | None:
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    return found[0] if found else None


def _script(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="module")
def hostile(vpi, tmp_path_factory):
    """pi1 noisy (garbage), pi2 a day ahead, pi3 a week behind; pi4 floods."""
    lib = _libfaketime()
    if lib is None:
        need("libfaketime is not installed (apt install faketime)")
    raiden = _make_raiden(tmp_path_factory.mktemp("hostile"))
    bin_dir = vpi.base / "hostile-bin"
    bin_dir.mkdir(exist_ok=True)
    pythons = {
        "pi1": _script(bin_dir / "noisy", NOISY.format(real=REAL, mode="garbage")),
        "pi4": _script(bin_dir / "flood", NOISY.format(real=REAL, mode="flood")),
    }
    for name, shift in (("pi2", "+1d"), ("pi3", "-7d")):
        pythons[name] = _script(
            bin_dir / f"clock-{name}",
            f'#!/bin/sh\nexec env LD_PRELOAD={lib} FAKETIME="{shift}" FAKETIME_DONT_FAKE_MONOTONIC=1 {REAL} "$@"\n',
        )
    lines = ["[cluster]", 'name = "hostile"', f'controller_ip = "{vpi.head}"', 'user = "root"']
    lines += [f'identity_file = "{vpi.identity}"', "engines_per_node = 1"]
    for node in vpi.nodes:
        lines += ["", "[[nodes]]", f'host = "{node.address}"', f'python = "{pythons[node.name]}"']
        lines += [f'work_dir = "{node.work_dir}-hostile"']
    inventory = vpi.base / "hostile.toml"
    inventory.write_text("\n".join(lines) + "\n")
    ran = raiden("up", "-i", str(inventory), timeout=240)
    assert ran.code == 0, ran.err
    try:
        yield raiden, inventory
    finally:
        raiden("down", "-i", str(inventory))


def _status(raiden: Raiden, inventory: Path) -> dict:
    return json.loads(raiden("status", "--json", "-i", str(inventory)).out)


def _events(raiden: Raiden, inventory: Path) -> list[dict]:
    return raiden("events", "--json", "-n", "300", "-i", str(inventory)).json()["events"]


def test_noisy_and_flooding_agents_are_told_and_kept_in_bounds(vpi, hostile) -> None:
    raiden, inventory = hostile
    pi1, pi4 = vpi.node("pi1").address, vpi.node("pi4").address
    started = time.time()
    time.sleep(12)
    status = _status(raiden, inventory)
    nodes = {n["host"]: n for n in status["nodes"]}
    assert nodes[pi1]["state"] == "up" and nodes[pi4]["state"] == "up"  # noise is not silence
    assert status["engines"]["alive"] == 4
    noisy = {e["host"]: e["message"] for e in _events(raiden, inventory) if e["kind"] == "node-noisy"}
    assert set(noisy) == {pi1, pi4}
    assert "that are not samples" in noisy[pi1] and "they were dropped" in noisy[pi1]
    store = sqlite3.connect(raiden.home / "hostile" / "state.sqlite")
    for host in (pi1, pi4):
        (stored,) = store.execute(
            "SELECT COUNT(*) FROM samples WHERE host = ? AND time >= ?", (host, started)
        ).fetchone()
        assert 5 <= stored <= 2 * (time.time() - started) + 2, (host, stored)  # the real samples, and no more
    store.close()
    log = raiden.home / "hostile" / "supervisor.log"
    assert log.stat().st_size < 2 * 1024 * 1024
    ran = raiden.python(
        f"import raiden_lab\nc = raiden_lab.connect(inventory={str(inventory)!r})\n"
        "print(sum(c.map(lambda x: x * x, range(100))))"
    )
    assert ran.code == 0 and ran.out.strip() == str(sum(x * x for x in range(100))), ran


def test_nodes_with_wrong_clocks_are_told_and_their_samples_keep_the_head_time(vpi, hostile) -> None:
    raiden, inventory = hostile
    pi2, pi3 = vpi.node("pi2").address, vpi.node("pi3").address
    told = {e["host"]: e["message"] for e in _events(raiden, inventory) if e["kind"] == "node-clock-off"}
    assert told[pi2].startswith("its clock is 24 hours ahead of the head's") or told[pi2].startswith(
        "its clock is 1 days ahead"
    ), told[pi2]
    assert told[pi3].startswith("its clock is 7 days behind the head's"), told[pi3]
    store = sqlite3.connect(raiden.home / "hostile" / "state.sqlite")
    now = time.time()
    for host, shift in ((pi2, 86400), (pi3, -7 * 86400)):
        time_, data = store.execute(
            "SELECT time, data FROM samples WHERE host = ? ORDER BY rowid DESC LIMIT 1", (host,)
        ).fetchone()
        assert abs(time_ - now) < 10  # thinned and kept by the head's clock, not lost or kept for ever
        assert abs(json.loads(data)["node_time"] - (now + shift)) < 60
    store.close()
    for node in (vpi.node("pi2"), vpi.node("pi3")):
        assert _status(raiden, inventory)["nodes"][vpi.nodes.index(node)]["state"] == "up"


def test_down_of_the_hostile_cluster_leaves_nothing_on_any_node(vpi, hostile) -> None:
    """Last of the hostile cluster's tests (the ones below share its nodes and look for leftovers)."""
    raiden, inventory = hostile
    ran = raiden("down", "-i", str(inventory))
    assert ran.code == 0 and "Traceback" not in ran.err, ran
    assert "cluster 'hostile' stopped; no engine left on 4 nodes" in ran.out
    for node in vpi.nodes:
        assert wait_for(lambda n=node: not [p for p in vpi.processes(n) if "raiden" in p or "python" in p], 15), (
            vpi.processes(node)
        )


def test_a_node_whose_python_hangs_is_skipped_with_a_sentence_and_leaves_nothing(vpi, tmp_path) -> None:
    raiden = _make_raiden(tmp_path)
    raiden.env["RAIDEN_PROBE_TIMEOUT"] = "8"
    hang = _script(vpi.base / "hang-python", "#!/bin/sh\nexec sleep 3600\n")
    pi3 = vpi.node("pi3")
    inventory = vpi.inventory("hang", [vpi.node("pi2"), pi3], engines=1, filename="hang.toml")
    head, pi3_block = inventory.read_text().rsplit("[[nodes]]", 1)
    inventory.write_text(head + "[[nodes]]" + pi3_block.replace(f'python = "{pi3.python}"', f'python = "{hang}"'))
    ran = raiden("up", "-i", str(inventory), timeout=120)
    assert ran.code == 1 and "Traceback" not in ran.err, ran
    assert (
        f"skipping {pi3.address}: it accepts SSH but its Python did not answer within 8 s; "
        f"try `ssh {pi3.address} {hang} -c 1` there, and look at the node's load and disk"
    ) in ran.err
    assert "cluster 'hang' is up: 1 engines on 1 node" in ran.out
    ran = raiden("down", "-i", str(inventory))
    assert ran.code == 0, ran
    assert wait_for(lambda: not [p for p in vpi.processes(pi3) if "sleep" in p], 10), vpi.processes(pi3)
    assert not [p for p in vpi.processes(vpi.node("pi2")) if "raiden" in p or "ipyparallel" in p]


def test_down_says_which_nodes_it_could_not_check(vpi, tmp_path) -> None:
    raiden = _make_raiden(tmp_path)
    pi2 = vpi.node("pi2")
    inventory = vpi.inventory("cut", [vpi.node("pi1"), pi2], engines=1, filename="cut.toml")
    assert raiden("up", "-i", str(inventory)).code == 0
    vpi.set_link(pi2, up=False)
    try:
        assert wait_for(
            lambda: {n["host"]: n["state"] for n in _status(raiden, inventory)["nodes"]}[pi2.address] == "down", 30
        )
        ran = raiden("down", "-i", str(inventory))
        assert ran.code == 0, ran
        assert "cluster 'cut' stopped; no engine left on 1 node" in ran.out
        assert f"warning: could not reach {pi2.address} to check" in ran.err
    finally:
        vpi.set_link(pi2, up=True)
    # the node's runner noticed the lost connection by itself
    assert wait_for(lambda: not [p for p in vpi.processes(pi2) if "ipyparallel" in p], 30), vpi.processes(pi2)


def test_the_users_known_hosts_is_checked_and_their_ssh_settings_do_not_reach_nodes(vpi, tmp_path) -> None:
    need(missing_requirements())
    raiden = _make_raiden(tmp_path)
    pi1 = vpi.node("pi1")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key = Path(f"{other}.pub").read_text().split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"{pi1.address} {' '.join(key)}\n")  # not pi1's key
    raiden.env["HOME"] = str(home)
    inventory = vpi.inventory("keys", [pi1], engines=1, filename="keys.toml")
    ran = raiden("doctor", "-i", str(inventory))
    assert ran.code == 1, ran
    assert f"{pi1.address}: its host key differs from the one recorded on first use" in ran.out + ran.err

    # `ForwardAgent yes` in a user's ~/.ssh/config is overridden for every node connection
    target = Target(Node(host=pi1.address), tmp_path / "known_hosts", tmp_path)
    with unix_users("raidenfwd", login=True) as (user,):
        ssh_dir = Path(pwd.getpwnam(user).pw_dir) / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "config").write_text("Host *\n  ForwardAgent yes\n  ForwardX11 yes\n")
        subprocess.run(["chown", "-R", f"{user}:{user}", str(ssh_dir)], check=True)

        def shown(*options: str) -> str:
            ran = subprocess.run(["ssh", "-G", *options, pi1.address], **identity(user), capture_output=True, text=True)
            assert ran.returncode == 0, ran
            return ran.stdout

        assert "forwardagent yes" in shown()  # the user's setting is read by their ssh ...
        raidens = shown(*target.ssh_options())
        assert "forwardagent no" in raidens and "forwardx11 no" in raidens  # ... and Raiden's options win


LYING_PROBE = """#!{real}
# The node's Python: the preflight probe's report as a hostile node would send it.
import json, os, subprocess, sys
real, mode = {real!r}, {mode!r}
if "-" not in sys.argv:
    os.execv(real, [real] + sys.argv[1:])
said = subprocess.run([real] + sys.argv[1:], stdin=sys.stdin, capture_output=True).stdout.decode()
report = json.loads(said.strip().splitlines()[-1])
if mode == "flood":  # 20 MiB before its report
    for _ in range(20):
        sys.stdout.write("x" * (1 << 20) + "\\n")
    print(json.dumps(report))
else:  # terminal escapes in its words, text where counts go
    report["arch"] = "\\x1b]0;owned\\x07\\x1b[2Jaarch64"
    report["cores"], report["memory"] = "lots", [1, 2]
    print(json.dumps(report))
"""


def test_a_node_that_floods_or_lies_to_the_probe_is_told_in_bounds(vpi, tmp_path) -> None:
    """pi2 sends 20 MiB before its probe report, pi3 terminal escapes and text where numbers go: the doctor
    keeps at most 1 MiB of either, says what is wrong in a sentence, and prints no escape raw."""
    raiden = _make_raiden(tmp_path)
    pi2, pi3 = vpi.node("pi2"), vpi.node("pi3")
    flood = _script(vpi.base / "flood-python", LYING_PROBE.format(real=REAL, mode="flood"))
    lies = _script(vpi.base / "lying-python", LYING_PROBE.format(real=REAL, mode="lies"))
    inventory = vpi.inventory("liars", [pi2, pi3], engines=1, filename="liars.toml")
    text = inventory.read_text().replace(f'python = "{pi2.python}"', f'python = "{flood}"', 1)
    head, pi3_block = text.rsplit("[[nodes]]", 1)
    inventory.write_text(head + "[[nodes]]" + pi3_block.replace(f'python = "{pi3.python}"', f'python = "{lies}"'))
    ran = raiden("doctor", "-i", str(inventory), timeout=120)
    assert ran.code == 1 and "Traceback" not in ran.err, ran
    said = ran.out + ran.err
    assert "\x1b" not in said and "\x07" not in said, said[-2000:]
    assert "\\x1b]0;owned\\x07\\x1b[2Jaarch64" in said  # shown, escaped
    assert f"{pi2.address}: the preflight probe with '{flood}' failed" in said, said[-2000:]
    row = next(line for line in ran.out.splitlines() if line.startswith(pi3.address))
    assert " lots " not in row and "[1, 2]" not in row
