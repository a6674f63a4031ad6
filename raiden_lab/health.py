"""The health loop: the part of the supervisor that keeps the cluster alive.

ipyparallel leaves recovery to its user: a dead engine stays dead, a lost node
holds its tasks until a 30 s heartbeat gives up, a dead controller ends the
cluster. Here a dead engine is restarted with back-off (1, 2, 4 ... 60 s); a
node whose agent falls silent is marked down within a few seconds, its engines
are dropped from the hub at once so their tasks go elsewhere, and it is started
again when it answers; a dead controller restarts the cluster cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from . import ssh

if TYPE_CHECKING:
    from .engineset import EngineSet
    from .supervisor import Supervisor

log = logging.getLogger("raiden.health")

POLL_S = 1.0
STALE_S = 3.5          # a node is down once its agent is this late (checked every POLL_S)
FIRST_SAMPLE_S = 30.0  # a Pi starting Python and psutil under load may take a while
RECONNECT_S = 2.0
BACKOFF_MAX_S = 60.0
BACKOFF_RESET_S = 60.0  # an engine that lived this long starts its back-off at 1 s again
COMPACT_EVERY_S = 60.0


class Health:
    def __init__(self, supervisor: "Supervisor") -> None:
        self.sup = supervisor
        self.engine_tasks: dict[int, asyncio.Task] = {}
        self.reconnects: dict[str, asyncio.Task] = {}
        self.backoff: dict[int, float] = {}
        self.restarted_at: dict[int, float] = {}
        self._state: str | None = None
        self._tasks: dict[str, int] | None = None
        self._compacted = time.monotonic()

    # -- the loop --------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # one bad tick must not end the supervision
                log.exception("health check failed")
            await asyncio.sleep(POLL_S)

    async def tick(self) -> None:
        sup = self.sup
        if not sup.controller_alive():
            await self.restart_controller()
            return
        for host, monitor in list(sup.monitors.items()):
            session = sup.sessions[host]
            if session.state not in ("starting", "up") or monitor.proc is None:
                continue
            limit = STALE_S if monitor.latest is not None else FIRST_SAMPLE_S
            if monitor.stale_for() > limit:
                await self.node_lost(host, f"{host}: its agent sent nothing for {monitor.stale_for():.1f} s")
        # asked after the lost nodes were handled: restarting an MPI job there changes who is registered
        generation = sup.job.generation if sup.job is not None else 0
        try:
            ids, queues = await sup.in_client_thread(self._poll)
        except Exception as e:
            log.warning("controller did not answer: %s", e)
            ids, queues = set(), {}
        if sup.job is not None and sup.job.generation != generation:
            return  # a job (re)started while we asked: these ids may be the old job's
        self._update_states(ids, queues)
        if time.monotonic() - self._compacted > COMPACT_EVERY_S:
            self._compacted = time.monotonic()
            sup.store.compact()

    def _poll(self) -> tuple[set[int], dict]:
        client = self.sup.client
        assert client is not None
        return set(client.ids), client.queue_status()

    def _update_states(self, ids: set[int], queues: dict) -> None:
        sup = self.sup
        node_states, not_alive, alive = [], False, 0
        for session in sup.sessions.values():
            states = session.update_engine_states(ids, queues)
            node_state = session.node_state(states)
            node_states.append(node_state)
            alive += sum(s in ("idle", "busy") for s in states)
            not_alive |= node_state == "up" and any(s in ("dead", "starting") for s in states)
        skipped = bool(sup.plan["skipped"])
        hint = sup.job.state_hint(alive) if sup.job is not None else None
        if hint is not None:
            state = hint
        elif skipped or not_alive or any(s in ("down", "failed") for s in node_states):
            state = "degraded"
        elif any(s == "starting" for s in node_states):
            state = "starting"
        else:
            state = "running"
        tasks = {
            "queued": int(queues.get("unassigned", 0)),
            "running": sum(q.get("queue", 0) + q.get("tasks", 0) for k, q in queues.items() if isinstance(q, dict)),
            "done": sum(q.get("completed", 0) for k, q in queues.items() if isinstance(q, dict)),
        }
        if tasks != self._tasks:
            self._tasks = tasks
            sup.store.set_cluster(tasks=tasks)
        if state != self._state:
            self._state = state
            sup.store.set_cluster(state=state)
            if state == "running":
                sup.store.add_event("cluster-running", f"all {alive} engines registered")

    # -- what the engine sets report (engineset.Listener) ---------------------------

    def engines_changed(self, engine_set: "EngineSet") -> None:
        monitor = self.sup.monitors.get(engine_set.host)
        if monitor is not None:
            asyncio.get_running_loop().create_task(monitor.set_engines(dict(engine_set.pids)))

    def engine_exited(self, engine_set: "EngineSet", engine_id: int) -> None:
        if engine_set.state not in ("starting", "up") or engine_id in self.engine_tasks:
            return
        task = asyncio.get_running_loop().create_task(self._restart_engine(engine_set, engine_id))
        self.engine_tasks[engine_id] = task
        task.add_done_callback(lambda _: self.engine_tasks.pop(engine_id, None))

    def connection_lost(self, engine_set: "EngineSet", message: str) -> None:
        asyncio.get_running_loop().create_task(self.node_lost(engine_set.host, message))

    # -- healing -----------------------------------------------------------------

    async def _restart_engine(self, engine_set: "EngineSet", engine_id: int) -> None:
        now = time.monotonic()
        if now - self.restarted_at.get(engine_id, 0.0) > BACKOFF_RESET_S:
            self.backoff[engine_id] = 1.0
        delay = self.backoff.get(engine_id, 1.0)
        self.backoff[engine_id] = min(delay * 2, BACKOFF_MAX_S)
        await asyncio.sleep(delay)
        if engine_set.state not in ("starting", "up"):
            return
        await self.sup.wait_unregistered([engine_id])
        await engine_set.send({"cmd": "start", "id": engine_id})
        self.restarted_at[engine_id] = time.monotonic()
        self.sup.store.add_event("engine-restarted", f"engine {engine_id} restarted after {delay:g} s", engine_set.host)

    async def node_lost(self, host: str, reason: str) -> None:
        sup = self.sup
        session = sup.sessions[host]
        if session.state in ("down", "failed") or host in self.reconnects:
            return
        session.set_state("down", problem=reason)
        for engine_id in session.engine_ids:
            session.set_engine(engine_id, "dead")
            if task := self.engine_tasks.pop(engine_id, None):
                task.cancel()
        sup.store.add_event("node-down", reason, host)
        # Drop its engines from the hub now, so their tasks are resubmitted elsewhere
        # instead of waiting for ipyparallel's heartbeat to give up.
        with contextlib.suppress(Exception):
            await sup.in_client_thread(lambda: self._unregister(session.engine_ids))
        if sup.job is not None:
            await sup.monitors[host].stop()
            if not await sup.job.node_lost(host):
                return  # Slurm: the node is the job's; it is not ours to reconnect
        else:
            await sup.stop_on_node(host, reachable=False)
        await asyncio.get_running_loop().run_in_executor(None, ssh.close_master, session.target)
        self.reconnects[host] = asyncio.get_running_loop().create_task(self._reconnect(host, time.monotonic()))

    def _unregister(self, engine_ids: list[int]) -> None:
        """Ask the hub to drop engines, as each engine's nanny would if it could still reach it."""
        import zmq
        from jupyter_client.session import Session

        info: dict[str, Any] = self.sup.connection_info["engine"]
        session = Session(key=info["key"].encode(), signature_scheme=info["signature_scheme"],
                          packer=info.get("pack", "json"), unpacker=info.get("unpack", "json"))
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

    async def _reconnect(self, host: str, since: float) -> None:
        sup = self.sup
        session = sup.sessions[host]
        try:
            while True:
                opened = await ssh.ensure_master(session.target, timeout=6)
                if opened.ok:
                    break
                await asyncio.sleep(RECONNECT_S)
            sup.store.add_event("node-back", f"answered again after {time.monotonic() - since:.0f} s; "
                                             f"starting its engines", host)
            await sup.wait_unregistered(session.engine_ids)
            await sup.start_on_node(host)
        finally:
            self.reconnects.pop(host, None)

    async def restart_controller(self) -> None:
        """The controller died: start a new one and every engine set again (new keys, new ports)."""
        sup = self.sup
        code = sup.cluster.controller.poll() if sup.cluster and sup.cluster.controller else None
        sup.store.add_event("controller-died", f"controller exited with code {code}; restarting the cluster")
        for task in list(self.engine_tasks.values()):
            task.cancel()
        live = [h for h, s in sup.sessions.items() if s.state in ("starting", "up")]
        await asyncio.gather(*(sup.stop_on_node(h) for h in live))
        await sup.stop_controller()
        await sup.start_controller()
        await asyncio.gather(*(sup.start_on_node(h) for h in live))
        sup.store.add_event("controller-restarted", f"controller and engines on {len(live)} nodes started again")

    def cancel_node(self, host: str) -> None:
        session = self.sup.sessions.get(host)
        for engine_id in session.engine_ids if session else []:
            if task := self.engine_tasks.pop(engine_id, None):
                task.cancel()

    def cancel_all(self) -> None:
        for task in [*self.engine_tasks.values(), *self.reconnects.values()]:
            task.cancel()
        self.engine_tasks.clear()
        self.reconnects.clear()
