"""From a fresh Pi image to engines, and jit compile times on the Pi against an x86 node, side by side.

The Pi is the test suite's emulated one (Debian bookworm arm64 under qemu-user, tests/armpi.py),
beside one x86 namespace node. Times: `raiden add` (key over the password, wheels downloaded
on the head, venv and packages installed on the Pi), `raiden up` until every engine
registered, `cluster.warmup` of one small kernel on each node, then the Pi removed from the
running cluster and added again (it joins live: key and packages are there already). qemu-user runs aarch64
code several times slower than a Raspberry Pi 4 runs it natively; read the Pi's figures as
an upper bound, and the ratio as a property of the emulation, not of a Pi. Needs root:

    sudo .venv/bin/python benchmarks/bench_pi.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

KERNEL = "import raiden_lab\n\n\n@raiden_lab.jit\ndef spin(n):\n    s = 0\n    for i in range(n):\n        s += i * i % 7\n    return s\n"


def main() -> int:
    import armpi

    import vcluster

    if problem := vcluster.missing_requirements() or armpi.missing_requirements():
        raise SystemExit(f"bench_pi: {problem}")
    base = Path(tempfile.mkdtemp(prefix="raiden-bench-pi-"))
    started = time.perf_counter()
    farm = vcluster.build(base, ["pi1", "pi5"], subnet="10.80.0", arm=("pi5",))
    image_s = time.perf_counter() - started
    env = dict(os.environ, RAIDEN_HOME=str(base / "home"))
    raiden = [sys.executable, "-m", "raiden_lab"]
    x86, (pi,) = farm.node("pi1"), farm.pis
    inventory = base / "bench.toml"
    inventory.write_text(
        f'[cluster]\nname = "bench"\ncontroller_ip = "{farm.head}"\nidentity_file = "{farm.identity}"\n'
        f'engines_per_node = 1\n\n[[nodes]]\nhost = "{x86.address}"\nuser = "root"\npython = "{x86.python}"\n'
        f'work_dir = "{x86.work_dir}"\n'
    )
    (base / "password").write_text(armpi.PASSWORD)
    (base / "kernels.py").write_text(KERNEL)
    figures = {}
    try:

        def timed(name: str, *argv: str) -> None:
            start = time.perf_counter()
            ran = subprocess.run([*raiden, *argv, "-i", str(inventory)], env=env, capture_output=True, text=True)
            if ran.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed:\n{ran.stdout}\n{ran.stderr}")
            figures[name] = time.perf_counter() - start

        timed("raiden add (fresh image to provisioned)", "add", pi.address, "--password-file", str(base / "password"),
              "--wheelhouse", str(base / "wheels"))  # fmt: skip
        timed("raiden up (to every engine registered)", "up", "--timeout", "300")
        code = (
            f"import json, sys\nsys.path.insert(0, {str(base)!r})\nimport raiden_lab, kernels\n"
            f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
            "print(json.dumps([dict(r) for r in c.warmup(kernels.spin, 'int64(int64)')]))\n"
        )
        ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=base)
        rows = {r["arch"]: r["seconds"] for r in json.loads(ran.stdout.splitlines()[-1])}
        # the same Pi taken out of the running cluster and added again: it joins live
        timed("raiden remove --drain (running cluster)", "remove", pi.address, "--drain")
        timed("raiden add, provisioned Pi, to engines working", "add", pi.address, "--password-file",
              str(base / "password"), "--timeout", "300")  # fmt: skip
    finally:
        subprocess.run([*raiden, "down", "-i", str(inventory)], env=env, capture_output=True)
        vcluster.teardown(farm)
    print("an emulated Pi (qemu-user, slower than a Pi 4) beside an x86 namespace node, 2-core x86_64 head")
    print(f"  {'unpack a fresh image and start its sshd':<48} {image_s:8.1f} s")
    for name, seconds in figures.items():
        print(f"  {name:<48} {seconds:8.1f} s")
    print(f"  {'jit compile of one kernel on x86_64':<48} {rows['x86_64']:8.2f} s")
    print(f"  {'jit compile of the same kernel on the Pi':<48} {rows['aarch64']:8.2f} s"
          f"   ({rows['aarch64'] / rows['x86_64']:.1f}x the x86 node)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
