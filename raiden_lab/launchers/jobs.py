"""What the launch modes that start every engine as one job share (MPI, Slurm).

One ipyparallel launcher (``MPIEngineSetLauncher``, ``SlurmEngineSetLauncher``)
starts every engine at once, and each engine finds its node through
``node/jobengine.py``. The nodes the health loop sees are :class:`JobNode`: the
same states and engines, but the job, not a runner, starts and stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from ..vocabulary import EngineState, NodeState
from .base import LaunchContext, Launcher, LauncherError, NodeEngines

log = logging.getLogger("raiden.launchers.jobs")


class JobNode(NodeEngines):
    """A node whose engines belong to the cluster's job: it keeps their state, nothing more."""

    def assign(self, engine_ids: list[int]) -> None:
        """Take a new job's engines (ids are ranks, so they change when the node list does)."""
        self.store.drop_engines(self.host)
        self.engine_ids = engine_ids
        self.reset_engines()

    def job_ended(self) -> None:
        for engine_id in self.engine_ids:
            self.exited[engine_id] = None
            self.set_engine(engine_id, EngineState.DEAD)


def _where_am_i() -> tuple[str, int]:
    """Runs on an engine: its node (as ``jobengine`` set it) and its pid."""
    return os.environ.get("RAIDEN_NODE", ""), os.getpid()


class JobLauncher(Launcher):
    """The job's life, where its engines landed, and the store's job rows."""

    node_class: ClassVar[type[NodeEngines]] = JobNode

    def __init__(self, ctx: LaunchContext) -> None:
        super().__init__(ctx)
        self.launcher: Any = None  # ipyparallel's
        self.stopping = False
        self.lock = asyncio.Lock()
        self.attempt = 0
        self.placed: set[int] = set()
        self.watching: asyncio.Task | None = None
        self._recorded: list[dict[str, Any]] = []

    @property
    def log_dir(self) -> Path:
        path = self.ctx.paths.root / "jobs"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def job_node(self, host: str) -> JobNode:
        node = self.ctx.nodes[host]
        assert isinstance(node, JobNode)
        return node

    def record(self, **job: Any) -> None:
        job = {"kind": self.name, **job}
        self._recorded = [{**job, "text": self.job_text(job)}]
        self.ctx.store.set_cluster(jobs=self._recorded)
        # Beside the state file, for a `raiden down` after this supervisor was killed (see clean_up_after).
        (self.ctx.paths.root / "job.json").write_text(json.dumps(job))

    def republish(self) -> None:
        if self._recorded:
            self.ctx.store.set_cluster(jobs=self._recorded)

    def output_tail(self, lines: int = 3) -> str:
        """The last lines the job printed (ipyparallel keeps them once it removed the file)."""
        if self.launcher is None:
            return ""
        with contextlib.suppress(OSError):
            text = self.launcher.get_output(remove=False)
            useful = [ln.strip() for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= set("-=")]
            return " | ".join(useful[-lines:])
        return ""

    async def locate(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Ask engines which node they run on and their pid (for the agents' per-engine CPU)."""
        try:
            return await self.ctx.hub.apply(ids, _where_am_i)
        except Exception as e:  # an engine that died meanwhile: ask again next time
            log.info("could not locate engines %s yet: %s", ids, e)
            return {}

    def engines_placed(self, node: JobNode, found: dict[int, tuple[str, int]]) -> None:
        for engine_id, (_, pid) in found.items():
            node.pids[engine_id] = pid
            self.ctx.store.set_engine(
                engine_id, node.host, node.engine_states.get(engine_id, EngineState.IDLE), pid=pid
            )
        if self.ctx.listener is not None:
            self.ctx.listener.engines_changed(node)

    async def place_engines(self, hosts: list[str]) -> None:
        """Once the job's engines on ``hosts`` registered, learn their pids for the agents."""
        ids = [i for h in hosts for i in self.ctx.nodes[h].engine_ids]
        while not self.stopping:
            await asyncio.sleep(0.5)
            if set(ids) <= await self.ctx.hub.registered():
                break
        found = await self.locate(ids)
        for host in hosts:
            node = self.job_node(host)
            self.engines_placed(node, {i: found[i] for i in node.engine_ids if i in found})

    # -- the protocol ------------------------------------------------------------------

    async def start(self) -> None:
        if self.ctx.nodes:
            await super().start()  # each node's agent, and the job over them
        else:
            await self.ensure_started()  # the job finds its nodes

    async def start_node(self, host: str) -> None:
        """The node is in again: the job runs over it too (after its agent is back)."""
        node = self.job_node(host)
        if node.state == NodeState.DOWN:
            node.set_state(NodeState.STARTING)
        await self.ensure_started()
        if node.state != NodeState.FAILED and node.monitor is not None:
            await node.monitor.start()

    async def stop_node(self, host: str, reachable: bool = True) -> None:
        node = self.job_node(host)
        if node.monitor is not None:
            await node.monitor.stop()

    async def stop(self) -> None:
        async with self.lock:
            await self.stop_job()
        await super().stop()

    async def suspend(self, hosts: list[str]) -> None:
        async with self.lock:
            await self.stop_job()  # the job's engines hold the old controller's keys
        await asyncio.gather(*(self.stop_node(h) for h in hosts))

    async def resume(self, hosts: list[str]) -> None:
        self.stopping = False
        if hosts:
            await asyncio.gather(*(self.start_node(h) for h in hosts))
        else:
            await self.ensure_started()

    async def restart_node(self, host: str) -> None:
        raise LauncherError(
            f"{host}: its engines belong to the cluster's {self.name} job; "
            "run `raiden down` then `raiden up` for a new job"
        )

    async def ensure_started(self) -> None:
        raise NotImplementedError

    async def stop_job(self) -> None:
        self.stopping = True
        if self.watching is not None:
            self.watching.cancel()
        launcher, self.launcher = self.launcher, None
        if launcher is not None and launcher.state == "running":
            with contextlib.suppress(Exception):
                result = launcher.stop()
                if asyncio.iscoroutine(result):
                    await result
            with contextlib.suppress(Exception):
                await launcher.join(timeout=15)
        await self._forget(sorted(self.placed | {i for n in self.ctx.nodes.values() for i in n.engine_ids}))
        self.placed.clear()

    async def _forget(self, ids: list[int]) -> None:
        """Drop a stopped job's engines from the hub now: engines killed with their job (or cut off
        with their node) would hold their ids until the heartbeat gives up, and a new job's ranks
        asking for the same ids would be given others."""
        hub = self.ctx.hub
        if not ids or not hub.alive():
            return
        with contextlib.suppress(Exception):
            await hub.unregister(ids)
        await hub.wait_unregistered(ids)
