"""Preflight: find the node that would fail before its engines do.

Engines on a node with another Python minor, or other versions of the
packages that pickle and route messages, fail late and obscurely; here each
node is checked in parallel and every problem is one sentence naming the node
and the fix.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from typing import Any

from ..aio import each_node, printable, run_sync
from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from ..transport import ssh
from ..transport.nodes import CHECKED_PACKAGES, NodeReport, head_versions, target_for, work_dir_for
from ..transport.remote import source

__all__ = [
    "CHECKED_PACKAGES",
    "NodeReport",
    "check",
    "check_controller_ip",
    "check_node",
    "format_table",
    "head_versions",
    "judge",
]

SKEW_WARN_S = 1.0
DISK_WARN_BYTES = 500 * 2**20


PROBE_TIMEOUT_S = float(os.environ.get("RAIDEN_PROBE_TIMEOUT", "60"))  # a Pi under load may be slow


async def check_node(inventory: Inventory, node: Node, paths: ClusterPaths) -> NodeReport:
    report = NodeReport(host=node.host)
    target = target_for(node, paths)
    opened = await ssh.ensure_master(target)
    if not opened.ok:
        report.problems.append(ssh.explain(node.host, opened))
        return report
    skew, report.rtt = await ssh.clock_skew(target)  # the quickest of its round trips is the node's
    if report.rtt is None:  # no `date` there
        report.rtt = await ssh.round_trip(target)
    argv = [node.python, "-I", "-", work_dir_for(inventory, node, paths), *packages_for(inventory)]
    result = await ssh.run(target, argv, input=source("probe"), timeout=PROBE_TIMEOUT_S)
    received = time.time()
    if result.returncode == 124:
        report.problems.append(
            f"{node.host}: it accepts SSH but its Python did not answer within {PROBE_TIMEOUT_S:g} s; "
            f"try `ssh {node.host} {node.python} -c 1` there, and look at the node's load and disk"
        )
        return report
    if result.returncode == 127 or (result.returncode != 0 and b"No such file" in result.stderr):
        report.problems.append(
            f"{node.host}: no Python at '{node.python}' there; set 'python' for {node.host} in "
            f"{inventory.source} to the node's interpreter"
        )
        return report
    try:
        found = json.loads(result.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError, RecursionError):
        report.problems.append(ssh.explain(node.host, result, what=f"the preflight probe with '{node.python}'"))
        return report
    if not isinstance(found, dict) or not isinstance(found.get("time"), int | float) or isinstance(found["time"], bool):
        report.problems.append(
            f"{node.host}: its preflight probe answered with something else than a probe's report; "
            f"is '{node.python}' a plain Python there?"
        )
        return report
    for key in (
        "python",
        "executable",
        "arch",
        "libc",
        "cores",
        "memory",
        "disk_free",
        "work_dir",
        "packages",
        "boot_id",
    ):
        value = found.get(key)
        if key in ("cores", "memory", "disk_free") and (not isinstance(value, int) or isinstance(value, bool)):
            value = None  # a count, or nothing: whatever else a node says is not used
        if key == "packages":
            value = (
                {printable(k): printable(v) for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
                if isinstance(value, dict)
                else {}
            )
        # a node's words reach terminals and the sidebar: its control characters are shown escaped
        setattr(report, key, printable(value) if isinstance(value, str) else value)
    # else the probe's stamp: made before its Python ends and SSH closes, which a loaded node takes seconds over
    report.clock_skew = skew if skew is not None else found["time"] - (received - (report.rtt or 0) / 2)
    judge(report, found, node)
    inventory.mode.judge(report, found, node)
    report.ok = not report.problems
    return report


def packages_for(inventory: Inventory) -> tuple[str, ...]:
    return CHECKED_PACKAGES + inventory.mode.node_packages(inventory)


def judge(report: NodeReport, found: dict[str, Any], node: Node) -> None:
    host = node.host
    head_minor = ".".join(platform.python_version_tuple()[:2])
    minor = ".".join(str(report.python).split(".")[:2])
    if minor != head_minor:
        report.problems.append(  # pickled functions and numba's caches are specific to one Python minor
            f"{host}: Python {minor} there, {head_minor} on the head; give {host} a Python {head_minor} "
            f"('python' in the inventory), or make the head's environment with Python {minor} "
            f"(`python{minor} -m venv .venv`)"
        )
    for name, want in head_versions().items():
        have = report.packages.get(name)
        if want is None or have == want:
            continue
        if have is None:
            report.problems.append(
                f"{host}: {name} is not installed there, {want} on the head; install {name}=={want} "
                f"on {host} (`raiden provision {host}` does it)"
            )
        elif name == "raiden_lab":
            report.problems.append(
                f"{host}: runs other Raiden code ({have}) than the head ({want}); "
                f"`raiden provision {host}` gives it the head's"
            )
        else:
            report.problems.append(f"{host}: {name} {have} there, {want} on the head; install {want} on {host}")
    if found.get("work_dir_error"):
        report.problems.append(
            f"{host}: cannot create the work folder {report.work_dir} ({printable(str(found['work_dir_error']))}); set 'work_dir' for {host}"
        )
    if report.clock_skew is not None and abs(report.clock_skew) > SKEW_WARN_S:
        report.warnings.append(
            f"{host}: clock is {report.clock_skew:+.1f} s off the head's; enable NTP (timesyncd) on {host}"
        )
    if report.disk_free is not None and report.disk_free < DISK_WARN_BYTES:
        report.warnings.append(f"{host}: only {_size(report.disk_free)} free in {report.work_dir}")
    report.ok = not report.problems


def check_controller_ip(inventory: Inventory) -> str | None:
    """The controller binds to ``controller_ip``: it must be one of the head's own addresses."""
    family = socket.AF_INET6 if ":" in inventory.controller_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((inventory.controller_ip, 0))
        except OSError:
            return (
                f"{inventory.where('controller_ip')}: controller_ip {inventory.controller_ip} is not an address "
                f"of this machine; use the head's own address on the nodes' network"
            )
    return None


async def check(inventory: Inventory, paths: ClusterPaths, hosts: list[str] | None = None) -> list[NodeReport]:
    """Check every node (or those named), 16 at a time; reports keep the inventory's order."""
    nodes = [n for n in inventory.nodes if hosts is None or n.host in hosts]
    return await each_node(check_node(inventory, n, paths) for n in nodes)


def check_sync(inventory: Inventory, paths: ClusterPaths, hosts: list[str] | None = None) -> list[NodeReport]:
    return run_sync(check(inventory, paths, hosts))


def format_table(reports: list[NodeReport]) -> str:
    header = ("HOST", "OK", "PYTHON", "ARCH", "CORES", "MEMORY", "DISK FREE", "SKEW", "RTT")
    rows = [header]
    for r in reports:
        rows.append(
            (
                r.host,
                "yes" if r.ok else "NO",
                r.python or "-",
                r.arch or "-",
                str(r.cores) if r.cores else "-",
                _size(r.memory) if r.memory else "-",
                _size(r.disk_free) if r.disk_free is not None else "-",
                f"{r.clock_skew:+.2f}s" if r.clock_skew is not None else "-",
                f"{r.rtt * 1000:.0f}ms" if r.rtt is not None else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in reports:
        lines += [f"  problem: {p}" for p in r.problems]
        lines += [f"  warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
