"""The health loop: the part of the supervisor that keeps the cluster alive.

ipyparallel leaves recovery to its user: a dead engine stays dead, a lost node
holds its tasks until a 30 s heartbeat gives up, a dead controller ends the
cluster. Here a dead engine is restarted with back-off (1, 2, 4 ... 60 s); a
node whose agent falls silent is marked down within a few seconds, its engines
are dropped from the hub at once so their tasks go elsewhere, and it is started
again when it answers; a dead controller restarts the cluster cleanly.

It sees the cluster through the launcher's context and asks the launcher to
act: it knows no launch mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from ..transport import ssh
from ..vocabulary import ALIVE, GONE, ClusterState, EngineState, Event, NodeState

if TYPE_CHECKING:
    from ..launchers.base import LaunchContext, Launcher, NodeEngines
    from .membership import Membership

log = logging.getLogger("raiden.health")

POLL_S = 1.0
STALE_S = 3.5  # a node is down once its agent is this late (checked every POLL_S)
FIRST_SAMPLE_S = 30.0  # a Pi starting Python and psutil under load may take a while
RECONNECT_S = 2.0
BOOT_WAIT_S = 180.0  # a node powered on that does not answer SSH by then is down (and may be cycled again)
BACKOFF_MAX_S = 60.0
BACKOFF_RESET_S = 60.0  # an engine that lived this long starts its back-off at 1 s again
COMPACT_EVERY_S = 60.0
CHECK_STORE_EVERY_S = 5.0  # read the state file as other processes do: one damaged under us is replaced
LIVE = frozenset({NodeState.STARTING, NodeState.UP})


class Health:
    def __init__(self, ctx: LaunchContext, launcher: Launcher) -> None:
        self.ctx = ctx
        self.launcher = launcher
        self.engine_tasks: dict[int, asyncio.Task] = {}
        self.reconnects: dict[str, asyncio.Task] = {}
        self.backoff: dict[int, float] = {}
        self.restarted_at: dict[int, float] = {}
        self._state: str | None = None
        self._tasks: dict[str, int] | None = None
        self._compacted = time.monotonic()
        self._checked = time.monotonic()
        self.membership: Membership | None = None  # power and live membership, asked every tick

    @property
    def state(self) -> str | None:
        """The cluster's state as last written."""
        return self._state

    @property
    def tasks(self) -> dict[str, int] | None:
        """The task counts as last written: queued (waiting for an engine), running, done."""
        return self._tasks

    def forget_written(self) -> None:
        """The state file was replaced: write the task counts again at the next tick."""
        self._tasks = None

    # -- the loop --------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # one bad tick must not end the supervision
                log.exception("health check failed")
            await asyncio.sleep(POLL_S)

    async def tick(self) -> None:
        ctx = self.ctx
        if not ctx.hub.alive():
            await self.restart_controller()
            return
        for host, node in list(ctx.nodes.items()):
            monitor = node.monitor
            if node.state not in LIVE or monitor is None or monitor.proc is None:
                continue
            limit = STALE_S if monitor.latest is not None else FIRST_SAMPLE_S
            if monitor.stale_for() > limit:
                await self.node_lost(host, f"{host}: its agent sent nothing for {monitor.stale_for():.1f} s")
        # asked after the lost nodes were handled: restarting a job there changes who is registered
        generation = self.launcher.generation
        try:
            ids, queues = await ctx.hub.queues()
        except Exception as e:
            log.warning("controller did not answer: %s", e)
            ids, queues = set(), {}
        if self.launcher.generation != generation:
            return  # a job (re)started while we asked: these ids may be the old job's
        self._update_states(ids, queues)
        ctx.store.flush_samples()  # those of nodes that sent nothing since
        if self.membership is not None:
            await self.membership.tick()
        if time.monotonic() - self._checked > CHECK_STORE_EVERY_S:
            self._checked = time.monotonic()
            ctx.store.check()
        if time.monotonic() - self._compacted > COMPACT_EVERY_S:
            self._compacted = time.monotonic()
            ctx.store.compact()

    def _update_states(self, ids: set[int], queues: dict) -> None:
        store = self.ctx.store
        node_states, not_alive, alive = [], False, 0
        for node in self.ctx.nodes.values():
            states = node.update_engine_states(ids, queues)
            node_state = node.node_state(states)
            node_states.append(node_state)
            alive += sum(s in ALIVE for s in states)
            not_alive |= node_state == NodeState.UP and any(s not in ALIVE for s in states)
        hint = self.launcher.state_hint(alive)
        if hint is not None:
            state = hint
        elif self.ctx.plan.skipped or not_alive or any(s in GONE for s in node_states):
            state = ClusterState.DEGRADED
        elif NodeState.STARTING in node_states:
            state = ClusterState.STARTING
        else:
            state = ClusterState.RUNNING
        per_engine = [q for q in queues.values() if isinstance(q, dict)]
        tasks = {
            "queued": int(queues.get("unassigned", 0)),
            "running": sum(q.get("queue", 0) + q.get("tasks", 0) for q in per_engine),
            "done": sum(q.get("completed", 0) for q in per_engine),
        }
        if tasks != self._tasks:
            self._tasks = tasks
            store.set_cluster(tasks=tasks)
        if state != self._state:
            self._state = state
            store.set_cluster(state=state)
            if state == ClusterState.RUNNING:
                store.add_event(Event.CLUSTER_RUNNING, f"all {alive} engines registered")

    # -- what the nodes report (launchers.base.Listener) ---------------------------------

    def engines_changed(self, node: NodeEngines) -> None:
        if node.monitor is not None:
            asyncio.get_running_loop().create_task(node.monitor.set_engines(dict(node.pids)))

    def engine_exited(self, node: NodeEngines, engine_id: int) -> None:
        if node.state not in LIVE or engine_id in self.engine_tasks:
            return
        task = asyncio.get_running_loop().create_task(self._restart_engine(node, engine_id))
        self.engine_tasks[engine_id] = task
        task.add_done_callback(lambda _: self.engine_tasks.pop(engine_id, None))

    def connection_lost(self, node: NodeEngines, message: str) -> None:
        asyncio.get_running_loop().create_task(self.node_lost(node.host, message))

    # -- healing -----------------------------------------------------------------

    async def _restart_engine(self, node: NodeEngines, engine_id: int) -> None:
        now = time.monotonic()
        if now - self.restarted_at.get(engine_id, 0.0) > BACKOFF_RESET_S:
            self.backoff[engine_id] = 1.0
        delay = self.backoff.get(engine_id, 1.0)
        self.backoff[engine_id] = min(delay * 2, BACKOFF_MAX_S)
        await asyncio.sleep(delay)
        if node.state not in LIVE:
            return
        await self.ctx.hub.cancel_pending([engine_id])
        await self.ctx.hub.wait_unregistered([engine_id])
        if await self.launcher.restart_engine(node.host, engine_id):
            self.restarted_at[engine_id] = time.monotonic()
            self.ctx.event(Event.ENGINE_RESTARTED, f"engine {engine_id} restarted after {delay:g} s", node.host)

    async def node_lost(self, host: str, reason: str) -> None:
        ctx = self.ctx
        node = ctx.nodes[host]
        if node.state in GONE or host in self.reconnects:
            return
        node.set_state(NodeState.DOWN, problem=reason)
        for engine_id in node.engine_ids:
            node.set_engine(engine_id, EngineState.DEAD)
            if task := self.engine_tasks.pop(engine_id, None):
                task.cancel()
        ctx.event(Event.NODE_DOWN, reason, host)
        # Drop its engines from the hub now, so their tasks are resubmitted elsewhere
        # instead of waiting for ipyparallel's heartbeat to give up.
        with contextlib.suppress(Exception):
            await ctx.hub.unregister(node.engine_ids)
        if not await self.launcher.node_lost(host):
            return  # the node is not ours to reconnect (Slurm's)
        if node.target is not None:
            await asyncio.get_running_loop().run_in_executor(None, ssh.close_master, node.target)
        self.reconnects[host] = asyncio.get_running_loop().create_task(self._reconnect(host, time.monotonic()))

    def stop_watching(self, host: str) -> None:
        """``host`` is being stopped on purpose (it leaves, or is powered off): no restarts, no reconnects."""
        self.cancel_node(host)
        if task := self.reconnects.pop(host, None):
            task.cancel()

    def bring_back(self, host: str, boot_s: float = BOOT_WAIT_S) -> None:
        """A node was powered on: start its engines once it answers SSH; down if it does not within ``boot_s``."""
        if task := self.reconnects.pop(host, None):
            task.cancel()
        since = time.monotonic()
        self.reconnects[host] = asyncio.get_running_loop().create_task(self._reconnect(host, since, since + boot_s))

    async def _reconnect(self, host: str, since: float, boot_deadline: float | None = None) -> None:
        ctx = self.ctx
        node = ctx.nodes[host]
        try:
            while node.target is not None:
                opened = await ssh.ensure_master(node.target, timeout=6)
                if opened.ok:
                    break
                if boot_deadline is not None and time.monotonic() > boot_deadline:
                    boot_deadline = None
                    problem = f"{host}: powered on, but it did not answer SSH within {BOOT_WAIT_S:g} s"
                    node.set_state(NodeState.DOWN, problem=problem)
                    ctx.event(Event.NODE_DOWN, problem, host)
                await asyncio.sleep(RECONNECT_S)
            ctx.event(
                Event.NODE_BACK, f"answered again after {time.monotonic() - since:.0f} s; starting its engines", host
            )
            await ctx.hub.wait_unregistered(node.engine_ids)
            await self.launcher.start_node(host)
        finally:
            self.reconnects.pop(host, None)

    async def restart_controller(self) -> None:
        """The controller died: start a new one and every node's engines again (new keys, new ports)."""
        ctx = self.ctx
        ctx.event(Event.CONTROLLER_DIED, f"controller exited with code {ctx.hub.exit_code}; restarting the cluster")
        for task in list(self.engine_tasks.values()):
            task.cancel()
        live = [h for h, n in ctx.nodes.items() if n.state in LIVE]
        await self.launcher.suspend(live)
        await ctx.hub.stop()
        await ctx.hub.start()
        await self.launcher.resume(live)
        ctx.event(Event.CONTROLLER_RESTARTED, f"controller and engines on {len(live)} nodes started again")

    def cancel_node(self, host: str) -> None:
        node = self.ctx.nodes.get(host)
        for engine_id in node.engine_ids if node else []:
            if task := self.engine_tasks.pop(engine_id, None):
                task.cancel()

    def cancel_all(self) -> None:
        for task in [*self.engine_tasks.values(), *self.reconnects.values()]:
            task.cancel()
        self.engine_tasks.clear()
        self.reconnects.clear()
