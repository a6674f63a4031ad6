"""What goes over the wire (``status --json``, REST): pure functions of the store's rows.

Kept free of I/O so the CLI, the server extension and tests build the same
shapes, mirrored by TypeScript interfaces in ``extension/``.
"""

from __future__ import annotations

from typing import Any

from ..config.inventory import Inventory
from ..vocabulary import ALIVE, ClusterState, NodeState, temperature_band, throttling_now


def make_cluster_model(
    inventory: Inventory,
    cluster: dict[str, Any] | None,
    nodes: list[dict[str, Any]],
    engines: list[dict[str, Any]],
    samples: dict[str, dict[str, Any] | None],
    running: bool,
) -> dict[str, Any]:
    """The status of one cluster; a cluster whose supervisor is gone is ``stopped``."""
    by_host: dict[str, list[dict[str, Any]]] = {}
    for engine in engines:
        by_host.setdefault(engine["host"], []).append(
            {"id": engine["id"], "state": engine["state"], "pid": engine["pid"]}
        )
    known = {n["host"]: n for n in nodes} if running else {}
    labels = {node.host: list(node.labels) for node in inventory.nodes}
    hooks = {node.host: [k.removeprefix("power_") for k, _ in node.power_hooks] for node in inventory.nodes}
    # Slurm's nodes are not in the inventory: they are the hosts the job landed on.
    hosts = [n.host for n in inventory.nodes] + [h for h in known if h not in labels]
    node_models = []
    for host in hosts:
        row = known.get(host, {})
        sample = samples.get(host) if running and row.get("state") != NodeState.OFF else None  # none of an old one
        temperature = sample.get("temperature") if sample else None
        node_models.append(
            {
                "host": host,
                "state": row.get("state", NodeState.DOWN),
                "arch": row.get("arch"),
                "cores": row.get("cores"),
                "labels": labels.get(host, []),
                "engines": by_host.get(host, []) if running else [],
                "problem": row.get("problem"),
                "work_dir": row.get("work_dir"),
                "sample": sample,
                # decoded here so that no client decodes them again
                "temperature_band": temperature_band(temperature),
                "throttling": throttling_now(sample.get("throttled")) if sample else None,
                # the power hooks it has ("on", "off", "status") and what its power_status said last
                "power": {"hooks": hooks.get(host, []), "state": row.get("power")},
            }
        )
    alive = sum(1 for n in node_models for e in n["engines"] if e["state"] in ALIVE)
    total = sum(len(n["engines"]) for n in node_models)
    state = cluster["state"] if running and cluster else ClusterState.STOPPED
    heat = [
        (n["sample"]["temperature"], n["host"])
        for n in node_models
        if n["sample"] and n["sample"].get("temperature") is not None
    ]
    hottest = max(heat) if heat else None
    return {
        "name": inventory.name,
        "state": state,
        "inventory": inventory.source,
        "controller": {
            "ip": inventory.controller_ip,
            # "ipc": Unix sockets in the cluster's private folder (every node is this machine); else "tcp"
            "transport": "ipc" if inventory.local_only else "tcp",
            "ports": cluster.get("controller_ports") if running and cluster else None,
            "pid": cluster.get("controller_pid") if running and cluster else None,
            "encrypted": inventory.encrypted,
            "port_range": f"{inventory.ports[0]}-{inventory.ports[1]}" if inventory.ports else None,
        },
        "launcher": inventory.launcher,
        # the job that runs the engines (MPI, Slurm): id, state, nodes, and ``text``, one line for people
        "jobs": (cluster.get("jobs") if running and cluster else None) or [],
        "supervisor_pid": cluster.get("supervisor_pid") if running and cluster else None,
        "started": cluster.get("started") if running and cluster else None,
        "engines": {"alive": alive, "total": total},
        "tasks": (cluster.get("tasks") if running and cluster else None) or {"queued": 0, "running": 0, "done": 0},
        "hottest": {"host": hottest[1], "celsius": hottest[0]} if hottest else None,
        "nodes": node_models,
    }


def make_event_model(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in ("id", "time", "host", "kind", "message")}


def make_lesson_model(file: str, title: str, copy: str | None) -> dict[str, Any]:
    """A workshop lesson for the launcher: ``copy`` is its path under the server's root, once copied."""
    return {"file": file, "number": file[:2], "title": title, "copy": copy}


def make_view_model(
    clusters: list[str],
    cluster: dict[str, Any] | None,
    events: list[dict[str, Any]],
    progress: dict[str, Any] | None = None,
    seats: list[dict[str, Any]] | None = None,
    seat: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the sidebar and the status bar need in one poll: the clusters' names, one cluster, its latest
    events; the progress and seats of its class when one runs and this server's user teaches it; or, for a
    student of a class, their own seat alone."""
    return {
        "clusters": clusters,
        "cluster": cluster,
        "events": events,
        "progress": progress,
        "seats": seats,
        "seat": seat,
    }
