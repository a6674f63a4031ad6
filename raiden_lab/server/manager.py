"""What the REST handlers ask for, kept apart from them so it is tested without a server.

Starting and stopping go through the lifecycle API, as the CLI's do: the
cluster's supervisor is a daemon of its own that outlives the server, and
nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..config.inventory import Inventory, embedded_default, load
from ..errors import InputError, NotFound, RaidenError
from ..operations.clusters import Cluster, Clusters, Outcome
from ..operations.lessons import WORKSHOP_DIR, catalog, copy_lesson
from ..operations.models import make_event_model, make_lesson_model, make_view_model
from .classes import ClassActions, student_view, teacher_view

COMMAND_TIMEOUT_S = 180.0


def make_inventory_model(path: Path, inventory: Inventory | None, error: str | None) -> dict[str, Any]:
    return {
        "path": str(path),
        "exists": path.exists(),
        "ok": error is None,
        "error": error,
        "name": inventory.name if inventory else None,
        "controller_ip": inventory.controller_ip if inventory else None,
        "nodes": [{"host": n.host, "engines": n.engines, "labels": list(n.labels)} for n in inventory.nodes]
        if inventory
        else [],
    }


class ClusterManager(ClassActions):
    """The server's side of the front door (``operations.clusters``), for the clusters its folder knows."""

    def __init__(self, root_dir: str | Path) -> None:
        self.root = Path(root_dir)
        self.front = Clusters(self.root)

    @property
    def inventory_path(self) -> Path:
        return self.front.inventory_path

    def inventories(self) -> dict[str, Inventory]:
        """Clusters this server knows: its folder's inventory (or the default), and any started before."""
        return self.front.known()

    def inventory(self, name: str) -> Inventory:
        return self.front.named(name).inventory

    def read_inventory(self) -> dict[str, Any]:
        path = self.inventory_path
        if not path.exists():
            return make_inventory_model(path, embedded_default(), None)
        try:
            return make_inventory_model(path, load(path), None)
        except InputError as e:
            return make_inventory_model(path, None, str(e))

    def lessons(self) -> list[dict[str, Any]]:
        folder = self.root / WORKSHOP_DIR
        return [
            make_lesson_model(x.file, x.title, f"{WORKSHOP_DIR}/{x.file}" if (folder / x.file).exists() else None)
            for x in catalog()
        ]

    async def copy_lesson(self, file: str) -> dict[str, Any]:
        """Copy a lesson into the workshop folder under the server's root (a copy there is kept as it is)."""
        titles = {x.file: x.title for x in catalog()}
        if file not in titles:
            raise NotFound(f"no lesson named '{file}'; the lessons are {', '.join(titles)}")
        await asyncio.to_thread(copy_lesson, file, self.root / WORKSHOP_DIR)
        return make_lesson_model(file, titles[file], f"{WORKSHOP_DIR}/{file}")

    async def clusters(self) -> list[dict[str, Any]]:
        return [await self.cluster(name) for name in self.inventories()]

    async def cluster(self, name: str) -> dict[str, Any]:
        return await self.front.named(name).status()

    async def events(self, name: str, limit: int = 50) -> list[dict[str, Any]]:
        events = await asyncio.to_thread(self.front.named(name).events, limit)
        return [make_event_model(e) for e in events]

    async def tasks(self, name: str, seconds: float) -> dict[str, Any]:
        """The cluster's task stream: its owner's tasks of the last ``seconds`` and its nodes' heat."""
        from ..operations.taskfile import stream_model

        paths = self.front.named(name).paths
        return await asyncio.to_thread(stream_model, paths.root, paths.store, seconds)

    async def seat_tasks(self, seconds: float) -> dict[str, Any]:
        """A student's task stream: their own tasks on their seat (from their own folder), its nodes' lanes."""
        from ..config.paths import ClusterPaths
        from ..operations.taskfile import stream_model

        mine = await asyncio.to_thread(student_view)
        seat = (mine or {}).get("seat")
        if not seat:
            raise NotFound("no seat of yours is running: take one first (raiden_lab.connect() or Take my seat)")
        nodes = [{"host": n["host"], "state": n["state"], "engines": sorted(e["id"] for e in n["engines"]),
                  "samples": []} for n in seat["nodes"]]  # fmt: skip
        return await asyncio.to_thread(stream_model, ClusterPaths(seat["name"]).root, None, seconds, None, nodes)

    async def view(self, name: str | None, events: int) -> dict[str, Any]:
        """One cluster (``name``, else the first known) with its latest events: one request per poll."""
        seat = await asyncio.to_thread(student_view)
        if seat is not None:  # a student of a class: their seat, not the cluster
            return make_view_model([], None, [], seat=seat)
        names = list(self.inventories())
        if name is not None and name not in names:
            raise NotFound(f"no cluster named '{name}'; known: {', '.join(names) or 'none'}")
        chosen = name or (names[0] if names else None)
        if chosen is None:
            return make_view_model([], None, [])
        latest = await self.events(chosen, events) if events > 0 else []
        progress, seats = await asyncio.to_thread(teacher_view, chosen)
        return make_view_model(names, await self.cluster(chosen), latest, progress, seats)

    async def start(self, name: str) -> dict[str, Any]:
        cluster = self.front.named(name)
        return await self._command(cluster, cluster.up())

    async def stop(self, name: str) -> dict[str, Any]:
        cluster = self.front.named(name)
        return await self._command(cluster, cluster.down())

    async def restart(self, name: str, host: str) -> dict[str, Any]:
        cluster = self.front.named(name)
        return await self._command(cluster, cluster.restart(cluster.node(host)))

    async def power(self, name: str, host: str, action: str) -> dict[str, Any]:
        cluster = self.front.named(name)
        return await self._command(cluster, cluster.power(action, cluster.node(host)))

    async def interrupt(self, name: str) -> dict[str, Any]:
        """The Stop-work button: interrupt the running tasks on every engine of the cluster."""
        cluster = self.front.named(name)
        return await self._command(cluster, cluster.interrupt())

    async def _command(self, cluster: Cluster, work: Any) -> dict[str, Any]:
        """What the front door did, as the command model: what it said, its problems, the cluster after."""
        try:
            outcome: Outcome = await asyncio.wait_for(work, COMMAND_TIMEOUT_S)
        except TimeoutError:
            raise RaidenError(
                f"cluster '{cluster.name}': no answer within {COMMAND_TIMEOUT_S:g} s; `raiden events` tells what happened"
            ) from None
        return {
            "ok": outcome.ok,
            "exit_code": outcome.exit_code,
            "output": "\n".join(outcome.said),
            "problems": outcome.messages(),
            "cluster": await cluster.status(),
        }
