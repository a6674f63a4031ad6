"""The ``[cluster]`` and ``[[nodes]]`` tables of ``raiden.toml``: each setting, its type, default, help and check.

``config/inventory.py`` checks a file against them and builds the ``Inventory``; ``config/docs.py`` makes
the docs' tables from them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from typing import Any

from .. import launchers
from .power import CLUSTER_POWER, NODE_POWER
from .syntax import is_host, is_ip, port_range, size
from .tables import BOOLEAN, INTEGER, STRING, STRINGS, TABLE, TABLES, Check, Kind, Setting, Table

# the controller listens on this many ports (registration, heartbeats, queues, schedulers), measured
MIN_CONTROLLER_PORTS = 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")  # a newline in a path could start a line of an ssh_config
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$")


def _ports(value: str) -> str | None:
    span = port_range(value)
    if span is None:
        return f'ports {value!r} is not a range; write it as "FIRST-LAST", e.g. "10100-10139"'
    first, last = span
    if not 1024 <= first <= last <= 65535:
        return f"ports {value!r}: use ports from 1024 to 65535, the first no larger than the last"
    if last - first + 1 < MIN_CONTROLLER_PORTS:
        return (
            f"ports {value!r} gives {last - first + 1} ports; the controller needs at least "
            f'{MIN_CONTROLLER_PORTS} (e.g. "{first}-{first + MIN_CONTROLLER_PORTS - 1}")'
        )
    return None


def _launcher(value: str) -> str | None:
    known = launchers.names()
    if value in known:
        return None
    near = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f"launcher {value!r} is not one of {', '.join(repr(x) for x in known)}{hint}"


def at_least_one(key: str) -> Check:
    return lambda value: None if value > 0 else f"'{key}' must be at least 1, not {value}"


def a_path(key: str) -> Check:
    return lambda value: (
        None if value.strip() and not _CONTROL_RE.search(value) else f"'{key}' must be a path, not {value!r}"
    )


def arguments(key: str) -> Check:
    """A list of program arguments: each a non-empty string without control characters."""

    def check(value: list[Any]) -> str | None:
        for item in value:
            if not isinstance(item, str) or not item or _CONTROL_RE.search(item):
                return f"'{key}' must be a list of non-empty strings, one argument each; {item!r} is not"
        return None

    return check


def _labels(value: list[Any]) -> str | None:
    for label in value:
        if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
            return f"label {label!r} must be a short plain string (letters, digits, '_.:=-')"
    return None


# A node's settings that [cluster] may set for every node (a node's own wins).
NODE_DEFAULTS = (
    Setting(
        "user",
        STRING,
        "the SSH user",
        "your SSH default",
        lambda v: (
            None if USER_RE.fullmatch(v) else f"user {v!r} is not a plain user name (letters, digits, '_', '-', '.')"
        ),
    ),
    Setting(
        "port",
        INTEGER,
        "the SSH port",
        "22",
        lambda v: None if 1 <= v <= 65535 else f"port {v} is out of range; use 1 to 65535",
    ),
    Setting(
        "identity_file",
        STRING,
        "the SSH key (`raiden add` makes the cluster's own)",
        "your SSH default",
        a_path("identity_file"),
    ),
    Setting("python", STRING, "its interpreter: same minor version as the head's", "`python3`", a_path("python")),
    Setting("work_dir", STRING, "its folder for caches and logs", "`~/.raiden/CLUSTER/node`", a_path("work_dir")),
    Setting(
        "memory_per_engine",
        Kind((str,), 'a size like "512M" or "1G"'),
        'what one engine may hold in memory, with what it started, e.g. `"200M"` (a 1 GB Pi with 4 engines); '
        "past it the engine is killed and restarted, and the events say why "
        '("engine 3 on pi2 used 612 MB of its 200 MB (memory_per_engine) and was restarted")',
        "no limit (Linux's out-of-memory killer picks a process)",
        lambda v: (
            None if (size(v) or 0) >= 64 << 20 else f'memory_per_engine {v!r} is not a size of 64M or more, like "512M"'
        ),
    ),
    Setting(
        "power_sensor",
        STRING,
        "a file on it that reads its power draw in microwatts (an INA219's or a PoE HAT's "
        "`/sys/class/hwmon/hwmonN/power1_input`): reports then give energy",
        "none",
        a_path("power_sensor"),
    ),
    Setting(
        "labels",
        STRINGS,
        'free-form tags, e.g. `["pi4", "rack1"]`, shown in `status --json` and the panel\'s model; Raiden does not act on them',
        "none",
        _labels,
    ),
)
CLUSTER = Table(
    "cluster",
    (
        Setting(
            "name",
            STRING,
            "the cluster's name: letters, digits, `-`, `_` (its state lives in `$RAIDEN_HOME/NAME/`)",
            "`raiden` (the embedded default: `local`)",
            lambda v: (
                None
                if _NAME_RE.fullmatch(v)
                else f"cluster name {v!r} is not a plain name; use letters, digits, '-' and '_' (at most 64)"
            ),
        ),
        Setting(
            "controller_ip",
            STRING,
            "the head's address that every node reaches; the controller listens on it only",
            "required when a node is remote",
            lambda v: (
                None
                if is_ip(v)
                else f"controller_ip {v!r} is not an IP address; give the head's address that the nodes reach"
            ),
        ),
        Setting(
            "engines_per_node",
            INTEGER,
            "engines on each node",
            "one per core of each node",
            at_least_one("engines_per_node"),
        ),
        Setting("encrypt", BOOLEAN, "CurveZMQ between head and engines", "on when any node is remote"),
        Setting(
            "ports",
            Kind((str,), 'a port range like "10100-10139"'),
            'the controller\'s ports, e.g. `"10100-10139"` (at least 20), for a firewall',
            "any free port",
            _ports,
        ),
        Setting(
            "launcher",
            Kind((str,), "the name of a launcher"),
            "how engines start: `ssh`, `mpi`, `slurm` (see Launch modes)",
            "`ssh`",
            _launcher,
        ),
        *(replace(s, help=f"for every node: {s.help}") for s in NODE_DEFAULTS),
        *CLUSTER_POWER,
    ),
)
NODES = Table(
    "nodes",
    (
        Setting(
            "host",
            STRING,
            "its name or address (`localhost` runs engines on the head itself, without SSH)",
            "required",
            lambda v: None if is_host(v) else f"host {v!r} is not a hostname or IP address",
        ),
        Setting("engines", INTEGER, "engines on it", "`engines_per_node`", at_least_one("engines")),
        *(replace(s, default="`[cluster]`'s, else " + s.default) for s in NODE_DEFAULTS),
        *NODE_POWER,
    ),
)
TOP = Table("", (Setting("cluster", TABLE, ""), Setting("nodes", TABLES, ""), Setting("class", TABLE, "")))
