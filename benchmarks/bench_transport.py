"""Local clusters on ipc:// sockets (Raiden's, private to their owner) against TCP loopback (ipyparallel's default).

Same machine, same engine count: round trips to one engine (apply of a no-op), and a 64 MiB
numpy array pushed to every engine. Three clusters, measured in turns (median of --rounds):
ipyparallel's own cluster on TCP, the same on ipc:// through Raiden's controller (the transport
alone), and a Raiden cluster (ipc://, plus its supervisor, health loop and metrics agent).

    .venv/bin/python benchmarks/bench_transport.py [--round-trips 300] [--mib 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import ipyparallel as ipp
import numpy as np
from traitlets.config import Config

from _cluster import local_cluster, save
from raiden_lab.daemon.hub import CONTROLLER_CMD


def _noop() -> int:
    return 0


def measure(client: ipp.Client, round_trips: int, mib: int) -> dict[str, float]:
    one = client[client.ids[0]]
    one.apply_sync(_noop)
    start = time.perf_counter()
    for _ in range(round_trips):
        one.apply_sync(_noop)
    rtt_ms = (time.perf_counter() - start) / round_trips * 1000
    data = np.ones(mib * 2**20 // 8)
    pushes = []
    for _ in range(3):
        start = time.perf_counter()
        client[:].push({"data": data}, block=True)
        pushes.append(time.perf_counter() - start)
    return {"rtt_ms": rtt_ms, "push_s": statistics.median(pushes)}


def plain(engines: int, round_trips: int, mib: int, ipc: str | None) -> dict[str, float]:
    """ipyparallel's own cluster, on TCP loopback or (``ipc``: a socket prefix) on Raiden's ipc controller."""

    async def run() -> dict[str, float]:
        options: dict = {"controller_ip": "127.0.0.1"}
        if ipc:
            options = {
                "controller_ip": ipc,
                "controller_args": ["--IPController.transport=ipc"],
                "config": Config(LocalControllerLauncher={"controller_cmd": CONTROLLER_CMD}),
            }
        cluster = ipp.Cluster(n=engines, log_level=40, **options)
        await cluster.start_cluster()
        try:
            client = await cluster.connect_client()
            client.wait_for_engines(engines, timeout=60)
            return await asyncio.get_running_loop().run_in_executor(None, measure, client, round_trips, mib)
        finally:
            await cluster.stop_cluster()

    return asyncio.run(run())


def raiden_cluster(round_trips: int, mib: int) -> dict[str, float]:
    with local_cluster() as cluster:
        cluster.wait_for_engines(timeout=60)
        return measure(cluster.client, round_trips, mib)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--round-trips", type=int, default=500)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engines = os.cpu_count() or 1
    prefix = os.path.join(tempfile.mkdtemp(prefix="raiden-ipc-"), "c")
    runs: dict[str, list[dict[str, float]]] = {"tcp": [], "ipc": [], "raiden": []}
    for _ in range(args.rounds):
        runs["tcp"].append(plain(engines, args.round_trips, args.mib, None))
        runs["ipc"].append(plain(engines, args.round_trips, args.mib, prefix))
        runs["raiden"].append(raiden_cluster(args.round_trips, args.mib))
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("rtt_ms", "push_s")} for k, v in runs.items()}
    print(
        f"{engines} engines; a no-op round trip to one engine, {args.mib} MiB pushed to all; "
        f"median of {args.rounds} rounds"
    )
    print(f"{'':42}{'round trip':>12}{'ratio':>8}{'push':>9}{'ratio':>8}")
    labels = {
        "tcp": "ipyparallel, tcp://127.0.0.1",
        "ipc": "ipyparallel, ipc:// (Raiden's controller)",
        "raiden": "raiden up (ipc://, supervised)",
    }
    for key, label in labels.items():
        m = med[key]
        print(
            f"{label:42}{m['rtt_ms']:10.2f}ms{m['rtt_ms'] / med['tcp']['rtt_ms']:7.2f}x"
            f"{m['push_s']:8.2f}s{m['push_s'] / med['tcp']['push_s']:7.2f}x"
        )
    save("transport", {"engines": engines, "median": med})


if __name__ == "__main__":
    main()
