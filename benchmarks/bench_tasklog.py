"""What seeing the work costs: the task record, the live stream, the report.

Three figures, on one local cluster, printed side by side:

- recording: raiden's map of --items tiny items (and of --timed items of 1 ms, where each item's end is
  kept) against the same map run by a bare engine function that records nothing (the map before the
  task record: no output capture, no per-item times);
- the stream open: the tiny map while another process asks for the task stream once a second (what
  the sidebar's server route does), against no one asking: the goal is within 5%;
- the report of 100,000 timed tasks: its HTML, JSON and Chrome trace, in bytes, and the time to write them.

    .venv/bin/python benchmarks/bench_tasklog.py [--items 100000] [--timed 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _cluster import local_cluster, save, timed
from raiden_lab.notebook import mapping


def square(x):
    return x * x


def one_ms(x):
    import time

    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    return x


def bare_chunk(fn, items, star, first=0):
    """The engine's side of a map that records nothing: results and seconds only."""
    import pickle
    import time

    if isinstance(items, bytes):
        items = pickle.loads(items)
    start = time.perf_counter()
    results = [fn(*i) for i in items] if star else [fn(i) for i in items]
    return results, time.perf_counter() - start, {}


def poll_stream(root: str, store: str, until, cost) -> None:
    """Ask for the stream once a second until told; ``cost`` gets the CPU seconds and the count of the asks."""
    from raiden_lab.operations.taskfile import stream_model

    stream_model(Path(root), Path(store))  # its first ask imports the state store's modules: a server did so long ago
    while not until.is_set():
        began = time.process_time()
        stream_model(Path(root), Path(store))
        with cost.get_lock():
            cost[0] += time.process_time() - began
            cost[1] += 1
        until.wait(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--timed", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=30, help="tiny maps in one measurement")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with local_cluster() as cluster:

        def tiny():  # enough maps for a second or more: a poll once a second is then what the sidebar does
            for _ in range(args.repeat):
                cluster.map(square, range(args.items))

        def slow():
            cluster.map(one_ms, range(args.timed))

        real = mapping.run_chunk
        recorded, bare = {"tiny": [], "slow": []}, {"tiny": [], "slow": []}
        for run in range(4):  # interleaved, so that drift in the machine's speed falls on both
            for kind, fn in (("tiny", tiny), ("slow", slow)):
                for engine_side, into in ((real, recorded), (bare_chunk, bare)):
                    mapping.run_chunk = engine_side
                    try:
                        seconds = timed(fn)[0]
                    finally:
                        mapping.run_chunk = real
                    if run:  # the first round warms up
                        into[kind].append(seconds)
        recorded_tiny, recorded_slow = statistics.median(recorded["tiny"]), statistics.median(recorded["slow"])
        bare_tiny, bare_slow = statistics.median(bare["tiny"]), statistics.median(bare["slow"])
        figures |= {"recorded_tiny_s": recorded_tiny, "bare_tiny_s": bare_tiny,
                    "recorded_timed_s": recorded_slow, "bare_timed_s": bare_slow}  # fmt: skip

        shut, open_ = [], []
        cost = multiprocessing.Array("d", 2)
        tiny()  # warm-up
        for _ in range(4):  # closed and open in turn, so that drift in the machine's speed falls on both
            shut.append(timed(tiny)[0])
            until = multiprocessing.Event()
            poller = multiprocessing.Process(
                target=poll_stream, args=(str(cluster.paths.root), str(cluster.paths.store), until, cost), daemon=True
            )
            poller.start()
            try:
                time.sleep(0.5)  # the poller's first read under way, as the sidebar's would be
                open_.append(timed(tiny)[0])
            finally:
                until.set()
                poller.join(10)
        closed, opened = statistics.median(shut), statistics.median(open_)
        poll_ms = 1000 * cost[0] / max(1, cost[1])
        figures |= {"stream_closed_s": closed, "stream_open_s": opened, "stream_poll_cpu_ms": poll_ms}

        cluster.map(square, range(100_000), chunksize=100, progress=False)  # 1,000 chunks of 100: each item timed
        began = time.time() - 600
        from raiden_lab.notebook.runreport import build, write

        with tempfile.TemporaryDirectory() as folder:
            seconds, data = timed(build, cluster, began, time.time())
            path = Path(folder) / "big.html"
            written, files = timed(write, data, path)
            sizes = {p.name: p.stat().st_size for p in files}
        tasks = len(data["tasks"])
        figures |= {"report_tasks": tasks, "report_build_s": seconds, "report_write_s": written,
                    **{f"report_{k}_bytes": v for k, v in sizes.items()}}  # fmt: skip

    print(f"{'what':48} {'seconds':>9} {'ratio':>7}")
    print(f"{f'{args.repeat} maps of {args.items} tiny items, bare':48} {bare_tiny:9.3f} {1.0:7.2f}")
    print(f"{'  the same, recorded (output, bytes, records)':48} {recorded_tiny:9.3f} {recorded_tiny / bare_tiny:7.2f}")
    print(f"{f'map of {args.timed} items of 1 ms, bare':48} {bare_slow:9.3f} {1.0:7.2f}")
    print(f"{'  the same, recorded (each item timed)':48} {recorded_slow:9.3f} {recorded_slow / bare_slow:7.2f}")
    print(f"{'tiny map, stream closed':48} {closed:9.3f} {1.0:7.2f}")
    print(f"{'  the same, stream open (asked once a second)':48} {opened:9.3f} {opened / closed:7.2f}  (goal <= 1.05)")
    print(f"  one ask of the stream: {poll_ms:.1f} ms of CPU, once a second, on a machine of {os.cpu_count()} cores")
    print(f"report of {tasks} tasks: built in {seconds:.2f} s, written in {written:.2f} s; "
          + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))  # fmt: skip
    save("tasklog", figures)


if __name__ == "__main__":
    main()
