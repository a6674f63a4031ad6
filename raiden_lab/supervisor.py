"""The supervisor: one daemon per cluster that owns the controller and every engine set.

``raiden up`` starts it as ``python -m raiden_lab.supervisor`` with the plan
(which nodes passed the preflight, how many engines each) on stdin. It runs the
ipyparallel controller through ipyparallel's own ``Cluster``, one engine set
per node (see ``engineset.py``), writes what it sees to the state store
and answers the CLI on a Unix socket in the cluster's private folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ipyparallel as ipp
from IPython.core.profiledir import ProfileDir

from . import ssh
from .doctor import target_for, work_dir_for
from .control import hold_lock
from .engineset import EngineSet, engine_set_marker, sweep_nodes
from .inventory import Inventory, embedded_default, load
from .paths import ClusterPaths
from .store import Store

log = logging.getLogger("raiden.supervisor")

POLL_S = 1.0
UNREGISTER_WAIT_S = 10.0


class Supervisor:
    def __init__(self, inventory: Inventory, paths: ClusterPaths, plan: dict[str, Any]) -> None:
        self.inventory = inventory
        self.paths = paths
        self.plan = plan
        self.store = Store(paths.store)
        self.sessions: dict[str, EngineSet] = {}
        self.stop_requested = asyncio.Event()
        self.cluster: ipp.Cluster | None = None
        self.client: ipp.Client | None = None
        self.engine_env: dict[str, str] = {}
        # ipyparallel's Client is not thread-safe: every call goes through this one thread.
        self.client_thread = ThreadPoolExecutor(1, thread_name_prefix="raiden-client")
        self._last: dict[str, Any] = {}
        self._next_id = 0

    # -- life cycle ------------------------------------------------------------

    async def run(self) -> None:
        inv = self.inventory
        self.store.reset(inv.name, inv.source, os.getpid())
        self.store.add_event("cluster-starting", f"supervisor {os.getpid()} starting cluster '{inv.name}'")
        for position, node in enumerate(inv.nodes):
            state = "starting" if node.host in self.plan["nodes"] else "failed"
            self.store.set_node(node.host, position=position, state=state, problem=self.plan["skipped"].get(node.host))
            if state == "failed":
                self.store.add_event("node-skipped", self.plan["skipped"][node.host], node.host)
        server = health = None
        try:
            await self._start_controller()
            await asyncio.gather(*(self._start_node(h) for h in self.plan["nodes"]))
            server = await asyncio.start_unix_server(self._handle, path=str(self.paths.control_socket))
            health = asyncio.create_task(self._health_loop())
            await self.stop_requested.wait()
        finally:
            # Also on a crash: a supervisor that dies must not leave a controller or engines behind.
            if health is not None:
                health.cancel()
            if server is not None:
                server.close()
            with contextlib.suppress(FileNotFoundError):
                self.paths.control_socket.unlink()
            await self._shutdown()

    async def _start_controller(self) -> None:
        ProfileDir.create_profile_dir(str(self.paths.profile_dir))
        self.cluster = ipp.Cluster(
            profile_dir=str(self.paths.profile_dir),
            cluster_id="",
            controller_ip=self.inventory.controller_ip,
            shutdown_atexit=False,
            log_level=logging.WARNING,
        )
        await self.cluster.start_controller()
        info = await self.cluster.controller.get_connection_info()
        self.engine_env = {"IPP_CONNECTION_INFO": json.dumps(info["engine"])}
        ports = {k: v for k, v in info["client"].items() if isinstance(v, int)}
        self.client = await self.cluster.connect_client()
        self.store.set_cluster(
            controller_ip=self.inventory.controller_ip,
            controller_ports=ports,
            controller_pid=self.cluster.controller.pid,
        )
        self.store.add_event("controller-started", f"controller listening on {self.inventory.controller_ip}")

    async def _start_node(self, host: str) -> None:
        node = self.inventory.node(host)
        planned = self.plan["nodes"][host]
        ids = list(range(self._next_id, self._next_id + planned["engines"]))
        self._next_id += planned["engines"]
        session = EngineSet(
            node=node,
            target=target_for(node, self.paths),
            work_dir=work_dir_for(self.inventory, node, self.paths),
            marker=engine_set_marker(self.inventory, host, self.paths),
            engine_ids=ids,
            store=self.store,
        )
        self.sessions[host] = session
        self.store.set_node(host, arch=planned.get("arch"), cores=planned.get("cores"),
                            engines_wanted=len(ids), work_dir=session.work_dir)
        await session.start(self.engine_env)

    async def _shutdown(self) -> None:
        inv = self.inventory
        await asyncio.gather(*(s.stop() for s in self.sessions.values()))
        left = await sweep_nodes(inv, self.paths, [inv.node(h) for h in self.sessions], kill=True)
        for host, procs in left.items():
            self.store.add_event("leftovers-killed", f"killed {len(procs)} leftover engine processes", host)
        if self.client is not None:
            self.client.close()
        self.client_thread.shutdown(wait=False, cancel_futures=True)
        if self.cluster is not None and self.cluster.controller is not None:
            await self.cluster.stop_controller()
        for host, session in self.sessions.items():
            ssh.close_master(session.target)
            self.store.drop_engines(host)
        for node in inv.nodes:
            self.store.set_node(node.host, state="down")
        self.store.set_cluster(state="stopped", controller_pid=None, supervisor_pid=None)
        self.store.add_event("cluster-stopped", f"cluster '{inv.name}' stopped")

    # -- watching --------------------------------------------------------------

    async def _health_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                ids, queues = await asyncio.wait_for(
                    loop.run_in_executor(self.client_thread, self._poll_controller), timeout=10
                )
            except (asyncio.TimeoutError, OSError, ipp.error.TimeoutError) as e:
                log.warning("controller did not answer: %s", e)
                ids, queues = set(), {}
            self._update_states(ids, queues)
            await asyncio.sleep(POLL_S)

    def _poll_controller(self) -> tuple[set[int], dict]:
        assert self.client is not None
        queues = self.client.queue_status()
        return set(self.client.ids), queues

    def _update_states(self, ids: set[int], queues: dict) -> None:
        node_states = []
        any_dead = False
        for host, session in self.sessions.items():
            states = session.update_engine_states(ids, queues)
            any_dead |= "dead" in states
            node_states.append(session.node_state(states))
        failed = any(n["state"] == "failed" for n in self.store.nodes())
        if failed or any_dead or any(s in ("down", "failed") for s in node_states):
            state = "degraded"
        elif any(s == "starting" for s in node_states):
            state = "starting"
        else:
            state = "running"
        if self._last.get("state") != state:
            self._last["state"] = state
            self.store.set_cluster(state=state)
            if state == "running":
                self.store.add_event("cluster-running", f"all {len(ids)} engines registered")

    async def registered(self) -> set[int]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.client_thread, lambda: set(self.client.ids))

    # -- control socket ----------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline() or b"{}")
            reply = await self._dispatch(request)
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
        """Stop one node's engine set and start it again, keeping its engine ids."""
        session = self.sessions.get(host)
        if session is None:
            return {"ok": False, "error": f"{host}: no engines were planned there (it failed the preflight); "
                                          f"fix it and run `raiden down` then `raiden up`"}
        self.store.add_event("node-restarting", f"restarting {len(session.engine_ids)} engines", host)
        await session.stop()
        deadline = time.monotonic() + UNREGISTER_WAIT_S
        while set(session.engine_ids) & await self.registered() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await session.start(self.engine_env)
        return {"ok": True, "engines": session.engine_ids}


def main() -> None:
    os.umask(0o077)  # every file the daemon (and its controller) writes is private from creation
    plan = json.loads(sys.stdin.read())
    inventory = load(plan["inventory"]) if plan.get("inventory") else embedded_default()
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
