"""Moving one array to every engine at the wire's speed: push, BroadcastView, cluster.broadcast, plain TCP.

The virtual Pi cluster (--nodes namespaces of --engines engines each), its head's link shaped
with `tc` to a Pi cluster's gigabit (940 Mbit/s, what a gigabit switch carries), one array of
--mib MiB. Measured in one run, side by side, median of --rounds:

- `DirectView.push` to every engine (one copy per engine over the head's link);
- ipyparallel's `BroadcastView.push` (a tree of schedulers; still one copy per engine at the end);
- `cluster.broadcast` (one copy per node, shared by its engines through /dev/shm);
- the same bytes sent once to each node over plain TCP at once: the limit;
- and the array split across the engines: `DirectView.scatter` against `cluster.scatter`
  (one message per node), with its own limit (each node's rows over plain TCP at once).

Each for a plaintext and a CurveZMQ-encrypted cluster. Needs root (namespaces, tc):

    sudo .venv/bin/python benchmarks/bench_data.py [--nodes 4] [--engines 2] [--mib 64] [--rounds 3]
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

RATE = "940mbit"
RECEIVER = (
    "import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind((sys.argv[1],9099));s.listen(8);print('ready',flush=True)\n"
    "while True:\n c,_=s.accept()\n n=0\n while (b:=c.recv(1<<20)):\n  n+=len(b)\n c.sendall(str(n).encode());c.close()\n"
)
MEASURE = """
import json, statistics, sys, time, numpy, raiden_lab
c = raiden_lab.connect(inventory=sys.argv[1])
c.wait_for_engines(int(sys.argv[2]), timeout=120)
data = numpy.random.default_rng(1).random(int(sys.argv[3]) * 131072)  # MiB of float64
rounds = int(sys.argv[4])
def timed(fn):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
direct = c.client[:]
tree = c.client.broadcast_view(is_coalescing=True)
out = {
    "push": timed(lambda: direct.push({"data": data}, block=True)),
    "broadcast_view": timed(lambda: tree.push({"data": data}, block=True)),
    "broadcast": timed(lambda: c.broadcast("data", data)),
}
check = c.direct.apply_sync(lambda: float(data[-1]))
assert all(v == float(data[-1]) for v in check), check
c.forget("data")
out["scatter_direct"] = timed(lambda: direct.scatter("rows", data, block=True))
out["scatter"] = timed(lambda: c.scatter("rows", data))
assert numpy.array_equal(c.gather("rows"), data)
c.forget("rows")
print(json.dumps(out))
"""


def _tcp_limit(farm, nodes, size: int, rounds: int) -> float:
    """Send ``size`` bytes to every node at once over plain TCP; the median seconds until all received."""
    import socket
    import threading

    receivers = [
        subprocess.Popen(
            ["ip", "netns", "exec", n.namespace, sys.executable, "-c", RECEIVER, n.address],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in nodes
    ]
    try:
        for r in receivers:
            assert r.stdout is not None and r.stdout.readline().strip() == "ready"
        payload = os.urandom(1 << 20)

        def send(address: str) -> None:
            with socket.create_connection((address, 9099)) as s:
                left = size
                while left > 0:
                    s.sendall(payload[: min(left, len(payload))])
                    left -= len(payload)
                s.shutdown(socket.SHUT_WR)
                assert int(s.recv(64)) == size

        times = []
        for _ in range(rounds):
            threads = [threading.Thread(target=send, args=(n.address,)) for n in nodes]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        for r in receivers:
            r.kill()


def main() -> int:
    import vcluster
    from _cluster import inventory_up

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--engines", type=int, default=2)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if problem := vcluster.missing_requirements():
        raise SystemExit(f"bench_data: {problem}")
    base = Path(tempfile.mkdtemp(prefix="raiden-bench-data-"))
    farm = vcluster.build(base, [f"pi{i + 1}" for i in range(args.nodes)], subnet="10.81.0")
    env = dict(os.environ, RAIDEN_HOME=str(base / "home"))
    rows = {}
    try:
        subprocess.run(["tc", "qdisc", "add", "dev", farm.bridge, "root", "tbf", "rate", RATE, "burst", "256kb",
                        "latency", "100ms"], check=True)  # fmt: skip
        limit = _tcp_limit(farm, farm.nodes, args.mib << 20, args.rounds)
        split_limit = _tcp_limit(farm, farm.nodes, (args.mib << 20) // args.nodes, args.rounds)  # each node its part
        for encrypt in (False, True):
            name = "data-curve" if encrypt else "data-plain"
            inventory = farm.inventory(
                name, farm.nodes, engines=args.engines, extra=f"encrypt = {str(encrypt).lower()}"
            )
            with inventory_up(inventory, env):
                engines = str(args.nodes * args.engines)
                ran = subprocess.run([sys.executable, "-c", MEASURE, str(inventory), engines, str(args.mib),
                                      str(args.rounds)], env=env, capture_output=True, text=True, cwd=base)  # fmt: skip
                if ran.returncode != 0:
                    raise SystemExit(f"measuring failed:\n{ran.stderr}")
                rows[name] = json.loads(ran.stdout.strip().splitlines()[-1])
    finally:
        vcluster.teardown(farm)
    total = args.nodes * args.engines
    print(
        f"{args.mib} MiB to {total} engines on {args.nodes} virtual nodes, head link shaped to {RATE} "
        f"(median of {args.rounds}; 2-core x86_64 head, every node on this machine)"
    )
    print(f"  {'plain TCP, one copy per node (the limit)':<46} {limit:7.2f} s   1.00x")
    for name, row in rows.items():
        label = "CurveZMQ" if name.endswith("curve") else "plaintext"
        for what, text in (
            ("push", "DirectView.push, a copy per engine"),
            ("broadcast_view", "BroadcastView.push"),
            ("broadcast", "cluster.broadcast, a copy per node"),
        ):
            print(f"  {text + ', ' + label:<46} {row[what]:7.2f} s   {row[what] / limit:.2f}x")
    print("the same array split across the engines (each row to one engine):")
    print(f"  {'plain TCP, each node its rows (the limit)':<46} {split_limit:7.2f} s   1.00x")
    for name, row in rows.items():
        label = "CurveZMQ" if name.endswith("curve") else "plaintext"
        for what, text in (("scatter_direct", "DirectView.scatter, a message per engine"),
                           ("scatter", "cluster.scatter, a message per node")):  # fmt: skip
            print(f"  {text + ', ' + label:<46} {row[what]:7.2f} s   {row[what] / split_limit:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
