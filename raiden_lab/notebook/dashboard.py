"""The live dashboard: every node's health and every engine's state, about once a second.

It reads the state store only (never asks the engines), from a thread of its
own, so it keeps moving while a long map keeps the kernel and the engines busy.
"""

from __future__ import annotations

import html
import os
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from ..config.inventory import Inventory, resolve
from ..config.paths import ClusterPaths
from ..operations.status import cluster_events, cluster_status, find_inventory
from ..operations.taskfile import stream_model
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
        self.stream = widgets.HTML()  # the task stream: the last minute of work, a lane per engine
        # Stops work sent from other kernels and scripts: a click reaches this kernel only between its cells
        # (interrupt the kernel to stop its own map; the sidebar's Stop work stops everything at once)
        self.stop_work = widgets.Button(description="Stop work", tooltip="interrupt the tasks running on every engine")
        self.stop_work.on_click(lambda _: self._interrupt())
        self.said = widgets.HTML()
        self.model: dict[str, Any] = {}
        self.compact = False
        children = [self.header, widgets.HBox([self.stop_work, self.said]), self.cards, self.stream, self.events]
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

    def read(self) -> dict[str, Any]:
        """The cluster's state, from its store."""
        model = cluster_status(self.inventory, self.paths)
        model["events"] = cluster_events(self.paths, limit=self.event_count)
        return model

    def stream_model(self) -> dict[str, Any]:
        return stream_model(self.paths.root, self.paths.store)

    def refresh(self) -> None:
        """Read the state once and redraw."""
        model = self.read()
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
        stream = stream_svg(self.stream_model())
        if stream != self.stream.value:
            self.stream.value = stream
        self.refreshes += 1


class SeatDashboard(Dashboard):
    """A student's seat in a class: the class tells its state (the seat's store is the teacher's)."""

    def __init__(self, socket: str, interval: float = 1.0) -> None:
        self.socket = socket
        super().__init__(Inventory(name="your seat", controller_ip="", nodes=()), interval=interval)
        self.stop_work.tooltip = "interrupt the kernel (■) to stop your own map"

    def read(self) -> dict[str, Any]:
        from .. import classroom
        from ..errors import RaidenError

        model = classroom.ask(self.socket, {"op": "myseat", "detail": True}).get("model")
        if not model:
            raise RaidenError("no seat yet: run %raiden up to take one")
        model["events"] = model.get("events", [])[: self.event_count]
        self.paths = ClusterPaths(model["name"])  # the student's own folder: their task record
        return model

    def stream_model(self) -> dict[str, Any]:
        lanes = [
            {"host": n["host"], "state": n["state"], "engines": sorted(e["id"] for e in n["engines"]), "samples": []}
            for n in self.model.get("nodes") or []
        ]
        return stream_model(self.paths.root, None, nodes=lanes)

    def _interrupt(self) -> None:
        self.said.value = "in a seat, interrupt the kernel (■) to stop your map: it stops on every engine"


def dashboard(name: str | None = None, inventory: str | None = None, interval: float = 1.0) -> Dashboard:
    """A live dashboard of the cluster ``name`` (default: this folder's inventory, else ``local``; a
    student of a class sees their seat)."""
    from .. import classroom

    if name is None and inventory is None and os.environ.get(classroom.CLASS_ENV):
        return SeatDashboard(os.environ[classroom.CLASS_ENV], interval=interval)
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


STREAM_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64")
MIN_WINDOW_S = 10.0  # as the sidebar: short work is not stretched across the picture


def stream_svg(stream: dict[str, Any], width: int = 900) -> str:
    """The task stream as the sidebar draws it: a lane per engine grouped by node (its name on the left),
    tasks coloured by function, each node's temperature and throttling (red) under its lanes."""
    tasks, nodes = stream["tasks"], stream["nodes"]
    if not nodes:
        return ""
    engines = sum(max(1, len(n["engines"])) for n in nodes)
    lane = 2 if engines > 96 else 4 if engines > 32 else 7 if engines > 12 else 12
    heat = max(2, lane // 2)
    gap = 1 if engines > 32 else 3
    left = 110
    first = min([t["start"] for t in tasks] + [stream["now"]])
    span = max(MIN_WINDOW_S, min(stream["now"] - stream["since"], stream["now"] - first + 0.5))
    origin = stream["now"] - span

    def x(t: float) -> float:
        return left + max(0.0, min(1.0, (t - origin) / span)) * (width - left)

    functions = list(dict.fromkeys(t["function"] for t in tasks))
    parts, lanes, y = [], {}, 0
    for node in nodes:
        top = y
        for engine in node["engines"]:
            lanes[engine] = y
            y += lane
        y += 0 if node["engines"] else lane
        if lane >= 7 or len(nodes) <= 16:
            parts.append(f"<text x='2' y='{top + min(10, y - top)}' font-size='10'>{html.escape(node['host'])}</text>")
        for i, s in enumerate(node["samples"]):
            end = node["samples"][i + 1]["time"] if i + 1 < len(node["samples"]) else s["time"] + 1
            fill = "#d50000" if s["throttled"] else "#e0e0e0" if s["temperature"] is None else (
                f"hsl({max(20, min(210, 210 - (s['temperature'] - 35) * 190 / 45)):.0f},70%,55%)"
            )  # fmt: skip
            tip = "no sensor" if s["temperature"] is None else f"{s['temperature']:.1f} °C"
            tip += f", {s['mhz']:.0f} MHz" if s.get("mhz") else ""
            parts.append(
                f"<rect class='raiden-stream-heat' x='{x(s['time']):.1f}' y='{y}' width='{max(1.0, x(end) - x(s['time'])):.1f}' "
                f"height='{heat}' fill='{fill}'><title>{html.escape(node['host'])}: {tip}"
                f"{', throttled' if s['throttled'] else ''}</title></rect>"
            )
        y += heat + gap
    for t in tasks:
        if t["engine"] not in lanes:
            continue
        colour = STREAM_COLOURS[functions.index(t["function"]) % len(STREAM_COLOURS)]
        faded = "" if t["outcome"] in ("ok", "error") else " opacity='0.45'"
        edge = " stroke='#b71c1c' stroke-width='1.5'" if t["outcome"] == "error" else ""
        which = (
            f"item {t['first']}" if t["kind"] == "task" else f"items {t['first']}-{t['first'] + (t['items'] or 1) - 1}"
        )
        parts.append(
            f"<rect class='raiden-stream-task raiden-stream-{t['outcome'].replace(' ', '-')}' x='{x(t['start']):.1f}' "
            f"y='{lanes[t['engine']]}' width='{max(1.0, x(t['end']) - x(t['start'])):.1f}' height='{max(1, lane - 1)}' "
            f"fill='{colour}'{faded}{edge}><title>{html.escape(t['function'])} · {which} · engine {t['engine']} "
            f"on {html.escape(str(t['node']))} · {t['outcome']} · {1000 * (t['end'] - t['start']):.1f} ms"
            + (f"&#10;it printed: {html.escape(t['said'])}" if t.get("said") else "")
            + "</title></rect>"
        )
    legend = " ".join(
        f"<span style='color:{STREAM_COLOURS[i % len(STREAM_COLOURS)]}'>&#9632; {html.escape(f)}</span>"
        for i, f in enumerate(functions)
    )
    said = f"last minute: {len(tasks)} tasks {legend}" if tasks else "last minute: no tasks"
    return (
        f"<div class='raiden-stream' style='font:11px sans-serif'>{said}<br>"
        f"<svg width='{width}' height='{max(y, 8)}' style='background:#f5f5f5'>{''.join(parts)}</svg></div>"
    )


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
