"""One lifecycle API: start a cluster, wait until it is up, stop it, restart a node, read its status.

The CLI, the Jupyter server extension and the ``%raiden`` magics all go
through these coroutines (each has a ``_sync`` twin for plain scripts), so a
sentence the user sees is the same wherever they asked. Expected failures are
:class:`RaidenError` or :class:`InputError`; what went only partly well comes
back in an :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ..aio import run_sync
from ..config.inventory import Inventory
from ..config.paths import ClusterPaths
from ..daemon import control
from ..daemon.plan import Plan, PlannedNode
from ..errors import InputError, NotRunning, RaidenError
from ..transport.nodes import NodeReport, sweep_nodes
from ..vocabulary import GONE, ClusterState, EngineState, Event, NodeState
from . import doctor
from .status import cluster_events, cluster_status

# engines import ipyparallel and numba at their first start: a loaded Pi 3 (or an emulated one) can take a minute
UP_TIMEOUT_S = 120.0


def up_timeout() -> float:
    """The seconds ``raiden up`` waits for engines when ``--timeout`` is not given: ``RAIDEN_UP_TIMEOUT``
    where the nodes are slow to start (Pi Zeros, Pis emulated under qemu), else ``UP_TIMEOUT_S``."""
    text = os.environ.get("RAIDEN_UP_TIMEOUT")
    if text is None:
        return UP_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise InputError(
            f"RAIDEN_UP_TIMEOUT={text!r}: give the seconds `raiden up` waits for engines, a number above 0"
        )
    return seconds


DOWN_TIMEOUT_S = 60.0


@dataclass
class Outcome:
    """What a lifecycle call did: ``said`` for stdout; ``warnings``, ``skipped`` and ``problems`` as sentences."""

    ok: bool = True
    said: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # nodes left out after the preflight, and why
    problems: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def messages(self) -> list[str]:
        """Warnings, nodes skipped and problems, one line each, as the CLI prints them on stderr."""
        return (
            [f"warning: {w}" for w in self.warnings]
            + [f"skipping {s}" for s in self.skipped]
            + [f"raiden: {p}" for p in self.problems]
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def preflight(inventory: Inventory, paths: ClusterPaths) -> list[NodeReport]:
    """Every node's check as the inventory's launcher does it; the head's own problems raise."""
    if problem := doctor.check_controller_ip(inventory):
        raise InputError(problem)
    launcher = inventory.mode
    if problem := launcher.check_head(inventory):
        raise RaidenError(problem)
    return await launcher.preflight(inventory, paths)


async def up(inventory: Inventory, paths: ClusterPaths, timeout: float = UP_TIMEOUT_S) -> Outcome:
    """Preflight, start the supervisor, and wait until every planned engine registered."""
    outcome = Outcome()
    if control.is_running(paths):
        status = await asyncio.to_thread(cluster_status, inventory, paths)
        outcome.said.append(
            f"cluster '{inventory.name}' is already running (supervisor pid "
            f"{status['supervisor_pid']}, {status['engines']['alive']} engines); nothing changed"
        )
        outcome.status = status
        return outcome
    if warning := inventory.plaintext_warning:
        outcome.warnings.append(warning)
    outcome.said += await clean_up_after_crash(inventory, paths)
    reports = await preflight(inventory, paths)
    launcher = inventory.mode
    plan = Plan(str(inventory.path.resolve()) if inventory.path else None, inventory.seat)
    if launcher.finds_nodes:
        if problem := launcher.blocking_problem(reports):
            raise RaidenError(problem)
    else:
        for report in reports:
            outcome.skipped += [f"{report.host}: {p.removeprefix(report.host + ': ')}" for p in report.problems]
            outcome.warnings += report.warnings
        passed = [r for r in reports if r.ok]
        if not passed:
            outcome.ok = False
            outcome.problems.append(f"no node of '{inventory.name}' passed the preflight; nothing was started")
            return outcome
        for r in passed:
            plan.plan_node(
                r.host, PlannedNode(inventory.engines_for(inventory.node(r.host), r.cores), r.arch, r.cores, r.boot_id)
            )
        for r in reports:
            if not r.ok:
                plan.skip(r.host, "; ".join(r.problems))
    daemon = _spawn_supervisor(paths, plan)
    await wait_until_up(inventory, paths, daemon, timeout, sorted(plan.skipped), None, outcome)
    return outcome


async def restart_node(inventory: Inventory, paths: ClusterPaths, host: str, timeout: float = UP_TIMEOUT_S) -> Outcome:
    """Restart one node's engines (same ids) and wait until they registered again."""
    if refusal := inventory.mode.restart_refusal(inventory, host):
        raise RaidenError(refusal)
    inventory.node(host)
    if not control.is_running(paths):
        raise NotRunning(f"cluster '{inventory.name}' is not running; start it with `raiden up`")
    reply = await asyncio.to_thread(control.request, paths, {"op": "restart", "host": host})
    if not reply.get("ok"):
        raise RaidenError(reply.get("error", "restart failed"))
    outcome = Outcome()
    await wait_until_up(inventory, paths, None, timeout, [], [host], outcome)
    return outcome


async def down(inventory: Inventory, paths: ClusterPaths, timeout: float = DOWN_TIMEOUT_S) -> Outcome:
    """Stop every engine, the controller and the supervisor; clean up after one that died."""
    outcome = Outcome()
    if not control.is_running(paths):
        # A supervisor that was killed cannot clean up: do it here.
        left = await sweep_nodes(inventory, paths, kill=True, close=True)
        outcome.said.append(f"cluster '{inventory.name}' is not running")
        outcome.said += await clean_up_after_crash(inventory, paths)
        outcome.said += [f"killed {len(procs)} leftover engine processes on {host}" for host, procs in left.items()]
        return outcome
    pid = control.supervisor_pid(paths)
    try:  # a damaged state file must not keep the cluster from stopping
        status: dict[str, Any] | None = await asyncio.to_thread(cluster_status, inventory, paths)
        last_event = max((e["id"] for e in cluster_events(paths, limit=1)), default=0)
    except RaidenError as e:
        outcome.warnings.append(str(e))
        status, last_event = None, 0
    await asyncio.to_thread(control.request, paths, {"op": "stop"})
    deadline = time.monotonic() + timeout
    while control.is_running(paths) or _alive(pid):
        if time.monotonic() > deadline:
            raise RaidenError(
                f"cluster '{inventory.name}': supervisor pid {pid} did not stop within {timeout:g} s; see {paths.log}"
            )
        await asyncio.sleep(0.1)
    if status is None:
        outcome.said.append(f"cluster '{inventory.name}' stopped")
        return outcome
    with contextlib.suppress(RaidenError):
        killed = [
            e for e in cluster_events(paths, limit=200) if e["id"] > last_event and e["kind"] == Event.LEFTOVERS_KILLED
        ]
        outcome.said += [f"{e['host']}: {e['message']}" for e in killed]
    checked = [n for n in status["nodes"] if n["state"] not in GONE and n["state"] != NodeState.OFF]
    unreached = [n["host"] for n in status["nodes"] if n["state"] == NodeState.DOWN]
    outcome.said.append(
        f"cluster '{inventory.name}' stopped; no engine left on {len(checked)} node{'s' if len(checked) != 1 else ''}"
    )
    if unreached:
        outcome.warnings.append(
            f"could not reach {', '.join(unreached)} to check; engines there stop by themselves when they "
            "notice the lost connection (`raiden doctor` shows any that did not)"
        )
    return outcome


async def clean_up_after_crash(inventory: Inventory, paths: ClusterPaths) -> list[str]:
    """What a killed supervisor left on the head (its controller) and outside it (a batch job)."""
    said = []
    if await asyncio.to_thread(control.kill_stray_controllers, paths):
        said.append("killed the controller left behind by a supervisor that died")
    said += await asyncio.to_thread(inventory.mode.clean_up_after, inventory, paths)
    return said


async def status(inventory: Inventory, paths: ClusterPaths) -> dict[str, Any]:
    """The cluster's status model (``raiden status --json``)."""
    return await asyncio.to_thread(cluster_status, inventory, paths)


def status_problem(status: dict[str, Any], inventory: Inventory) -> bool:
    """True when a running cluster has a node down or failed, or its job ended: exit code 1."""
    bad = [n for n in status["nodes"] if n["state"] in GONE]
    return status["state"] != ClusterState.STOPPED and bool(bad or _job_problem(status, inventory))


def _spawn_supervisor(paths: ClusterPaths, plan: Plan) -> subprocess.Popen:
    env = dict(os.environ, RAIDEN_HOME=str(paths.root.parent.resolve()))
    with os.fdopen(os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "raiden_lab.daemon.supervisor"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=paths.root,
            start_new_session=True,
        )
    assert daemon.stdin is not None
    daemon.stdin.write(json.dumps(plan.to_dict()).encode())
    daemon.stdin.close()
    return daemon


def _job_problem(status: dict[str, Any], inventory: Inventory) -> str | None:
    launcher = inventory.mode
    return next((p for job in status["jobs"] if (p := launcher.job_problem(job))), None)


async def wait_until_up(
    inventory: Inventory,
    paths: ClusterPaths,
    daemon: subprocess.Popen | None,
    timeout: float,
    skipped: list[str],
    hosts: list[str] | None,
    outcome: Outcome,
) -> None:
    wanted = inventory.mode.engines_wanted(inventory)
    deadline = time.monotonic() + timeout
    while True:
        if daemon is not None and daemon.poll() is not None:
            raise RaidenError(
                f"cluster '{inventory.name}': the supervisor exited (code {daemon.returncode}); "
                f"see {paths.log}:\n{_tail(paths.log)}"
            )
        try:
            status = await asyncio.to_thread(cluster_status, inventory, paths)
        except RaidenError:  # a damaged state file, until the new supervisor moved it aside
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        outcome.status = status
        if daemon is not None and status.get("supervisor_pid") != daemon.pid:
            await asyncio.sleep(0.2)  # still the state a killed supervisor left: the new one has not begun
            continue
        nodes = [n for n in status["nodes"] if hosts is None or n["host"] in hosts]
        waiting = [
            n
            for n in nodes
            if n["state"] == NodeState.STARTING
            or (n["state"] == NodeState.UP and any(e["state"] == EngineState.STARTING for e in n["engines"]))
        ]
        if problem := _job_problem(status, inventory):
            outcome.ok = False
            outcome.problems.append(
                f"{problem}; fix [{inventory.launcher}] in {inventory.source} if it asked for "
                "too much, then `raiden down` and `raiden up` (`raiden events` tells what happened)"
            )
            return
        if wanted is not None and status["engines"]["alive"] < wanted:
            jobs = ", ".join(str(j.get("id")) for j in status["jobs"]) or "(not submitted yet)"
            waiting = waiting or [{"host": f"{inventory.launcher} job {jobs}", "engines": []}]
        if not waiting and status["state"] != ClusterState.STOPPED and nodes:
            break
        if time.monotonic() > deadline:
            names = ", ".join(
                f"{n['host']} (engines {', '.join(str(e['id']) for e in n['engines'] if e['state'] == EngineState.STARTING)})"
                for n in waiting
            )
            outcome.ok = False
            outcome.problems.append(
                f"engines did not register within {timeout:g} s: {names}; see {paths.log} "
                "and the logs in each node's work folder"
            )
            return
        await asyncio.sleep(0.2)
    failed = [n for n in nodes if n["state"] in GONE and n["host"] not in skipped]
    outcome.problems += [n["problem"] or f"{n['host']} failed" for n in failed]
    alive = [n for n in nodes if n["state"] == NodeState.UP]
    counts = sorted({len(n["engines"]) for n in alive})
    if len(alive) > 8 and len(counts) == 1:  # past a handful of nodes, a list of them is a wall of text
        per_node = f"{counts[0]} each"
    else:
        per_node = ", ".join(f"{n['host']}: {len(n['engines'])}" for n in alive)
    engines = sum(len(n["engines"]) for n in alive)
    outcome.said.append(
        f"cluster '{inventory.name}' is up: {engines} engines on {len(alive)} "
        f"node{'s' if len(alive) != 1 else ''} ({per_node})"
    )
    if skipped or failed:
        outcome.ok = False
        outcome.problems.append(f"not started on {', '.join(skipped + [n['host'] for n in failed])}")
    elif hosts is None:
        outcome.said.append(f"attach with raiden_lab.connect({inventory.name!r})")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def up_sync(inventory: Inventory, paths: ClusterPaths, timeout: float = UP_TIMEOUT_S) -> Outcome:
    return run_sync(up(inventory, paths, timeout))


def down_sync(inventory: Inventory, paths: ClusterPaths, timeout: float = DOWN_TIMEOUT_S) -> Outcome:
    return run_sync(down(inventory, paths, timeout))


def restart_node_sync(inventory: Inventory, paths: ClusterPaths, host: str, timeout: float = UP_TIMEOUT_S) -> Outcome:
    return run_sync(restart_node(inventory, paths, host, timeout))


def status_sync(inventory: Inventory, paths: ClusterPaths) -> dict[str, Any]:
    return run_sync(status(inventory, paths))
