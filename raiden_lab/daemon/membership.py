"""A running cluster as it changes: nodes join and leave, and power goes on and off under its control.

ipyparallel lets engines register with a running controller at any time; this is
what makes a running Raiden cluster grow: a node added to ``raiden.toml`` (by hand,
or by ``raiden add``) is checked like any at ``raiden up`` and its engines join,
with ids after every id handed out so far; notebooks keep their connection and a
running ``cluster.map`` sends work to them at its next look (``notebook/mapping.py``).

A node leaves with ``raiden remove``. Drained, it is marked ``draining``: maps stop
sending to its engines, tasks already there finish (up to a time limit), and then
its engines stop; a task still running is resubmitted elsewhere by the scheduler.

Power hooks (``config/power.py``) let the supervisor switch a node: off on
request (the node is then ``off``, not ``down``), a power cycle for a node that
stays down (``power_cycle_after``), and off/on by use (``power_save_after``).
Every step is an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from ..config.inventory import Inventory, load
from ..errors import RaidenError
from ..operations import doctor
from ..transport import powerswitch, ssh
from ..vocabulary import GONE, EngineState, Event, NodeState
from .plan import PlannedNode

if TYPE_CHECKING:
    from ..launchers.base import LaunchContext, Launcher

log = logging.getLogger("raiden.membership")

DRAIN_TIMEOUT_S = 60.0
POWER_CHECK_EVERY_S = 30.0
UNCHANGEABLE = ("name", "controller_ip", "engines_per_node", "encrypt_setting", "ports", "launcher", "settings")


class Healer(Protocol):
    """What membership asks of the health loop (``health.Health``), and no more."""

    @property
    def tasks(self) -> dict[str, int] | None: ...  # the hub's task counts at the last tick

    def stop_watching(self, host: str) -> None: ...

    def bring_back(self, host: str, boot_s: float = ...) -> None: ...


class Running(Protocol):
    """What membership needs of the running cluster (the supervisor), and no more."""

    ctx: LaunchContext  # its inventory, and its plan's nodes and skipped, are membership's to change
    launcher: Launcher
    health: Healer


class Membership:
    def __init__(self, supervisor: Running) -> None:
        self.sup = supervisor
        self.ctx = supervisor.ctx
        self.next_id = supervisor.ctx.plan.engines
        self.busy: set[str] = set()  # a power action or a removal in progress
        self.due: dict[str, float] = {}  # when a down node is power-cycled next
        self.cycles: dict[str, int] = {}
        self.idle_since: dict[str, float] = {}
        self.saved: set[str] = set()  # powered off by power saving, powered on again when work waits
        self._power_checked = 0.0

    @property
    def inventory(self) -> Inventory:
        return self.ctx.inventory

    def _adopt(self, inventory: Inventory) -> None:
        self.ctx.inventory = inventory  # the one holder: the supervisor and the hub read it there

    def adopt_file(self) -> None:
        """After ``raiden remove`` took the node out of the file: the file is the inventory again."""
        if self.inventory.path is not None and self.inventory.seat is None:
            self._adopt(load(self.inventory.path))

    # -- grow and shrink ---------------------------------------------------------------

    async def reload(self, drain_timeout: float = DRAIN_TIMEOUT_S) -> dict[str, Any]:
        """Read ``raiden.toml`` again: new nodes join, nodes no longer in it leave (drained)."""
        old = self.inventory
        if old.path is None or old.seat is not None:
            raise RaidenError(f"cluster '{old.name}' runs without an inventory file of its own; nothing to reload")
        if not getattr(self.sup.launcher, "grows_live", False):
            raise RaidenError(
                f"launcher '{old.launcher}' starts every engine at once; change its nodes with `raiden down` "
                "and `raiden up`"
            )
        new = load(old.path)
        changed = [k for k in UNCHANGEABLE if getattr(new, k) != getattr(old, k)]
        if changed:
            raise RaidenError(
                f"{old.path}: {', '.join(changed)} changed in [cluster]; only [[nodes]] take effect live, "
                "so run `raiden down` and `raiden up` for that (nothing was changed)"
            )
        hosts = {n.host for n in new.nodes}
        removed = [h for h in self.ctx.nodes if h not in hosts]
        added = [n.host for n in new.nodes if n.host not in self.ctx.nodes]
        changed_nodes = [n.host for n in new.nodes if n.host in self.ctx.nodes and self.ctx.nodes[n.host].node != n]
        for host in removed:
            await self.leave(host, drain=True, timeout=drain_timeout)
        self._adopt(new)
        for host in [h for h in self.ctx.plan.skipped if h not in hosts]:
            self.ctx.plan.forget(host)
            self.ctx.store.drop_node(host)
        for position, node in enumerate(new.nodes):
            self.ctx.store.set_node(node.host, position=position)
        skipped = {}
        for host, problem in zip(added, await asyncio.gather(*(self.join(h) for h in added)), strict=True):
            if problem:
                skipped[host] = problem
        return {
            "ok": True,
            "added": [h for h in added if h not in skipped],
            "skipped": skipped,
            "removed": removed,
            "unchanged": changed_nodes,  # settings of a running node apply at its next restart
        }

    async def join(self, host: str) -> str | None:
        """Check one node as `raiden up` would and start its engines; the problem when it fails."""
        inv, store = self.inventory, self.ctx.store
        node = inv.node(host)
        store.set_node(host, state=NodeState.STARTING, problem=None)
        (report,) = await doctor.check(inv, self.ctx.paths, [host])
        if not report.ok:
            problem = "; ".join(report.problems)
            self.ctx.plan.skip(host, problem)
            store.set_node(host, state=NodeState.FAILED, problem=problem)
            store.add_event(Event.NODE_SKIPPED, problem, host)
            return problem
        count = inv.engines_for(node, report.cores)
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        self.ctx.plan.plan_node(host, PlannedNode(count, report.arch, report.cores, report.boot_id))
        engines = self.sup.launcher.add_node(host, ids, report.cores)
        store.set_node(host, arch=report.arch, cores=report.cores, engines_wanted=count, work_dir=engines.work_dir)
        store.add_event(
            Event.NODE_ADDED, f"joined the running cluster with {count} engines (ids {ids[0]}-{ids[-1]})", host
        )
        await self.sup.launcher.start_node(host)
        return None

    async def leave(self, host: str, drain: bool, timeout: float = DRAIN_TIMEOUT_S) -> dict[str, Any]:
        """Take a node out of the running cluster: drained first if asked; its row goes from the store."""
        node = self.ctx.nodes.get(host)
        moved = 0
        self.busy.add(host)
        try:
            if node is not None:
                if drain and node.state == NodeState.UP:
                    moved = await self._drain(host, timeout)
                await self._stop_engines(host)
                self.ctx.nodes.pop(host, None)
                self.ctx.plan.nodes.pop(host, None)
        finally:
            self.busy.discard(host)
        self.ctx.plan.skipped.pop(host, None)
        self.ctx.store.drop_node(host)
        how = ""
        if moved:
            how = f"; {moved} tasks still running after {timeout:g} s were sent to other engines"
        elif drain and node is not None:
            how = "; the tasks it had finished first"
        self.ctx.event(Event.NODE_REMOVED, f"left the cluster{how}", host)
        return {"ok": True, "moved": moved}

    async def _drain(self, host: str, timeout: float) -> int:
        """No new tasks to its engines (maps read ``draining``); the count of tasks still there at the limit."""
        node = self.ctx.nodes[host]
        node.set_state(NodeState.DRAINING)
        self.ctx.event(
            Event.NODE_DRAINING,
            f"no new tasks go to engines {node.engine_ids[0]}-{node.engine_ids[-1]}; waiting up to {timeout:g} s "
            "for those they have",
            host,
        )
        deadline = time.monotonic() + timeout
        while True:
            _, queues = await self.ctx.hub.queues()
            left = sum(queues.get(i, {}).get("queue", 0) + queues.get(i, {}).get("tasks", 0) for i in node.engine_ids)
            if left == 0 or time.monotonic() >= deadline:
                return left
            await asyncio.sleep(0.5)

    async def _stop_engines(self, host: str, reachable: bool | None = None) -> None:
        node = self.ctx.nodes.get(host)
        if node is None:
            return
        if reachable is None:
            reachable = node.state not in GONE
        self.sup.health.stop_watching(host)
        await self.sup.launcher.stop_node(host, reachable=reachable)
        with contextlib.suppress(Exception):
            await self.ctx.hub.unregister(node.engine_ids)  # its tasks go elsewhere now
        for engine_id in node.engine_ids:
            node.set_engine(engine_id, EngineState.DEAD)
        if node.target is not None:
            await asyncio.get_running_loop().run_in_executor(None, ssh.close_master, node.target)

    # -- power -----------------------------------------------------------------------

    async def power(self, action: str, host: str, why: str | None = None) -> dict[str, Any]:
        """``on``, ``off``, ``cycle`` or ``status`` of one node; ``why``: the supervisor's own reason."""
        node = self.inventory.node(host)
        if action == "status":
            state = await powerswitch.status(node)
            self.ctx.store.set_node(host, power=state)
            return {"ok": True, "state": state}
        if refusal := self._refusal():
            raise RaidenError(refusal)
        for needed in ("off", "on") if action == "cycle" else (action,):
            if node.power_command(needed) is None:
                raise RaidenError(powerswitch.hook_missing(node, needed))
        if host in self.busy:
            raise RaidenError(f"{host}: a power action or removal is already under way; try again in a moment")
        self.busy.add(host)
        try:
            if action in ("off", "cycle"):
                # off first, then its engines stop: the health loop never sees an up node with dead
                # engines (the cluster would read as degraded for a moment)
                if (engines := self.ctx.nodes.get(host)) is not None:
                    reachable = engines.state not in GONE
                    engines.set_state(NodeState.OFF, problem=None)
                    await self._stop_engines(host, reachable)
                else:
                    self.ctx.store.set_node(host, state=NodeState.OFF, problem=None)
                await powerswitch.run_hook(node, "off")
                self.ctx.store.set_node(host, power="off")
                if action == "off":
                    self.ctx.event(Event.POWER_OFF, why or "powered off (`raiden power off`)", host)
                    return {"ok": True, "state": "off"}
                self.ctx.event(Event.POWER_CYCLE, why or "power-cycled (`raiden power cycle`)", host)
                await asyncio.sleep(powerswitch.CYCLE_PAUSE_S)
            await powerswitch.run_hook(node, "on")
            self.ctx.store.set_node(host, power="on")
            if action == "on":
                self.ctx.event(Event.POWER_ON, why or "powered on (`raiden power on`); waiting for it to boot", host)
            self.saved.discard(host)
            self._bring_back(host)
        except RaidenError as e:
            self.ctx.event(Event.POWER_FAILED, str(e), host)
            engines = self.ctx.nodes.get(host)
            if engines is not None and engines.state == NodeState.OFF:
                self._bring_back(host)  # the switch failed, so the node may well run: its engines start when it answers
            raise
        finally:
            self.busy.discard(host)
        return {"ok": True, "state": "on"}

    def _bring_back(self, host: str) -> None:
        """Powered on: once it answers SSH its engines start (or it joins, if it never had any)."""
        engines = self.ctx.nodes.get(host)
        if engines is None:
            asyncio.get_running_loop().create_task(self.join(host))
            return
        engines.reset_engines()  # starting, not down: the health loop waits for it without alarm
        self.sup.health.bring_back(host)

    def _refusal(self) -> str | None:
        """Why this cluster's supervisor does not switch nodes, or None when it does."""
        inv = self.inventory
        if inv.seat is not None:
            return f"cluster '{inv.name}' is a seat of a class; its nodes are the class's to power"
        if not getattr(self.sup.launcher, "grows_live", False):
            return (
                f"launcher '{inv.launcher}' runs every engine as one job; switch nodes with the cluster "
                "stopped (`raiden down`, then `raiden power ...`)"
            )
        return None

    async def tick(self) -> None:
        """Heal by power, save power; called by the health loop every second."""
        if self._refusal() is not None:
            return  # a seat's supervisor never switches the class's nodes; nor one job's launcher
        settings, now = self.inventory.power_settings, time.monotonic()
        if settings.cycle_after_s is not None:
            for host, node in list(self.ctx.nodes.items()):
                if node.state in (NodeState.UP, NodeState.OFF):
                    self.due.pop(host, None)
                    if node.state == NodeState.UP:
                        self.cycles.pop(host, None)  # it works again: the next fault starts at try 1
                    continue
                if node.state != NodeState.DOWN or host in self.busy or node.node.power_command("on") is None:
                    continue
                tries = self.cycles.get(host, 0)
                waited = settings.cycle_after_s * 2**tries  # twice as long before each further try
                if now < self.due.setdefault(host, now + waited):
                    continue
                if tries >= settings.cycle_tries:
                    self.due[host] = float("inf")
                    self.ctx.event(
                        Event.POWER_FAILED,
                        f"still down after {tries} power cycles; look at its power supply, cable and SD card",
                        host,
                    )
                    continue
                self.cycles[host] = tries + 1
                self.due.pop(host)
                why = (
                    f"down for {waited:g} s: power-cycled (try {tries + 1} of {settings.cycle_tries}); "
                    "waiting for it to boot"
                )
                asyncio.get_running_loop().create_task(self._quietly("cycle", host, why))
        if settings.save_after_s is not None:
            self._save_power(settings.save_after_s, now)
        if now - self._power_checked > POWER_CHECK_EVERY_S:
            self._power_checked = now
            for node in self.inventory.nodes:
                if node.power_command("status") is not None and node.host not in self.busy:
                    asyncio.get_running_loop().create_task(self._quietly("status", node.host, None))

    def _save_power(self, after: float, now: float) -> None:
        nodes = self.ctx.nodes
        tasks = self.sup.health.tasks or {}
        if tasks.get("queued", 0) > 0 and self.saved:
            host = sorted(self.saved)[0]
            self.saved.discard(host)
            why = f"{tasks['queued']} tasks wait for engines: powered on again (`power_save_after`)"
            asyncio.get_running_loop().create_task(self._quietly("on", host, why))
            return
        up = [h for h, n in nodes.items() if n.state == NodeState.UP]
        for host in up:
            node = nodes[host]
            working = any(s == EngineState.BUSY for s in node.engine_states.values()) or tasks.get("queued", 0)
            if working or host in self.busy:
                self.idle_since[host] = now
                continue
            since = self.idle_since.setdefault(host, now)
            has_hooks = node.node.power_command("off") is not None and node.node.power_command("on") is not None
            if now - since >= after and has_hooks and len(up) > 1:  # one node stays up to take work
                self.saved.add(host)
                self.idle_since.pop(host, None)
                up.remove(host)
                why = f"no work for {now - since:.0f} s: powered off to save power (`power_save_after`)"
                asyncio.get_running_loop().create_task(self._quietly("off", host, why))

    async def _quietly(self, action: str, host: str, why: str | None) -> None:
        try:
            await self.power(action, host, why)
        except RaidenError as e:
            log.warning("%s", e)
        except Exception:
            log.exception("%s: power %s failed", host, action)
