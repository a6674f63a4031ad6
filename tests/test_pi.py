"""An emulated Raspberry Pi (arm64 under qemu-user) beside x86 namespace nodes: from a fresh image to
engines, with the head's wheels, and one jit map compiled for both CPUs.

The Pi starts as a new image does: Python 3, venv, sshd, nothing from pip. What the tests do to it is
what a user does to a box of Pis: doctor, `raiden wheelhouse`, `raiden provision --wheelhouse`, up,
a mixed map, down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import armpi
import pytest

import vcluster
from conftest import _make_raiden, need, wait_for

PI_PYTHON = "/home/pi/raiden/venv/bin/python"


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """x86 nodes pi1 and pi2, and pi5, an emulated Pi reached as user pi (the test's key put in for now)."""
    need(vcluster.missing_requirements() or armpi.missing_requirements())
    base = tmp_path_factory.mktemp("farm")
    cluster = vcluster.build(base, ["pi1", "pi2", "pi5"], subnet="10.79.0", arm=("pi5",))
    try:
        (pi,) = cluster.pis
        ssh_dir = pi.path("/home/pi/.ssh")
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(Path(f"{cluster.identity}.pub").read_text())
        subprocess.run(["chroot", str(pi.root), "chown", "-R", "pi:pi", "/home/pi/.ssh"], check=True)
        yield cluster
    finally:
        vcluster.teardown(cluster)


def _inventory(farm, name: str) -> Path:
    x86 = [farm.node("pi1"), farm.node("pi2")]
    lines = ["[cluster]", f'name = "{name}"', f'controller_ip = "{farm.head}"', f'identity_file = "{farm.identity}"']
    lines.append("engines_per_node = 1")
    for node in x86:
        lines += ["", "[[nodes]]", f'host = "{node.address}"', 'user = "root"', f'python = "{node.python}"']
        lines.append(f'work_dir = "{node.work_dir}"')
    pi = farm.node("pi5")
    lines += ["", "[[nodes]]", f'host = "{pi.address}"', 'user = "pi"', f'python = "{PI_PYTHON}"', 'labels = ["pi"]']
    path = farm.base / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_fresh_pi_runs_arm64_code_and_doctor_names_what_it_lacks(farm, tmp_path) -> None:
    (pi,) = farm.pis
    machine = subprocess.run(["chroot", str(pi.root), "uname", "-m"], capture_output=True, text=True).stdout.strip()
    assert machine == "aarch64"
    raiden = _make_raiden(tmp_path)
    inventory = _inventory(farm, "fresh")
    ran = raiden("doctor", "-i", str(inventory), "--json")
    assert ran.code == 1, ran
    nodes = {n["host"]: n for n in ran.json()["nodes"]}
    fresh = nodes[farm.node("pi5").address]
    assert fresh["ok"] is False
    assert any(f"no Python at '{PI_PYTHON}'" in p for p in fresh["problems"]), fresh


def test_wheelhouse_provision_up_and_one_jit_map_on_x86_and_arm(farm, tmp_path) -> None:
    raiden = _make_raiden(tmp_path)
    inventory = _inventory(farm, "mixed")
    wheels = tmp_path / "wheels"
    ran = raiden("wheelhouse", str(wheels), "-i", str(inventory), timeout=900)
    assert ran.code == 0, ran
    assert "aarch64, Python 3.11: " + farm.node("pi5").address in ran.out
    manifest = json.loads((wheels / "wheelhouse.json").read_text())
    assert {p["arch"] for p in manifest["platforms"]} == {"x86_64", "aarch64"}
    assert any("aarch64" in f and f.startswith("numba-") for f in manifest["files"])

    ran = raiden("provision", "--wheelhouse", str(wheels), "-i", str(inventory), farm.node("pi5").address, timeout=1200)
    assert ran.code == 0, ran
    ran = raiden("up", "-i", str(inventory), "--timeout", "240", timeout=600)
    assert ran.code == 0, ran
    try:
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
    finally:
        ran = raiden("down", "-i", str(inventory))
    assert ran.code == 0, ran
    pi5 = farm.node("pi5")
    assert wait_for(lambda: not [p for p in farm.processes(pi5) if "python" in p], 30), farm.processes(pi5)
    (pi,) = farm.pis
    cache = list(pi.path("/home/pi/.raiden/mixed/node/jit").rglob("*.nbc"))
    assert cache, "the Pi's own cache holds its compiled code"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
