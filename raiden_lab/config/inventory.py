"""The inventory: which nodes make up a cluster, read from ``raiden.toml``.

Every error names the file and line it comes from (``PATH:LINE: what is wrong``)
because the person fixing it has the file open, not the parsed dict.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from .. import launchers
from ..classroom.settings import CLASS, ClassSettings
from ..classroom.settings import validate as validate_class
from ..errors import InputError
from . import power
from .clustertables import CLUSTER, NODE_DEFAULTS, NODES, TOP
from .syntax import key_lines, port_range, size
from .tables import TABLE, Setting, Table

DEFAULT_PATH = "raiden.toml"
# set by `raiden lab -i FILE` for JupyterLab and every kernel it starts: their folders' cluster
INVENTORY_ENV = "RAIDEN_INVENTORY"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Node:
    """One machine of the cluster and how to reach it."""

    host: str
    user: str | None = None
    port: int = 22
    identity_file: str | None = None
    python: str = "python3"
    engines: int | None = None
    work_dir: str | None = None
    power_sensor: str | None = None  # a file on the node: its power draw in microwatts
    memory_per_engine: int | None = None  # bytes one engine (with what it started) may hold; the runner enforces it
    labels: tuple[str, ...] = ()
    slot: str | None = None  # where it sits in its case or PDU: {slot} in a power hook
    power_hooks: tuple[tuple[str, tuple[str, ...]], ...] = ()  # its power hooks ([cluster]'s, or its own)

    def power_command(self, action: str) -> list[str] | None:
        """The argument list that turns it ``on``/``off`` or asks its ``status``; None without that hook."""
        return power.command(dict(self.power_hooks), action, self.host, self.slot)

    @property
    def is_local(self) -> bool:
        """Local nodes run their engines as child processes, without SSH."""
        return self.host in LOCAL_HOSTS


@dataclass(frozen=True)
class Inventory:
    """A validated ``raiden.toml`` (or the embedded default when ``path`` is None)."""

    name: str
    controller_ip: str
    nodes: tuple[Node, ...]
    path: Path | None = None
    engines_per_node: int | None = None
    encrypt_setting: bool | None = None  # [cluster] encrypt, as written (None: not written)
    ports: tuple[int, int] | None = None  # [cluster] ports: the controller's port range
    launcher: str = "ssh"  # [cluster] launcher: how engines start (raiden_lab.launchers)
    settings: Any = None  # the launcher's own [NAME] table, as it validated it
    classroom: ClassSettings = ClassSettings()  # [class]: the seats a class hands out
    seat: int | None = None  # this is seat N of a class (classroom.seatinventory.seat_inventory)
    power_settings: power.PowerSettings = power.PowerSettings()  # [cluster]'s power opt-ins
    lines: dict[tuple[str, int, str | None], int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def mode(self) -> Any:
        """The launch mode of ``launcher = "NAME"`` (a ``launchers.mode.LaunchMode``): the registry's, found once."""
        return launchers.get(self.launcher)

    @property
    def encrypted(self) -> bool:
        """CurveZMQ between head and nodes: on whenever a node is not this machine, unless turned off."""
        if self.encrypt_setting is not None:
            return self.encrypt_setting
        return bool(self.remote_hosts)

    @property
    def remote_hosts(self) -> list[str]:
        """Nodes reached over a network; for a launcher that finds its nodes (Slurm), a description of them."""
        if not self.nodes and hasattr(self.settings, "describe_nodes"):
            return [self.settings.describe_nodes()]
        return [n.host for n in self.nodes if not n.is_local]

    @property
    def local_only(self) -> bool:
        """Every node is this machine: the controller then needs no network at all (``ipc://`` sockets)."""
        return not self.remote_hosts

    @property
    def plaintext_warning(self) -> str | None:
        """A warning when the inventory turned encryption off for nodes on a network."""
        remote = self.remote_hosts
        if self.encrypt_setting is False and remote:
            return (
                f"{self.where('encrypt')}: encrypt = false: the traffic between the head and "
                f"{', '.join(remote)} is not encrypted; anyone on that network can read it and send "
                "commands with the key it carries"
            )
        return None

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "(embedded default)"

    def where(self, key: str, host: str | None = None) -> str:
        """``PATH:LINE`` of a key (of the [cluster] table, or of one node) for error messages."""
        if self.path is None:
            return self.source
        table, index = ("cluster", 0)
        if "." in key:
            table, key = key.split(".", 1)
        if host is not None:
            table, index = "nodes", [n.host for n in self.nodes].index(host)
        line = self.lines.get((table, index, key)) or self.lines.get((table, index, None)) or 1
        return f"{self.path}:{line}"

    def node(self, host: str) -> Node:
        for node in self.nodes:
            if node.host == host:
                return node
        known = ", ".join(n.host for n in self.nodes)
        raise InputError(f"{self.source}: no node '{host}' in the inventory (nodes: {known})")

    def engines_for(self, node: Node, cores: int | None) -> int:
        """Engines to start on ``node``: its own setting, the cluster's, else one per core."""
        if node.engines is not None:
            return node.engines
        if self.engines_per_node is not None:
            return self.engines_per_node
        return max(1, cores or os.cpu_count() or 1)


def embedded_default() -> Inventory:
    """One local node with one engine per core: what a laptop, a workshop or CI uses."""
    return Inventory(
        name="local",
        controller_ip="127.0.0.1",
        nodes=(Node(host="localhost", python=sys.executable),),
    )


def resolve(path: str | os.PathLike[str] | None) -> Inventory:
    """The inventory a command should use: ``path``, else ``./raiden.toml``, else ``$RAIDEN_INVENTORY``
    (the one ``raiden lab -i FILE`` was started with), else the default."""
    if path is not None:
        return load(path)
    if Path(DEFAULT_PATH).is_file():
        return load(DEFAULT_PATH)
    if os.environ.get(INVENTORY_ENV):
        return load(os.environ[INVENTORY_ENV])
    return embedded_default()


def load(path: str | os.PathLike[str], nodes_required: bool = True) -> Inventory:
    """Read and validate an inventory file; raise InputError with ``PATH:LINE`` on any mistake.

    ``nodes_required=False`` (``raiden add``): a file with no ``[[nodes]]`` yet is an inventory too.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such inventory file; create one with `raiden init {p}`") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read the inventory ({e.__class__.__name__}: {e})") from None
    return parse(text, p, nodes_required)


def parse(text: str, path: Path, nodes_required: bool = True) -> Inventory:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = int(m.group(1)) if m else 1
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "invalid TOML"
        raise InputError(f"{path}:{line}: not valid TOML: {msg}") from None
    return Validator(text, path, nodes_required).validate(data)


class Validator:
    def __init__(self, text: str, path: Path, nodes_required: bool = True) -> None:
        self.path = path
        self.nodes_required = nodes_required
        self.lines = key_lines(text)

    def fail(self, where: tuple[str, int, str | None], what: str) -> None:
        table, index, key = where
        line = self.lines.get(where) or self.lines.get((table, index, None)) or 1
        raise InputError(f"{self.path}:{line}: {what}")

    def check_table(self, table: Table, index: int, data: dict[str, Any], label: str | None = None) -> None:
        """Every key of one TOML table against its declaration (``config/tables.py``)."""
        name = label if label is not None else table.name
        table.check(data, lambda key, what: self.fail((name, index, key), what), name)

    def validate(self, data: dict[str, Any]) -> Inventory:
        # every launcher's settings live in a table of its name: [mpi], [slurm]
        self.check_table(TOP.plus("", (Setting(n, TABLE, "") for n in launchers.names())), 0, data)
        cluster = data.get("cluster", {})
        self.check_table(CLUSTER, 0, cluster)
        self.check_table(CLASS, 0, data.get("class", {}))
        self.classroom = validate_class(data.get("class", {}), lambda key, what: self.fail(("class", 0, key), what))
        name = cluster.get("launcher", "ssh")
        launcher = launchers.get(name)
        for table in launchers.names():
            if table not in data:
                continue
            keys = launcher.settings_table if table == name else None
            if table != name:
                self.fail(
                    (table, 0, None),
                    f"a [{table}] table, but launcher is '{name}'; "
                    f'set launcher = "{table}" in [cluster] or remove [{table}]',
                )
            if keys is None:
                self.fail((table, 0, None), f"launcher '{name}' takes no [{table}] table; remove it")
            self.check_table(keys, 0, data[table], table)
        if launcher.finds_nodes:
            settings = launcher.validate(self, data, cluster, [])
            return self.inventory(cluster, (), name, settings, cluster["controller_ip"])
        raw_nodes = data.get("nodes")
        if not raw_nodes and self.nodes_required:
            self.fail(
                ("", 0, None),
                "no nodes; add one with `raiden add HOST` (or a [[nodes]] table with a host for each machine)",
            )
        raw_nodes = raw_nodes or []
        nodes: list[Node] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_nodes):
            if not isinstance(raw, dict):
                self.fail(("", 0, "nodes"), "'nodes' must be an array of tables ([[nodes]])")
            self.check_table(NODES, i, raw)
            if "host" not in raw:
                self.fail(("nodes", i, None), f"node {i + 1} has no 'host'; add host = \"name or address\"")
            host = raw["host"]
            if host in seen:
                self.fail(("nodes", i, "host"), f"host '{host}' is listed twice (first as node {seen[host] + 1})")
            seen[host] = i
            merged = {k: cluster[k] for k in (*(s.name for s in NODE_DEFAULTS), *power.HOOK_KEYS) if k in cluster} | raw
            hooks = tuple((k, tuple(merged[k])) for k in power.HOOK_KEYS if k in merged)
            if "slot" not in raw and any("{slot}" in arg for _, hook in hooks for arg in hook):
                self.fail(("nodes", i, None), f"node '{host}': its power hooks use {{slot}}; give it a slot = ...")
            local = host in LOCAL_HOSTS
            nodes.append(
                Node(
                    host=host,
                    user=merged.get("user"),
                    port=merged.get("port", 22),
                    identity_file=_expand_local(merged.get("identity_file"), self.path),
                    python=merged.get("python", sys.executable if local else "python3"),
                    engines=raw.get("engines"),
                    work_dir=merged.get("work_dir"),
                    power_sensor=merged.get("power_sensor"),
                    memory_per_engine=size(merged["memory_per_engine"]) if "memory_per_engine" in merged else None,
                    labels=tuple(merged.get("labels", ())),
                    slot=str(raw["slot"]) if "slot" in raw else None,
                    power_hooks=hooks,
                )
            )
        work_dirs: dict[str, str] = {}
        for i, node in enumerate(nodes):
            # The virtual cluster (and NFS homes) share one file system: two nodes
            # writing caches and logs to one folder would trample each other.
            if node.work_dir and not node.is_local and "work_dir" in raw_nodes[i]:
                if node.work_dir in work_dirs:
                    self.fail(
                        ("nodes", i, "work_dir"),
                        f"work_dir {node.work_dir!r} is also node '{work_dirs[node.work_dir]}''s; give each node its own",
                    )
                work_dirs[node.work_dir] = node.host
        remote = [n for n in nodes if not n.is_local]
        controller_ip = cluster.get("controller_ip")
        if controller_ip is None:
            if remote:
                self.fail(
                    ("cluster", 0, None),
                    f"controller_ip is missing in [cluster]; set it to the head's address that {remote[0].host} reaches",
                )
            controller_ip = "127.0.0.1"
        elif remote and ipaddress.ip_address(controller_ip).is_loopback:
            self.fail(
                ("cluster", 0, "controller_ip"),
                f"controller_ip {controller_ip} is a loopback address that {remote[0].host} cannot reach; use the head's network address",
            )
        settings = launcher.validate(self, data, cluster, nodes)
        return self.inventory(cluster, tuple(nodes), name, settings, controller_ip)

    def inventory(
        self, cluster: dict[str, Any], nodes: tuple[Node, ...], launcher: str, settings: Any, controller_ip: str
    ) -> Inventory:
        return Inventory(
            name=cluster.get("name", "raiden"),
            controller_ip=controller_ip,
            nodes=nodes,
            path=self.path,
            engines_per_node=cluster.get("engines_per_node"),
            encrypt_setting=cluster.get("encrypt"),
            ports=port_range(cluster["ports"]) if "ports" in cluster else None,
            launcher=launcher,
            settings=settings,
            classroom=self.classroom,
            power_settings=power.settings(cluster),
            lines=self.lines,
        )


def _expand_local(value: str | None, inventory: Path) -> str | None:
    """Identity files live on the head: expand ``~`` and resolve relative to the inventory."""
    if value is None:
        return None
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = inventory.parent / p
    return str(p)


def example() -> str:
    """The commented example that ``raiden init`` writes (``example.toml`` beside this module)."""
    return files("raiden_lab.config").joinpath("example.toml").read_text(encoding="utf-8")
