"""What the REST handlers ask for, kept apart from them so it is tested without a server.

Starting and stopping run the ``raiden`` command in a subprocess, as a person
would: the cluster outlives the server, and nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError, RaidenError
from ..inventory import DEFAULT_PATH, Inventory, embedded_default, load
from ..models import make_event_model, make_lesson_model
from ..client import _running_inventories
from ..paths import ClusterPaths
from ..status import cluster_events, cluster_status
from ..workshop import LESSONS, WORKSHOP_DIR, copy_lesson

COMMAND_TIMEOUT_S = 180.0


class NotFound(RaidenError):
    """A cluster or node that does not exist: a 404 with a sentence."""


def make_inventory_model(path: Path, inventory: Inventory | None, error: str | None) -> dict[str, Any]:
    return {
        "path": str(path),
        "exists": path.exists(),
        "ok": error is None,
        "error": error,
        "name": inventory.name if inventory else None,
        "controller_ip": inventory.controller_ip if inventory else None,
        "nodes": [{"host": n.host, "engines": n.engines, "labels": list(n.labels)} for n in inventory.nodes]
        if inventory else [],
    }


class ClusterManager:
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
        for name, inventory in _running_inventories().items():
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
        return [make_lesson_model(file, title, f"{WORKSHOP_DIR}/{file}" if (folder / file).exists() else None)
                for file, title in LESSONS]

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
        return await asyncio.to_thread(cluster_status, inv, ClusterPaths(inv.name))

    async def events(self, name: str, limit: int = 50) -> list[dict[str, Any]]:
        inv = self.inventory(name)
        events = await asyncio.to_thread(cluster_events, ClusterPaths(inv.name), limit)
        return [make_event_model(e) for e in events]

    async def start(self, name: str) -> dict[str, Any]:
        return await self._command(name, "up")

    async def stop(self, name: str) -> dict[str, Any]:
        return await self._command(name, "down")

    async def restart(self, name: str, host: str) -> dict[str, Any]:
        inv = self.inventory(name)
        if host not in [n.host for n in inv.nodes]:
            raise NotFound(f"cluster '{name}' has no node '{host}'")
        return await self._command(name, "restart", host)

    async def _command(self, name: str, *args: str) -> dict[str, Any]:
        inv = self.inventory(name)
        argv = [sys.executable, "-m", "raiden_lab", *args]
        if inv.path is not None:
            argv += ["-i", str(inv.path)]
        proc = await asyncio.create_subprocess_exec(*argv, cwd=self.root, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
        except asyncio.TimeoutError:
            proc.kill()
            raise RaidenError(f"raiden {args[0]} did not finish within {COMMAND_TIMEOUT_S:g} s") from None
        if proc.returncode == 2:
            raise InputError(err.decode(errors="replace").strip())
        return {
            "ok": proc.returncode == 0,
            "exit_code": proc.returncode,
            "output": out.decode(errors="replace").strip(),
            "problems": [line for line in err.decode(errors="replace").splitlines() if line.strip()],
            "cluster": await self.cluster(name),
        }
