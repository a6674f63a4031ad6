"""A cold numba compile on every engine against a cache hit after the engines restart.

Goal: a cache hit costs <= 10% of the cold compile. Uses the Mandelbrot row
kernel, on a fresh cluster (so the node's cache starts empty).

    .venv/bin/python benchmarks/bench_cache.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import kernels
from _cluster import local_cluster, save

SIG = "int32[:](int64, int64, int64)"


def main() -> None:
    with local_cluster() as cluster:
        cold = cluster.warmup(kernels.mandel_row, SIG)
        assert not any(r["cache_hit"] for r in cold)
        subprocess.run([sys.executable, "-m", "raiden_lab", "restart", "localhost"], check=True, capture_output=True)
        cluster.client.close()
        import raiden_lab

        cluster = raiden_lab.connect()
        hot = cluster.warmup(kernels.mandel_row, SIG)
        assert all(r["cache_hit"] for r in hot)
    cold_s = statistics.median(r["seconds"] for r in cold)
    hot_s = statistics.median(r["seconds"] for r in hot)
    print("compile mandel_row on every engine (median over engines)")
    print(f"  cold compile                     {cold_s:8.3f} s")
    print(f"  cache hit after engine restart   {hot_s:8.3f} s   = {hot_s / cold_s:.1%} of cold (goal <= 10%)")
    print(f"figures written to {save('cache', {'cold_s': cold_s, 'hit_s': hot_s, 'ratio': hot_s / cold_s})}")


if __name__ == "__main__":
    main()
