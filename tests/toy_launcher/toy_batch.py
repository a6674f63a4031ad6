"""A batch-job launch mode from another package: every engine a task of one job (``toy_batch_job.py``),
each finding its node and id through Raiden's ``jobengine`` from the plan it is given. The whole of it:
this module and one line of ``entry_points.txt``; nothing of Raiden is edited."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from ipyparallel.cluster.launcher import LocalProcessLauncher

from raiden_lab.launchers.base import WARM_ENGINE
from raiden_lab.launchers.jobs import JobLauncher
from raiden_lab.node.jobengine import encode_plan
from raiden_lab.vocabulary import GONE, Event

JOB = Path(__file__).resolve().parent / "toy_batch_job.py"


class ToyBatchLauncher(JobLauncher):
    name = "toybatch"

    @classmethod
    def validate(cls, v: Any, data: dict[str, Any], cluster: dict[str, Any], nodes: list) -> None:
        for i, node in enumerate(nodes):
            if not node.is_local:
                v.fail(
                    ("nodes", i, "host"), f'launcher = "toybatch" runs its job on this machine only, not {node.host}'
                )

    @classmethod
    def job_text(cls, job: dict[str, Any]) -> str:
        return f"toy batch job {job.get('id') or '(none)'}: {job['state']}"

    async def ensure_started(self) -> None:
        async with self.lock:
            hosts = [h for h, n in self.ctx.nodes.items() if n.state not in GONE]
            if self.launcher is not None and self.launcher.state == "running":
                return
            await self.stop_job()
            if hosts:
                self._submit(hosts)

    def _submit(self, hosts: list[str]) -> None:
        ctx, nodes, first = self.ctx, [], 0
        connection = str(ctx.paths.profile_dir / "security" / "ipcontroller-engine.json")
        for host in hosts:
            node = self.job_node(host)
            count = ctx.plan.nodes[host].engines
            node.assign(list(range(first, first + count)))
            first += count
            nodes.append(
                {"host": host, "engines": count, "work_dir": node.work_dir, "marker": node.marker,
                 "connection_file": connection}
            )  # fmt: skip
        plan = {"rank_from": ["TOY_RANK"], "nodes": nodes, "id_is_rank": True}
        engine = [sys.executable, "-m", "raiden_lab.node.jobengine", encode_plan(plan), WARM_ENGINE]
        self.generation += 1
        self.stopping = False
        self.launcher = LocalProcessLauncher(
            work_dir=str(self.log_dir),
            profile_dir=str(ctx.paths.profile_dir),
            cluster_id="",
            output_file=str(self.log_dir / f"toybatch-{int(time.time())}.log"),
            cmd_and_args=[sys.executable, str(JOB), str(first), *engine],
        )
        self.launcher.on_stop(lambda data: self._ended(hosts, data))
        self.launcher.start()
        self.record(id=str(self.launcher.pid), state="RUNNING", nodes=hosts, engines=first)
        ctx.event(Event.JOB_STARTED, f"toy batch job {self.launcher.pid} started {first} engines")
        self.watching = asyncio.create_task(self.place_engines(hosts))

    def _ended(self, hosts: list[str], data: dict[str, Any]) -> None:
        if self.stopping:
            return
        for host in hosts:
            self.job_node(host).job_ended()
        self.record(id=str(data.get("pid")), state="ENDED", nodes=hosts, exit_code=data.get("exit_code"))
        self.ctx.event(Event.JOB_ENDED, f"the toy batch job exited with code {data.get('exit_code')}")

    async def restart_node(self, host: str) -> None:
        """A job's tasks restart together: the whole job is submitted again."""
        self.ctx.event(Event.NODE_RESTARTING, "submitting the toy batch job again", host)
        async with self.lock:
            await self.stop_job()
        await self.start_node(host)

    async def node_lost(self, host: str) -> bool:
        await self.stop_node(host, reachable=False)
        await self.ensure_started()
        return True
