"""What the head pays per node: processes, memory, CPU, and the times of doctor, up, status and down.

Virtual Pi clusters of --sizes nodes (one engine each), built one after another on this
machine. While each runs: the head's processes for the cluster (the supervisor and
everything under it: controller, ssh connections, runners' and agents' ssh clients), their
memory (USS, what they alone hold) and their CPU over 10 idle seconds. Printed per size and
per node, with the growth from the smallest size to the largest beside the growth in nodes.
Needs root (namespaces):

    sudo .venv/bin/python benchmarks/bench_scale.py [--sizes 4,16,48]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _head_cost(supervisor: int, home: Path, seconds: float = 10.0) -> tuple[int, float, float]:
    """The cluster's processes on the head, their USS in MB, and their CPU in % of one core.

    Those under the supervisor (itself included), and the SSH masters that ``ssh -f`` put
    in the background (not its children any more; found by their ControlPath under ``home``).
    """
    root = psutil.Process(supervisor)
    procs = [root, *root.children(recursive=True)]
    mine = {p.pid for p in procs}
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.pid not in mine and p.info["name"] == "ssh" and any(str(home) in a for a in p.info["cmdline"] or []):
            procs.append(p)
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(seconds)
    memory = cpu = 0.0
    alive = 0
    for p in procs:
        try:
            memory += p.memory_full_info().uss / 1e6
            cpu += p.cpu_percent(None)
            alive += 1
        except psutil.Error:
            continue
    return alive, memory, cpu


def measure(size: int, base: Path) -> dict[str, float]:
    import vcluster

    farm = vcluster.build(base / f"n{size}", [f"pi{i + 1}" for i in range(size)], subnet="10.82.0")
    env = dict(os.environ, RAIDEN_HOME=str(base / f"home{size}"))
    inventory = farm.inventory(f"scale{size}", farm.nodes, engines=1)

    def timed(*argv: str) -> float:
        start = time.perf_counter()
        ran = subprocess.run([sys.executable, "-m", "raiden_lab", *argv, "-i", str(inventory)], env=env,
                             capture_output=True, text=True)  # fmt: skip
        if ran.returncode != 0:
            raise SystemExit(f"raiden {argv[0]} at {size} nodes failed:\n{ran.stdout}\n{ran.stderr}")
        return time.perf_counter() - start

    row: dict[str, float] = {}
    try:
        row["doctor"] = timed("doctor")
        row["up"] = timed("up", "--timeout", "300")
        row["status"] = timed("status")
        status = subprocess.run([sys.executable, "-m", "raiden_lab", "status", "--json", "-i", str(inventory)],
                                env=env, capture_output=True, text=True)  # fmt: skip
        pid = json.loads(status.stdout)["supervisor_pid"]
        row["processes"], row["memory"], row["cpu"] = _head_cost(pid, base / f"home{size}")
        row["down"] = timed("down")
    finally:
        subprocess.run([sys.executable, "-m", "raiden_lab", "down", "-i", str(inventory)], env=env,
                       capture_output=True)  # fmt: skip
        vcluster.teardown(farm)
    return row


def main() -> int:
    import vcluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,16,48")
    args = parser.parse_args()
    if problem := vcluster.missing_requirements():
        raise SystemExit(f"bench_scale: {problem}")
    sizes = [int(s) for s in args.sizes.split(",")]
    base = Path(tempfile.mkdtemp(prefix="raiden-bench-scale-"))
    rows = {size: measure(size, base) for size in sizes}
    first, last = sizes[0], sizes[-1]
    print("the head's cost per virtual node (one engine each; 2-core x86_64 head, nodes on this machine)")
    header = ("nodes", "doctor s", "up s", "status s", "down s", "processes", "per node", "USS MB", "per node",
              "CPU %", "per node")  # fmt: skip
    print("  " + "  ".join(f"{h:>9}" for h in header))
    for size, r in rows.items():
        cells = (size, r["doctor"], r["up"], r["status"], r["down"], r["processes"], r["processes"] / size,
                 r["memory"], r["memory"] / size, r["cpu"], r["cpu"] / size)  # fmt: skip
        print("  " + "  ".join(f"{c:>9.2f}" if isinstance(c, float) else f"{c:>9}" for c in cells))
    a, b = rows[first], rows[last]
    print(f"  growth from {first} to {last} nodes ({last / first:.1f}x the nodes):")
    for key in ("doctor", "up", "status", "down", "processes", "memory", "cpu"):
        print(f"    {key:<10} {b[key] / a[key] if a[key] else float('nan'):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
