"""Engines as a Slurm batch job, through ipyparallel's ``SlurmEngineSetLauncher``.

Slurm decides the nodes: a node here is a host the job's engines landed on,
learnt from the engines themselves once they register. Each node of the job
also runs a metrics agent (``jobagent.py``) that writes its samples to the
shared file system, where :class:`JobAgentMonitor` follows them. Slurm
clusters share home folders between login and compute nodes; ipyparallel's
batch launchers rely on that too (the connection file is read from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipyparallel.cluster.launcher import SlurmEngineSetLauncher

from .inventory import Node
from .jobengine import encode_plan
from .jobs import WARM_ENGINE, EngineJob, JobNode
from .monitor import NodeMonitor

if TYPE_CHECKING:
    from .supervisor import Supervisor

POLL_S = 5.0  # squeue once all engines are in: a busy slurmctld thanks us
# Slurm's job states after which nothing of the job runs any more
ENDED_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
                          "DEADLINE", "OUT_OF_MEMORY", "ENDED"})

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
    s = inventory.slurm
    lines = [f"--partition={s.partition}" if s.partition else None, f"--account={s.account}" if s.account else None,
             f"--time={s.time_limit}" if s.time_limit else None, *s.sbatch_options]
    return "\n".join(f"#SBATCH {line}" for line in lines if line)


class _Launcher(SlurmEngineSetLauncher):
    """ipyparallel's launcher, keeping what sbatch and scancel say on stderr (it lets it go to our log)."""

    def _run_command(self, command: list[str], **kwargs: Any) -> str:
        return super()._run_command(command, stderr=subprocess.STDOUT, **kwargs)


class JobAgentMonitor(NodeMonitor):
    """Follows the samples a node's in-job agent writes to the shared file system."""

    async def start(self) -> None:
        path = Path(self.work_dir) / "agent.jsonl"
        self.last_sample_at = time.monotonic()  # grace: the agent may still be starting
        self.latest = None
        self.proc = await asyncio.create_subprocess_exec(
            "tail", "-n", "+1", "-F", str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self._reader = asyncio.create_task(self._read(self.proc))

    async def set_engines(self, pids: dict[int, int]) -> None:
        self._engine_pids = dict(pids)  # the agent in the job finds them itself

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
        await super().stop()


class SlurmJob(EngineJob):
    kind = "slurm"

    def __init__(self, sup: "Supervisor") -> None:
        super().__init__(sup)
        self.job_id: str | None = None
        self.state: str = "PENDING"
        self.reason: str = ""
        self.work_dir = sup.inventory.slurm.work_dir or str(sup.paths.root / "nodes")

    @property
    def engines_wanted(self) -> int:
        return self.sup.inventory.slurm.engines

    def state_hint(self, alive: int) -> str | None:
        """The cluster's state while Slurm, not the engines, decides it."""
        if self.state in ENDED_STATES:
            return "degraded"
        return "starting" if alive < self.engines_wanted else None

    async def ensure_started(self) -> None:
        """Submit the job unless one is queued, running, or was ended by Slurm (shown, not resubmitted)."""
        async with self.lock:
            if self.launcher is None:  # first start, or again after a controller restart cancelled it
                self.stopping = False
                await self._submit()

    async def _submit(self) -> None:
        sup, inv = self.sup, self.sup.inventory
        plan = {"kind": "slurm", "work_dir": self.work_dir, "marker": f"{inv.name}@slurm",
                "connection_file": str(sup.paths.profile_dir / "security" / "ipcontroller-engine.json")}
        encoded = encode_plan(plan)
        launcher = _Launcher(
            work_dir=str(self.log_dir), profile_dir=str(sup.paths.profile_dir), cluster_id="",
            output_file=str(self.log_dir / "slurm-%j.log"),
            batch_template=BATCH_TEMPLATE,
            namespace={"cluster": inv.name, "options": sbatch_options(inv),
                       "agent": shlex.join([inv.slurm.python, "-m", "raiden_lab.jobagent", encoded])},
            engine_cmd=[inv.slurm.python, "-m", "raiden_lab.jobengine", encoded],
            engine_args=[WARM_ENGINE],
        )
        try:
            self.job_id = await asyncio.get_running_loop().run_in_executor(None, launcher.start, self.engines_wanted)
        except (subprocess.CalledProcessError, OSError) as e:
            said = getattr(e, "output", b"") or b""
            said = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
            lines = [ln.removeprefix("sbatch: error: ") for ln in said.strip().splitlines()] or [str(e)]
            self.state, self.reason = "FAILED", "; ".join(lines[-2:])
            self.record(id=None, state=self.state, reason=self.reason, nodes=[], engines=self.engines_wanted)
            sup.store.add_event("job-failed", f"sbatch refused the engines' job: {self.reason}")
            return
        self.launcher = launcher
        self.state = "PENDING"
        self.record(id=self.job_id, state=self.state, reason="", nodes=[], engines=self.engines_wanted)
        sup.store.add_event("job-submitted", f"Slurm job {self.job_id} asks for {self.engines_wanted} engines")
        self._watch = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        """Place engines as they register (from the hub, cheap); ask squeue less often once all are in."""
        asked = 0.0
        while not self.stopping:
            with contextlib.suppress(Exception):
                await self._place_new_engines()
                if time.monotonic() - asked >= (POLL_S if len(self.placed) >= self.engines_wanted else 1.0):
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
            hosts = sorted(self.sup.sessions) or nodes
            self.record(id=self.job_id, state=state, reason=reason, nodes=hosts, engines=self.engines_wanted)
        if state in ENDED_STATES and not self.stopping:
            why = f"Slurm ended job {self.job_id} ({state}{': ' + reason if reason else ''})"
            self.sup.store.add_event("job-ended", why)
            for node in self.sup.sessions.values():
                node.job_ended()
                node.set_state("down", problem=f"{node.host}: {why}; `raiden down` then `raiden up` submits a new one")

    async def _place_new_engines(self) -> None:
        new = sorted(await self.sup.registered() - self.placed)
        if not new:
            return
        found = await self.locate(new)
        for engine_id, (host, _) in found.items():
            node = self.sup.sessions.get(host) or await self._add_node(host)
            node.engine_ids = sorted({*node.engine_ids, engine_id})
            node.set_engine(engine_id, "starting")
            self.placed.add(engine_id)
        for node in self.sup.sessions.values():
            self.engines_placed(node, {i: found[i] for i in node.engine_ids if i in found})

    async def _add_node(self, host: str) -> JobNode:
        sup = self.sup
        work_dir = str(Path(self.work_dir) / host)
        node = JobNode(node=Node(host=host, python=sup.inventory.slurm.python), target=None, work_dir=work_dir,
                       marker=f"{sup.inventory.name}@slurm@{host}", engine_ids=[], store=sup.store,
                       listener=sup.health)
        sup.sessions[host] = node
        sup.store.set_node(host, state="starting", work_dir=work_dir)
        sup.store.add_event("node-joined", f"Slurm job {self.job_id} runs engines here", host)
        monitor = JobAgentMonitor(node.node, None, work_dir, sup.store)
        sup.monitors[host] = monitor
        await monitor.start()
        return node

    async def _stop(self) -> None:
        job_id = self.job_id if self.launcher is not None else None
        await super()._stop()
        if job_id is None:
            return
        self.sup.store.add_event("job-cancelled", f"scancel {job_id}")
        # scancel returns before the job is gone: wait until squeue no longer lists it
        for _ in range(100):
            state, _, _ = await asyncio.get_running_loop().run_in_executor(None, job_state, job_id)
            if state in ENDED_STATES:
                break
            await asyncio.sleep(0.2)
        self.state = "CANCELLED"
        self.record(id=job_id, state="CANCELLED", reason="raiden down", nodes=sorted(self.sup.sessions),
                    engines=self.engines_wanted)

    async def node_lost(self, host: str) -> bool:
        self.sup.store.add_event("node-silent", "its agent in the Slurm job stopped writing samples", host)
        return False


def job_state(job_id: str | None) -> tuple[str, str, list[str]]:
    """Slurm's state of a job, its reason and its nodes; ``ENDED`` once Slurm forgot it."""
    if job_id is None:
        return "ENDED", "", []
    out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T|%r|%N"], capture_output=True, text=True,
                         timeout=30).stdout.strip()
    if out:
        state, reason, nodes = (out.splitlines()[0].split("|") + ["", ""])[:3]
        return state, "" if reason in ("None", "(null)") else reason, [n for n in nodes.split(",") if n]
    shown = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True,
                           timeout=30).stdout
    fields = dict(part.split("=", 1) for part in shown.split() if "=" in part)
    reason = fields.get("Reason", "")
    return fields.get("JobState", "ENDED"), "" if reason == "None" else reason, []


def check_partition(inventory: Any) -> list[Any]:
    """``raiden doctor`` under Slurm: the partition's nodes as Slurm sees them (the job may land on any)."""
    from .doctor import NodeReport

    import shutil
    part = inventory.slurm.partition
    for tool in ("sbatch", "squeue", "scancel", "sinfo"):
        if shutil.which(tool) is None:
            return [NodeReport(host="(slurm)", problems=[f"'{tool}' not found on this machine; run raiden on a Slurm "
                                                         "login node (Debian: apt install slurm-client)"])]
    argv = ["sinfo", "-h", "-N", "-o", "%N|%T|%c|%m"] + (["-p", part] if part else [])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return [NodeReport(host="(slurm)", problems=[f"sinfo failed: {said}; is slurmctld running and SLURM_CONF right?"])]
    reports = []
    for line in result.stdout.split("\n"):
        if not line.strip():
            continue
        host, state, cores, memory = (line.split("|") + ["", "", ""])[:4]
        report = NodeReport(host=host, cores=int(cores) if cores.isdigit() else None,
                            memory=int(memory) * 2**20 if memory.isdigit() else None)
        base = state.rstrip("*~#!%$@^-+").lower()
        if base in ("down", "drained", "draining", "fail", "failing", "unknown", "not_responding", "inval"):
            report.problems.append(f"{host}: Slurm reports it {state}; ask the cluster's admins, or pick another partition")
        report.ok = not report.problems
        reports.append(report)
    if not reports:
        where = f"partition '{part}'" if part else "the default partition"
        reports.append(NodeReport(host="(slurm)", problems=[f"{inventory.where('slurm.partition')}: {where} has no nodes; "
                                                            "check the name with `sinfo`"]))
    return reports
