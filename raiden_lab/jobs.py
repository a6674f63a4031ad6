"""Engines started as one job: under ``mpiexec`` across the nodes, or as a Slurm batch job.

With ``launcher = "ssh"`` every node has its own engine set (``engineset.py``).
With ``"mpi"`` or ``"slurm"`` one ipyparallel launcher (``MPIEngineSetLauncher``,
``SlurmEngineSetLauncher``) starts every engine at once, and each engine finds
its node through ``jobengine.py``. The node objects the supervisor and the
health loop see are :class:`JobNode`: same states and engines, but the job,
not a runner, starts and stops them. An MPI job cannot lose one rank, so it is
restarted whole (on the nodes still up); a Slurm job that Slurm ends is shown
as ended, with Slurm's word for why.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from ipyparallel.cluster.launcher import MPIEngineSetLauncher

from . import ssh
from .engineset import EngineSet, sweep_nodes
from .jobengine import encode_plan

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("raiden.jobs")

WARM_ENGINE = "--IPEngine.startup_command=from raiden_lab.jit import warm_runtime; warm_runtime()"
BACKOFF_MAX_S = 60.0
# Write a file readable by its owner only, from stdin; standard library, run on the node.
WRITE_PRIVATE = (
    "import os,sys\n"
    "p=os.path.expanduser(sys.argv[1]);os.makedirs(os.path.dirname(p),mode=0o700,exist_ok=True)\n"
    "t=p+'.tmp';fd=os.open(t,os.O_WRONLY|os.O_CREAT|os.O_TRUNC,0o600)\n"
    "os.write(fd,sys.stdin.buffer.read());os.close(fd);os.replace(t,p)\n"
)


class JobNode(EngineSet):
    """A node whose engines belong to the cluster's job: it keeps their state, nothing more."""

    async def start(self, engine_env: dict[str, str]) -> None:  # the job starts the engines
        return None

    async def stop(self, reachable: bool = True) -> None:
        return None

    async def send(self, command: dict[str, Any]) -> None:
        raise RuntimeError(f"{self.host}: its engines belong to the cluster's MPI or Slurm job")

    def assign(self, engine_ids: list[int]) -> None:
        """Take a new job's engines (ids are ranks, so they change when the node list does)."""
        self.store.drop_engines(self.host)
        self.engine_ids = engine_ids
        self.pids.clear()
        self.exited.clear()
        self.engine_states.clear()
        self.set_state("starting")
        for engine_id in engine_ids:
            self.set_engine(engine_id, "starting")

    def job_ended(self) -> None:
        for engine_id in self.engine_ids:
            self.exited[engine_id] = None
            self.set_engine(engine_id, "dead")


def _where_am_i() -> tuple[str, int]:
    """Runs on an engine: its node (as ``jobengine`` set it) and its pid."""
    return os.environ.get("RAIDEN_NODE", ""), os.getpid()


class EngineJob:
    """What the MPI and Slurm jobs share: the launcher's life, engine pids, the store's job rows."""

    kind = ""

    def __init__(self, sup: "Supervisor") -> None:
        self.sup = sup
        self.launcher: Any = None
        self.stopping = False
        self.lock = asyncio.Lock()
        self.attempt = 0
        self.placed: set[int] = set()
        self.generation = 0   # counts job starts, so a reader can tell its answer predates the job
        self._watch: asyncio.Task | None = None

    @property
    def log_dir(self) -> Path:
        path = self.sup.paths.root / "jobs"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def record(self, **job: Any) -> None:
        self.sup.store.set_cluster(jobs=[{"kind": self.kind, **job}])

    def output_tail(self, lines: int = 3) -> str:
        """The last lines mpiexec printed (ipyparallel keeps them once it removed the file)."""
        if self.launcher is None:
            return ""
        with contextlib.suppress(OSError):
            text = self.launcher.get_output(remove=False)
            useful = [ln.strip() for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= set("-=")]
            return " | ".join(useful[-lines:])
        return ""

    async def locate(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Ask engines which node they run on and their pid (for the agents' per-engine CPU)."""
        client = self.sup.client
        if client is None or not ids:
            return {}

        def ask() -> dict[int, tuple[str, int]]:
            result = client[ids].apply_async(_where_am_i)
            return dict(zip(ids, result.get(timeout=20), strict=True))
        try:
            return await self.sup.in_client_thread(ask, timeout=30)
        except Exception as e:  # an engine that died meanwhile: ask again next time
            log.info("could not locate engines %s yet: %s", ids, e)
            return {}

    def engines_placed(self, node: EngineSet, found: dict[int, tuple[str, int]]) -> None:
        for engine_id, (_, pid) in found.items():
            node.pids[engine_id] = pid
            self.sup.store.set_engine(engine_id, node.host, node.engine_states.get(engine_id, "idle"), pid=pid)
        self.sup.health.engines_changed(node)

    async def stop(self) -> None:
        async with self.lock:
            await self._stop()

    async def _stop(self) -> None:
        self.stopping = True
        if self._watch is not None:
            self._watch.cancel()
        launcher, self.launcher = self.launcher, None
        if launcher is not None and launcher.state == "running":
            with contextlib.suppress(Exception):
                result = launcher.stop()
                if asyncio.iscoroutine(result):
                    await result
            with contextlib.suppress(Exception):
                await launcher.join(timeout=15)
        await self._forget(sorted(self.placed | {i for n in self.sup.sessions.values() for i in n.engine_ids}))
        self.placed.clear()

    async def _forget(self, ids: list[int]) -> None:
        """Drop a stopped job's engines from the hub now: engines killed with their job (or cut off
        with their node) would hold their ids until the heartbeat gives up, and a new job's ranks
        asking for the same ids would be given others."""
        sup = self.sup
        if not ids or sup.client is None or sup.controller_alive() is False:
            return
        with contextlib.suppress(Exception):
            await sup.in_client_thread(lambda: sup.health._unregister(ids))
        await sup.wait_unregistered(ids)

    async def ensure_started(self) -> None:
        raise NotImplementedError

    def state_hint(self, alive: int) -> str | None:
        """The cluster's state when the job, not the nodes, decides it (None: the nodes decide)."""
        return None

    async def node_lost(self, host: str) -> bool:
        """Handle a node whose agent fell silent; True when the health loop should wait for it to answer."""
        raise NotImplementedError


# -- MPI -------------------------------------------------------------------------


class MPIJob(EngineJob):
    """Every engine under one ``mpiexec``, so ``mpi4py.MPI.COMM_WORLD`` spans them."""

    kind = "mpi"

    def __init__(self, sup: "Supervisor") -> None:
        super().__init__(sup)
        self.hosts: list[str] = []
        self._config_dir: Path | None = None

    def wanted_hosts(self) -> list[str]:
        return [h for h, n in self.sup.sessions.items() if n.state not in ("down", "failed")]

    async def ensure_started(self) -> None:
        """Run the job over every node that is not down; restart it if that set changed."""
        async with self.lock:
            hosts = self.wanted_hosts()
            if self.launcher is not None and self.launcher.state == "running" and hosts == self.hosts:
                return
            await self._stop()
            if hosts:
                await self._start(hosts)

    async def _start(self, hosts: list[str]) -> None:
        sup = self.sup
        # A node cut off from an earlier job may still run its ranks (their mpiexec is gone): stop them
        # first, so old and new engines never share an id.
        left = await sweep_nodes(sup.inventory, sup.paths, [sup.inventory.node(h) for h in hosts], kill=True)
        for host, procs in left.items():
            sup.store.add_event("leftovers-killed", f"killed {len(procs)} engine processes of an earlier MPI job", host)
        written = await asyncio.gather(*(self._send_connection(sup.sessions[h]) for h in hosts))
        hosts = [h for h, ok in zip(hosts, written, strict=True) if ok]
        if not hosts:
            return
        self.generation += 1
        nodes, first = [], 0
        for host in hosts:
            node = sup.sessions[host]
            count = sup.plan["nodes"][host]["engines"]
            node.assign(list(range(first, first + count)))
            first += count
            cores = sup.plan["nodes"][host].get("cores")
            nodes.append({"host": host, "engines": count, "work_dir": node.work_dir, "marker": node.marker,
                          "threads": max(1, cores // count) if cores else None})
        plan = {"kind": "mpi", "nodes": nodes}
        inv = sup.inventory
        self.launcher = MPIEngineSetLauncher(
            work_dir=str(sup.paths.root), profile_dir=str(sup.paths.profile_dir), cluster_id="",
            output_file=str(self.log_dir / f"mpiexec-{int(time.time())}.log"),
            mpi_cmd=[inv.mpi.mpiexec], mpi_args=self._mpi_args(hosts),
            engine_cmd=[inv.nodes[0].python, "-m", "raiden_lab.jobengine", encode_plan(plan)],
            engine_args=[WARM_ENGINE],
        )
        self.launcher.on_stop(self._ended)
        self.hosts = hosts
        self.stopping = False
        self.launcher.start(first)
        self.record(id=str(self.launcher.pid), state="RUNNING", nodes=hosts, engines=first)
        sup.store.add_event("job-started", f"mpiexec (pid {self.launcher.pid}) started {first} engines on "
                                          f"{len(hosts)} node{'s' if len(hosts) != 1 else ''}")
        self._watch = asyncio.create_task(self._place(hosts))

    async def _send_connection(self, node: EngineSet) -> bool:
        """The engines' connection file, key included, goes over SSH only: never through mpiexec."""
        path = os.path.join(node.work_dir, "engine-connection.json")
        data = json.dumps(self.sup.connection_info["engine"]).encode()
        opened = await ssh.ensure_master(node.target)
        result = await ssh.run(node.target, [node.node.python, "-c", WRITE_PRIVATE, path], input=data) \
            if opened.ok else opened
        if not result.ok:
            node._fail(ssh.explain(node.host, result, what="writing the engines' connection file"))
        return result.ok

    def _mpi_args(self, hosts: list[str]) -> list[str]:
        sup, root = self.sup, self.sup.paths.root
        hostfile = root / "mpi-hosts"
        hostfile.write_text("".join(f"{'localhost' if sup.inventory.node(h).is_local else h} "
                                    f"slots={sup.plan['nodes'][h]['engines']}\n" for h in hosts))
        # TCP between nodes, shared memory within one: the fabric plug-ins (UCX, openib) probe
        # hardware a desk cluster lacks. Nodes that are one kernel (namespaces) share /tmp, where
        # Open MPI's shared-memory files are named by host name: there, TCP only.
        boots = [sup.plan["nodes"][h].get("boot_id") for h in hosts]
        shared_kernel = len(hosts) > 1 and len(set(boots)) < len(boots)
        args = ["--hostfile", str(hostfile), "--map-by", "slot", "--bind-to", "none",
                "--mca", "pml", "ob1", "--mca", "btl", "tcp,self" if shared_kernel else "tcp,self,vader"]
        if os.geteuid() == 0:
            args.append("--allow-run-as-root")  # Open MPI refuses root unless told
        remote = [sup.inventory.node(h) for h in hosts if not sup.inventory.node(h).is_local]
        if remote:
            # Open MPI splits plm_rsh_agent on spaces: a folder with one in its name is left for a private one
            if any(c.isspace() for c in str(root)):
                self._config_dir = self._config_dir or Path(tempfile.mkdtemp(prefix="raiden-mpi-"))
                root = self._config_dir
            config = root / "mpi-ssh-config"
            config.write_text("".join(ssh.config_block(sup.sessions[n.host].target) for n in remote))
            args += ["--mca", "plm_rsh_agent", f"ssh -F {config}"]
            if network := cluster_network(sup.inventory.controller_ip):
                args += ["--mca", "btl_tcp_if_include", network, "--mca", "oob_tcp_if_include", network]
        return args + list(sup.inventory.mpi.args)

    def _ended(self, stop_data: dict[str, Any]) -> None:
        launcher = self.launcher
        if self.stopping or launcher is None:
            return
        code = stop_data.get("exit_code")
        nodes = [self.sup.sessions[h] for h in self.hosts]
        registered = any(n.state == "up" for n in nodes)
        tail = self.output_tail()
        for node in nodes:
            node.job_ended()
        self.record(id=str(launcher.pid), state="ENDED", nodes=self.hosts, exit_code=code)
        self.sup.store.add_event("job-ended", f"mpiexec exited with code {code}" + (f": {tail}" if tail else ""))
        if not registered and self.attempt >= 2:
            for node in nodes:
                node._fail(f"{node.host}: mpiexec exited with code {code} before its engines registered"
                           + (f": {tail}" if tail else "") + f"; see {self.sup.paths.log}")
            return
        self.attempt = 0 if registered else self.attempt + 1
        asyncio.get_running_loop().create_task(self._restart_later())

    async def _restart_later(self) -> None:
        delay = min(2.0 ** self.attempt, BACKOFF_MAX_S)
        await asyncio.sleep(delay)
        if not self.stopping:
            async with self.lock:
                self.launcher = None
            await self.ensure_started()
            if self.launcher is not None:
                self.sup.store.add_event("job-restarted", f"the MPI job was started again after {delay:g} s "
                                                          "(an MPI job cannot lose one rank)")

    async def _place(self, hosts: list[str]) -> None:
        """Once the engines registered, learn their pids for the agents."""
        sup = self.sup
        ids = [i for h in hosts for i in sup.sessions[h].engine_ids]
        while not self.stopping:
            await asyncio.sleep(0.5)
            if set(ids) <= await sup.registered():
                break
        found = await self.locate(ids)
        for host in hosts:
            node = sup.sessions[host]
            self.engines_placed(node, {i: found[i] for i in node.engine_ids if i in found})

    async def node_lost(self, host: str) -> bool:
        """An MPI job cannot lose a rank: run it again on the nodes still up; the caller waits for this one."""
        await self.ensure_started()
        return True


def cluster_network(controller_ip: str) -> str | None:
    """The network (CIDR) of the head's interface that holds ``controller_ip``: MPI's traffic stays on it."""
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.address == controller_ip and addr.netmask:
                return str(ipaddress.ip_network(f"{controller_ip}/{addr.netmask}", strict=False))
    return None


def make_job(sup: "Supervisor") -> EngineJob | None:
    """The job that starts every engine, or None when each node has its own engine set (SSH)."""
    if sup.inventory.launcher == "mpi":
        return MPIJob(sup)
    if sup.inventory.launcher == "slurm":
        from .slurm import SlurmJob
        return SlurmJob(sup)
    return None
