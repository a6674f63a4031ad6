"""The head's view of one node: how to reach it, its work folder, its report, its leftovers.

Shared by the preflight, provisioning, every launcher and ``raiden down``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from ..aio import each_node
from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from . import ssh
from .remote import source

# What engines need at the same version as the head (psutil for the metrics agent,
# raiden_lab for the functions that @raiden_lab.jit sends).
CHECKED_PACKAGES = ("ipyparallel", "pyzmq", "numba", "cloudpickle", "jupyter_client", "psutil", "raiden_lab")


@dataclass
class NodeReport:
    """What the preflight found on one node, and what stops engines there (``problems``)."""

    host: str
    ok: bool = False
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    python: str | None = None
    executable: str | None = None
    arch: str | None = None
    libc: str | None = None
    cores: int | None = None
    memory: int | None = None
    disk_free: int | None = None
    work_dir: str | None = None
    packages: dict[str, str | None] = field(default_factory=dict)
    clock_skew: float | None = None
    rtt: float | None = None
    boot_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def head_versions(packages: tuple[str, ...] = CHECKED_PACKAGES) -> dict[str, str | None]:
    from .. import code_version

    versions: dict[str, str | None] = {"raiden_lab": code_version()} if "raiden_lab" in packages else {}
    for name in packages:
        if name in versions:
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def work_dir_for(inventory: Inventory, node: Node, paths: ClusterPaths) -> str:
    """The node's folder for caches and logs: its own setting, else one per cluster."""
    if node.work_dir:
        return node.work_dir
    if node.is_local:
        return str(paths.local_work_dir)
    return f"~/.raiden/{inventory.name}/node"


def target_for(node: Node, paths: ClusterPaths) -> ssh.Target:
    # a seat trusts only the host keys its class's cluster recorded: nothing new is accepted under a student
    return ssh.Target(
        node=node, known_hosts=paths.known_hosts, control_dir=paths.ssh_control_dir, pinned_only=paths.is_seat
    )


def engine_set_marker(inventory: Inventory, host: str, paths: ClusterPaths) -> str:
    """What tags every engine process of one node, so a sweep finds them and nothing else."""
    return f"{inventory.name}@{host}:{work_dir_for(inventory, inventory.node(host), paths)}"


async def sweep_nodes(
    inventory: Inventory, paths: ClusterPaths, nodes: list[Node] | None = None, kill: bool = False, close: bool = False
) -> dict[str, list[dict]]:
    """Engine processes still alive on each node (killed with ``kill``), by host.

    With ``close``, each node's SSH connection is closed afterwards.
    """

    async def one(node: Node) -> tuple[str, list[dict]]:
        target = target_for(node, paths)
        if not (await ssh.ensure_master(target)).ok:
            return node.host, []
        marker = engine_set_marker(inventory, node.host, paths)
        argv = [node.python, "-I", "-", marker] + (["--kill"] if kill else [])
        result = await ssh.run(target, argv, input=source("sweep"), timeout=30)
        if close:
            ssh.close_master(target)
        try:
            return node.host, json.loads(result.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return node.host, []

    found = await each_node(one(n) for n in (nodes if nodes is not None else inventory.nodes))
    return {host: procs for host, procs in found if procs}
