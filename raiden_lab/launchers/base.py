"""The launcher protocol's running side: what the supervisor and the health loop ask of a launch mode.

A launcher gets a narrow :class:`LaunchContext` (the store, the hub, the node
registry, the listener for what engines do), never the supervisor; an instance
runs the engines of one cluster inside it (start, stop, restart, a node lost,
suspend, resume). What is known from the inventory alone (its table, checks,
what the preflight needs) is ``mode.py``'s ``LaunchMode``, which this extends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from ..aio import each_node
from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from ..daemon.monitor import NodeMonitor
from ..errors import RaidenError
from ..transport.nodes import engine_set_marker, sweep_nodes, target_for, work_dir_for
from ..vocabulary import ALIVE, GONE, EngineState, Event, NodeState
from .mode import LaunchMode

if TYPE_CHECKING:
    from ..daemon.hub import Hub
    from ..daemon.plan import Plan
    from ..daemon.store import Store
    from ..transport import ssh


# Every launcher's engines pay numba's first-use cost (~0.1 s) as they start, not on their first task.
WARM_ENGINE = "--IPEngine.startup_command=from raiden_lab.node.jitruntime import warm_runtime; warm_runtime()"


log = logging.getLogger("raiden.launchers")


class Listener(Protocol):
    """What the health loop hears from a node's engines."""

    def engines_changed(self, node: NodeEngines) -> None: ...

    def engine_exited(self, node: NodeEngines, engine_id: int) -> None: ...

    def connection_lost(self, node: NodeEngines, message: str) -> None: ...


@dataclass
class LaunchContext:
    """All a launcher may touch: the cluster's settings, store, hub and nodes."""

    inventory: Inventory
    paths: ClusterPaths
    plan: Plan
    store: Store
    hub: Hub
    nodes: dict[str, NodeEngines] = field(default_factory=dict)
    listener: Listener | None = None

    def event(self, kind: Event, message: str, host: str | None = None) -> None:
        self.store.add_event(kind, message, host)


class NodeEngines:
    """One node's engines as the head sees them: their states, pids and the node's own state."""

    def __init__(
        self,
        ctx: LaunchContext,
        node: Node,
        target: ssh.Target | None,
        work_dir: str,
        marker: str,
        engine_ids: list[int],
        cores: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.node = node
        self.target = target
        self.work_dir = work_dir
        self.marker = marker
        self.engine_ids = engine_ids
        self.cores = cores
        self.monitor: NodeMonitor | None = None
        self.pids: dict[int, int] = {}
        self.exited: dict[int, int | None] = {}
        self.engine_states: dict[int, str] = {}
        self.state: str = NodeState.STARTING

    @property
    def host(self) -> str:
        return self.node.host

    def update_engine_states(self, registered: set[int], queues: dict) -> list[str]:
        """Fold the controller's view and the launcher's into one state per engine."""
        if self.state in GONE or self.state == NodeState.OFF:
            return [self.engine_states.get(i, EngineState.DEAD) for i in self.engine_ids]
        for engine_id in self.engine_ids:
            if engine_id in self.exited:
                state = EngineState.DEAD
            elif engine_id in registered:
                q = queues.get(engine_id, {})
                state = EngineState.BUSY if q.get("queue", 0) + q.get("tasks", 0) > 0 else EngineState.IDLE
            else:
                state = EngineState.STARTING
            self.set_engine(engine_id, state)
        return [self.engine_states[i] for i in self.engine_ids]

    def node_state(self, engine_states: list[str]) -> str:
        if self.state in GONE or self.state in (NodeState.OFF, NodeState.DRAINING):
            return self.state
        if self.state == NodeState.STARTING and engine_states and all(s == EngineState.DEAD for s in engine_states):
            self.fail(
                f"{self.host}: every engine exited before registering with the controller; is controller_ip "
                f"reachable from {self.host}? see the engine logs in {self.work_dir}/logs there"
            )
            return self.state
        alive = any(s in ALIVE for s in engine_states) and EngineState.STARTING not in engine_states
        if alive and self.state != NodeState.UP:
            self.set_state(NodeState.UP, problem=None)
            self.store.add_event(Event.NODE_UP, f"{len(engine_states)} engines registered", self.host)
        return self.state

    def set_engine(self, engine_id: int, state: str) -> None:
        if self.engine_states.get(engine_id) != state:
            self.engine_states[engine_id] = state
            self.store.set_engine(engine_id, self.host, state, pid=self.pids.get(engine_id))

    def set_state(self, state: str, problem: str | None = None) -> None:
        self.state = state
        self.store.set_node(self.host, state=state, problem=problem)

    def fail(self, problem: str) -> None:
        for engine_id in self.engine_ids:
            self.set_engine(engine_id, EngineState.DEAD)
        self.set_state(NodeState.FAILED, problem=problem)
        self.store.add_event(Event.NODE_FAILED, problem, self.host)

    def reset_engines(self) -> None:
        """Forget the engines' pids and exits before they start again."""
        self.pids.clear()
        self.exited.clear()
        self.engine_states.clear()
        self.set_state(NodeState.STARTING)
        for engine_id in self.engine_ids:
            self.set_engine(engine_id, EngineState.STARTING)


class Launcher(LaunchMode):
    """A launch mode's running side: the engines of one cluster, inside its supervisor. Subclasses set
    ``name`` and override what differs from one engine set per node."""

    node_class: ClassVar[type[NodeEngines]] = NodeEngines

    # -- in the supervisor -----------------------------------------------------------------

    def __init__(self, ctx: LaunchContext) -> None:
        self.ctx = ctx
        self.generation = 0  # counts (re)starts of a job, so the health loop can tell its answer predates one

    def add_node(self, host: str, engine_ids: list[int], cores: int | None) -> NodeEngines:
        ctx = self.ctx
        node = ctx.inventory.node(host)
        target = target_for(node, ctx.paths)
        work_dir = work_dir_for(ctx.inventory, node, ctx.paths)
        engines = self.node_class(
            ctx, node, target, work_dir, engine_set_marker(ctx.inventory, host, ctx.paths), engine_ids, cores=cores
        )
        engines.monitor = NodeMonitor(node, target, work_dir, ctx.store)
        ctx.nodes[host] = engines
        return engines

    async def start(self) -> None:
        """Start engines on every node added (the controller is up)."""
        await each_node(self.start_node(h) for h in list(self.ctx.nodes))

    async def start_node(self, host: str) -> None:
        """Start (or start again) one node's engines and its metrics agent."""
        raise NotImplementedError

    async def stop_node(self, host: str, reachable: bool = True) -> None:
        """Stop one node's engines and agent; an unreachable node's connection is just closed."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop every engine and agent, then kill what is left on the nodes that answer."""
        ctx = self.ctx
        reachable = [h for h, n in ctx.nodes.items() if n.state not in (NodeState.DOWN, NodeState.OFF)]
        hosts = list(ctx.nodes)
        stopped = await asyncio.gather(*(self.stop_node(h, h in reachable) for h in hosts), return_exceptions=True)
        for host, error in zip(hosts, stopped, strict=True):
            if isinstance(error, Exception):
                log.error("%s: stopping its engines failed: %r", host, error)
        if ctx.inventory.nodes:
            listed = {n.host for n in ctx.inventory.nodes}
            nodes = [ctx.inventory.node(h) for h in reachable if h in listed]
            left = await sweep_nodes(ctx.inventory, ctx.paths, nodes, kill=True)
            for host, procs in left.items():
                ctx.event(Event.LEFTOVERS_KILLED, f"killed {len(procs)} leftover engine processes", host)

    async def suspend(self, hosts: list[str]) -> None:
        """The controller is about to restart (new keys, new ports): stop the engines of these nodes."""
        await asyncio.gather(*(self.stop_node(h) for h in hosts))

    async def resume(self, hosts: list[str]) -> None:
        """The controller restarted: start the engines of these nodes again."""
        await each_node(self.start_node(h) for h in hosts)

    async def restart_node(self, host: str) -> None:
        """Stop one node's engines and start them again with the same ids."""
        node = self.ctx.nodes[host]
        self.ctx.event(Event.NODE_RESTARTING, f"restarting {len(node.engine_ids)} engines", host)
        await self.stop_node(host)
        await self.ctx.hub.cancel_pending(node.engine_ids)
        await self.ctx.hub.wait_unregistered(node.engine_ids)
        await self.start_node(host)

    async def restart_engine(self, host: str, engine_id: int) -> bool:
        """Start one dead engine again; False when this launcher cannot (the health loop then leaves it)."""
        return False

    async def node_lost(self, host: str) -> bool:
        """A node's agent fell silent: stop what runs there; True when the health loop should wait for it."""
        await self.stop_node(host, reachable=False)
        return True

    def republish(self) -> None:
        """The state file was replaced: write again what only the launcher keeps (its jobs)."""

    def state_hint(self, alive: int) -> str | None:
        """The cluster's state when the launcher, not the nodes, decides it (None: the nodes decide)."""
        return None


class LauncherError(RaidenError):
    """A launcher that cannot do what was asked; the sentence says what to do instead."""
