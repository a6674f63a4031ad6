"""100k tiny items: raiden's map against what people would otherwise use, on the same machine.

raiden `cluster.map` (chunks sized from measured task times), ipyparallel's
default `LoadBalancedView.map` (one task per item) on the same engines,
`multiprocessing.Pool.map` with as many processes as engines, and
dask.distributed `Client.map` (with the bench extra: pip install -e '.[bench]').
Goals: >= 20x ipyparallel's default, >= 0.5x Pool.map.

The fast ones map all --items (median of 3 runs after a warm-up run). One task
per item costs ipyparallel's default map and dask several milliseconds an item
(100k items take them minutes here), so they map the first --slow-items and
every comparison is of throughput, items per second.

    .venv/bin/python benchmarks/bench_map.py [--items 100000] [--slow-items 10000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _cluster import local_cluster, save, timed


def square(x):
    return x * x


def best_of(fn, *args, runs: int = 3, **kwargs) -> tuple[float, object]:
    fn(*args, **kwargs)  # warm-up: shipping the function, first imports
    times, result = [], None
    for _ in range(runs):
        seconds, result = timed(fn, *args, **kwargs)
        times.append(seconds)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--slow-items", type=int, default=10_000)
    args = parser.parse_args()
    items, few = range(args.items), range(args.slow_items)
    rate: dict[str, float] = {}
    with local_cluster() as cluster:
        engines = len(cluster.ids)
        seconds, got = best_of(cluster.map, square, items, progress=False)
        assert got == [x * x for x in items]
        rate["raiden cluster.map"] = args.items / seconds
        seconds, got = timed(cluster.balanced.map_sync, square, few)
        assert list(got) == [x * x for x in few]
        rate["ipyparallel LoadBalancedView.map"] = args.slow_items / seconds
        with multiprocessing.Pool(engines) as pool:
            seconds, got = best_of(pool.map, square, items)
        assert got == [x * x for x in items]
        rate[f"multiprocessing.Pool({engines}).map"] = args.items / seconds
        try:
            from dask.distributed import Client, LocalCluster

            with (
                LocalCluster(n_workers=engines, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
                Client(lc) as dc,
            ):
                seconds, got = timed(lambda: dc.gather(dc.map(square, few)))
            assert got == [x * x for x in few]
            rate["dask.distributed Client.map"] = args.slow_items / seconds
        except ImportError:
            print("dask.distributed: not installed (pip install -e '.[bench]'); skipped")
    ours = rate["raiden cluster.map"]
    print(f"map of tiny items on {engines} engines, items per second (higher is better)")
    goals = {"ipyparallel LoadBalancedView.map": 20.0, f"multiprocessing.Pool({engines}).map": 0.5}
    for name, r in rate.items():
        ratio = ours / r
        goal = f"  (goal >= {goals[name]:g}x)" if name in goals else ""
        print(f"  {name:<34} {r:12,.0f}/s   raiden = {ratio:8.2f}x{goal}")
    figures = {
        "items": args.items,
        "slow_items": args.slow_items,
        "engines": engines,
        "items_per_s": rate,
        "raiden_ratio": {name: ours / r for name, r in rate.items()},
    }
    print(f"figures written to {save('map', figures)}")


if __name__ == "__main__":
    main()
