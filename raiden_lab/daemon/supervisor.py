"""The supervisor: one daemon per cluster that owns the controller, the launcher and the health loop.

``raiden up`` starts it as ``python -m raiden_lab.daemon.supervisor`` with the
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
import logging.handlers
import os
import signal
import sys
from typing import Any

from ..classroom.seatinventory import seat_inventory
from ..config.inventory import Inventory, embedded_default, load
from ..config.paths import ClusterPaths
from ..errors import RaidenError
from ..launchers.base import LaunchContext
from ..transport import ssh
from ..vocabulary import ClusterState, Event, NodeState
from .control import hold_lock
from .health import Health
from .hub import Hub
from .membership import Membership
from .plan import Plan
from .store import Store

log = logging.getLogger("raiden.supervisor")


LOG_MAX_BYTES = 5 * 1024 * 1024


class RotatingLog(logging.handlers.RotatingFileHandler):
    """``supervisor.log`` up to 5 MiB, then ``.1`` and ``.2``; stdout and stderr (tracebacks) follow it."""

    def doRollover(self) -> None:
        super().doRollover()
        if self.stream is not None:
            for fd in (1, 2):
                os.dup2(self.stream.fileno(), fd)


class Supervisor:
    def __init__(self, inventory: Inventory, paths: ClusterPaths, plan: Plan) -> None:
        self.paths = paths
        self.plan = plan
        self.store = Store(paths.store, survive=True)
        self.store.on_recover = self.republish
        self.started = False
        self.hub = Hub(lambda: self.ctx.inventory, paths, self.store)
        self.ctx = LaunchContext(inventory, paths, plan, self.store, self.hub)
        self.launcher = inventory.mode(self.ctx)
        self.health = Health(self.ctx, self.launcher)
        self.ctx.listener = self.health
        self.membership = Membership(self)
        self.health.membership = self.membership
        self.stop_requested = asyncio.Event()

    @property
    def inventory(self) -> Inventory:
        """The cluster's inventory as it is now: the launch context holds it (a reload changes it there)."""
        return self.ctx.inventory

    async def run(self) -> None:
        inv, store = self.inventory, self.store
        store.reset(inv.name, inv.source, os.getpid(), self._node_rows())
        store.add_event(Event.CLUSTER_STARTING, f"supervisor {os.getpid()} starting cluster '{inv.name}'")
        for aside in store.moved_aside:
            store.add_event(
                Event.STATE_FILE_DAMAGED,
                f"the state file was damaged; it was moved to {aside.name} and a new one started",
            )
        self._write_nodes()
        server = watching = None
        try:
            # The socket opens first, so that `raiden down` works while nodes are still starting.
            server = await asyncio.start_unix_server(self._handle, path=str(self.paths.control_socket))
            starting = asyncio.create_task(self._start())
            stopping = asyncio.create_task(self.stop_requested.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                log.info("stop asked while starting: not waiting for the nodes")
                starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting  # a start that failed raises here, and the cluster is stopped below
            self.started = True
            if not self.stop_requested.is_set():
                watching = asyncio.create_task(self.health.run())
            await stopping
        finally:
            # Also on a crash: a supervisor that dies must not leave a controller or engines behind.
            if watching is not None:
                watching.cancel()
            if server is not None:
                server.close()
            with contextlib.suppress(FileNotFoundError):
                self.paths.control_socket.unlink()
            await self._shutdown()

    async def _start(self) -> None:
        await self.hub.start()
        first = 0
        for host, planned in self.plan.nodes.items():
            ids = list(range(first, first + planned.engines))
            first += planned.engines
            self.launcher.add_node(host, ids, planned.cores)
            self.store.set_node(
                host,
                arch=planned.arch,
                cores=planned.cores,
                engines_wanted=len(ids),
                work_dir=self.ctx.nodes[host].work_dir,
            )
        await self.launcher.start()

    def _node_rows(self) -> list[tuple[str, str, str | None]]:
        """Each node as it starts: starting, or failed with the preflight's problem."""
        return [
            (n.host, NodeState.STARTING, None)
            if n.host in self.plan.nodes
            else (n.host, NodeState.FAILED, self.plan.skipped.get(n.host))
            for n in self.inventory.nodes
        ]

    def _write_nodes(self) -> None:
        for node in self.inventory.nodes:
            if node.host not in self.plan.nodes:
                self.store.add_event(Event.NODE_SKIPPED, self.plan.skipped[node.host], node.host)

    def republish(self) -> None:
        """Write what this supervisor knows into a new state file (the old one was damaged)."""
        inv, store, hub = self.inventory, self.store, self.hub
        store.reset(inv.name, inv.source, os.getpid(), self._node_rows())
        ports = {k: v for k, v in (hub.connection_info or {}).get("client", {}).items() if isinstance(v, int)}
        pid = hub.cluster.controller.pid if hub.cluster is not None and hub.cluster.controller else None
        store.set_cluster(
            state=self.health.state or ClusterState.STARTING,
            controller_ip=inv.controller_ip,
            controller_ports=ports or None,
            controller_pid=pid,
        )
        for position, node in enumerate(inv.nodes):
            known = self.ctx.nodes.get(node.host)
            store.set_node(
                node.host,
                position=position,
                state=known.state if known else NodeState.FAILED,
                problem=None if known else self.plan.skipped.get(node.host),
                arch=planned.arch if (planned := self.plan.nodes.get(node.host)) else None,
                cores=known.cores if known else None,
                engines_wanted=len(known.engine_ids) if known else 0,
                work_dir=known.work_dir if known else None,
            )
            for engine_id, state in (known.engine_states if known else {}).items():
                store.set_engine(engine_id, node.host, state, pid=known.pids.get(engine_id))
        self.launcher.republish()
        self.health.forget_written()

    async def _shutdown(self) -> None:
        """Every step runs, whatever the one before it raised: `raiden down` leaves nothing behind."""
        inv, store = self.inventory, self.store

        async def step(what: str, work: Any) -> None:
            try:
                result = work()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("stopping the cluster: %s failed; going on", what)

        await step("cancelling the health loop", self.health.cancel_all)
        await step("stopping the engines", self.launcher.stop)
        await step("stopping the controller", self.hub.stop)
        await step("closing the controller's client", self.hub.close)
        for host, node in self.ctx.nodes.items():
            if node.target is not None:
                await step(f"closing the connection to {host}", lambda t=node.target: ssh.close_master(t))
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
        if op in ("restart", "reload", "remove", "power") and not self.started:
            return {"ok": False, "error": "the cluster is still starting; try again when `raiden up` finished"}
        if op == "restart":
            return await self.restart_node(str(request.get("host")))
        if op == "reload":
            return await self.membership.reload()
        if op == "remove":
            reply = await self.membership.leave(
                str(request.get("host")), bool(request.get("drain")), float(request.get("timeout") or 60)
            )
            self.membership.adopt_file()
            return reply
        if op == "power":
            return await self.membership.power(str(request.get("action")), str(request.get("host")))
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
    plan = Plan.from_dict(json.loads(sys.stdin.read()))
    inventory = load(plan.inventory) if plan.inventory else embedded_default()
    if plan.seat:
        inventory = seat_inventory(inventory, plan.seat)
    paths = ClusterPaths(inventory.name).ensure()
    handler = RotatingLog(paths.log, maxBytes=LOG_MAX_BYTES, backupCount=2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=[handler])
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
