"""The live dashboard: every node's health and every engine's state, about once a second.

It reads the state store only (never asks the engines), from a thread of its
own, so it keeps moving while a long map keeps the kernel and the engines busy.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from ..config.inventory import Inventory, resolve
from ..config.paths import ClusterPaths
from ..operations.status import cluster_events, cluster_status, find_inventory
from ..vocabulary import ClusterState, EngineState, NodeState, temperature_band
from .polling import PollingView

ENGINE_COLOURS = {
    EngineState.IDLE: "#2e7d32",
    EngineState.BUSY: "#f9a825",
    EngineState.STARTING: "#90a4ae",
    EngineState.DEAD: "#c62828",
}
NODE_COLOURS = {
    NodeState.UP: "#2e7d32",
    NodeState.STARTING: "#90a4ae",
    NodeState.DOWN: "#c62828",
    NodeState.FAILED: "#c62828",
}
CLUSTER_COLOURS = {ClusterState.RUNNING: "#2e7d32", ClusterState.DEGRADED: "#ef6c00", ClusterState.STARTING: "#90a4ae"}


BAND_COLOURS = {"unknown": "#90a4ae", "fine": "#2e7d32", "warm": "#ef6c00", "hot": "#c62828"}
CELL_COLOURS = {"unknown": "#eceff1", "fine": "#c8e6c9", "warm": "#ffe0b2", "hot": "#ffcdd2"}
COMPACT_AFTER = 8  # past this many nodes: one cell per node, as the sidebar does
SEVERITY = {NodeState.FAILED: 0, NodeState.DOWN: 1, NodeState.STARTING: 4, NodeState.DRAINING: 5, NodeState.OFF: 7}
HEAT = {"hot": 0, "warm": 1, "fine": 2, "unknown": 3}


class Dashboard(PollingView):
    """A widget showing one cluster; ``close()`` (or closing its output) stops its updates."""

    thread_name = "raiden-dashboard"

    def __init__(self, inventory: Inventory, interval: float = 1.0, events: int = 8, start: bool = True) -> None:
        self.inventory = inventory
        self.paths = ClusterPaths(inventory.name)
        self.event_count = events
        self.header = widgets.HTML()
        self.cards = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.events = widgets.HTML()
        # Stops work sent from other kernels and scripts: a click reaches this kernel only between its cells
        # (interrupt the kernel to stop its own map; the sidebar's Stop work stops everything at once)
        self.stop_work = widgets.Button(description="Stop work", tooltip="interrupt the tasks running on every engine")
        self.stop_work.on_click(lambda _: self._interrupt())
        self.said = widgets.HTML()
        self.model: dict[str, Any] = {}
        self.compact = False
        children = [self.header, widgets.HBox([self.stop_work, self.said]), self.cards, self.events]
        super().__init__(children, interval, start)

    def failed(self, error: Exception) -> None:
        self.header.value = (
            f"<b>{html.escape(self.inventory.name)}</b>: cannot read its state ({html.escape(str(error))})"
        )

    def _interrupt(self) -> None:
        from ..errors import RaidenError
        from ..operations.interrupting import interrupt_cluster

        try:
            busy = interrupt_cluster(self.paths)
            said = f"interrupted engines {', '.join(map(str, busy))}" if busy else "no engine was busy"
        except RaidenError as e:
            said = str(e)
        self.said.value = html.escape(said)

    def refresh(self) -> None:
        """Read the store once and redraw."""
        model = cluster_status(self.inventory, self.paths)
        model["events"] = cluster_events(self.paths, limit=self.event_count)
        self.model = model
        self.header.value = _header(model)
        nodes = model["nodes"]
        compact = len(nodes) > COMPACT_AFTER
        cards = _compact(nodes) if compact else [_card(node) for node in nodes]
        if len(self.cards.children) != len(cards) or compact != self.compact:
            self.compact = compact  # the grid takes the whole row; the cards of nodes that need a look follow
            self.cards.children = [
                widgets.HTML(layout=widgets.Layout(margin="4px", width="100%" if compact and i == 0 else None))
                for i in range(len(cards))
            ]
        for child, value in zip(self.cards.children, cards, strict=True):
            if child.value != value:
                child.value = value
        self.events.value = _events(model["events"])
        self.refreshes += 1


def dashboard(name: str | None = None, inventory: str | None = None, interval: float = 1.0) -> Dashboard:
    """A live dashboard of the cluster ``name`` (default: this folder's inventory, else ``local``)."""
    inv = resolve(inventory) if inventory else find_inventory(name, None)
    return Dashboard(inv, interval=interval)


def _header(model: dict[str, Any]) -> str:
    state = model["state"]
    colour = CLUSTER_COLOURS.get(state, "#c62828")
    engines, tasks, ctl = model["engines"], model["tasks"], model["controller"]
    parts = [
        f"<b>{html.escape(model['name'])}</b>",
        f"<span class='raiden-state' style='color:{colour}'>{state}</span>",
        f"controller {html.escape(ctl['ip'])}" + (f" (pid {ctl['pid']})" if ctl["pid"] else ""),
        f"engines <span class='raiden-engines'>{engines['alive']}/{engines['total']}</span> alive",
        f"tasks: {tasks['queued']} queued, {tasks['running']} running, {tasks['done']} done",
    ]
    jobs = "".join(
        f"<br><span class='raiden-job'>{html.escape(job['text'])}</span>"
        for job in (model["jobs"] if state != ClusterState.STOPPED else [])
    )
    return " &middot; ".join(parts) + jobs


def _bar(fraction: float, colour: str, width: int = 60) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return (
        f"<span style='display:inline-block;width:{width}px;height:8px;background:#eceff1'>"
        f"<span style='display:block;width:{filled}px;height:8px;background:{colour}'></span></span>"
    )


def _card(node: dict[str, Any]) -> str:
    sample = node["sample"] or {}
    temp = sample.get("temperature")
    band = node["temperature_band"]
    lines = [
        f"<b>{html.escape(node['host'])}</b> <span style='color:{NODE_COLOURS.get(node['state'], '#90a4ae')}'>"
        f"{node['state']}</span> {html.escape(node['arch'] or '')}",
        f"<span class='raiden-temp raiden-temp-{band}' style='color:{BAND_COLOURS[band]}'>"
        + (f"{temp:.1f} °C" if temp is not None else "no sensor")
        + "</span>",
    ]
    now = node["throttling"]
    if now is not None:
        lines.append(
            "<span class='raiden-throttled' style='color:#c62828'>" + html.escape(", ".join(now)) + "</span>"
            if now
            else "<span class='raiden-throttled'>not throttled</span>"
        )
    for i, pct in enumerate(sample.get("cpu") or []):
        lines.append(f"cpu{i} {_bar(pct / 100, '#1565c0')} {pct:.0f}%")
    memory = sample.get("memory")
    if memory:
        lines.append(f"mem&nbsp; {_bar(memory['percent'] / 100, '#6a1b9a')} {memory['percent']:.0f}%")
    squares = "".join(
        f"<span class='raiden-engine raiden-engine-{e['state']}' title='engine {e['id']}: {e['state']}' "
        f"style='display:inline-block;width:12px;height:12px;margin:1px;background:{ENGINE_COLOURS.get(e['state'], '#90a4ae')}'>"
        f"</span>"
        for e in node["engines"]
    )
    lines.append(f"engines {squares or '-'}")
    if node["problem"]:
        lines.append(f"<span style='color:#c62828'>{html.escape(node['problem'])}</span>")
    return (
        "<div class='raiden-node' style='border:1px solid #cfd8dc;border-radius:4px;padding:6px;"
        "min-width:180px;font-family:monospace;font-size:12px'>" + "<br>".join(lines) + "</div>"
    )


def by_attention(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failed, down, throttled, hot, starting, draining, then up (dead engines, busy CPU first), off last."""

    def key(node: dict[str, Any]) -> tuple:
        dead = sum(e["state"] == EngineState.DEAD for e in node["engines"])
        cpu = (node["sample"] or {}).get("cpu_total") or 0
        severity = SEVERITY.get(node["state"], 6)
        if severity > 1 and node["state"] != NodeState.OFF:
            severity = 2 if node["throttling"] else 3 if node["temperature_band"] == "hot" else severity
        return (severity, -dead, HEAT[node["temperature_band"]], -cpu)

    return sorted(nodes, key=key)


def short_names(hosts: list[str]) -> dict[str, str]:
    """The part of each host name that tells it from the others: "10.0.0.11" -> "11", "pi7.local" -> "pi7"."""
    parts = [h.split(".") for h in hosts]
    shortest = min((len(p) for p in parts), default=0)
    head = tail = 0
    while len(hosts) > 1 and head < shortest - 1 and len({p[head] for p in parts}) == 1:
        head += 1
    while (
        len(hosts) > 1
        and tail < shortest - 1 - head
        and len({p[-1 - tail] for p in parts}) == 1
        and not parts[0][-1 - tail].isdigit()  # a domain, not an address's last number
    ):
        tail += 1
    return {h: ".".join(p[head : len(p) - tail]) for h, p in zip(hosts, parts, strict=True)}


def _compact(nodes: list[dict[str, Any]]) -> list[str]:
    """A summary line and a grid of one cell per node, then the cards of up to four that need a look."""
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node["state"]] = counts.get(node["state"], 0) + 1
    order = [s for s in ("up", "starting", "draining", "down", "failed", "off") if s in counts]
    summary = f"<b>{len(nodes)} nodes</b>: " + ", ".join(f"{counts[s]} {s}" for s in order)
    cells = []
    ranked = by_attention(nodes)
    names = short_names([n["host"] for n in nodes])
    for node in ranked:
        sample = node["sample"] or {}
        temp = sample.get("temperature")
        alive = sum(e["state"] != EngineState.DEAD for e in node["engines"])
        tip = [f"{node['host']} · {node['state']}", f"{temp:.1f} °C" if temp is not None else "no sensor"]
        tip += [", ".join(node["throttling"] or [])] + [
            f"{alive}/{len(node['engines'])} engines",
            node["problem"] or "",
        ]
        dots = "".join(
            f"<span style='display:inline-block;width:6px;height:6px;margin-right:1px;border-radius:50%;"
            f"background:{ENGINE_COLOURS.get(e['state'], '#90a4ae')}'></span>"
            for e in node["engines"]
        )
        border = "2px solid #c62828" if node["state"] in (NodeState.DOWN, NodeState.FAILED) else "1px solid #cfd8dc"
        faded = ";opacity:0.5" if node["state"] == NodeState.OFF else ""
        cells.append(
            f"<div class='raiden-cell raiden-cell-{node['state']}' title='{html.escape(chr(10).join(t for t in tip if t))}' "
            f"style='border:{border};border-radius:3px;padding:2px 3px;background:{CELL_COLOURS[node['temperature_band']]}"
            f"{faded};font:11px monospace;overflow:hidden'>{html.escape(names[node['host']])}<br>{dots}</div>"
        )
    grid = (
        f"{summary}<div class='raiden-grid' style='display:grid;grid-template-columns:repeat(auto-fill,minmax(64px,1fr));"
        f"gap:3px;width:100%'>{''.join(cells)}</div>"
    )
    needy = [n for n in ranked if n["state"] not in (NodeState.UP, NodeState.OFF) or n["throttling"]
             or n["temperature_band"] == "hot"][:4]  # fmt: skip
    return [grid, *(_card(n) for n in needy)]


def _events(events: list[dict[str, Any]]) -> str:
    if not events:
        return "<i>no events yet</i>"
    rows = "".join(
        f"<tr><td>{datetime.fromtimestamp(e['time']).strftime('%H:%M:%S')}</td><td>{html.escape(e['host'] or '')}</td>"
        f"<td>{html.escape(e['kind'])}</td><td>{html.escape(e['message'])}</td></tr>"
        for e in reversed(events)
    )
    return f"<table class='raiden-events' style='font-size:12px'>{rows}</table>"


__all__ = ["Dashboard", "dashboard", "temperature_band"]
