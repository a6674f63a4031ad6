"""The hub: the ipyparallel controller the supervisor runs, and what it asks of it.

ipyparallel's ``Cluster`` starts the controller; its ``Client`` says which
engines are registered and how busy. What ipyparallel lacks is dropping an
engine whose node went silent: that waits for its heartbeat to give up (30 s)
while its tasks wait with it. :meth:`Hub.unregister` sends the hub the
message each engine's nanny would send if it could still reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import ipyparallel as ipp
from IPython.core.profiledir import ProfileDir
from traitlets.config import Config

from ..config.inventory import Inventory
from ..config.paths import ClusterPaths
from ..vocabulary import Event
from .control import kill_stray_controllers
from .store import Store

T = TypeVar("T")
CONTROLLER_CMD = [sys.executable, "-m", "raiden_lab.daemon.ipcontroller"]
UNREGISTER_WAIT_S = 10.0
HEARTBEAT_MS = 1000
HEARTBEAT_MISSES = 30


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
    lines = ["# written by raiden_lab.daemon.hub at every controller start; edits are lost", "c = get_config()  # noqa"]
    # The hub completes an engine's registration at its next heartbeat after the engine's first
    # answer: ipyparallel's 3 s period makes every engine start (and restart) wait 3 to 6 s more.
    # At 1 s it waits 1 to 2 s; three times the misses keep 30 s before a silent engine is dropped.
    lines += [f"c.HeartMonitor.period = {HEARTBEAT_MS}", f"c.HeartMonitor.max_heartmonitor_misses = {HEARTBEAT_MISSES}"]
    if inventory.encrypted:
        key = secrets.token_hex(32).encode("ascii")
        lines += ["c.IPController.enable_curve = True", f"c.Session.key = {key!r}"]
    if inventory.ports:
        first, last = inventory.ports
        lines.append(f"c.IPController.ports = list(range({first}, {last + 1}))")
    if inventory.local_only:
        # Unix sockets in a 0700 folder: TCP on loopback would let every user of the machine connect,
        # and read every engine's output on the iopub broadcast.
        lines.append('c.IPController.transport = "ipc"')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")


class Hub:
    def __init__(self, inventory: Callable[[], Inventory], paths: ClusterPaths, store: Store) -> None:
        self.inventory_of = inventory  # the cluster's inventory as it is now (a reload changes it)
        self.paths = paths
        self.store = store
        self.cluster: ipp.Cluster | None = None
        self.client: ipp.Client | None = None
        self.connection_info: dict[str, Any] = {}
        self._thread = self._new_thread()

    @staticmethod
    def _new_thread() -> ThreadPoolExecutor:
        # ipyparallel's Client is not thread-safe: every call goes through one thread.
        return ThreadPoolExecutor(1, thread_name_prefix="raiden-client")

    @property
    def engine_env(self) -> dict[str, str]:
        return {"IPP_CONNECTION_INFO": json.dumps(self.connection_info["engine"])}

    @property
    def exit_code(self) -> int | None:
        controller = self.cluster.controller if self.cluster else None
        return controller.poll() if controller else None

    def alive(self) -> bool:
        return (
            self.cluster is not None and self.cluster.controller is not None and self.cluster.controller.poll() is None
        )

    @property
    def inventory(self) -> Inventory:
        return self.inventory_of()

    async def start(self) -> None:
        inv = self.inventory
        profile = ProfileDir.create_profile_dir(str(self.paths.profile_dir))
        # Files of a controller that died would be read as the new one's.
        for name in ("ipcontroller-client.json", "ipcontroller-engine.json", "cluster-.json"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(profile.security_dir, name))
        write_controller_config(profile.location, inv)
        self.cluster = ipp.Cluster(
            profile_dir=str(self.paths.profile_dir),
            cluster_id="",
            # for ipc://, the "ip" is where the sockets go: PREFIX:PORT (see controller.py)
            controller_ip=str(self.paths.ipc_dir / "c") if inv.local_only else inv.controller_ip,
            config=Config(LocalControllerLauncher={"controller_cmd": CONTROLLER_CMD}),
            shutdown_atexit=False,
            log_level=logging.WARNING,
        )
        await self.cluster.start_controller()
        self.connection_info = await self.cluster.controller.get_connection_info()
        ports = {k: v for k, v in self.connection_info["client"].items() if isinstance(v, int)}
        self.client = await self.cluster.connect_client()
        self.store.set_cluster(
            controller_ip=inv.controller_ip, controller_ports=ports, controller_pid=self.cluster.controller.pid
        )
        security = "CurveZMQ-encrypted" if inv.encrypted else "not encrypted"
        span = f", ports {ports_text(inv)}" if inv.ports else ""
        self.store.add_event(
            Event.CONTROLLER_STARTED, f"controller listening on {inv.controller_ip}{span} ({security})"
        )

    async def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        # A call stuck on a dead controller would block the old thread for good.
        self._thread.shutdown(wait=False, cancel_futures=True)
        self._thread = self._new_thread()
        if self.cluster is not None and self.cluster.controller is not None:
            with contextlib.suppress(Exception):
                await self.cluster.stop_controller()
        await asyncio.get_running_loop().run_in_executor(None, kill_stray_controllers, self.paths)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def call(self, fn: Callable[[ipp.Client], T], timeout: float = 10.0) -> T:
        """Run ``fn(client)`` in the client's thread."""
        client = self.client
        if client is None:
            raise RuntimeError("the controller is not running")
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._thread, fn, client), timeout)

    async def registered(self) -> set[int]:
        if self.client is None:
            return set()
        return await self.call(lambda c: set(c.ids))

    async def queues(self) -> tuple[set[int], dict]:
        """Registered engines and the hub's queue status, in one trip."""
        return await self.call(lambda c: (set(c.ids), c.queue_status()))

    async def apply(self, ids: list[int], fn: Callable[[], T], timeout: float = 30.0) -> dict[int, T]:
        """Run ``fn`` on the engines ``ids``; their answers by id."""
        if not ids:
            return {}

        def ask(client: ipp.Client) -> dict[int, T]:
            result = client[ids].apply_async(fn)
            return dict(zip(ids, result.get(timeout=timeout - 10), strict=True))

        return await self.call(ask, timeout=timeout)

    async def wait_unregistered(self, ids: list[int], timeout: float = UNREGISTER_WAIT_S) -> None:
        """Wait until the hub has let go of ``ids``, so new engines can take them again."""
        deadline = time.monotonic() + timeout
        while set(ids) & await self.registered() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def cancel_pending(self, engine_ids: list[int]) -> None:
        """Cancel the registrations of these engines that exited while starting: the hub keeps a starting
        engine's id for it (``ipcontroller.STARTING_ENGINE_S``), and would give the engine started in its
        place another id."""
        pending = sorted(set(engine_ids) - await self.registered())
        if pending:
            with contextlib.suppress(Exception):
                await self.unregister(pending)

    async def unregister(self, engine_ids: list[int]) -> None:
        """Ask the hub to drop engines now, so their tasks go elsewhere."""
        await self.call(lambda _: self._unregister(engine_ids))

    def _unregister(self, engine_ids: list[int]) -> None:
        import zmq
        from jupyter_client.session import Session

        info: dict[str, Any] = self.connection_info["engine"]
        session = Session(
            key=info["key"].encode(),
            signature_scheme=info["signature_scheme"],
            packer=info.get("pack", "json"),
            unpacker=info.get("unpack", "json"),
        )
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.linger = 2000
        if info.get("curve_serverkey"):  # an encrypted controller hears only CurveZMQ clients
            sock.curve_serverkey = info["curve_serverkey"].encode("ascii")
            sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
        sock.connect(f"{info['interface']}:{info['registration']}")
        try:
            for engine_id in engine_ids:
                session.send(sock, "unregistration_request", content={"id": engine_id})
        finally:
            sock.close()
