"""The supervisor: one daemon per cluster that owns the controller, every engine set and agent.

``raiden up`` starts it as ``python -m raiden_lab.supervisor`` with the plan
(which nodes passed the preflight, how many engines each) on stdin. It runs the
ipyparallel controller through ipyparallel's own ``Cluster``, one engine set
(``engineset.py``) and one metrics agent (``monitor.py``) per node, keeps them
alive (``health.py``), writes what it sees to the state store and answers the
CLI on a Unix socket in the cluster's private folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ipyparallel as ipp
from IPython.core.profiledir import ProfileDir

from . import ssh
from .control import hold_lock, kill_stray_controllers
from .doctor import target_for, work_dir_for
from .engineset import EngineSet, engine_set_marker, sweep_nodes
from .health import Health
from .inventory import Inventory, embedded_default, load
from .jobs import JobNode, make_job
from .monitor import NodeMonitor
from .paths import ClusterPaths
from .store import Store

log = logging.getLogger("raiden.supervisor")

UNREGISTER_WAIT_S = 10.0



def ports_text(inventory: Inventory) -> str:
    first, last = inventory.ports or (0, 0)
    return f"{first}-{last}"


def write_controller_config(profile_dir: str, inventory: Inventory) -> None:
    """The controller's settings that must not travel on a command line: written 0600 in its profile.

    With encryption, ipyparallel's CurveZMQ encrypts every link between head and
    nodes; the message signing key is kept as well (ipyparallel would drop it),
    so knowing the controller's public key is not enough to send it commands.
    """
    path = os.path.join(profile_dir, "ipcontroller_config.py")
    lines = ["# written by raiden_lab.supervisor at every controller start; edits are lost", "c = get_config()  # noqa"]
    if inventory.encrypted:
        key = secrets.token_hex(32).encode("ascii")
        lines += ["c.IPController.enable_curve = True", f"c.Session.key = {key!r}"]
    if inventory.ports:
        first, last = inventory.ports
        lines.append(f"c.IPController.ports = list(range({first}, {last + 1}))")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")

class Supervisor:
    def __init__(self, inventory: Inventory, paths: ClusterPaths, plan: dict[str, Any]) -> None:
        self.inventory = inventory
        self.paths = paths
        self.plan = plan
        self.store = Store(paths.store)
        self.sessions: dict[str, EngineSet] = {}
        self.monitors: dict[str, NodeMonitor] = {}
        self.stop_requested = asyncio.Event()
        self.cluster: ipp.Cluster | None = None
        self.client: ipp.Client | None = None
        self.connection_info: dict[str, Any] = {}
        self.client_thread = self._new_client_thread()
        self.health = Health(self)
        self._next_id = 0
        self.job = make_job(self)

    @staticmethod
    def _new_client_thread() -> ThreadPoolExecutor:
        # ipyparallel's Client is not thread-safe: every call goes through one thread.
        return ThreadPoolExecutor(1, thread_name_prefix="raiden-client")

    @property
    def engine_env(self) -> dict[str, str]:
        return {"IPP_CONNECTION_INFO": json.dumps(self.connection_info["engine"])}

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
        server = watching = None
        try:
            await self.start_controller()
            for host in self.plan["nodes"]:
                self._add_node(host)
            await asyncio.gather(*(self.start_on_node(h) for h in self.plan["nodes"]))
            if self.job is not None and not self.inventory.nodes:
                await self.job.ensure_started()  # Slurm: the nodes are wherever the job lands
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

    async def start_controller(self) -> None:
        profile = ProfileDir.create_profile_dir(str(self.paths.profile_dir))
        # Files of a controller that died would be read as the new one's.
        for name in ("ipcontroller-client.json", "ipcontroller-engine.json", "cluster-.json"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(profile.security_dir, name))
        write_controller_config(profile.location, self.inventory)
        self.cluster = ipp.Cluster(
            profile_dir=str(self.paths.profile_dir),
            cluster_id="",
            controller_ip=self.inventory.controller_ip,
            shutdown_atexit=False,
            log_level=logging.WARNING,
        )
        await self.cluster.start_controller()
        self.connection_info = await self.cluster.controller.get_connection_info()
        ports = {k: v for k, v in self.connection_info["client"].items() if isinstance(v, int)}
        self.client = await self.cluster.connect_client()
        self.store.set_cluster(
            controller_ip=self.inventory.controller_ip,
            controller_ports=ports,
            controller_pid=self.cluster.controller.pid,
        )
        security = "CurveZMQ-encrypted" if self.inventory.encrypted else "not encrypted"
        span = f", ports {ports_text(self.inventory)}" if self.inventory.ports else ""
        self.store.add_event("controller-started",
                             f"controller listening on {self.inventory.controller_ip}{span} ({security})")

    async def stop_controller(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        # A call stuck on a dead controller would block the old thread for good.
        self.client_thread.shutdown(wait=False, cancel_futures=True)
        self.client_thread = self._new_client_thread()
        if self.cluster is not None and self.cluster.controller is not None:
            with contextlib.suppress(Exception):
                await self.cluster.stop_controller()
        await asyncio.get_running_loop().run_in_executor(None, kill_stray_controllers, self.paths)

    def controller_alive(self) -> bool:
        return self.cluster is not None and self.cluster.controller is not None and self.cluster.controller.poll() is None

    def _add_node(self, host: str) -> None:
        node = self.inventory.node(host)
        planned = self.plan["nodes"][host]
        ids = list(range(self._next_id, self._next_id + planned["engines"]))
        self._next_id += planned["engines"]
        target = target_for(node, self.paths)
        work_dir = work_dir_for(self.inventory, node, self.paths)
        session = (JobNode if self.job is not None else EngineSet)(node=node, target=target, work_dir=work_dir,
                            marker=engine_set_marker(self.inventory, host, self.paths),
                            engine_ids=ids, store=self.store, listener=self.health, cores=planned.get("cores"))
        self.sessions[host] = session
        self.monitors[host] = NodeMonitor(node, target, work_dir, self.store)
        self.store.set_node(host, arch=planned.get("arch"), cores=planned.get("cores"),
                            engines_wanted=len(ids), work_dir=work_dir)

    async def start_on_node(self, host: str) -> None:
        """Start (or start again) the node's agent and engine set (under MPI: the job, over every node up)."""
        session = self.sessions[host]
        if self.job is not None:
            if session.state == "down":
                session.set_state("starting")
            await self.job.ensure_started()
        else:
            await session.start(self.engine_env)
        if session.state != "failed":
            await self.monitors[host].start()

    async def stop_on_node(self, host: str, reachable: bool = True) -> None:
        engines = self.job.stop() if self.job is not None else self.sessions[host].stop(reachable)
        await asyncio.gather(engines, self.monitors[host].stop())

    async def _shutdown(self) -> None:
        inv = self.inventory
        self.health.cancel_all()
        reachable = [h for h, s in self.sessions.items() if s.state != "down"]
        if self.job is not None:
            await self.job.stop()
        await asyncio.gather(*(self.stop_on_node(h, h in reachable) for h in self.sessions))
        if inv.nodes:  # Slurm's own cancel reaches every process of the job
            left = await sweep_nodes(inv, self.paths, [inv.node(h) for h in reachable], kill=True)
            for host, procs in left.items():
                self.store.add_event("leftovers-killed", f"killed {len(procs)} leftover engine processes", host)
        await self.stop_controller()
        self.client_thread.shutdown(wait=False, cancel_futures=True)
        for host, session in self.sessions.items():
            if session.target is not None:
                ssh.close_master(session.target)
            self.store.drop_engines(host)
            self.store.set_node(host, state="down")
        for node in inv.nodes:
            self.store.set_node(node.host, state="down")
        self.store.set_cluster(state="stopped", controller_pid=None, supervisor_pid=None)
        self.store.add_event("cluster-stopped", f"cluster '{inv.name}' stopped")

    # -- talking to the controller -----------------------------------------------

    async def in_client_thread(self, fn, timeout: float = 10.0):
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self.client_thread, fn), timeout)

    async def registered(self) -> set[int]:
        if self.client is None:
            return set()
        client = self.client
        return await self.in_client_thread(lambda: set(client.ids))

    async def wait_unregistered(self, ids: list[int], timeout: float = UNREGISTER_WAIT_S) -> None:
        """Wait until the hub has let go of ``ids``, so new engines can take them again."""
        deadline = time.monotonic() + timeout
        while set(ids) & await self.registered() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

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
        if session.state == "down":
            return {"ok": False, "error": f"{host}: the node is down; it is started again as soon as it answers"}
        if self.job is not None and self.job.kind == "slurm":
            return {"ok": False, "error": f"{host}: its engines belong to Slurm job(s); "
                                          "run `raiden down` then `raiden up` for a new job"}
        if self.job is not None:
            self.store.add_event("node-restarting", "restarting the whole MPI job (an MPI job cannot restart "
                                                    "one node's ranks alone)", host)
            await self.job.stop()
            await self.start_on_node(host)
            return {"ok": True, "engines": session.engine_ids}
        self.store.add_event("node-restarting", f"restarting {len(session.engine_ids)} engines", host)
        self.health.cancel_node(host)
        await self.stop_on_node(host)
        await self.wait_unregistered(session.engine_ids)
        await self.start_on_node(host)
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
