"""A scaling run recorded on a bigger cluster, for lesson 05 on a laptop's two engines.

``record(cluster)`` runs lesson 05's workload on 1, 2, 3 ... engines, node after
node, in two forms: tasks that compute (as the lesson's) and tasks that wait
for as long as one such task computes, after a serial step in the caller (as
if every engine had a core of its own; the messages, the scheduling and the
serial step are real). ``load()`` reads the run shipped with the package, or
one you recorded::

    python -m raiden_lab.workshop.recorded my-cluster.json -i raiden.toml --label "16 Pi 4s"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import scaling  # the public API, as a lesson uses it
from ..errors import InputError

SHIPPED = Path(__file__).resolve().parent / "data" / "scaling-16-engines.json"
ONE_ENGINE_S = 8.0  # lesson 05's sizing: all tasks on one engine take about this long
TASKS_PER_ENGINE = 8
ROUNDS = 2  # each time is the best of this many runs


def _work(seed: int, size: int) -> float:  # lesson 05's task
    import random

    rng = random.Random(seed)
    return sum(rng.random() for _ in range(size))


def _wait(seconds: float) -> float:  # the same task's time, spent waiting instead of computing
    import time

    time.sleep(seconds)
    return seconds


def _table(rows: list[dict[str, float]]) -> scaling.ScalingTable:
    return scaling.with_speedups(
        scaling.ScalingTable({"engines": int(r["engines"]), "seconds": float(r["seconds"])} for r in rows)
    )


@dataclass
class Recording:
    label: str  # what ran it, said plainly: shown above every plot of it
    node_sizes: list[int]
    compute: scaling.ScalingTable  # tasks that compute
    modelled: scaling.ScalingTable  # tasks that wait, after a serial step
    serial_s: float
    raw: dict[str, Any]

    def __repr__(self) -> str:
        return f"{self.label}\n\ntasks that compute:\n{self.compute}\n\ntasks that wait, after a serial step:\n{self.modelled}"


def record(cluster: Any, label: str, one_engine_s: float = ONE_ENGINE_S) -> dict[str, Any]:
    """Time lesson 05's workload on the first 1, 2, 3 ... engines, filling one node before the next."""
    order = scaling.by_node(cluster)
    total = len(order)
    tasks = TASKS_PER_ENGINE * total
    cluster.map(_work, range(total), [1] * total, progress=False, targets=order)  # each engine imports this module
    start = time.perf_counter()
    cluster.client[order[0]].apply_sync(_work, 0, 1_000_000)  # then one long task's time, to size them all
    size = max(10_000, int(one_engine_s / tasks / ((time.perf_counter() - start) / 1_000_000)))
    items, sizes = range(tasks), [size] * tasks
    counts = scaling.engine_counts(total)

    measured = scaling.measure(
        cluster, _work, items, sizes, engines=counts, repeat=ROUNDS
    )  # the same order: node by node
    compute = [{"engines": r["engines"], "seconds": round(r["seconds"], 4)} for r in measured]
    one_task_s = compute[0]["seconds"] / tasks
    serial_s = compute[0]["seconds"] / 3  # as lesson 05: a quarter of the one-engine time, serial steps included

    def with_serial_step(n: int) -> float:
        start = time.perf_counter()
        time.sleep(serial_s)
        cluster.map(_wait, [one_task_s] * tasks, progress=False, targets=order[:n])
        return time.perf_counter() - start

    modelled = [{"engines": n, "seconds": round(min(with_serial_step(n) for _ in range(ROUNDS)), 4)} for n in counts]
    from .. import code_version

    return {
        "label": label,
        "recorded": time.strftime("%Y-%m-%d"),
        "head": {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()},
        "raiden": code_version(),
        "engines": total,
        "node_sizes": scaling.node_sizes(cluster, order),
        "tasks": tasks,
        "task_size": size,
        "one_task_s": round(one_task_s, 5),
        "serial_s": round(serial_s, 4),
        "compute": compute,
        "modelled": modelled,
    }


def load(path: str | os.PathLike[str] | None = None) -> Recording:
    """The run shipped with the package (``path=None``), or one written by ``record``."""
    file = Path(path) if path is not None else SHIPPED
    try:
        raw = json.loads(file.read_text())
        return Recording(
            label=str(raw["label"]),
            node_sizes=[int(n) for n in raw["node_sizes"]],
            compute=_table(raw["compute"]),
            modelled=_table(raw["modelled"]),
            serial_s=float(raw["serial_s"]),
            raw=raw,
        )
    except OSError as e:
        raise InputError(f"{file}: cannot read the recorded run ({e.strerror})") from None
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise InputError(
            f"{file}: not a recorded scaling run ({e.__class__.__name__}: {e}); record one again"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m raiden_lab.workshop.recorded", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSON file to write")
    parser.add_argument("-i", "--inventory", help="the running cluster's inventory (default ./raiden.toml)")
    parser.add_argument("--label", required=True, help="what ran it, e.g. '16 Raspberry Pi 4 engines on 4 boards'")
    parser.add_argument("--seconds", type=float, default=ONE_ENGINE_S, help="all tasks on one engine: about this long")
    args = parser.parse_args(argv)
    from .. import connect
    from ..errors import RaidenError

    try:
        cluster = connect(inventory=args.inventory)
        try:
            cluster.wait_for_engines(timeout=120)
            data = record(cluster, args.label, args.seconds)
        finally:
            cluster.close()
    except RaidenError as e:
        print(f"raiden: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_text(json.dumps(data, indent=1) + "\n")
    print(load(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
