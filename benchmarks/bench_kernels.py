"""Compute-bound kernels: raiden_lab.jit on every engine against one engine, pure Python and numpy.

Mandelbrot (rows as tasks; 1600x1200, 256 iterations) and Monte Carlo pi
(chunks of samples as tasks). Parallel efficiency is T(1 engine) / (engines x
T(all engines)); goals: >= 90% when engines <= cores, jit >= 50x pure Python
(both in this process, so only the compiled code differs). Cluster and jit
runs are the best of three.
Pure Python runs on every --py-every'th row (or a slice of the samples) and is
scaled up, since it would take minutes; that is printed with the figures.

    .venv/bin/python benchmarks/bench_kernels.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import kernels
from _cluster import local_cluster, save, timed


def best(fn, *args, runs: int = 3, **kwargs) -> tuple[float, object]:
    """Best of a few runs: on a 2-core machine the controller and this process share the cores."""
    results = [timed(fn, *args, **kwargs) for _ in range(runs)]
    return min(r[0] for r in results), results[0][1]


def report(title: str, rows: dict[str, float], engines: int) -> dict[str, float]:
    all_s, one_s = rows["jit, all engines"], rows["jit, one engine"]
    here_s, py_s, np_s = rows["jit, here"], rows["pure Python, here"], rows["numpy, here"]
    efficiency = one_s / (engines * all_s)
    print(title)
    for name, seconds in rows.items():
        print(f"  {name:<26} {seconds:9.3f} s   all engines = {seconds / all_s:7.1f}x faster")
    print(
        f"  parallel efficiency on {engines} engines: {efficiency:.0%} (goal >= 90% with engines <= cores = {os.cpu_count()})"
    )
    print(
        f"  jit vs pure Python, one process each: {py_s / here_s:.0f}x (goal >= 50x); jit vs numpy: {np_s / here_s:.1f}x"
    )
    return {**rows, "efficiency": efficiency, "jit_vs_python": py_s / here_s, "jit_vs_numpy": np_s / here_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--py-every", type=int, default=40, help="pure Python computes every N-th row and scales up")
    parser.add_argument("--samples", type=int, default=200_000_000, help="Monte Carlo samples")
    args = parser.parse_args()
    width, height, iters = kernels.WIDTH, kernels.HEIGHT, kernels.MAX_ITER
    figures = {}
    with local_cluster() as cluster:
        engines = len(cluster.ids)
        first = [cluster.ids[0]]
        cluster.warmup(kernels.mandel_row, "int32[:](int64, int64, int64)")
        cluster.warmup(kernels.pi_hits, "int64(int64, int64)")
        rows = range(height)

        all_s, image = best(cluster.map, kernels.mandel_row, rows, [width] * height, [iters] * height, progress=False)
        one_s, _ = best(
            cluster.map, kernels.mandel_row, rows, [width] * height, [iters] * height, progress=False, targets=first
        )
        kernels.mandel_row(0, width, iters)  # compile here first: timing the run, not the compile
        here_s, _ = best(lambda: [kernels.mandel_row(y, width, iters) for y in rows])
        sampled = list(range(0, height, args.py_every))
        py_s, py_rows = timed(lambda: [kernels.mandel_row_py(y, width, iters) for y in sampled])
        assert all(list(image[y]) == py_rows[i] for i, y in enumerate(sampled)), "jit and Python disagree"
        np_s, _ = timed(kernels.mandel_numpy, width, height, iters)
        figures["mandelbrot"] = report(
            f"Mandelbrot {width}x{height}, {iters} iterations, rows as tasks (pure Python: every {args.py_every}th row, scaled)",
            {
                "jit, all engines": all_s,
                "jit, one engine": one_s,
                "jit, here": here_s,
                "pure Python, here": py_s * args.py_every,
                "numpy, here": np_s,
            },
            engines,
        )

        tasks = engines * 8
        per = args.samples // tasks
        seeds = list(range(tasks))
        all_s, hits = best(cluster.map, kernels.pi_hits, [per] * tasks, seeds, progress=False)
        one_s, _ = best(cluster.map, kernels.pi_hits, [per] * tasks, seeds, progress=False, targets=first)
        kernels.pi_hits(10, 0)
        here_s, _ = best(lambda: [kernels.pi_hits(per, s) for s in seeds])
        py_s, _ = timed(kernels.pi_hits_py, per // 10, 0)
        np_s, _ = timed(kernels.pi_hits_numpy, args.samples, 0)
        print(f"pi ~ {4 * sum(hits) / (per * tasks):.5f}")
        figures["monte_carlo_pi"] = report(
            f"Monte Carlo pi, {per * tasks:,} samples in {tasks} tasks (pure Python: a tenth of one task, scaled)",
            {
                "jit, all engines": all_s,
                "jit, one engine": one_s,
                "jit, here": here_s,
                "pure Python, here": py_s * 10 * tasks,
                "numpy, here": np_s,
            },
            engines,
        )
    print(f"figures written to {save('kernels', figures)}")


if __name__ == "__main__":
    main()
