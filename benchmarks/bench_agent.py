"""What the metrics agent costs a node: CPU time per second of wall time, at one sample a second.

Starts `python -m raiden_lab.node.agent` told about a few engine processes (stand-ins
that sleep), lets it sample for --seconds after its first sample, and reads its
CPU time from /proc. Side by side: `vmstat 1`, the tool people reach for to
watch a machine, over the same time. Goal: the agent at most 1% of one core.

    .venv/bin/python benchmarks/bench_agent.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time

import psutil


def cpu_share(argv: list[str], seconds: float, engines: dict[str, int] | None = None) -> float:
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        if engines is not None:
            proc.stdin.write(json.dumps({"engines": engines}).encode() + b"\n")
            proc.stdin.flush()
        proc.stdout.readline()  # past start-up: imports are a one-off cost
        ps = psutil.Process(proc.pid)
        before, start = ps.cpu_times(), time.monotonic()
        deadline = start + seconds
        while time.monotonic() < deadline:
            proc.stdout.readline()
        after, wall = ps.cpu_times(), time.monotonic() - start
        return ((after.user - before.user) + (after.system - before.system)) / wall
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]) for _ in range(4)]
    try:
        engines = {str(i): p.pid for i, p in enumerate(sleepers)}
        agent = cpu_share([sys.executable, "-m", "raiden_lab.node.agent", "--interval", "1"], args.seconds, engines)
        rows = [("raiden agent (4 engines watched)", agent)]
        if shutil.which("vmstat"):
            rows.append(("vmstat 1", cpu_share(["vmstat", "-n", "1"], args.seconds)))
    finally:
        for p in sleepers:
            p.kill()
    print(f"CPU per second of wall time, one sample a second, over {args.seconds:g} s")
    for name, share in rows:
        print(f"  {name:<34} {share * 100:6.3f}% of one core")
    if len(rows) == 2 and rows[1][1] > 0:
        print(f"  ratio agent / vmstat: {rows[0][1] / rows[1][1]:.1f}x")
    print(f"  goal: agent <= 1% of one core: {'met' if agent <= 0.01 else 'NOT met'}")


if __name__ == "__main__":
    main()
