"""What one idle engine costs a node in memory, and so how many engines (class seats) a Pi cluster holds.

Measured on the machine it runs on (an x86 head here; an aarch64 Pi's Python differs a little).

Starts a local cluster, lets its engines settle (they import numba on start, as on every node),
and reads each engine process's memory with psutil: USS (what only it holds, freed when it exits),
PSS (its fair share of libraries it shares with the others) and RSS. Then it runs one jit-compiled
function on every engine and reads them again, since a used engine keeps its compiled code.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import psutil

import raiden_lab
from _cluster import RESULTS, local_cluster

MIB = 2**20
PI4_SYSTEM_MIB = 600  # kept for Raspberry Pi OS Lite, sshd and the agent: an allowance, not measured here


@raiden_lab.jit("float64(int64)")
def _harmonic(n):
    s = 0.0
    for k in range(1, n + 1):
        s += 1.0 / k
    return s


def _memory(pids: list[int]) -> dict[str, float]:
    rows = [psutil.Process(pid).memory_full_info() for pid in pids]
    return {k: statistics.median(getattr(r, k) for r in rows) / MIB for k in ("uss", "pss", "rss")}


def main() -> None:
    with local_cluster() as cluster:
        cluster.wait_for_engines(timeout=60)
        time.sleep(3)  # the warm-up import of numba on each engine
        pids = cluster.direct.apply_sync(os.getpid)
        idle = _memory(pids)
        cluster.direct.apply_sync(_harmonic, 1000)
        used = _memory(pids)
    print(f"engines measured: {len(pids)} (median per engine, MiB)")
    print(f"{'':24}{'USS':>8}{'PSS':>8}{'RSS':>8}")
    for label, m in (("idle (numba imported)", idle), ("after one jit call", used)):
        print(f"{label:24}{m['uss']:8.1f}{m['pss']:8.1f}{m['rss']:8.1f}")
    per_engine = used["pss"]
    for ram_gib in (2, 4, 8):
        spare = ram_gib * 1024 - PI4_SYSTEM_MIB
        print(
            f"Pi 4 with {ram_gib} GiB: about {int(spare // per_engine)} engines per board "
            f"({int(spare // per_engine) // 4} per core) at {per_engine:.0f} MiB each, {PI4_SYSTEM_MIB} MiB kept "
            "for the system"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_memory.json").write_text(json.dumps({"idle": idle, "used": used, "engines": len(pids)}))


if __name__ == "__main__":
    main()
