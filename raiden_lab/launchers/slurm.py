"""``launcher = "slurm"``: engines as a Slurm batch job, through ipyparallel's ``SlurmEngineSetLauncher``.

Slurm decides the nodes: a node here is a host the job's engines landed on,
learnt from the engines themselves once they register. Each node of the job
also runs a metrics agent (``node/jobagent.py``) that writes its samples to the
shared file system, where :class:`JobAgentMonitor` follows them. Slurm
clusters share home folders between login and compute nodes; ipyparallel's
batch launchers rely on that too (the connection file is read from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipyparallel.cluster.launcher import SlurmEngineSetLauncher

from ..config.clustertables import NODE_DEFAULTS
from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from ..daemon.monitor import NodeMonitor
from ..node.jobengine import encode_plan
from ..transport.nodes import NodeReport
from ..vocabulary import ClusterState, EngineState, Event, NodeState
from .base import WARM_ENGINE
from .jobs import JobLauncher, JobNode
from .slurmctl import check_partition, job_state
from .slurmsettings import SLURM, SlurmSettings

if TYPE_CHECKING:
    from ..config.inventory import Validator

SBATCH_TIMEOUT_S = 60.0
POLL_S = 5.0  # squeue once all engines are in: a busy slurmctld thanks us
# Slurm's job states after which nothing of the job runs any more
ENDED_STATES = frozenset(
    {
        "COMPLETED",
        "CANCELLED",
        "FAILED",
        "TIMEOUT",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "OUT_OF_MEMORY",
        "ENDED",
    }
)
WAITING_STATES = frozenset({"PENDING", "RUNNING", "CONFIGURING", "COMPLETING"})

BATCH_TEMPLATE = """#!/bin/sh
#SBATCH --job-name=raiden-{cluster}
#SBATCH --ntasks={n}
#SBATCH --output={output_file}
{options}
# one metrics agent per node of the job, beside the engines
srun --overlap --ntasks-per-node=1 --nodes="$SLURM_JOB_NUM_NODES" --ntasks="$SLURM_JOB_NUM_NODES" {agent} &
srun {program_and_args}
"""


def sbatch_options(inventory: Any) -> str:
    s = inventory.settings
    lines = [
        f"--partition={s.partition}" if s.partition else None,
        f"--account={s.account}" if s.account else None,
        f"--time={s.time_limit}" if s.time_limit else None,
        *s.sbatch_options,
    ]
    return "\n".join(f"#SBATCH {line}" for line in lines if line)


class _Launcher(SlurmEngineSetLauncher):
    """ipyparallel's launcher, keeping what sbatch and scancel say on stderr (it lets it go to our log)."""

    def _run_command(self, command: list[str], **kwargs: Any) -> str:
        # A Slurm controller that does not answer must not hold the supervisor for good.
        return super()._run_command(command, stderr=subprocess.STDOUT, timeout=SBATCH_TIMEOUT_S, **kwargs)


class JobAgentMonitor(NodeMonitor):
    """Follows the samples a node's in-job agent writes to the shared file system."""

    async def start(self) -> None:
        path = Path(self.work_dir) / "agent.jsonl"
        self.last_sample_at = time.monotonic()  # grace: the agent may still be starting
        self.latest = None
        self.proc = await asyncio.create_subprocess_exec(
            "tail", "-n", "60", "-F", str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read(self.proc))

    async def set_engines(self, pids: dict[int, int]) -> None:
        self._engine_pids = dict(pids)  # the agent in the job finds them itself

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
        await super().stop()


class SlurmLauncher(JobLauncher):
    name = "slurm"
    finds_nodes = True

    settings_table = SLURM

    @classmethod
    def validate(cls, v: Validator, data: dict[str, Any], cluster: dict[str, Any], nodes: list[Node]) -> SlurmSettings:
        """Slurm picks the nodes, so there are none to list; the job's shape is in ``[slurm]``."""
        if "nodes" in data:
            v.fail(
                ("nodes", 0, None),
                'launcher = "slurm": Slurm decides which nodes the engines land on; '
                "remove the [[nodes]] tables and set [slurm] engines (and partition) instead",
            )
        for key in ("engines_per_node", *(s.name for s in NODE_DEFAULTS)):
            if key in cluster and key not in ("work_dir", "python"):
                v.fail(
                    ("cluster", 0, key),
                    f"'{key}' is for SSH nodes; with launcher = \"slurm\" remove it "
                    "(the job runs as you, on the nodes Slurm gives it)",
                )
        if "controller_ip" not in cluster:
            v.fail(
                ("cluster", 0, None),
                'controller_ip is missing in [cluster]; with launcher = "slurm" set it '
                "to this login node's address that the compute nodes reach",
            )
        raw = data.get("slurm", {})
        return SlurmSettings(
            engines=raw.get("engines", 2),
            partition=raw.get("partition"),
            account=raw.get("account"),
            time_limit=raw.get("time_limit"),
            sbatch_options=tuple(raw.get("sbatch_options", ())),
            python=raw.get("python", cluster.get("python", sys.executable)),
            work_dir=raw.get("work_dir", cluster.get("work_dir")),
        )

    @classmethod
    async def preflight(cls, inventory: Inventory, paths: ClusterPaths) -> list[NodeReport]:
        return await asyncio.get_running_loop().run_in_executor(None, check_partition, inventory)

    @classmethod
    def blocking_problem(cls, reports: list[NodeReport]) -> str | None:
        return next((p for r in reports for p in r.problems if r.host == "(slurm)"), None)

    @classmethod
    def engines_wanted(cls, inventory: Inventory) -> int | None:
        return inventory.settings.engines

    @classmethod
    def restart_refusal(cls, inventory: Inventory, host: str) -> str | None:
        return (
            f"cluster '{inventory.name}': Slurm's nodes belong to its job; run `raiden down` then "
            "`raiden up` for a new job"
        )

    @classmethod
    def job_text(cls, job: dict[str, Any]) -> str:
        reason = f" ({job['reason']})" if job.get("reason") else ""
        nodes = f" · {', '.join(job['nodes'])}" if job.get("nodes") else ""
        return f"Slurm job {job.get('id') or '(refused)'}: {job['state']}{reason}{nodes}"

    @classmethod
    def clean_up_after(cls, inventory: Inventory, paths: ClusterPaths) -> list[str]:
        record = paths.root / "job.json"
        try:
            job = json.loads(record.read_text())
        except (OSError, ValueError):
            return []
        job_id = str(job.get("id") or "")
        if not job_id or job.get("state") in ENDED_STATES:
            return []
        subprocess.run(["scancel", job_id], capture_output=True, timeout=30, check=False)
        record.unlink(missing_ok=True)
        return [f"cancelled Slurm job {job_id}, left running by a supervisor that was killed"]

    @classmethod
    def job_problem(cls, job: dict[str, Any]) -> str | None:
        if job["state"] in WAITING_STATES:
            return None
        reason = f": {job['reason']}" if job.get("reason") else ""
        return f"Slurm job {job.get('id') or '(refused)'} is {job['state']}{reason}"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.job_id: str | None = None
        self.state: str = "PENDING"
        self.reason: str = ""
        self.wanted = ctx.inventory.settings.engines
        self.work_dir = ctx.inventory.settings.work_dir or str(ctx.paths.root / "nodes")

    def state_hint(self, alive: int) -> str | None:
        """The cluster's state while Slurm, not the engines, decides it."""
        if self.state in ENDED_STATES:
            return ClusterState.DEGRADED
        return ClusterState.STARTING if alive < self.wanted else None

    async def ensure_started(self) -> None:
        """Submit the job unless one is queued, running, or was ended by Slurm (shown, not resubmitted)."""
        async with self.lock:
            if self.launcher is None:  # first start, or again after a controller restart cancelled it
                self.stopping = False
                await self._submit()

    async def _submit(self) -> None:
        ctx, inv = self.ctx, self.ctx.inventory
        plan = {  # Slurm picks the nodes: one shape for each; the rank is the engine's id
            "rank_from": ["SLURM_PROCID"],
            "host_from": ["SLURMD_NODENAME"],
            "id_is_rank": True,
            "each_host": {
                "work_dir": self.work_dir,
                "marker": f"{inv.name}@slurm",
                "connection_file": str(ctx.paths.profile_dir / "security" / "ipcontroller-engine.json"),
            },
        }
        encoded = encode_plan(plan)
        launcher = _Launcher(
            work_dir=str(self.log_dir),
            profile_dir=str(ctx.paths.profile_dir),
            cluster_id="",
            output_file=str(self.log_dir / "slurm-%j.log"),
            batch_template=BATCH_TEMPLATE,
            namespace={
                "cluster": inv.name,
                "options": sbatch_options(inv),
                "agent": shlex.join([inv.settings.python, "-m", "raiden_lab.node.jobagent", encoded]),
            },
            engine_cmd=[inv.settings.python, "-m", "raiden_lab.node.jobengine", encoded],
            engine_args=[WARM_ENGINE],
        )
        try:
            self.job_id = await asyncio.get_running_loop().run_in_executor(None, launcher.start, self.wanted)
        except (subprocess.SubprocessError, OSError) as e:
            said = getattr(e, "output", b"") or b""
            if isinstance(e, subprocess.TimeoutExpired):
                said = f"sbatch did not answer in {SBATCH_TIMEOUT_S:g} s; is slurmctld running? (`sinfo` tells)"
            said = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
            lines = [ln.removeprefix("sbatch: error: ") for ln in said.strip().splitlines()] or [str(e)]
            self.state, self.reason = "FAILED", "; ".join(lines[-2:])
            self.record(id=None, state=self.state, reason=self.reason, nodes=[], engines=self.wanted)
            ctx.event(Event.JOB_FAILED, f"sbatch refused the engines' job: {self.reason}")
            return
        self.launcher = launcher
        self.state = "PENDING"
        self.record(id=self.job_id, state=self.state, reason="", nodes=[], engines=self.wanted)
        ctx.event(Event.JOB_SUBMITTED, f"Slurm job {self.job_id} asks for {self.wanted} engines")
        self.watching = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        """Place engines as they register (from the hub, cheap); ask squeue less often once all are in."""
        asked = 0.0
        while not self.stopping:
            with contextlib.suppress(Exception):
                await self._place_new_engines()
                if time.monotonic() - asked >= (POLL_S if len(self.placed) >= self.wanted else 1.0):
                    asked = time.monotonic()
                    await self._poll()
            if self.state in ENDED_STATES:
                return
            await asyncio.sleep(0.5)

    async def _poll(self) -> None:
        state, reason, nodes = await asyncio.get_running_loop().run_in_executor(None, job_state, self.job_id)
        changed = (state, reason) != (self.state, self.reason)
        self.state, self.reason = state, reason
        if changed:
            hosts = sorted(self.ctx.nodes) or nodes
            self.record(id=self.job_id, state=state, reason=reason, nodes=hosts, engines=self.wanted)
        if state in ENDED_STATES and not self.stopping:
            why = f"Slurm ended job {self.job_id} ({state}{': ' + reason if reason else ''})"
            self.ctx.event(Event.JOB_ENDED, why)
            for node in self.ctx.nodes.values():
                assert isinstance(node, JobNode)
                node.job_ended()
                node.set_state(
                    NodeState.DOWN, problem=f"{node.host}: {why}; `raiden down` then `raiden up` submits a new one"
                )

    async def _place_new_engines(self) -> None:
        new = sorted(await self.ctx.hub.registered() - self.placed)
        if not new:
            return
        found = await self.locate(new)
        for engine_id, (host, _) in found.items():
            node = self.job_node(host) if host in self.ctx.nodes else await self._add_node(host)
            node.engine_ids = sorted({*node.engine_ids, engine_id})
            node.set_engine(engine_id, EngineState.STARTING)
            self.placed.add(engine_id)
        for host in list(self.ctx.nodes):
            node = self.job_node(host)
            self.engines_placed(node, {i: found[i] for i in node.engine_ids if i in found})

    async def _add_node(self, host: str) -> JobNode:
        ctx = self.ctx
        work_dir = str(Path(self.work_dir) / host)
        node = JobNode(
            ctx,
            Node(host=host, python=ctx.inventory.settings.python),
            None,
            work_dir,
            f"{ctx.inventory.name}@slurm@{host}",
            [],
        )
        ctx.nodes[host] = node
        ctx.store.set_node(host, state=NodeState.STARTING, work_dir=work_dir)
        ctx.event(Event.NODE_JOINED, f"Slurm job {self.job_id} runs engines here", host)
        node.monitor = JobAgentMonitor(node.node, None, work_dir, ctx.store)
        await node.monitor.start()
        return node

    async def stop_job(self) -> None:
        job_id = self.job_id if self.launcher is not None else None
        await super().stop_job()
        if job_id is None:
            return
        self.ctx.event(Event.JOB_CANCELLED, f"scancel {job_id}")
        # scancel returns before the job is gone: wait until squeue no longer lists it
        for _ in range(100):
            state, _, _ = await asyncio.get_running_loop().run_in_executor(None, job_state, job_id)
            if state in ENDED_STATES:
                break
            await asyncio.sleep(0.2)
        self.state = "CANCELLED"
        self.record(
            id=job_id, state="CANCELLED", reason="raiden down", nodes=sorted(self.ctx.nodes), engines=self.wanted
        )

    async def node_lost(self, host: str) -> bool:
        await self.stop_node(host, reachable=False)
        self.ctx.event(Event.NODE_SILENT, "its agent in the Slurm job stopped writing samples", host)
        return False
