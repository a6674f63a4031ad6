"""``launcher = "ssh"``: one engine set per node, run by a runner process reached over SSH.

One node, one runner (``node/runner.py``), so a node can be restarted alone,
a dead engine is started again by itself, and a lost connection stops that
node's engines and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, ClassVar

from ..aio import Quota, bounded_lines, printable
from ..transport import ssh
from ..transport.remote import launch
from ..vocabulary import GONE, EngineState, Event, NodeState
from .base import WARM_ENGINE, Launcher, NodeEngines

log = logging.getLogger("raiden.launchers.ssh")

STOP_WAIT_S = 15.0


class EngineSet(NodeEngines):
    """The runner of one node: it starts the engines, reports their pids and exits, restarts one on request."""

    proc: asyncio.subprocess.Process | None = None
    stopping = False
    _reader: asyncio.Task | None = None
    _stderr = b""

    async def start(self, engine_env: dict[str, str]) -> None:
        self.stopping = False
        self.reset_engines()
        assert self.target is not None
        opened = await ssh.ensure_master(self.target)
        if not opened.ok:
            self.fail(ssh.explain(self.host, opened))
            return
        self.proc = await launch(self.target, self.node.python, "runner")
        config = {
            "engines": self.engine_ids,
            "work_dir": self.work_dir,
            "env": {**engine_env, **self.node_env()},
            "marker": self.marker,
            "engine_args": [WARM_ENGINE],
        }
        limits = self.ctx.inventory.classroom.limits() if self.ctx.inventory.seat is not None else {}
        if self.node.memory_per_engine is not None:  # what each engine may hold on this node
            limits["engine_memory"] = self.node.memory_per_engine
        if limits:  # a class's seat: what its account may hold on this node
            config["limits"] = limits
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
        except TimeoutError:
            log.warning("%s: runner did not stop in %.0f s; closing its connection", self.host, STOP_WAIT_S)
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            try:
                await self._reader
            except Exception:  # whatever ended the reader must not stop the stopping
                log.exception("%s: the runner's reader had failed", self.host)
        self.proc = None

    async def send(self, command: dict[str, Any]) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise RuntimeError(f"{self.host}: engine set is not running")
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        quota = Quota(20)
        async for line in bounded_lines(proc.stdout):
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and event.get("id") in self.engine_ids:
                try:
                    self._on_event(event)
                    continue
                except (KeyError, TypeError, ValueError):
                    pass
            if quota.allow():  # what the runner says besides its events (or a broken node's noise)
                log.info("%s: %s", self.host, line[:1000].decode(errors="replace").rstrip())
        await proc.wait()
        for engine_id in self.engine_ids:
            self.set_engine(engine_id, EngineState.DEAD)
        if not self.stopping and self.ctx.listener is not None:
            said = ssh.Result(proc.returncode or 255, b"", self._stderr)
            self.ctx.listener.connection_lost(self, ssh.explain(self.host, said, what="the engine set"))

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        quota = Quota(20)
        async for line in bounded_lines(proc.stderr):
            self._stderr = (self._stderr + line[-4096:])[-4096:]
            if quota.allow():
                log.info("%s stderr: %s", self.host, line[:1000].decode(errors="replace").rstrip())

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        engine_id = event.get("id")
        listener = self.ctx.listener
        if kind == "started":
            if not isinstance(event["pid"], int):
                raise TypeError("pid")
            self.pids[engine_id] = event["pid"]
            self.exited.pop(engine_id, None)
            self.engine_states[engine_id] = EngineState.STARTING
            self.store.set_engine(engine_id, self.host, EngineState.STARTING, pid=event["pid"])
            if listener is not None:
                listener.engines_changed(self)
        elif kind == "exited":
            self.exited[engine_id] = event.get("code")
            self.pids.pop(engine_id, None)
            self.set_engine(engine_id, EngineState.DEAD)
            if not self.stopping:
                why = event.get("why")
                said = (
                    f"engine {engine_id} on {self.host} {printable(why, 200)} and was restarted"
                    if isinstance(why, str)
                    else f"engine {engine_id} exited with code {event.get('code')}"
                )
                self.store.add_event(Event.ENGINE_DIED, said, self.host)
                if listener is not None:
                    listener.engine_exited(self, engine_id)


class SSHLauncher(Launcher):
    """Each node's engines under a runner of their own, reached over the node's SSH connection."""

    name = "ssh"
    grows_live = True
    node_class: ClassVar[type[NodeEngines]] = EngineSet

    def _set(self, host: str) -> EngineSet:
        node = self.ctx.nodes[host]
        assert isinstance(node, EngineSet)
        return node

    async def start_node(self, host: str) -> None:
        node = self._set(host)
        await node.start(self.ctx.hub.engine_env)
        if node.state != NodeState.FAILED and node.monitor is not None:
            await node.monitor.start()

    async def stop_node(self, host: str, reachable: bool = True) -> None:
        node = self._set(host)
        monitor = node.monitor.stop() if node.monitor is not None else asyncio.sleep(0)
        await asyncio.gather(node.stop(reachable), monitor)

    async def restart_engine(self, host: str, engine_id: int) -> bool:
        node = self._set(host)
        if node.state in GONE or node.proc is None:
            return False
        await node.send({"cmd": "start", "id": engine_id})
        return True
