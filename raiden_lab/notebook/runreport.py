"""A report that outlives the cluster: one self-contained HTML file, its JSON, and a Chrome trace.

``with raiden_lab.report("run.html"):`` (or ``%raiden report run.html`` for what ran so far) keeps
what the cluster did while it was open: every task of its maps (from the cluster's task log), each
node's temperature and throttling from the state store over the same time, the events, and the
environment; and works out the per-function totals, the efficiency (busy engine-seconds over
engines x wall time) and the stragglers with why each was slow (throttled, a slower CPU, a bigger
input). It writes ``run.html`` (opens with no network: its data and drawing code are inside),
``run.json`` (the same data; its shape is docs/report.md's, versioned by ``version``) and
``run.trace.json`` (Chrome's trace format: open it in Perfetto or chrome://tracing).
"""

from __future__ import annotations

import contextlib
import json
import platform
import socket
import statistics
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from ..operations.taskfile import throttled_now
from .reportpage import render_html

SCHEMA = "raiden-lab/report"
VERSION = 1
STRAGGLER_RATIO = 2.0  # a task this many times slower per item than its function's median is a straggler
STRAGGLER_MIN_S = 0.05  # and takes at least this long (shorter ones are timer noise)
SLOWER_NODE = 1.5  # a node whose tasks take this many times the median per item has a slower CPU
OUTPUT_KEPT = 2000  # characters of each item's output kept in the report
OUTPUT_TOTAL = 1_000_000  # and at most this many in all
PACKAGES = ("ipyparallel", "pyzmq", "numba", "numpy", "cloudpickle")


class Report:
    """What ``raiden_lab.report`` is recording; its ``data`` once written."""

    def __init__(self, path: Path, cluster: Any, title: str | None) -> None:
        self.path, self.cluster, self.title = path, cluster, title
        self.began = time.time()
        self.data: dict[str, Any] | None = None

    def write(self, ended: float | None = None) -> dict[str, Any]:
        self.data = build(self.cluster, self.began, ended or time.time(), self.title)
        write(self.data, self.path)
        return self.data


@contextlib.contextmanager
def report(path: str | Path = "raiden-report.html", cluster: Any = None, title: str | None = None) -> Iterator[Report]:
    """Record what ``cluster`` (default: the one this process connected last) runs inside the block,
    and write ``path`` (HTML), its ``.json`` and ``.trace.json`` when the block ends, even by an error."""
    from .tasklog import latest

    chosen = cluster or latest()
    if chosen is None:
        raise ValueError("no cluster to report on: connect one first (raiden_lab.connect() or %raiden up)")
    rec = Report(Path(path), chosen, title)
    try:
        yield rec
    finally:
        rec.write()


def build(cluster: Any, began: float, ended: float, title: str | None = None) -> dict[str, Any]:
    """The report's data: the tasks that ran between ``began`` and ``ended``, and what they tell."""
    records = cluster.tasks.between(began, ended)
    records += _other_tasks(cluster, began, ended, {r.get("msg_id") for r in records})
    chunks = [r for r in records if r["kind"] == "chunk"]
    timed = {(r["map"], r["chunk"]) for r in records if r["kind"] == "task"}
    # the tasks drawn: each item where the engine timed it, else its chunk
    tasks = [r for r in records if r["kind"] == "task"] + [r for r in chunks if (r["map"], r["chunk"]) not in timed]
    tasks.sort(key=lambda r: r["start"])
    said = _outputs(cluster, records)
    nodes = _heat(cluster, began, ended)
    engines = sorted({r["engine"] for r in records if r["engine"] is not None})
    start = min([r["start"] for r in records], default=began)
    end = max([r["end"] for r in records], default=ended)
    wall = max(end - start, 1e-9)
    busy = sum(r["end"] - r["start"] for r in chunks if r["outcome"] == "ok")
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "title": title or f"cluster '{cluster.name}'",
        "cluster": cluster.name,
        "began": began,
        "ended": ended,
        "first_task": start,
        "wall_s": wall,
        "environment": _environment(cluster),
        "engines": [{"id": e, "node": cluster.node_of(e)} for e in engines],
        "tasks": [_task(r, said) for r in tasks],
        "chunks": len(chunks),
        "functions": _functions(chunks),
        "efficiency": {
            "busy_engine_s": busy,
            "engines": len(engines),
            "wall_s": wall,
            "value": busy / (len(engines) * wall) if engines else None,
        },
        "stragglers": _stragglers(tasks, chunks, nodes),
        "energy": _energy(chunks, nodes, start, end),
        "nodes": nodes,
        "events": _events(cluster, began, ended),
    }


def _other_tasks(cluster: Any, began: float, ended: float, known: set) -> list[dict[str, Any]]:
    """What else the cluster's client ran (a view's ``apply``, ``%%px``), from the task records the
    controller already keeps (ipyparallel's ``db_query``; it keeps the latest thousand or so)."""
    client = getattr(cluster, "client", None)
    asked = [m for m in getattr(client, "history", []) if m not in known]
    if not asked:
        return []
    try:
        rows = client.db_query({"msg_id": {"$in": asked}},
                               keys=["msg_id", "started", "completed", "engine_uuid", "content", "result_content",
                                     "stdout", "stderr"])  # fmt: skip
        ids = {str(uuid): engine for engine, uuid in getattr(client, "_engines", {}).items()}
    except Exception:  # a controller without a task database: those tasks are not in the report
        return []
    found: list[dict[str, Any]] = []
    ran = [r for r in rows if r.get("started") and r.get("completed")]  # not one still queued or running
    for row in sorted(ran, key=lambda r: r["started"].timestamp()):
        started, completed = row["started"], row["completed"]
        if completed.timestamp() < began or started.timestamp() > ended:
            continue
        code = str((row.get("content") or {}).get("code") or "").strip()  # an execute request: %%px
        engine = ids.get(str(row.get("engine_uuid")))
        status = (row.get("result_content") or {}).get("status")
        said = ((row.get("stdout") or "") + (row.get("stderr") or ""))[:OUTPUT_KEPT]
        found.append({"kind": "chunk", "map": 0, "chunk": len(found), "first": 0, "items": 1,
                      "start": started.timestamp(), "end": completed.timestamp(),
                      "function": f"%px {code.splitlines()[0][:60]}" if code else "apply",
                      "engine": engine, "node": cluster.node_of(engine), "outcome": "ok" if status == "ok" else "error",
                      "bytes_in": None, "bytes_out": None, **({"output": said} if said else {})})  # fmt: skip
    return found


def _task(r: dict[str, Any], said: dict[tuple[int, int], str]) -> dict[str, Any]:
    out = {k: r.get(k) for k in ("kind", "map", "function", "engine", "node", "chunk", "start", "end", "outcome")}
    out["items"] = 1 if r["kind"] == "task" else r.get("items")
    out["first"] = r.get("item", r.get("first"))
    out["bytes_in"], out["bytes_out"] = r.get("bytes_in"), r.get("bytes_out")
    if r["kind"] == "task" and (r["map"], r["item"]) in said:
        out["output"] = said[(r["map"], r["item"])]
    elif r.get("output"):  # a view's apply or %%px: what it printed, as the controller kept it
        out["output"] = r["output"]
    return out


def _outputs(cluster: Any, records: list[dict[str, Any]]) -> dict[tuple[int, int], str]:
    """What each item printed, for the maps of the report that the cluster still holds (bounded)."""
    kept: dict[tuple[int, int], str] = {}
    total = 0
    for done in cluster.tasks.said.items():
        map_id, said = done
        for item, parts in said.items():
            text = "".join(t for _, t in parts)[:OUTPUT_KEPT]
            total += len(text)
            if total > OUTPUT_TOTAL:
                return kept
            kept[(map_id, item)] = text
    maps = {r["map"] for r in records}
    return {k: v for k, v in kept.items() if k[0] in maps}


def _functions(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by: dict[str, dict[str, Any]] = {}
    for r in chunks:
        f = by.setdefault(r["function"], {"function": r["function"], "chunks": 0, "items": 0, "busy_s": 0.0,
                                          "errors": 0, "retried": 0, "interrupted": 0})  # fmt: skip
        if r["outcome"] == "ok":
            f["chunks"] += 1
            f["items"] += r["items"]
            f["busy_s"] += r["end"] - r["start"]
        elif r["outcome"] == "error":
            f["errors"] += 1
        elif r["outcome"] == "retried":
            f["retried"] += 1
        else:
            f["interrupted"] += 1
    for f in by.values():
        f["per_item_s"] = f["busy_s"] / f["items"] if f["items"] else None
    return sorted(by.values(), key=lambda f: -f["busy_s"])


def _per_item(r: dict[str, Any]) -> float:
    return (r["end"] - r["start"]) / max(1, r.get("items") or 1)


def _stragglers(tasks: list[dict[str, Any]], chunks: list, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ok = [t for t in tasks if t["outcome"] == "ok"]
    heat = {n["host"]: n["samples"] for n in nodes}
    found = []
    for function in {t["function"] for t in ok}:
        mine = [t for t in ok if t["function"] == function]
        typical = statistics.median(_per_item(t) for t in mine)
        by_node: dict[str | None, list[float]] = {}
        for t in mine:
            by_node.setdefault(t["node"], []).append(_per_item(t))
        inputs = [c["bytes_in"] for c in chunks if c["function"] == function and c.get("bytes_in")]
        usual_input = statistics.median(inputs) if inputs else None
        for t in mine:
            seconds = t["end"] - t["start"]
            if seconds < STRAGGLER_MIN_S or _per_item(t) < STRAGGLER_RATIO * typical:
                continue
            why = []
            during = [s for s in heat.get(t["node"], []) if t["start"] - 1 <= s["time"] <= t["end"] + 1]
            if any(s["throttled"] for s in during):
                hottest = max((s["temperature"] for s in during if s["temperature"] is not None), default=None)
                why.append("throttled" + (f" at {hottest:.0f} °C" if hottest is not None else ""))
            others = [v for node, vs in by_node.items() if node != t["node"] for v in vs]
            if others and not why:
                node_typical = statistics.median(by_node[t["node"]])
                if node_typical > SLOWER_NODE * statistics.median(others):
                    why.append(f"slower CPU: its node's tasks take {node_typical / statistics.median(others):.1f}x")
            chunk = next((c for c in chunks if c["map"] == t["map"] and c["chunk"] == t["chunk"]), None)
            if usual_input and chunk and chunk.get("bytes_in") and chunk["bytes_in"] > 2 * usual_input:
                why.append(f"bigger input: {chunk['bytes_in']} bytes, {chunk['bytes_in'] / usual_input:.1f}x the usual")
            found.append({"function": function, "engine": t["engine"], "node": t["node"], "map": t["map"],
                          "chunk": t["chunk"], "first": t.get("item", t.get("first")), "seconds": seconds,
                          "typical_s": typical * max(1, t.get("items") or 1), "times_typical": _per_item(t) / typical,
                          "why": why or ["not throttled, its node not slower elsewhere, its input not bigger"]})  # fmt: skip
    return sorted(found, key=lambda s: -s["times_typical"])


def _joules(samples: list[dict[str, Any]], start: float, end: float) -> tuple[float, float] | None:
    """The energy a node used between ``start`` and ``end`` from its power samples (each reading holds until
    the next), and over how many seconds it was measured; None without readings."""
    readings = [(s["time"], s["watts"]) for s in samples if s.get("watts") is not None]
    if not readings:
        return None
    joules = covered = 0.0
    for i, (t, watts) in enumerate(readings):
        until = readings[i + 1][0] if i + 1 < len(readings) else t + 1.0
        a, b = max(t, start), min(until, end)
        if b > a:
            joules += watts * (b - a)
            covered += b - a
    if readings[0][0] > start:  # before the first reading: as the first
        lead = min(readings[0][0], end) - start
        joules += readings[0][1] * max(0.0, lead)
        covered += max(0.0, lead)
    return joules, covered


def _energy(chunks: list[dict[str, Any]], nodes: list[dict[str, Any]], start: float, end: float) -> dict | None:
    """Joules per node over the report's tasks, and per function by its share of each node's busy time;
    None where no node reads its power (``power_sensor`` in the inventory)."""
    per_node = {}
    for n in nodes:
        used = _joules(n["samples"], start, end)
        if used is not None:
            per_node[n["host"]] = {"host": n["host"], "joules": used[0], "measured_s": used[1],
                                   "mean_watts": used[0] / used[1] if used[1] else None}  # fmt: skip
    if not per_node:
        return None
    busy: dict[str, dict[str, float]] = {}
    items: dict[str, int] = {}
    for c in chunks:
        if c["outcome"] == "ok" and c["node"] in per_node:
            on = busy.setdefault(c["node"], {})
            on[c["function"]] = on.get(c["function"], 0.0) + (c["end"] - c["start"])
            items[c["function"]] = items.get(c["function"], 0) + c["items"]
    functions: dict[str, float] = {}
    for host, shares in busy.items():  # a node's energy shared by its tasks' CPU time (idle time included)
        total = sum(shares.values())
        for function, seconds in shares.items():
            functions[function] = functions.get(function, 0.0) + per_node[host]["joules"] * seconds / total
    results = sum(items.values())
    total_j = sum(n["joules"] for n in per_node.values())
    return {
        "nodes": sorted(per_node.values(), key=lambda n: n["host"]),
        "functions": [
            {"function": f, "joules": j, "items": items[f], "per_result_j": j / items[f]}
            for f, j in sorted(functions.items(), key=lambda x: -x[1])
        ],  # fmt: skip
        "total_j": total_j,
        "per_result_j": total_j / results if results else None,
        "how": "each node's power readings over the tasks' time; a node's energy shared among functions by "
        "their busy seconds on it (its idle time included)",
    }


def _heat(cluster: Any, began: float, ended: float) -> list[dict[str, Any]]:
    """Each node's temperature, throttling and CPU over the report's time, from the state store."""
    from ..daemon.store import Store

    out = []
    store = None
    with contextlib.suppress(Exception):
        store = Store.open_existing(cluster.paths.store)
    try:
        for node in _nodes(cluster):
            samples = []
            if store is not None:
                with contextlib.suppress(Exception):
                    samples = store.samples(node["host"], since=began - 2)
            kept = [
                {"time": s["time"], "temperature": s.get("temperature"), "throttled": throttled_now(s),
                 "cpu": s.get("cpu_total"), "watts": s.get("watts")}
                for s in samples if s.get("time") is not None and s["time"] <= ended + 2
            ]  # fmt: skip
            temps = [s["temperature"] for s in kept if s["temperature"] is not None]
            out.append({"host": node["host"], "arch": node.get("arch"), "samples": kept,
                        "max_temperature": max(temps) if temps else None,
                        "throttled_samples": sum(s["throttled"] for s in kept)})  # fmt: skip
    finally:
        if store is not None:
            store.close()
    return out


def _nodes(cluster: Any) -> list[dict[str, Any]]:
    try:
        return cluster.nodes
    except Exception:
        return []


def _events(cluster: Any, began: float, ended: float) -> list[dict[str, Any]]:
    try:
        return [e for e in cluster.events(limit=200) if began - 1 <= e["time"] <= ended + 1]
    except Exception:
        return []


def _environment(cluster: Any) -> dict[str, Any]:
    from .. import code_version

    versions = {}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    nodes = [{"host": n["host"], "arch": n.get("arch"), "cores": n.get("cores"),
              "engines": len(n.get("engines") or [])} for n in _nodes(cluster)]  # fmt: skip
    return {"raiden_lab": code_version(), "python": platform.python_version(), "packages": versions,
            "head": socket.gethostname(), "head_arch": platform.machine(), "nodes": nodes}  # fmt: skip


# -- the files -------------------------------------------------------------------------------------


def write(data: dict[str, Any], path: Path) -> list[Path]:
    """Write the HTML at ``path``, the JSON and the Chrome trace beside it; their paths."""
    path = Path(path)
    stem = path.with_suffix("")
    as_json, trace = Path(f"{stem}.json"), Path(f"{stem}.trace.json")
    text = json.dumps(data, separators=(",", ":"), default=str)
    as_json.write_text(text + "\n")
    trace.write_text(json.dumps(chrome_trace(data)) + "\n")
    path.write_text(render_html(data))
    return [path, as_json, trace]


def chrome_trace(data: dict[str, Any]) -> dict[str, Any]:
    """The tasks as Chrome's trace events (a process per node, a thread per engine) and each node's
    temperature as a counter: Perfetto and chrome://tracing open it."""
    t0 = data["first_task"]
    nodes = sorted({t["node"] or "?" for t in data["tasks"]} | {n["host"] for n in data["nodes"]})
    pid = {n: i + 1 for i, n in enumerate(nodes)}
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": pid[n], "args": {"name": n}} for n in nodes
    ]
    for t in data["tasks"]:
        events.append({
            "name": t["function"], "cat": t["outcome"], "ph": "X", "pid": pid[t["node"] or "?"],
            "tid": t["engine"] if t["engine"] is not None else -1, "ts": (t["start"] - t0) * 1e6,
            "dur": max(0.0, (t["end"] - t["start"]) * 1e6),
            "args": {k: t[k] for k in ("kind", "map", "chunk", "first", "items", "bytes_in", "bytes_out") if t.get(k) is not None},
        })  # fmt: skip
    for n in data["nodes"]:
        for s in n["samples"]:
            if s["temperature"] is not None:
                events.append({"name": "temperature °C", "ph": "C", "pid": pid[n["host"]], "ts": (s["time"] - t0) * 1e6,
                               "args": {"°C": s["temperature"], "throttled": int(s["throttled"])}})  # fmt: skip
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"schema": SCHEMA, "version": VERSION}}
