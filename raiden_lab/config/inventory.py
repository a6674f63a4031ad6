"""The inventory: which nodes make up a cluster, read from ``raiden.toml``.

Every error names the file and line it comes from (``PATH:LINE: what is wrong``)
because the person fixing it has the file open, not the parsed dict.
"""

from __future__ import annotations

import difflib
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
from ..classroom.settings import CLASS_KEYS, ClassSettings
from ..classroom.settings import validate as validate_class
from ..errors import InputError
from . import power
from .syntax import is_host, is_ip, key_lines, port_range, toml_type, unknown_key

DEFAULT_PATH = "raiden.toml"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# key -> (accepted types, description used in errors)
SHARED_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "user": ((str,), "a string"),
    "port": ((int,), "an integer"),
    "identity_file": ((str,), "a string"),
    "python": ((str,), "a string"),
    "work_dir": ((str,), "a string"),
    "labels": ((list,), "a list of strings"),
}
CLUSTER_KEYS = {
    "name": ((str,), "a string"),
    "controller_ip": ((str,), "a string"),
    "engines_per_node": ((int,), "an integer"),
    "encrypt": ((bool,), "true or false"),
    "ports": ((str,), 'a port range like "10100-10139"'),
    "launcher": ((str,), "the name of a launcher"),
    **SHARED_KEYS,
    **power.CLUSTER_KEYS,
}
NODE_KEYS = {"host": ((str,), "a string"), "engines": ((int,), "an integer"), **SHARED_KEYS, **power.NODE_KEYS}
TOP_KEYS = {
    "cluster": ((dict,), "a table"),
    "nodes": ((list,), "an array of tables"),
    "class": ((dict,), "a table"),
}

# the controller listens on this many ports (registration, heartbeats, queues, schedulers), measured
MIN_CONTROLLER_PORTS = 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")  # a newline in a path could start a line of an ssh_config
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$")


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
    """The inventory a command should use: ``path``, else ``./raiden.toml``, else the default."""
    if path is not None:
        return load(path)
    if Path(DEFAULT_PATH).is_file():
        return load(DEFAULT_PATH)
    return embedded_default()


def load(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate an inventory file; raise InputError with ``PATH:LINE`` on any mistake."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such inventory file; create one with `raiden init {p}`") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read the inventory ({e.__class__.__name__}: {e})") from None
    return parse(text, p)


def parse(text: str, path: Path) -> Inventory:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = int(m.group(1)) if m else 1
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "invalid TOML"
        raise InputError(f"{path}:{line}: not valid TOML: {msg}") from None
    return Validator(text, path).validate(data)


class Validator:
    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self.lines = key_lines(text)

    def fail(self, where: tuple[str, int, str | None], what: str) -> None:
        table, index, key = where
        line = self.lines.get(where) or self.lines.get((table, index, None)) or 1
        raise InputError(f"{self.path}:{line}: {what}")

    def check_keys(self, table: str, index: int, data: dict[str, Any], allowed: dict) -> None:
        for key, value in data.items():
            where = (table, index, key)
            if key not in allowed:
                self.fail(where, unknown_key(table, key, value, list(allowed)))
            types, desc = allowed[key]
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                self.fail(where, f"'{key}' must be {desc}, not {toml_type(value)} ({value!r})")
            self.check_value(where, key, value)

    def check_value(self, where: tuple[str, int, str | None], key: str, value: Any) -> None:
        if key == "name" and not _NAME_RE.fullmatch(value):
            self.fail(
                where, f"cluster name {value!r} is not a plain name; use letters, digits, '-' and '_' (at most 64)"
            )
        elif key == "controller_ip" and not is_ip(value):
            self.fail(
                where, f"controller_ip {value!r} is not an IP address; give the head's address that the nodes reach"
            )
        elif key == "host" and not is_host(value):
            self.fail(where, f"host {value!r} is not a hostname or IP address")
        elif key == "user" and not USER_RE.fullmatch(value):
            self.fail(where, f"user {value!r} is not a plain user name (letters, digits, '_', '-', '.')")
        elif key == "port" and not 1 <= value <= 65535:
            self.fail(where, f"port {value} is out of range; use 1 to 65535")
        elif key == "ports":
            span = port_range(value)
            if span is None:
                self.fail(where, f'ports {value!r} is not a range; write it as "FIRST-LAST", e.g. "10100-10139"')
            first, last = span
            if not 1024 <= first <= last <= 65535:
                self.fail(where, f"ports {value!r}: use ports from 1024 to 65535, the first no larger than the last")
            if last - first + 1 < MIN_CONTROLLER_PORTS:
                self.fail(
                    where,
                    f"ports {value!r} gives {last - first + 1} ports; the controller needs at least "
                    f'{MIN_CONTROLLER_PORTS} (e.g. "{first}-{first + MIN_CONTROLLER_PORTS - 1}")',
                )
        elif key in ("engines", "engines_per_node") and value <= 0:
            self.fail(where, f"'{key}' must be at least 1, not {value}")
        elif key in ("python", "identity_file", "work_dir") and (not value.strip() or _CONTROL_RE.search(value)):
            self.fail(where, f"'{key}' must be a path, not {value!r}")
        elif key == "launcher" and value not in launchers.names():
            known = launchers.names()
            near = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            self.fail(where, f"launcher {value!r} is not one of {', '.join(repr(x) for x in known)}{hint}")
        elif key in ("args", "sbatch_options"):
            for item in value:
                if not isinstance(item, str) or not item or _CONTROL_RE.search(item):
                    self.fail(where, f"'{key}' must be a list of non-empty strings, one argument each; {item!r} is not")
        elif key in power.HOOK_KEYS:
            power.check_hook(key, value, lambda what: self.fail(where, what))
        elif key == "slot":
            power.check_slot(value, lambda what: self.fail(where, what))
        elif key == "labels":
            for label in value:
                if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
                    self.fail(where, f"label {label!r} must be a short plain string (letters, digits, '_.:=-')")

    def validate(self, data: dict[str, Any]) -> Inventory:
        # every launcher's settings live in a table of its name: [mpi], [slurm]
        self.check_keys("", 0, data, TOP_KEYS | {n: ((dict,), "a table") for n in launchers.names()})
        cluster = data.get("cluster", {})
        self.check_keys("cluster", 0, cluster, CLUSTER_KEYS)
        self.check_keys("class", 0, data.get("class", {}), CLASS_KEYS)
        self.classroom = validate_class(data.get("class", {}), lambda key, what: self.fail(("class", 0, key), what))
        name = cluster.get("launcher", "ssh")
        launcher = launchers.get(name)
        for table in launchers.names():
            if table not in data:
                continue
            keys = launcher.settings_keys() if table == name else None
            if table != name:
                self.fail(
                    (table, 0, None),
                    f"a [{table}] table, but launcher is '{name}'; "
                    f'set launcher = "{table}" in [cluster] or remove [{table}]',
                )
            if keys is None:
                self.fail((table, 0, None), f"launcher '{name}' takes no [{table}] table; remove it")
            self.check_keys(table, 0, data[table], keys)
        if launcher.finds_nodes:
            settings = launcher.validate(self, data, cluster, [])
            return self.inventory(cluster, (), name, settings, cluster["controller_ip"])
        raw_nodes = data.get("nodes")
        if not raw_nodes:
            self.fail(("", 0, None), "no nodes; add a [[nodes]] table with a host for each machine")
        nodes: list[Node] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_nodes):
            if not isinstance(raw, dict):
                self.fail(("", 0, "nodes"), "'nodes' must be an array of tables ([[nodes]])")
            self.check_keys("nodes", i, raw, NODE_KEYS)
            if "host" not in raw:
                self.fail(("nodes", i, None), f"node {i + 1} has no 'host'; add host = \"name or address\"")
            host = raw["host"]
            if host in seen:
                self.fail(("nodes", i, "host"), f"host '{host}' is listed twice (first as node {seen[host] + 1})")
            seen[host] = i
            merged = {k: cluster[k] for k in (*SHARED_KEYS, *power.HOOK_KEYS) if k in cluster} | raw
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
            power_settings=power.settings(cluster, lambda key, what: self.fail(("cluster", 0, key), what)),
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
