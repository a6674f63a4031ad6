"""Scaling laws, measured: run the same map on 1, 2, 4 ... engines and fit Amdahl's law.

Amdahl: with a serial fraction s, n engines give speedup 1 / (s + (1 - s) / n).
Gustafson: if the work grows with n, scaled speedup is n - s (n - 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any


def amdahl(n: float, serial: float) -> float:
    return 1.0 / (serial + (1.0 - serial) / n)


def gustafson(n: float, serial: float) -> float:
    return n - serial * (n - 1)


def fit_serial_fraction(engines: Sequence[int], speedups: Sequence[float]) -> float:
    """Least-squares serial fraction of Amdahl's law (1/S = 1/n + s (1 - 1/n)), clipped to [0, 1]."""
    num = den = 0.0
    for n, speedup in zip(engines, speedups, strict=True):
        if n <= 1 or speedup <= 0:
            continue
        x = 1.0 - 1.0 / n
        num += (1.0 / speedup - 1.0 / n) * x
        den += x * x
    return min(1.0, max(0.0, num / den)) if den else 0.0


class ScalingTable(list):
    """Rows of engines, seconds, speedup, efficiency; ``serial_fraction`` from the Amdahl fit."""

    serial_fraction: float = 0.0
    skipped: tuple[int, ...] = ()  # counts asked for that the cluster has too few engines for
    available = 0

    @property
    def skipped_note(self) -> str:
        if not self.skipped:
            return ""
        counts = ", ".join(map(str, self.skipped))
        return f"not measured: {counts} engines (this cluster has {self.available})"

    def __str__(self) -> str:
        lines = ["engines  seconds  speedup  efficiency"]
        lines += [f"{r['engines']:>7}  {r['seconds']:7.3f}  {r['speedup']:7.2f}  {r['efficiency']:9.0%}" for r in self]
        lines.append(f"Amdahl fit: serial fraction {self.serial_fraction:.3f}")
        lines += [self.skipped_note] if self.skipped else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{r['engines']}</td><td>{r['seconds']:.3f}</td><td>{r['speedup']:.2f}</td>"
            f"<td>{r['efficiency']:.0%}</td></tr>"
            for r in self
        )
        return (
            "<table><tr><th>engines</th><th>seconds</th><th>speedup</th><th>efficiency</th></tr>"
            f"{rows}</table><p>Amdahl fit: serial fraction {self.serial_fraction:.3f}</p>"
            + (f"<p>{self.skipped_note}</p>" if self.skipped else "")
        )


def measure(
    cluster: Any, fn: Callable, *iterables: Iterable, engines: Sequence[int] = (1, 2, 4), repeat: int = 1
) -> ScalingTable:
    """Time ``cluster.map(fn, *iterables)`` on the first n engines for each n (those that exist), node after node."""
    ids = by_node(cluster)
    counts = [n for n in engines if 1 <= n <= len(ids)]
    if not counts:
        raise ValueError(f"no engine count in {list(engines)} fits this cluster's {len(ids)} engines")
    data = [list(it) for it in iterables]
    cluster.map(fn, *[d[:1] for d in data], progress=False)  # ship the function and warm up once
    table = ScalingTable()
    table.skipped, table.available = tuple(n for n in engines if n not in counts), len(ids)
    for n in counts:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            cluster.map(fn, *data, progress=False, targets=ids[:n])
            best = min(best, time.perf_counter() - start)
        table.append({"engines": n, "seconds": best})
    return with_speedups(table)


def with_speedups(table: ScalingTable) -> ScalingTable:
    """Fill in each row's speedup (against the first row's engine-seconds) and efficiency, and the Amdahl fit."""
    base = table[0]["seconds"] * table[0]["engines"]
    for row in table:
        row["speedup"] = base / row["seconds"]
        row["efficiency"] = row["speedup"] / row["engines"]
    table.serial_fraction = fit_serial_fraction([r["engines"] for r in table], [r["speedup"] for r in table])
    return table


def engine_counts(total: int) -> list[int]:
    """The engine counts a scaling run measures: every count up to 8, then about 1.5x apart, and the total."""
    counts = set(range(1, min(total, 8) + 1))
    n = 8
    while n < total:
        n = int(n * 1.5)
        counts.add(min(n, total))
    counts.add(total)
    return sorted(counts)


def by_node(cluster: Any) -> list[int]:
    """The registered engines node after node, so "the first n engines" fill one node before the next."""
    registered = set(cluster.ids)
    ordered = [
        e["id"] for n in cluster.nodes for e in sorted(n["engines"], key=lambda e: e["id"]) if e["id"] in registered
    ]
    return ordered + sorted(registered - set(ordered))


def node_sizes(cluster: Any, ids: Sequence[int]) -> list[int]:
    """How many of ``ids`` (in order) each node holds, node after node: where the node boundaries fall."""
    node_of = {e["id"]: n["host"] for n in cluster.nodes for e in n["engines"]}
    sizes: list[int] = []
    last = None
    for engine in ids:
        host = node_of.get(engine)
        if host != last or not sizes:
            sizes.append(0)
            last = host
        sizes[-1] += 1
    return sizes
