"""The class in a notebook, for its teacher: the seats and the progress grid, live (``raiden_lab.class_view()``).

The same answers the teacher's sidebar shows, from the class's daemon (which
knows the teacher by their Unix account), redrawn from a thread of its own.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from .. import classroom
from ..config.inventory import resolve
from ..config.paths import ClusterPaths
from ..errors import RaidenError
from .polling import PollingView

MARKS = {"passed": ("✔", "#2e7d32"), "failed": ("✘", "#c62828"), None: ("·", "#90a4ae")}


class ClassView(PollingView):
    """A widget showing one class; ``close()`` stops its updates."""

    thread_name = "raiden-class-view"

    def __init__(self, socket_path: str, interval: float = 2.0, start: bool = True) -> None:
        self.socket_path = socket_path
        self.seats = widgets.HTML()
        self.grid = widgets.HTML()
        super().__init__([self.seats, self.grid], interval, start)

    def failed(self, error: Exception) -> None:
        self.seats.value = f"<i>the class does not answer ({html.escape(str(error))})</i>"

    def refresh(self) -> None:
        reply = classroom.ask(self.socket_path, {"op": "progress"})
        if not reply.get("ok"):
            raise RaidenError(reply.get("error", "the class refused"))
        self.seats.value = seats_html(reply.get("seats") or [])
        self.grid.value = grid_html(reply["progress"])
        self.refreshes += 1


def seats_html(seats: list[dict[str, Any]]) -> str:
    if not seats:
        return "<i>no seat taken yet</i>"
    head = "<tr><th>student</th><th>seat</th><th>engines</th><th>busy</th><th>CPU</th><th>running</th></tr>"
    rows = "".join(
        f"<tr class='raiden-seat'><td>{html.escape(s['user'])}</td><td>{s['seat']}</td>"
        f"<td>{s['engines']['alive']}/{s['engines']['total']}</td><td>{s['engines']['busy']}</td>"
        f"<td>{s['cpu']:.0f}%</td><td>{s['tasks']['running']}</td></tr>"
        for s in seats
    )
    return f"<b>Seats · {len(seats)} taken</b><table style='font-size:12px'>{head}{rows}</table>"


def grid_html(progress: dict[str, Any]) -> str:
    exercises = progress["exercises"]
    head = "<tr><th>student</th><th>✔</th>" + "".join(
        f"<th title='{html.escape(e)}'>{html.escape(e.split('.')[0])}</th>" for e in exercises
    )
    rows = []
    for s in progress["students"]:
        cells = "".join(
            "<td style='color:{1};text-align:center' title='{2}'>{0}</td>".format(
                *MARKS[s["results"].get(e)], html.escape(f"{e}: {s['results'].get(e) or 'not tried'}")
            )
            for e in exercises
        )
        rows.append(f"<tr class='raiden-student'><td>{html.escape(s['user'])}</td><td>{s['passed']}</td>{cells}</tr>")
    title = f"<b>Class {html.escape(progress['name'])} · {len(progress['students'])} students</b>"
    return f"{title}<table style='font-size:12px'>{head}</tr>{''.join(rows)}</table>"


def class_view(name: str | None = None, inventory: str | None = None, interval: float = 2.0) -> ClassView:
    """The running class of the cluster (``inventory``, else ``./raiden.toml``, else the default), live."""
    inv = resolve(inventory)
    if name is not None and inv.name != name:
        raise RaidenError(f"the inventory describes cluster '{inv.name}', not '{name}'")
    info = classroom.running_class(ClusterPaths(inv.name))
    if info is None:
        raise RaidenError(f"no class of cluster '{inv.name}' is running; start one with `raiden class start`")
    return ClassView(info["socket"], interval=interval)
