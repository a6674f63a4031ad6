"""The head's handle on one node's engine set: the runner process reached over SSH.

One node, one runner (``remote/runner.py``), so a node can be restarted alone
and a lost connection stops that node's engines and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

from . import ssh
from .doctor import target_for, work_dir_for
from .inventory import Inventory, Node
from .paths import ClusterPaths
from .remote import launch, source
from .store import Store

log = logging.getLogger("raiden.engineset")

STOP_WAIT_S = 15.0


class Listener(Protocol):
    """What the supervisor hears from an engine set."""

    def engines_changed(self, engine_set: "EngineSet") -> None: ...

    def engine_exited(self, engine_set: "EngineSet", engine_id: int) -> None: ...

    def connection_lost(self, engine_set: "EngineSet", message: str) -> None: ...


class EngineSet:
    def __init__(self, node: Node, target: ssh.Target, work_dir: str, marker: str,
                 engine_ids: list[int], store: Store, listener: "Listener | None" = None,
                 cores: int | None = None) -> None:
        self.node = node
        self.cores = cores
        self.listener = listener
        self.target = target
        self.work_dir = work_dir
        self.marker = marker
        self.engine_ids = engine_ids
        self.store = store
        self.proc: asyncio.subprocess.Process | None = None
        self.pids: dict[int, int] = {}
        self.exited: dict[int, int | None] = {}
        self.engine_states: dict[int, str] = {}
        self.state = "starting"
        self.stopping = False
        self._reader: asyncio.Task | None = None
        self._stderr = b""

    @property
    def host(self) -> str:
        return self.node.host

    async def start(self, engine_env: dict[str, str]) -> None:
        self.stopping = False
        self.pids.clear()
        self.exited.clear()
        self.engine_states.clear()
        self.set_state("starting")
        for engine_id in self.engine_ids:
            self.set_engine(engine_id, "starting")
        opened = await ssh.ensure_master(self.target)
        if not opened.ok:
            self._fail(ssh.explain(self.host, opened))
            return
        self.proc = await launch(self.target, self.node.python, "runner")
        config = {
            "engines": self.engine_ids,
            "work_dir": self.work_dir,
            "env": {**engine_env, **self.node_env()},
            "marker": self.marker,
            # numba's first use costs ~0.1 s whatever is compiled: pay it as the engine starts.
            "engine_args": ["--IPEngine.startup_command=from raiden_lab.jit import warm_runtime; warm_runtime()"],
        }
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(config).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await self.proc.stdin.drain()
        self._reader = asyncio.create_task(self._read(self.proc))
        asyncio.create_task(self._drain_stderr(self.proc))

    def node_env(self) -> dict[str, str]:
        """What every engine of this node is told about its node."""
        env = {"RAIDEN_NODE": self.host}
        if self.cores:
            # numba's parallel=True on every engine at once must not oversubscribe the node.
            env["NUMBA_NUM_THREADS"] = str(max(1, self.cores // max(1, len(self.engine_ids))))
        return env

    async def stop(self, reachable: bool = True) -> None:
        """Stop every engine on the node and wait for the runner to confirm.

        For a node that cannot be reached, just close the connection: the runner
        stops its engines when it notices, or its successor does (``runner.pid``).
        """
        self.stopping = True
        proc = self.proc
        if proc is None:
            return
        if not reachable and proc.returncode is None:
            proc.kill()
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                proc.stdin.write(b'{"cmd": "exit"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_WAIT_S)
        except asyncio.TimeoutError:
            log.warning("%s: runner did not stop in %.0f s; closing its connection", self.host, STOP_WAIT_S)
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            await self._reader
        self.proc = None

    async def send(self, command: dict[str, Any]) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise RuntimeError(f"{self.host}: engine set is not running")
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                log.info("%s: %s", self.host, line.decode(errors="replace").rstrip())
                continue
            self._on_event(event)
        await proc.wait()
        for engine_id in self.engine_ids:
            self.set_engine(engine_id, "dead")
        if not self.stopping and self.listener is not None:
            message = ssh.explain(self.host, ssh.Result(proc.returncode or 255, b"", self._stderr), what="the engine set")
            self.listener.connection_lost(self, message)

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            self._stderr = (self._stderr + line)[-4096:]
            log.info("%s stderr: %s", self.host, line.decode(errors="replace").rstrip())

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        engine_id = event.get("id")
        if kind == "started":
            self.pids[engine_id] = event["pid"]
            self.exited.pop(engine_id, None)
            self.engine_states[engine_id] = "starting"
            self.store.set_engine(engine_id, self.host, "starting", pid=event["pid"])
            if self.listener is not None:
                self.listener.engines_changed(self)
        elif kind == "exited":
            self.exited[engine_id] = event.get("code")
            self.pids.pop(engine_id, None)
            self.set_engine(engine_id, "dead")
            if not self.stopping:
                self.store.add_event("engine-died", f"engine {engine_id} exited with code {event.get('code')}", self.host)
                if self.listener is not None:
                    self.listener.engine_exited(self, engine_id)

    def update_engine_states(self, registered: set[int], queues: dict) -> list[str]:
        """Fold the controller's view and the runner's into one state per engine."""
        if self.state in ("down", "failed"):
            return [self.engine_states.get(i, "dead") for i in self.engine_ids]
        for engine_id in self.engine_ids:
            if engine_id in self.exited:
                state = "dead"
            elif engine_id in registered:
                q = queues.get(engine_id, {})
                state = "busy" if q.get("queue", 0) + q.get("tasks", 0) > 0 else "idle"
            else:
                state = "starting"
            self.set_engine(engine_id, state)
        return [self.engine_states[i] for i in self.engine_ids]

    def node_state(self, engine_states: list[str]) -> str:
        if self.state in ("down", "failed"):
            return self.state
        if self.state == "starting" and engine_states and all(s == "dead" for s in engine_states):
            self._fail(f"{self.host}: every engine exited before registering with the controller; is controller_ip "
                       f"reachable from {self.host}? see the engine logs in {self.work_dir}/logs there")
            return self.state
        if engine_states and all(s in ("idle", "busy", "dead") for s in engine_states) and not all(
            s == "dead" for s in engine_states
        ):
            if self.state != "up":
                self.set_state("up", problem=None)
                self.store.add_event("node-up", f"{len(engine_states)} engines registered", self.host)
        return self.state

    def set_engine(self, engine_id: int, state: str) -> None:
        if self.engine_states.get(engine_id) != state:
            self.engine_states[engine_id] = state
            self.store.set_engine(engine_id, self.host, state, pid=self.pids.get(engine_id))

    def set_state(self, state: str, problem: str | None = None) -> None:
        self.state = state
        self.store.set_node(self.host, state=state, problem=problem)

    def _fail(self, problem: str) -> None:
        for engine_id in self.engine_ids:
            self.set_engine(engine_id, "dead")
        self.set_state("failed", problem=problem)
        self.store.add_event("node-failed", problem, self.host)


def engine_set_marker(inventory: Inventory, host: str, paths: ClusterPaths) -> str:
    """What tags every process of one engine set, so a sweep finds them and nothing else."""
    return f"{inventory.name}@{host}:{work_dir_for(inventory, inventory.node(host), paths)}"


async def sweep_nodes(inventory: Inventory, paths: ClusterPaths, nodes: list[Node] | None = None,
                      kill: bool = False, close: bool = False) -> dict[str, list[dict]]:
    """Engine processes still alive on each node (killed with ``kill``), by host.

    With ``close``, each node's SSH connection is closed afterwards.
    """
    async def one(node: Node) -> tuple[str, list[dict]]:
        target = target_for(node, paths)
        if not (await ssh.ensure_master(target)).ok:
            return node.host, []
        marker = engine_set_marker(inventory, node.host, paths)
        argv = [node.python, "-", marker] + (["--kill"] if kill else [])
        result = await ssh.run(target, argv, input=source("sweep"), timeout=30)
        if close:
            ssh.close_master(target)
        try:
            return node.host, json.loads(result.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return node.host, []

    found = await asyncio.gather(*(one(n) for n in (nodes if nodes is not None else inventory.nodes)))
    return {host: procs for host, procs in found if procs}
