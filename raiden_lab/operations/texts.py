"""How the ``raiden`` command shows models to people: the status table and the events list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..vocabulary import ALIVE, ClusterState


def format_status(status: dict[str, Any]) -> str:
    ctl = status["controller"]
    lines = [f"cluster '{status['name']}': {status['state']}"]
    if status["state"] == ClusterState.STOPPED:
        where = "" if status["inventory"].startswith("(") else " -i " + status["inventory"]
        lines.append(f"  start it with `raiden up`{where}")
        return "\n".join(lines)
    security = "CurveZMQ" if ctl.get("encrypted") else "not encrypted"
    span = f", ports {ctl['port_range']}" if ctl.get("port_range") else ""
    where = "on private ipc sockets" if ctl.get("transport") == "ipc" else ctl["ip"]
    lines.append(
        f"  controller {where} (pid {ctl['pid']}, {security}{span}), "
        f"engines {status['engines']['alive']}/{status['engines']['total']} alive"
    )
    lines += [f"  {job.get('text') or job.get('id')}" for job in status["jobs"]]
    powered = any(n["power"]["hooks"] for n in status["nodes"])  # a POWER column only where hooks exist
    rows = [("NODE", "STATE", *(("POWER",) * powered), "ARCH", "TEMP", "THROTTLING", "CPU", "MEMORY", "ENGINES", "IDS")]
    for n in status["nodes"]:
        alive = sum(1 for e in n["engines"] if e["state"] in ALIVE)
        ids = " ".join(f"{e['id']}:{e['state']}" for e in n["engines"]) or "-"
        power = ((n["power"]["state"] or "-") if n["power"]["hooks"] else "-",) * powered
        rows.append(
            (n["host"], n["state"], *power, n["arch"] or "-", *_sample_cells(n), f"{alive}/{len(n['engines'])}", ids)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"  problem: {n['problem']}" for n in status["nodes"] if n["problem"]]
    return "\n".join(lines)


def _sample_cells(node: dict[str, Any]) -> tuple[str, str, str, str]:
    """Temperature, throttling, CPU and memory of a node's latest sample, as table cells."""
    sample = node["sample"]
    if not sample:
        return ("-", "-", "-", "-")
    temp = f"{sample['temperature']:.0f}°C" if sample.get("temperature") is not None else "-"
    now = node["throttling"]
    throttling = "-" if now is None else ", ".join(now) or "none"
    cpu = f"{sample['cpu_total']:.0f}%" if sample.get("cpu_total") is not None else "-"
    memory = f"{sample['memory']['percent']:.0f}%" if sample.get("memory") else "-"
    return (temp, throttling, cpu, memory)


def format_events(events: list[dict[str, Any]]) -> list[str]:
    return [
        f"{datetime.fromtimestamp(e['time']).strftime('%Y-%m-%d %H:%M:%S')}  {(e['host'] or '-'):<16}  "
        f"{e['kind']:<18}  {e['message']}"
        for e in events
    ]


def format_progress(progress: dict[str, Any], socket: str) -> str:
    """The class's grid: a row per student, a column per exercise; ✔ passed, ✘ tried, · not yet."""
    marks = {"passed": "✔", "failed": "✘", None: "·"}
    exercises = progress["exercises"]
    lines = [f"class '{progress['name']}' ({len(progress['students'])} students; they reach it at {socket})"]
    width = max([len("STUDENT"), *(len(s["user"]) for s in progress["students"])])
    lines.append(f"  {'STUDENT':<{width}}  PASSED  " + " ".join(e.split(".")[0] for e in exercises))
    for s in progress["students"]:
        cells = " ".join(marks[s["results"].get(e)].center(len(e.split(".")[0])) for e in exercises)
        lines.append(f"  {s['user']:<{width}}  {s['passed']:>3}/{len(exercises):<2} {cells}")
    lines.append("  columns: " + ", ".join(exercises))
    return "\n".join(lines)


def format_seats(seats: list[dict[str, Any]]) -> str:
    """The seats handed out: student, seat, engines alive (busy), CPU of its engines, tasks running."""
    width = max([len("STUDENT"), *(len(s["user"]) for s in seats)])
    lines = [f"seats ({len(seats)} taken)", f"  {'STUDENT':<{width}}  SEAT  ENGINES  BUSY   CPU%  RUNNING"]
    for s in seats:
        engines = f"{s['engines']['alive']}/{s['engines']['total']}"
        lines.append(
            f"  {s['user']:<{width}}  {s['seat']:>4}  {engines:>7}  {s['engines']['busy']:>4}  {s['cpu']:>5.0f}"
            f"  {s['tasks']['running']:>7}"
        )
    return "\n".join(lines)
