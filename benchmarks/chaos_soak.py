"""A chaos soak: one long map on the virtual Pi cluster while engines, links and the controller die.

A map of --items tasks (each sleeps about a millisecond, so the engines, not this
2-core machine's CPUs, set the pace) runs once undisturbed and once while a seeded
script kills random engines (SIGKILL), cuts a random node's link for a few seconds,
and kills the controller now and then. It prints tasks submitted, results returned,
lost, duplicated, faults injected, and the two times side by side. Goal: nothing lost
or duplicated. Needs root (network namespaces):

    sudo .venv/bin/python benchmarks/chaos_soak.py [--items 100000] [--seed 7]

``tests/test_chaos.py`` runs it in CI on the test suite's virtual cluster.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

MAP = """
import json, sys, time, raiden_lab
c = raiden_lab.connect(inventory=sys.argv[1])
c.wait_for_engines(timeout=120)
def task(x):
    import time
    time.sleep(0.001)
    return x
start = time.perf_counter()
got = c.map(task, range(int(sys.argv[2])), progress=False)
print(json.dumps({"seconds": time.perf_counter() - start, "results": got, "resent": c.last_map.resent}))
"""


class Chaos(threading.Thread):
    """Injects faults until stopped: engine kills, link flaps, controller kills (at most one every 20 s)."""

    def __init__(self, vpi, status, seed: int) -> None:
        super().__init__(daemon=True)
        self.vpi, self.status, self.random = vpi, status, random.Random(seed)
        self.stopped = threading.Event()
        self.faults: collections.Counter[str] = collections.Counter()
        self.controller_killed_at = time.monotonic() - 15  # the first may come after 5 s

    def run(self) -> None:
        while not self.stopped.wait(self.random.uniform(1.5, 3.5)):
            try:
                self.inject()
            except Exception as e:  # a fault that could not be injected (a node already down): try another
                print(f"chaos: {e.__class__.__name__}: {e}", file=sys.stderr)

    def inject(self) -> None:
        status = self.status()
        kind = self.random.choice(["engine", "engine", "link", "controller"])
        if not self.faults["controller killed"]:
            kind = "controller"  # one at least, as soon as it may come: a short map must survive one too
        if kind == "controller" and time.monotonic() - self.controller_killed_at > 20 and status["controller"]["pid"]:
            os.kill(status["controller"]["pid"], signal.SIGKILL)
            self.controller_killed_at = time.monotonic()
            self.faults["controller killed"] += 1
        elif kind == "link":
            node = self.random.choice(self.vpi.nodes[:3])
            self.vpi.set_link(node, up=False)
            self.faults["node link cut for 5 s"] += 1
            self.stopped.wait(5)
            self.vpi.set_link(node, up=True)
        else:
            pids = [e["pid"] for n in status["nodes"] for e in n["engines"] if e["pid"] and e["state"] != "dead"]
            if pids:
                os.kill(self.random.choice(pids), signal.SIGKILL)
                self.faults["engine killed"] += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        for node in self.vpi.nodes:
            self.vpi.set_link(node, up=True)


def soak(vpi, inventory: Path, env: dict[str, str], items: int, seed: int) -> dict:
    """Run the map undisturbed, then under chaos; return the figures (and print them)."""
    raiden = [sys.executable, "-m", "raiden_lab"]

    def status() -> dict:
        ran = subprocess.run(
            [*raiden, "status", "--json", "-i", str(inventory)], env=env, capture_output=True, text=True
        )
        return json.loads(ran.stdout)

    def mapped() -> dict:
        ran = subprocess.run(
            [sys.executable, "-c", MAP, str(inventory), str(items)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if ran.returncode != 0:
            raise SystemExit(f"the map failed:\n{ran.stderr[-3000:]}")
        return json.loads(ran.stdout.splitlines()[-1])

    quiet = mapped()
    chaos = Chaos(vpi, status, seed)
    chaos.start()
    try:
        loud = mapped()
    finally:
        chaos.stop()
    counts = collections.Counter(loud["results"])
    figures = {
        "tasks submitted": items,
        "results returned": len(loud["results"]),
        "lost": sum(1 for x in range(items) if x not in counts),
        "duplicated": sum(n - 1 for n in counts.values() if n > 1),
        "out of order": sum(1 for i, x in enumerate(loud["results"]) if i != x),
        "chunks sent again": loud["resent"],
        "faults injected": sum(chaos.faults.values()),
        **{f"  {k}": v for k, v in sorted(chaos.faults.items())},
        "time without faults (s)": round(quiet["seconds"], 1),
        "time with faults (s)": round(loud["seconds"], 1),
        "time ratio": round(loud["seconds"] / quiet["seconds"], 2),
    }
    width = max(len(k) for k in figures)
    print(f"chaos soak: {items} tasks on {len(vpi.nodes[:3])} virtual nodes")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    return figures


def main() -> int:
    import vcluster

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if problem := vcluster.missing_requirements():
        raise SystemExit(f"chaos_soak: {problem}")
    base = Path(tempfile.mkdtemp(prefix="raiden-chaos-"))
    vpi = vcluster.build(base, ["pi1", "pi2", "pi3"], subnet="10.78.0")
    env = dict(os.environ, RAIDEN_HOME=str(base / "home"))
    inventory = vpi.inventory("chaos", vpi.nodes, engines=2)
    try:
        up = subprocess.run([sys.executable, "-m", "raiden_lab", "up", "-i", str(inventory)], env=env)
        if up.returncode != 0:
            return up.returncode
        figures = soak(vpi, inventory, env, args.items, args.seed)
    finally:
        subprocess.run([sys.executable, "-m", "raiden_lab", "down", "-i", str(inventory)], env=env)
        vcluster.teardown(vpi)
    return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
