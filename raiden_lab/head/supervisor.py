"""The supervisor: one daemon per cluster that owns the controller, the launcher and the health loop.

``raiden up`` starts it as ``python -m raiden_lab.head.supervisor`` with the
plan (which nodes passed the preflight, how many engines each) on stdin. It
runs the ipyparallel controller (``hub.py``), the launcher the inventory names
(found by name, see ``raiden_lab.launchers``), keeps everything alive
(``health.py``), writes what it sees to the state store and answers the CLI on
a Unix socket in the cluster's private folder (``control.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from typing import Any

from .. import launchers
from ..config.inventory import Inventory, embedded_default, load
from ..config.paths import ClusterPaths
from ..config.seats import seat_inventory
from ..errors import RaidenError
from ..launchers.base import LaunchContext
from ..vocabulary import ClusterState, Event, NodeState
from . import ssh
from .control import hold_lock
from .health import Health
from .hub import Hub
from .store import Store

log = logging.getLogger("raiden.supervisor")


class Supervisor:
    def __init__(self, inventory: Inventory, paths: ClusterPaths, plan: dict[str, Any]) -> None:
        self.inventory = inventory
        self.paths = paths
        self.plan = plan
        self.store = Store(paths.store)
        self.hub = Hub(inventory, paths, self.store)
        self.ctx = LaunchContext(inventory, paths, plan, self.store, self.hub)
        self.launcher = launchers.get(inventory.launcher)(self.ctx)
        self.health = Health(self.ctx, self.launcher, skipped=bool(plan["skipped"]))
        self.ctx.listener = self.health
        self.stop_requested = asyncio.Event()

    async def run(self) -> None:
        inv, store = self.inventory, self.store
        store.reset(inv.name, inv.source, os.getpid())
        store.add_event(Event.CLUSTER_STARTING, f"supervisor {os.getpid()} starting cluster '{inv.name}'")
        for position, node in enumerate(inv.nodes):
            planned = node.host in self.plan["nodes"]
            store.set_node(
                node.host,
                position=position,
                state=NodeState.STARTING if planned else NodeState.FAILED,
                problem=self.plan["skipped"].get(node.host),
            )
            if not planned:
                store.add_event(Event.NODE_SKIPPED, self.plan["skipped"][node.host], node.host)
        server = watching = None
        try:
            await self.hub.start()
            first = 0
            for host, planned in self.plan["nodes"].items():
                ids = list(range(first, first + planned["engines"]))
                first += planned["engines"]
                self.launcher.add_node(host, ids, planned.get("cores"))
                store.set_node(
                    host,
                    arch=planned.get("arch"),
                    cores=planned.get("cores"),
                    engines_wanted=len(ids),
                    work_dir=self.ctx.nodes[host].work_dir,
                )
            await self.launcher.start()
            server = await asyncio.start_unix_server(self._handle, path=str(self.paths.control_socket))
            watching = asyncio.create_task(self.health.run())
            await self.stop_requested.wait()
        finally:
            # Also on a crash: a supervisor that dies must not leave a controller or engines behind.
            if watching is not None:
                watching.cancel()
            if server is not None:
                server.close()
            with contextlib.suppress(FileNotFoundError):
                self.paths.control_socket.unlink()
            await self._shutdown()

    async def _shutdown(self) -> None:
        inv, store = self.inventory, self.store
        self.health.cancel_all()
        await self.launcher.stop()
        await self.hub.stop()
        self.hub.close()
        for host, node in self.ctx.nodes.items():
            if node.target is not None:
                ssh.close_master(node.target)
            store.drop_engines(host)
            store.set_node(host, state=NodeState.DOWN)
        for node in inv.nodes:
            store.set_node(node.host, state=NodeState.DOWN)
        store.set_cluster(state=ClusterState.STOPPED, controller_pid=None, supervisor_pid=None)
        store.add_event(Event.CLUSTER_STOPPED, f"cluster '{inv.name}' stopped")

    # -- control socket ----------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline() or b"{}")
            reply = await self._dispatch(request)
        except RaidenError as e:
            reply = {"ok": False, "error": str(e)}
        except Exception as e:  # the daemon must outlive a bad request
            log.exception("control request failed")
            reply = {"ok": False, "error": f"{e.__class__.__name__}: {e}"}
        writer.write(json.dumps(reply).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "stop":
            self.stop_requested.set()
            return {"ok": True}
        if op == "restart":
            return await self.restart_node(str(request.get("host")))
        return {"ok": False, "error": f"unknown request {op!r}"}

    async def restart_node(self, host: str) -> dict[str, Any]:
        """Stop one node's engines and start them again, keeping its engine ids."""
        node = self.ctx.nodes.get(host)
        if node is None:
            return {
                "ok": False,
                "error": f"{host}: no engines were planned there (it failed the preflight); "
                f"fix it and run `raiden down` then `raiden up`",
            }
        if node.state == NodeState.DOWN:
            return {"ok": False, "error": f"{host}: the node is down; it is started again as soon as it answers"}
        self.health.cancel_node(host)
        await self.launcher.restart_node(host)
        return {"ok": True, "engines": node.engine_ids}


def main() -> None:
    os.umask(0o077)  # every file the daemon (and its controller) writes is private from creation
    plan = json.loads(sys.stdin.read())
    inventory = load(plan["inventory"]) if plan.get("inventory") else embedded_default()
    if plan.get("seat"):
        inventory = seat_inventory(inventory, plan["seat"])
    paths = ClusterPaths(inventory.name).ensure()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lock = hold_lock(paths)
    if lock is None:
        print(f"cluster '{inventory.name}' is already running", file=sys.stderr)
        sys.exit(3)
    supervisor = Supervisor(inventory, paths, plan)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, supervisor.stop_requested.set)
        await supervisor.run()

    try:
        asyncio.run(serve())
    finally:
        os.close(lock)


if __name__ == "__main__":
    main()
