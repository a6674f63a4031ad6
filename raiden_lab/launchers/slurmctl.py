"""Asking Slurm itself: a job's state (``squeue``, ``scontrol``) and a partition's nodes (``sinfo``)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from ..transport.nodes import NodeReport


def job_state(job_id: str | None) -> tuple[str, str, list[str]]:
    """Slurm's state of a job, its reason and its nodes; ``ENDED`` once Slurm forgot it."""
    if job_id is None:
        return "ENDED", "", []
    out = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T|%r|%N"], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    if out:
        state, reason, nodes = (out.splitlines()[0].split("|") + ["", ""])[:3]
        return state, "" if reason in ("None", "(null)") else reason, [n for n in nodes.split(",") if n]
    shown = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=30).stdout
    fields = dict(part.split("=", 1) for part in shown.split() if "=" in part)
    reason = fields.get("Reason", "")
    return fields.get("JobState", "ENDED"), "" if reason == "None" else reason, []


def check_partition(inventory: Any) -> list[Any]:
    """``raiden doctor`` under Slurm: the partition's nodes as Slurm sees them (the job may land on any)."""
    part = inventory.settings.partition
    for tool in ("sbatch", "squeue", "scancel", "sinfo"):
        if shutil.which(tool) is None:
            return [
                NodeReport(
                    host="(slurm)",
                    problems=[
                        f"'{tool}' not found on this machine; run raiden on a Slurm "
                        "login node (Debian: apt install slurm-client)"
                    ],
                )
            ]
    argv = ["sinfo", "-h", "-N", "-o", "%N|%T|%c|%m"] + (["-p", part] if part else [])
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return [NodeReport(host="(slurm)", problems=["sinfo did not answer in 30 s; is slurmctld running?"])]
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return [
            NodeReport(host="(slurm)", problems=[f"sinfo failed: {said}; is slurmctld running and SLURM_CONF right?"])
        ]
    reports = []
    for line in result.stdout.split("\n"):
        if not line.strip():
            continue
        host, state, cores, memory = (line.split("|") + ["", "", ""])[:4]
        report = NodeReport(
            host=host,
            cores=int(cores) if cores.isdigit() else None,
            memory=int(memory) * 2**20 if memory.isdigit() else None,
        )
        base = state.rstrip("*~#!%$@^-+").lower()
        if base in ("down", "drained", "draining", "fail", "failing", "unknown", "not_responding", "inval"):
            report.problems.append(
                f"{host}: Slurm reports it {state}; ask the cluster's admins, or pick another partition"
            )
        report.ok = not report.problems
        reports.append(report)
    if not reports:
        where = f"partition '{part}'" if part else "the default partition"
        reports.append(
            NodeReport(
                host="(slurm)",
                problems=[f"{inventory.where('slurm.partition')}: {where} has no nodes; check the name with `sinfo`"],
            )
        )
    return reports
