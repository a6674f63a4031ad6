"""What each launch mode costs to start, against SSH, side by side in one run.

Two settings, each timing `raiden up` (preflight included) from the call until
every engine has registered, then `raiden down`, the modes in alternation:

- the virtual Pi cluster (3 namespaced nodes with their own sshd, 2 engines
  each, CurveZMQ on): launcher = "ssh" against launcher = "mpi";
- this machine alone (4 engines): "ssh", "mpi", and "slurm" on a one-machine
  Slurm (munged, slurmctld, slurmd started here, as the tests do).

Needs root (namespaces, slurmd). Prints medians and ratios; asserts nothing.

    sudo .venv/bin/python benchmarks/bench_launchers.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import slurmcluster
import vcluster

RESULTS = Path(__file__).resolve().parent / "results"


def time_up(env: dict[str, str], inventory: Path) -> float:
    start = time.perf_counter()
    up = subprocess.run(
        [sys.executable, "-m", "raiden_lab", "up", "-i", str(inventory), "--timeout", "180"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    down = subprocess.run(
        [sys.executable, "-m", "raiden_lab", "down", "-i", str(inventory)], env=env, capture_output=True, text=True
    )
    if up.returncode != 0 or down.returncode != 0:
        raise SystemExit(f"{inventory.name}: up or down failed: {up.stderr}{down.stderr}")
    return elapsed


def alternate(env: dict[str, str], inventories: dict[str, Path], rounds: int, where: str) -> dict[str, list[float]]:
    """Start-up times per mode, the modes taking turns so that drift hits each alike."""
    times: dict[str, list[float]] = {mode: [] for mode in inventories}
    for i in range(rounds):
        for mode, inventory in inventories.items():
            times[mode].append(time_up(env, inventory))
        print(f"{where}, round {i + 1}: " + ", ".join(f"{m} {t[-1]:.2f} s" for m, t in times.items()), flush=True)
    return times


def local_inventories(base: Path, partition: str) -> dict[str, Path]:
    found = {}
    for mode in ("ssh", "mpi"):
        path = base / f"local-{mode}.toml"
        path.write_text(
            f'[cluster]\nname = "local-{mode}"\nlauncher = "{mode}"\nengines_per_node = 4\n\n'
            '[[nodes]]\nhost = "localhost"\n'
        )
        found[mode] = path
    path = base / "local-slurm.toml"
    path.write_text(
        '[cluster]\nname = "local-slurm"\nlauncher = "slurm"\ncontroller_ip = "127.0.0.1"\n'
        f'encrypt = false\n\n[slurm]\npartition = "{partition}"\nengines = 4\n'
    )
    found["slurm"] = path
    return found


def report(title: str, times: dict[str, list[float]]) -> dict[str, float]:
    medians = {mode: statistics.median(t) for mode, t in times.items()}
    print(f"\n{title}")
    for mode, median in medians.items():
        print(f"  launcher = {mode!r:<8} {median:6.2f} s   {median / medians['ssh']:5.2f}x ssh")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for why in (vcluster.missing_requirements(), slurmcluster.missing_requirements()):
        if why:
            raise SystemExit(f"bench_launchers: {why}")
    base = Path(tempfile.mkdtemp(prefix="raiden-bench-launchers-"))
    env = dict(os.environ, RAIDEN_HOME=str(base / "home"))
    figures: dict[str, dict] = {}

    cluster = vcluster.build(base / "vpi", ["pi1", "pi2", "pi3"], subnet="10.76.0")
    try:
        inventories = {
            mode: cluster.inventory(f"vpi-{mode}", cluster.nodes, engines=2, extra=f'launcher = "{mode}"')
            for mode in ("ssh", "mpi")
        }
        times = alternate(env, inventories, args.rounds, "virtual cluster")
    finally:
        vcluster.teardown(cluster)
    figures["virtual_cluster_3x2"] = {
        "times_s": times,
        "median_s": report(f"virtual Pi cluster, 3 nodes x 2 engines, CurveZMQ (median of {args.rounds})", times),
    }

    slurm = slurmcluster.start(base / "slurm")
    try:
        env.update(slurm.env)
        inventories = local_inventories(base, slurm.partition)
        times = alternate(env, inventories, args.rounds, "this machine")
    finally:
        slurmcluster.stop(slurm)
    figures["this_machine_4"] = {
        "times_s": times,
        "median_s": report(f"this machine, 4 engines (median of {args.rounds})", times),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_launchers.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
