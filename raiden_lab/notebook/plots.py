"""Plots where people would rather look than read. Each function returns its matplotlib Figure.

- ``timeline``: which engine ran which task when; idle gaps and load imbalance show.
- ``scaling``: measured speedup and efficiency against the ideal and an Amdahl fit.
- ``node_history``: temperature and CPU of each node over time, events marked.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from matplotlib.figure import Figure

from .scaling import ScalingTable, amdahl


def _shown(fig: Figure) -> Figure:
    """Let a notebook show the Figure as a picture even when pyplot was never imported."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return fig
    shell = get_ipython()
    if shell is not None:
        png = shell.display_formatter.formatters["image/png"]
        if Figure not in png.type_printers:
            png.for_type(Figure, lambda f: print_figure(f, "png"))
    return fig


def _tasks(source: Any) -> list[dict[str, Any]]:
    """Task records (engine_id, started, completed) from a map, a cluster's last map or an AsyncResult."""
    if hasattr(source, "last_map"):
        source = source.last_map
        if source is None:
            raise ValueError("this cluster has not run a map yet")
    if hasattr(source, "records"):
        return list(source.records)
    metadata = getattr(source, "metadata", source)
    if isinstance(metadata, dict):
        metadata = [metadata]
    return [
        {"engine_id": m["engine_id"], "started": m["started"], "completed": m["completed"]}
        for m in metadata
        if m.get("started") and m.get("completed")
    ]


def _seconds(t: Any) -> float:
    return t.timestamp() if isinstance(t, datetime) else float(t)


def timeline(source: Any, title: str | None = None) -> Figure:
    """A row per engine and a bar per task (a chunk, for raiden's map), from the tasks' own timestamps."""
    tasks = [t for t in _tasks(source) if t.get("engine_id") is not None]
    if not tasks:
        raise ValueError("no finished tasks with timestamps to draw")
    t0 = min(_seconds(t["started"]) for t in tasks)
    engines = sorted({t["engine_id"] for t in tasks})
    fig = Figure(figsize=(9, 1.0 + 0.45 * len(engines)))
    ax = fig.add_subplot()
    colours = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457"]
    for i, task in enumerate(sorted(tasks, key=lambda t: _seconds(t["started"]))):
        start = _seconds(task["started"]) - t0
        width = max(_seconds(task["completed"]) - _seconds(task["started"]), 1e-4)
        row = engines.index(task["engine_id"])
        ax.broken_barh([(start, width)], (row - 0.4, 0.8), facecolors=colours[i % len(colours)], edgecolor="white")
    ax.set_yticks(range(len(engines)), [f"engine {e}" for e in engines])
    ax.set_xlabel("seconds since the first task started")
    busy = {
        e: sum(_seconds(t["completed"]) - _seconds(t["started"]) for t in tasks if t["engine_id"] == e) for e in engines
    }
    span = max(_seconds(t["completed"]) for t in tasks) - t0
    ax.set_title(
        title
        or f"{len(tasks)} tasks on {len(engines)} engines; busy "
        f"{100 * sum(busy.values()) / (span * len(engines) or 1):.0f}% of {span:.2f} s"
    )
    ax.set_xlim(0, span * 1.02 or 1)
    fig.tight_layout()
    return _shown(fig)


def scaling(
    table: ScalingTable | Iterable[dict[str, Any]], title: str | None = None, nodes: list[int] | None = None
) -> Figure:
    """Speedup against the ideal and the fitted Amdahl curve; efficiency beside it.

    ``nodes``: the engines of each node in the order they were added (``scaling.node_sizes``);
    every other node's stretch is shaded, so a step where the next node joins shows as one.
    """
    rows = list(table)
    serial = getattr(table, "serial_fraction", 0.0)
    engines = [r["engines"] for r in rows]
    fig = Figure(figsize=(10, 4))
    ax, ax2 = fig.subplots(1, 2)
    top = max(engines)
    grid = [1 + (top - 1) * i / 50 for i in range(51)]
    ax.plot(engines, [r["speedup"] for r in rows], "o-", label="measured")
    ax.plot([1, top], [1, top], "--", color="grey", label="ideal")
    ax.plot(grid, [amdahl(n, serial) for n in grid], ":", label=f"Amdahl, serial fraction {serial:.3f}")
    ax.set_xlabel("engines")
    ax.set_ylabel("speedup")
    ax.legend()
    ax2.plot(engines, [100 * r["efficiency"] for r in rows], "o-")
    ax2.axhline(100, ls="--", color="grey")
    ax2.set_ylim(0, 110)
    ax2.set_xlabel("engines")
    ax2.set_ylabel("parallel efficiency (%)")
    first = 0
    for k, size in enumerate(nodes if nodes and len(nodes) > 1 else []):
        if k % 2:
            for axis in (ax, ax2):
                axis.axvspan(first + 0.5, first + size + 0.5, color="grey", alpha=0.12, lw=0)
        first += size
    if nodes and len(nodes) > 1:
        ax2.text(0.02, 0.03, "shaded: every other node", transform=ax2.transAxes, fontsize=8, color="grey")
    fig.suptitle(title or "scaling")
    fig.tight_layout()
    return _shown(fig)


def node_history(
    name: str | None = None, hosts: list[str] | None = None, since: float = 3600.0, inventory: str | None = None
) -> Figure:
    """Temperature and CPU of each node over the last ``since`` seconds, with events as lines."""
    from ..config.paths import ClusterPaths
    from ..daemon.store import Store
    from ..operations.status import find_inventory

    inv = find_inventory(name, inventory)
    store = Store.open_existing(ClusterPaths(inv.name).store)
    if store is None:
        raise ValueError(f"cluster '{inv.name}' has never run; start it with `raiden up`")
    start = time.time() - since
    try:
        chosen = hosts or [n.host for n in inv.nodes]
        history = {h: store.samples(h, since=start) for h in chosen}
        events = [e for e in store.events(limit=500) if e["time"] >= start]
    finally:
        store.close()
    fig = Figure(figsize=(10, 6))
    temp_ax, cpu_ax = fig.subplots(2, 1, sharex=True)
    t0 = min((s["time"] for samples in history.values() for s in samples), default=start)
    for host, samples in history.items():
        xs = [s["time"] - t0 for s in samples]
        temps = [s["temperature"] if s.get("temperature") is not None else float("nan") for s in samples]
        temp_ax.plot(xs, temps, label=host)
        cpu_ax.plot(xs, [s.get("cpu_total") or 0.0 for s in samples], label=host)
    for event in events:
        for ax in (temp_ax, cpu_ax):
            ax.axvline(event["time"] - t0, color="#c62828", alpha=0.35, lw=1)
        temp_ax.annotate(
            event["kind"],
            (event["time"] - t0, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            color="#c62828",
        )
    if all(s.get("temperature") is None for samples in history.values() for s in samples):
        temp_ax.text(
            0.5,
            0.5,
            "no temperature sensor on these nodes",
            transform=temp_ax.transAxes,
            ha="center",
            va="center",
            color="grey",
        )
    temp_ax.set_ylabel("temperature (°C)")
    cpu_ax.set_ylabel("CPU (%)")
    cpu_ax.set_xlabel("seconds")
    cpu_ax.legend(fontsize=8)
    fig.suptitle(f"cluster '{inv.name}': the last {since / 60:.0f} minutes")
    fig.tight_layout()
    return _shown(fig)
