"""``launcher = "mpi"``: every engine is a rank of one ``mpiexec``, so ``COMM_WORLD`` spans them.

ipyparallel's ``MPIEngineSetLauncher`` runs the job; ranks fill the hosts file
(made from the nodes that passed the preflight) in inventory order. An MPI job
cannot lose one rank, so it is restarted whole, on the nodes still up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from ipyparallel.cluster.launcher import MPIEngineSetLauncher

from ..config.clustertables import a_path, arguments
from ..config.inventory import Inventory, Node
from ..config.tables import STRINGS, Kind, Setting, Table
from ..node.jobengine import encode_plan
from ..transport import ssh
from ..transport.nodes import NodeReport, head_versions, sweep_nodes
from ..vocabulary import GONE, Event, NodeState
from .base import WARM_ENGINE, LaunchContext
from .jobs import JobLauncher, JobNode

if TYPE_CHECKING:
    from ..config.inventory import Validator

BACKOFF_MAX_S = 60.0
# Write a file readable by its owner only, from stdin; standard library, run on the node.
WRITE_PRIVATE = (
    "import os,sys\n"
    "p=os.path.expanduser(sys.argv[1]);os.makedirs(os.path.dirname(p),mode=0o700,exist_ok=True)\n"
    "t=p+'.tmp';fd=os.open(t,os.O_WRONLY|os.O_CREAT|os.O_TRUNC,0o600)\n"
    "os.write(fd,sys.stdin.buffer.read());os.close(fd);os.replace(t,p)\n"
)


@dataclass(frozen=True)
class MPISettings:
    """``[mpi]``: how the head runs ``mpiexec`` (Open MPI's); the hosts file is made from the nodes."""

    mpiexec: str = "mpiexec"
    args: tuple[str, ...] = ()


class MPILauncher(JobLauncher):
    name = "mpi"

    settings_table = Table(
        "mpi",
        (
            Setting(
                "mpiexec", Kind((str,), "a path"), "the `mpiexec` to run on the head", "`mpiexec`", a_path("mpiexec")
            ),
            Setting(
                "args",
                STRINGS,
                'more arguments for it, e.g. `["--mca", "btl_tcp_if_include", "eth0"]`',
                "none",
                arguments("args"),
            ),
        ),
    )

    @classmethod
    def validate(cls, v: Validator, data: dict[str, Any], cluster: dict[str, Any], nodes: list[Node]) -> MPISettings:
        mpi = data.get("mpi", {})
        mpiexec = mpi.get("mpiexec", "mpiexec")
        # mpiexec runs one command line on every node: one interpreter path for all
        for i, node in enumerate(nodes[1:], start=1):
            if node.python != nodes[0].python:
                v.fail(
                    ("nodes", i, "python"),
                    f'launcher = "mpi" runs one program on every node, but '
                    f"'{node.host}' has python {node.python!r} and '{nodes[0].host}' {nodes[0].python!r}; "
                    "install it at the same path on every node and set python in [cluster]",
                )
        return MPISettings(mpiexec=mpiexec, args=tuple(mpi.get("args", ())))

    @classmethod
    def check_head(cls, inventory: Inventory) -> str | None:
        mpiexec = inventory.settings.mpiexec
        if shutil.which(mpiexec) is None:
            return (
                f"{inventory.where('mpi.mpiexec')}: '{mpiexec}' not found on this machine; install Open MPI "
                "(Debian: apt install openmpi-bin) or set mpiexec in [mpi] to its path"
            )
        return None

    @classmethod
    def node_packages(cls, inventory: Inventory) -> tuple[str, ...]:
        return ("mpi4py",)

    @classmethod
    def judge(cls, report: NodeReport, found: dict[str, Any], node: Node) -> None:
        """MPI engines need Open MPI's daemon and mpi4py on every node (the head only runs mpiexec)."""
        host = node.host
        if not found.get("orted"):
            report.problems.append(
                f"{host}: no Open MPI there (orted not found); install the head's Open MPI "
                f'(Debian: apt install openmpi-bin) on {host}, or use launcher = "ssh"'
            )
        want = head_versions(("mpi4py",)).get("mpi4py")
        if report.packages.get("mpi4py") is None:
            report.problems.append(
                f"{host}: mpi4py is not installed there; install mpi4py{'==' + want if want else ''} "
                f"on {host} (`raiden provision {host}` does it)"
            )

    @classmethod
    def job_text(cls, job: dict[str, Any]) -> str:
        nodes = f" · {', '.join(job['nodes'])}" if job.get("nodes") else ""
        return f"mpiexec pid {job.get('id') or '(none)'}: {job['state']}{nodes}"

    def __init__(self, ctx: LaunchContext) -> None:
        super().__init__(ctx)
        self.hosts: list[str] = []
        self._config_dir: Path | None = None

    def wanted_hosts(self) -> list[str]:
        return [h for h, n in self.ctx.nodes.items() if n.state not in GONE]

    async def ensure_started(self) -> None:
        """Run the job over every node that is not down; restart it if that set changed."""
        async with self.lock:
            hosts = self.wanted_hosts()
            if self.launcher is not None and self.launcher.state == "running" and hosts == self.hosts:
                return
            await self.stop_job()
            if hosts:
                await self._start(hosts)

    async def restart_node(self, host: str) -> None:
        self.ctx.event(
            Event.NODE_RESTARTING,
            "restarting the whole MPI job (an MPI job cannot restart one node's ranks alone)",
            host,
        )
        async with self.lock:
            await self.stop_job()
        await self.start_node(host)

    async def node_lost(self, host: str) -> bool:
        """An MPI job cannot lose a rank: run it again on the nodes still up; the caller waits for this one."""
        await self.stop_node(host, reachable=False)
        await self.ensure_started()
        return True

    async def _start(self, hosts: list[str]) -> None:
        ctx = self.ctx
        # A node cut off from an earlier job may still run its ranks (their mpiexec is gone): stop them
        # first, so old and new engines never share an id.
        left = await sweep_nodes(ctx.inventory, ctx.paths, [ctx.inventory.node(h) for h in hosts], kill=True)
        for host, procs in left.items():
            ctx.event(Event.LEFTOVERS_KILLED, f"killed {len(procs)} engine processes of an earlier MPI job", host)
        written = await asyncio.gather(*(self._send_connection(self.job_node(h)) for h in hosts))
        hosts = [h for h, ok in zip(hosts, written, strict=True) if ok]
        if not hosts:
            return
        self.generation += 1
        nodes, first = [], 0
        for host in hosts:
            node = self.job_node(host)
            count = ctx.plan.nodes[host].engines
            node.assign(list(range(first, first + count)))
            first += count
            cores = ctx.plan.nodes[host].cores
            nodes.append(
                {
                    "host": host,
                    "engines": count,
                    "work_dir": node.work_dir,
                    "marker": node.marker,
                    "threads": max(1, cores // count) if cores else None,
                }
            )
        plan = {"nodes": nodes}  # ranks fill the hosts file's slots in order; --mpi gives the ids
        inv = ctx.inventory
        self.launcher = MPIEngineSetLauncher(
            work_dir=str(ctx.paths.root),
            profile_dir=str(ctx.paths.profile_dir),
            cluster_id="",
            output_file=str(self.log_dir / f"mpiexec-{int(time.time())}.log"),
            mpi_cmd=[inv.settings.mpiexec],
            mpi_args=self._mpi_args(hosts),
            engine_cmd=[inv.nodes[0].python, "-m", "raiden_lab.node.jobengine", encode_plan(plan)],
            engine_args=[WARM_ENGINE],
        )
        self.launcher.on_stop(self._ended)
        self.hosts = hosts
        self.stopping = False
        self.launcher.start(first)
        self.record(id=str(self.launcher.pid), state="RUNNING", nodes=hosts, engines=first)
        ctx.event(
            Event.JOB_STARTED,
            f"mpiexec (pid {self.launcher.pid}) started {first} engines on "
            f"{len(hosts)} node{'s' if len(hosts) != 1 else ''}",
        )
        self.watching = asyncio.create_task(self.place_engines(hosts))

    async def _send_connection(self, node: JobNode) -> bool:
        """The engines' connection file, key included, goes over SSH only: never through mpiexec."""
        assert node.target is not None
        path = os.path.join(node.work_dir, "engine-connection.json")
        data = json.dumps(self.ctx.hub.connection_info["engine"]).encode()
        opened = await ssh.ensure_master(node.target)
        result = (
            await ssh.run(node.target, [node.node.python, "-I", "-c", WRITE_PRIVATE, path], input=data)
            if opened.ok
            else opened
        )
        if not result.ok:
            node.fail(ssh.explain(node.host, result, what="writing the engines' connection file"))
        return result.ok

    def _mpi_args(self, hosts: list[str]) -> list[str]:
        ctx, root = self.ctx, self.ctx.paths.root
        plan, inv = ctx.plan.nodes, ctx.inventory
        hostfile = root / "mpi-hosts"
        hostfile.write_text(
            "".join(f"{'localhost' if inv.node(h).is_local else h} slots={plan[h].engines}\n" for h in hosts)
        )
        # TCP between nodes, shared memory within one: the fabric plug-ins (UCX, openib) probe
        # hardware a desk cluster lacks. Nodes that are one kernel (namespaces) share /tmp, where
        # Open MPI's shared-memory files are named by host name: there, TCP only.
        boots = [plan[h].boot_id for h in hosts]
        shared_kernel = len(hosts) > 1 and len(set(boots)) < len(boots)
        args = [
            "--hostfile",
            str(hostfile),
            "--map-by",
            "slot",
            "--bind-to",
            "none",
            "--mca",
            "pml",
            "ob1",
            "--mca",
            "btl",
            "tcp,self" if shared_kernel else "tcp,self,vader",
        ]
        if os.geteuid() == 0:
            args.append("--allow-run-as-root")  # Open MPI refuses root unless told
        remote = [inv.node(h) for h in hosts if not inv.node(h).is_local]
        if remote:
            # Open MPI splits plm_rsh_agent on spaces: a folder with one in its name is left for a private one
            if any(c.isspace() for c in str(root)):
                self._config_dir = self._config_dir or Path(tempfile.mkdtemp(prefix="raiden-mpi-"))
                root = self._config_dir
            config = root / "mpi-ssh-config"
            config.write_text("".join(ssh.config_block(self.ctx.nodes[n.host].target) for n in remote))
            args += ["--mca", "plm_rsh_agent", f"ssh -F {config}"]
            if network := cluster_network(inv.controller_ip):
                args += ["--mca", "btl_tcp_if_include", network, "--mca", "oob_tcp_if_include", network]
        return args + list(inv.settings.args)

    def _ended(self, stop_data: dict[str, Any]) -> None:
        launcher = self.launcher
        if self.stopping or launcher is None:
            return
        code = stop_data.get("exit_code")
        nodes = [self.job_node(h) for h in self.hosts]
        registered = any(n.state == NodeState.UP for n in nodes)
        tail = self.output_tail()
        for node in nodes:
            node.job_ended()
        self.record(id=str(launcher.pid), state="ENDED", nodes=self.hosts, exit_code=code)
        self.ctx.event(Event.JOB_ENDED, f"mpiexec exited with code {code}" + (f": {tail}" if tail else ""))
        if not registered and self.attempt >= 2:
            for node in nodes:
                node.fail(
                    f"{node.host}: mpiexec exited with code {code} before its engines registered"
                    + (f": {tail}" if tail else "")
                    + f"; see {self.ctx.paths.log}"
                )
            return
        self.attempt = 0 if registered else self.attempt + 1
        asyncio.get_running_loop().create_task(self._restart_later())

    async def _restart_later(self) -> None:
        delay = min(2.0**self.attempt, BACKOFF_MAX_S)
        await asyncio.sleep(delay)
        if not self.stopping:
            async with self.lock:
                self.launcher = None
            await self.ensure_started()
            if self.launcher is not None:
                self.ctx.event(
                    Event.JOB_RESTARTED,
                    f"the MPI job was started again after {delay:g} s (an MPI job cannot lose one rank)",
                )


def cluster_network(controller_ip: str) -> str | None:
    """The network (CIDR) of the head's interface that holds ``controller_ip``: MPI's traffic stays on it."""
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.address == controller_ip and addr.netmask:
                return str(ipaddress.ip_network(f"{controller_ip}/{addr.netmask}", strict=False))
    return None
