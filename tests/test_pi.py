"""An emulated Raspberry Pi (arm64 under qemu-user) beside x86 namespace nodes: from a fresh image to
engines, with the head's wheels, and one jit map compiled for both CPUs.

The Pi starts as a new image does: Python 3, venv, sshd, nothing from pip. What the tests do to it is
what a user does to a box of Pis: doctor, `raiden wheelhouse`, `raiden provision --wheelhouse`, up,
a mixed map, down.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import armpi
import pytest

import vcluster
from conftest import _make_raiden, dashboard_html, need, wait_for

PI_PYTHON = "/home/pi/raiden/venv/bin/python"  # what `raiden add` writes: ~/raiden/venv/bin/python


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """x86 nodes pi1 and pi2, and pi5, an emulated Pi fresh from its image (user pi, password only)."""
    need(vcluster.missing_requirements() or armpi.missing_requirements())
    base = tmp_path_factory.mktemp("farm")
    cluster = vcluster.build(base, ["pi1", "pi2", "pi5"], subnet=vcluster.subnet(79), arm=("pi5",))
    try:
        yield cluster
    finally:
        vcluster.teardown(cluster)


def _x86_inventory(farm, name: str) -> Path:
    lines = ["# the x86 part of the farm; `raiden add` appends the Pi below", "[cluster]", f'name = "{name}"']
    lines += [f'controller_ip = "{farm.head}"', f'identity_file = "{farm.identity}"', "engines_per_node = 1"]
    for node in (farm.node("pi1"), farm.node("pi2")):
        lines += ["", "[[nodes]]", f'host = "{node.address}"', 'user = "root"', f'python = "{node.python}"']
        lines += [f'work_dir = "{node.work_dir}"', "# a comment of the user's, which must stay"]
    path = farm.base / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_fresh_pi_runs_arm64_code_and_accepts_only_its_password(farm, tmp_path) -> None:
    (pi,) = farm.pis
    machine = subprocess.run(["chroot", str(pi.root), "uname", "-m"], capture_output=True, text=True).stdout.strip()
    assert machine == "aarch64"
    raiden = _make_raiden(tmp_path)
    inventory = _x86_inventory(farm, "fresh")
    with inventory.open("a") as f:
        f.write(f'\n[[nodes]]\nhost = "{pi.address}"\nuser = "pi"\npython = "{PI_PYTHON}"\n')
    ran = raiden("doctor", "-i", str(inventory), "--json")
    assert ran.code == 1, ran
    fresh = {n["host"]: n for n in ran.json()["nodes"]}[pi.address]
    assert fresh["problems"] == [
        f"{pi.address}: the SSH key was refused; check user and identity_file, and the node's authorized_keys"
    ]


def test_add_a_pi_with_its_password_then_up_and_one_jit_map_on_x86_and_arm(farm, tmp_path) -> None:
    (pi,) = farm.pis
    raiden = _make_raiden(tmp_path)
    inventory = _x86_inventory(farm, "mixed")
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    # the Pi's host key, as its owner reads it on the Pi's own screen
    fingerprint = _fingerprint_on_the_pi(pi)
    unconfirmed = raiden("add", pi.address, "--password-file", str(wrong), "-i", str(inventory))
    assert unconfirmed.code == 2 and unconfirmed.err.strip() == (
        f"{pi.address}: its host key is ED25519 {fingerprint}; confirm it with --fingerprint {fingerprint} "
        "once you have read the Pi's own (on the Pi: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), "
        "or run `raiden add` at a terminal"
    ), unconfirmed
    impostor = raiden("add", pi.address, "--password-file", str(wrong), "--fingerprint", "SHA256:" + "A" * 43,
                      "-i", str(inventory))  # fmt: skip
    assert impostor.code == 1 and "not the --fingerprint given; the password was not sent" in impostor.err, impostor
    assert not (raiden.home / "mixed" / "known_hosts").exists()  # nothing trusted, nothing sent
    ran = raiden("add", pi.address, "--password-file", str(wrong), "--fingerprint", fingerprint, "-i", str(inventory))
    assert ran.code == 1 and "Traceback" not in ran.err, ran
    assert ran.err.strip().endswith(
        f"{pi.address}: the password for pi was refused; check the user name and the password"
    )
    assert pi.address not in inventory.read_text()

    # the Pi's own signals: its firmware says under-voltage and throttled, its sensor 81 °C
    pi.set_throttled(0x50005)
    pi.set_temperature(81.0)
    raiden.env["RAIDEN_THERMAL_PATH"] = "/run/fake-pi/temp"  # /sys is not mounted in the emulated Pi
    # the x86 part runs; the Pi joins it live
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 0, ran
    try:
        _add_and_use(raiden, farm, pi, inventory, tmp_path)
    finally:
        ran = raiden("down", "-i", str(inventory))
    assert ran.code == 0, ran
    pi5 = farm.node("pi5")
    assert wait_for(lambda: not [p for p in farm.processes(pi5) if "python" in p], 30), farm.processes(pi5)
    cache = list(pi.path("/home/pi/.raiden/mixed/node/jit").rglob("*.nbc"))
    assert cache, "the Pi's own cache holds its compiled code"


def _fingerprint_on_the_pi(pi) -> str:
    """``SHA256:...`` of the Pi's ed25519 host key, read as its owner would on the Pi."""
    said = subprocess.run(
        ["ssh-keygen", "-lf", str(pi.path("/etc/ssh/ssh_host_ed25519_key.pub"))], capture_output=True, text=True
    )
    return said.stdout.split()[1]


def _add_and_use(raiden, farm, pi, inventory: Path, tmp_path: Path) -> None:
    pi.set_clock_offset(-3600)  # booted without a network: an hour in the past
    password = tmp_path / "password"
    password.write_text(armpi.PASSWORD + "\n")
    password.chmod(0o600)
    wheels = tmp_path / "wheels"
    ran = raiden(
        "add", pi.address, "--password-file", str(password), "--labels", "pi,emulated", "--wheelhouse", str(wheels),
        "--fingerprint", _fingerprint_on_the_pi(pi),
        "--timeout", "240", "-i", str(inventory), timeout=1500,
    )  # fmt: skip
    assert ran.code == 0, ran
    assert f"[4/4] {pi.address}: provisioned; joining the running cluster" in ran.out
    assert f"{pi.address} joined: cluster 'mixed' has 3 engines on 3 nodes now" in ran.out, ran.out
    key = raiden.home / "mixed" / "id_ed25519"
    assert f"[1/4] the cluster's key: {key}" in ran.out and oct(key.stat().st_mode & 0o777) == "0o600"
    assert f"[2/4] {pi.address}: key installed for pi; its host key ED25519 SHA256:" in ran.out
    assert f"[4/4] {pi.address}: provisioned" in ran.out
    told = re.search(rf"\[3/4\] {re.escape(pi.address)}: its clock was (\d+) s behind the head's and no time server "
                     r"answered; set it from the head's clock \(now ([-+][0-9.]+) s\)", ran.out)  # fmt: skip
    assert told and abs(int(told.group(1)) - 3600) <= 2 and abs(float(told.group(2))) <= 2, ran.out
    assert abs(pi.clock_offset()) <= 2
    text = inventory.read_text()
    assert "# a comment of the user's, which must stay" in text and text.startswith("# the x86 part of the farm")
    assert f'host = "{pi.address}"' in text and 'labels = ["pi", "emulated"]' in text
    assert Path(f"{key}.pub").read_text().strip() in pi.path("/home/pi/.ssh/authorized_keys").read_text()
    secret = armpi.PASSWORD.encode()
    leaked = [p for p in raiden.home.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert not leaked and secret not in inventory.read_bytes()
    manifest = json.loads((wheels / "wheelhouse.json").read_text())
    assert [p["arch"] for p in manifest["platforms"]] == ["aarch64"]

    def pi_node() -> dict:
        status = json.loads(raiden("status", "--json", "-i", str(inventory)).out)
        return {n["host"]: n for n in status["nodes"]}[pi.address]

    signals = wait_for(lambda: (n := pi_node())["sample"] and n["throttling"] and n, 30)
    assert signals["arch"] == "aarch64" and signals["sample"]["temperature"] == 81.0
    assert signals["temperature_band"] == "hot" and signals["throttling"] == ["under voltage", "throttled"]
    board = dashboard_html(raiden, inventory)  # the notebook's dashboard shows the same (the sidebar reads this model)
    assert "81.0 °C" in board and "under voltage, throttled" in board, board
    module = tmp_path / "kernels.py"
    module.write_text(
        "import raiden_lab\n\n\n@raiden_lab.jit\ndef spin(n):\n    s = 0\n    for i in range(n):\n"
        "        s += i * i % 7\n    return s\n"
    )
    ran = raiden.python(
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import raiden_lab, kernels\n"
        f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
        "rows = c.warmup(kernels.spin, 'int64(int64)')\n"
        "got = c.map(kernels.spin, range(300), progress=False)\n"
        "want = [kernels.spin.py_func(n) for n in range(300)]\n"
        "arch = c.direct.apply_sync(lambda: __import__('platform').machine())\n"
        "print(json.dumps({'rows': [dict(r) for r in rows], 'same': got == want, 'arch': arch}))\n",
        timeout=600,
    )
    assert ran.code == 0, ran
    result = json.loads(ran.out.splitlines()[-1])
    assert result["same"]
    assert sorted(result["arch"]) == ["aarch64", "x86_64", "x86_64"]
    assert {r["arch"] for r in result["rows"]} == {"aarch64", "x86_64"}
    # a restarted Pi engine loads the Pi's own compiled code from its cache
    assert raiden("restart", pi.address, "-i", str(inventory), timeout=300).code == 0
    ran = raiden.python(
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import raiden_lab, kernels\n"
        f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
        "c.wait_for_engines(3, timeout=240)\n"
        "print(json.dumps([dict(r) for r in c.warmup(kernels.spin, 'int64(int64)')]))\n",
        timeout=600,
    )
    assert ran.code == 0, ran
    again = {r["arch"]: r for r in json.loads(ran.out.splitlines()[-1])}
    assert again["aarch64"]["cache_hit"] is True, again


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
