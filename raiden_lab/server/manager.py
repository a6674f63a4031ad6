"""What the REST handlers ask for, kept apart from them so it is tested without a server.

Starting and stopping go through the lifecycle API, as the CLI's do: the
cluster's supervisor is a daemon of its own that outlives the server, and
nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..config.inventory import DEFAULT_PATH, Inventory, embedded_default, load
from ..config.paths import ClusterPaths
from ..daemon import control
from ..errors import InputError, RaidenError
from ..operations import lifecycle
from ..operations.models import make_event_model, make_lesson_model, make_view_model
from ..operations.status import cluster_events, running_inventories
from ..workshop import LESSONS, WORKSHOP_DIR, copy_lesson
from .classes import ClassActions, NotFound, student_view, teacher_view

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
    def __init__(self, root_dir: str | Path) -> None:
        self.root = Path(root_dir)

    @property
    def inventory_path(self) -> Path:
        return self.root / DEFAULT_PATH

    def inventories(self) -> dict[str, Inventory]:
        """Clusters this server knows: its folder's inventory (or the default), and any started before."""
        found: dict[str, Inventory] = {}
        if self.inventory_path.is_file():
            try:
                inv = load(self.inventory_path)
                found[inv.name] = inv
            except InputError:
                pass
        if not found:
            found["local"] = embedded_default()
        for name, inventory in running_inventories().items():
            found.setdefault(name, inventory)
        return found

    def inventory(self, name: str) -> Inventory:
        inventories = self.inventories()
        if name not in inventories:
            raise NotFound(f"no cluster named '{name}'; known: {', '.join(inventories) or 'none'}")
        return inventories[name]

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
            make_lesson_model(file, title, f"{WORKSHOP_DIR}/{file}" if (folder / file).exists() else None)
            for file, title in LESSONS
        ]

    async def copy_lesson(self, file: str) -> dict[str, Any]:
        """Copy a lesson into the workshop folder under the server's root (a copy there is kept as it is)."""
        titles = dict(LESSONS)
        if file not in titles:
            raise NotFound(f"no lesson named '{file}'; the lessons are {', '.join(titles)}")
        await asyncio.to_thread(copy_lesson, file, self.root / WORKSHOP_DIR)
        return make_lesson_model(file, titles[file], f"{WORKSHOP_DIR}/{file}")

    async def clusters(self) -> list[dict[str, Any]]:
        return [await self.cluster(name) for name in self.inventories()]

    async def cluster(self, name: str) -> dict[str, Any]:
        inv = self.inventory(name)
        return await lifecycle.status(inv, ClusterPaths(inv.name))

    async def events(self, name: str, limit: int = 50) -> list[dict[str, Any]]:
        inv = self.inventory(name)
        events = await asyncio.to_thread(cluster_events, ClusterPaths(inv.name), limit)
        return [make_event_model(e) for e in events]

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
        inv = self.inventory(name)
        return await self._lifecycle(inv, lifecycle.up(inv, ClusterPaths(inv.name).ensure()))

    async def stop(self, name: str) -> dict[str, Any]:
        inv = self.inventory(name)
        return await self._lifecycle(inv, lifecycle.down(inv, ClusterPaths(inv.name).ensure()))

    async def restart(self, name: str, host: str) -> dict[str, Any]:
        inv = self.inventory(name)
        if host not in [n.host for n in inv.nodes]:
            raise NotFound(f"cluster '{name}' has no node '{host}'")
        return await self._lifecycle(inv, lifecycle.restart_node(inv, ClusterPaths(inv.name), host))

    async def power(self, name: str, host: str, action: str) -> dict[str, Any]:
        from ..operations import reshape

        inv = self.inventory(name)
        if host not in [n.host for n in inv.nodes]:
            raise NotFound(f"cluster '{name}' has no node '{host}'")
        return await self._lifecycle(inv, reshape.power_nodes(inv, ClusterPaths(inv.name), action, host))

    async def interrupt(self, name: str) -> dict[str, Any]:
        """The Stop-work button: interrupt the running tasks on every engine of the cluster."""
        from ..operations.interrupting import interrupt_cluster

        inv = self.inventory(name)
        paths = ClusterPaths(inv.name)
        if not control.is_running(paths):
            raise RaidenError(f"cluster '{name}' is not running; nothing to interrupt")
        busy = await asyncio.to_thread(interrupt_cluster, paths)
        said = f"interrupted the tasks running on engines {', '.join(map(str, busy))}" if busy else "no engine was busy"
        return {"ok": True, "exit_code": 0, "output": said, "problems": [], "cluster": await self.cluster(name)}

    async def _lifecycle(self, inv: Inventory, work: Any) -> dict[str, Any]:
        """A lifecycle call's outcome as the command model: what it said, its problems, the cluster after."""
        try:
            outcome: lifecycle.Outcome = await asyncio.wait_for(work, COMMAND_TIMEOUT_S)
        except TimeoutError:
            raise RaidenError(
                f"cluster '{inv.name}': no answer within {COMMAND_TIMEOUT_S:g} s; `raiden events` tells what happened"
            ) from None
        return {
            "ok": outcome.ok,
            "exit_code": outcome.exit_code,
            "output": "\n".join(outcome.said),
            "problems": outcome.messages(),
            "cluster": await self.cluster(inv.name),
        }
