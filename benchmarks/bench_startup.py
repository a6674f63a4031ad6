"""Cluster start-up: `raiden up` against plain ipyparallel's SSH launcher, side by side.

Builds the virtual Pi cluster (3 namespaced nodes with their own sshd; needs
root), then, in alternation, starts 3 nodes x 2 engines with `raiden up`
(preflight included; CurveZMQ-encrypted, the default for remote nodes), with
`raiden up` and `encrypt = false`, and with `ipyparallel.Cluster(engines="ssh")`,
timing from the call until every engine has registered, then stops each. Then
it measures what encryption costs once running: round trips to one engine and
pushing 64 MiB to every engine, encrypted and not. Prints medians and ratios.
Not a test: it asserts nothing.

    sudo .venv/bin/python benchmarks/bench_startup.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import vcluster

ENGINES_PER_NODE = 2


def time_raiden(env: dict[str, str], inventory: Path) -> float:
    start = time.perf_counter()
    up = subprocess.run(
        [sys.executable, "-m", "raiden_lab", "up", "-i", str(inventory)], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if up.returncode != 0:
        raise SystemExit(f"raiden up failed: {up.stderr}")
    subprocess.run(
        [sys.executable, "-m", "raiden_lab", "down", "-i", str(inventory)], env=env, capture_output=True, check=True
    )
    return elapsed


TRAFFIC = """
import time, numpy as np, raiden_lab
c = raiden_lab.connect(inventory={inventory!r})
one = c.client[c.ids[0]]
one.apply_sync(lambda: 0)
t = time.perf_counter()
for _ in range(300):
    one.apply_sync(lambda: 0)
rtt = (time.perf_counter() - t) / 300
data = np.ones(8 * 1024 * 1024)  # 64 MiB
c.direct.push({{"data": data}})
t = time.perf_counter()
for _ in range(3):
    c.direct.push({{"data": data}})
push = (time.perf_counter() - t) / 3
print(rtt, push)
"""


def time_traffic(env: dict[str, str], inventory: Path) -> tuple[float, float]:
    """(seconds per round trip to one engine, seconds to push 64 MiB to every engine)."""
    subprocess.run(
        [sys.executable, "-m", "raiden_lab", "up", "-i", str(inventory)], env=env, capture_output=True, check=True
    )
    try:
        ran = subprocess.run(
            [sys.executable, "-c", TRAFFIC.format(inventory=str(inventory))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rtt, push = map(float, ran.stdout.split())
        return rtt, push
    finally:
        subprocess.run(
            [sys.executable, "-m", "raiden_lab", "down", "-i", str(inventory)], env=env, capture_output=True, check=True
        )


def time_ipyparallel(cluster: vcluster.VirtualCluster, workdir: Path) -> float:
    import ipyparallel as ipp
    from traitlets.config import Config

    config = Config()
    config.SSHEngineSetLauncher.engines = {f"root@{n.address}": ENGINES_PER_NODE for n in cluster.nodes}
    config.SSHLauncher.remote_python = sys.executable
    config.SSHLauncher.ssh_args = [
        "-i",
        str(cluster.identity),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"UserKnownHostsFile={workdir / 'known_hosts'}",
        "-o",
        "LogLevel=ERROR",
    ]
    config.SSHLauncher.scp_args = list(config.SSHLauncher.ssh_args)
    n = ENGINES_PER_NODE * len(cluster.nodes)

    async def run() -> float:
        profile = tempfile.mkdtemp(dir=workdir)
        ipc = ipp.Cluster(
            engines="ssh",
            controller_ip=cluster.head,
            profile_dir=profile,
            config=config,
            n=n,
            log_level=40,
            shutdown_atexit=False,
        )
        start = time.perf_counter()
        try:
            await ipc.start_cluster()
            client = await ipc.connect_client()
            await asyncio.wrap_future(client.wait_for_engines(n, block=False, timeout=120))
            elapsed = time.perf_counter() - start
            client.close()
        finally:
            await ipc.stop_cluster()
        return elapsed

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    why = vcluster.missing_requirements()
    if why:
        raise SystemExit(f"bench_startup: {why}")
    base = Path(tempfile.mkdtemp(prefix="raiden-bench-"))
    cluster = vcluster.build(base, ["pi1", "pi2", "pi3"], subnet="10.78.0")
    try:
        inventory = cluster.inventory("bench", cluster.nodes, engines=ENGINES_PER_NODE)
        plain = cluster.inventory("plain", cluster.nodes, engines=ENGINES_PER_NODE, extra="encrypt = false")
        env = dict(os.environ, RAIDEN_HOME=str(base / "home"))
        ipp_dir = base / "ipp"
        ipp_dir.mkdir()
        raiden_times, plain_times, ipp_times = [], [], []
        for i in range(args.rounds):
            raiden_times.append(time_raiden(env, inventory))
            plain_times.append(time_raiden(env, plain))
            ipp_times.append(time_ipyparallel(cluster, ipp_dir))
            print(
                f"round {i + 1}: raiden up {raiden_times[-1]:.2f} s (encrypted), {plain_times[-1]:.2f} s (plain); "
                f"ipyparallel ssh {ipp_times[-1]:.2f} s",
                flush=True,
            )
        traffic = {"encrypted": time_traffic(env, inventory), "plain": time_traffic(env, plain)}
    finally:
        vcluster.teardown(cluster)
    r, q, p = statistics.median(raiden_times), statistics.median(plain_times), statistics.median(ipp_times)
    engines = ENGINES_PER_NODE * len(cluster.nodes)
    (rtt_e, push_e), (rtt_p, push_p) = traffic["encrypted"], traffic["plain"]
    print()
    print(
        f"start {len(cluster.nodes)} nodes x {ENGINES_PER_NODE} engines over SSH, until all {engines} registered "
        f"(median of {args.rounds})"
    )
    print(f"  {'raiden up (with preflight, CurveZMQ)':<40} {r:6.2f} s")
    print(f"  {'raiden up, encrypt = false':<40} {q:6.2f} s")
    print(f"  {'ipyparallel Cluster(engines=ssh)':<40} {p:6.2f} s")
    print(f"  ratio raiden / ipyparallel: {r / p:.2f}x  (goal: <= 1.2x); encrypted / plain start: {r / q:.2f}x")
    print("running traffic, encrypted against plain")
    print(f"  round trip to one engine   {1000 * rtt_e:7.2f} ms  vs {1000 * rtt_p:7.2f} ms  ({rtt_e / rtt_p:.2f}x)")
    print(f"  push 64 MiB to {engines} engines  {push_e:7.2f} s   vs {push_p:7.2f} s   ({push_e / push_p:.2f}x)")
    print(
        json.dumps(
            {
                "raiden_s": raiden_times,
                "raiden_plain_s": plain_times,
                "ipyparallel_s": ipp_times,
                "ratio": r / p,
                "encrypted_over_plain_start": r / q,
                "traffic": traffic,
            }
        )
    )


if __name__ == "__main__":
    main()
