"""Power under the cluster's control: the ``power_on`` / ``power_off`` / ``power_status`` hooks.

A hook is an argument list run on the head, never through a shell: ClusterHAT's
``["clusterctrl", "on", "p{slot}"]``, Turing Pi 2's ``["tpi", "power", "on", "--node", "{slot}"]``,
a smart PDU's or a GPIO relay's script. ``{node}`` becomes the node's host and ``{slot}``
its ``slot`` (where it sits in the case or PDU); no other text in braces is allowed. Set in
``[cluster]`` they apply to every node, in ``[[nodes]]`` to that node.

``[cluster]`` also opts in to what power makes possible:
``power_cycle_after = "2m"`` power-cycles a node that stays down that long (at most
``power_cycle_tries`` times, waiting twice as long before each further try), and
``power_save_after = "10m"`` powers off nodes whose engines had no work that long, and
powers them on again when work waits for engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .tables import INTEGER, Kind, Setting, Table, sentence_of

ACTIONS = ("on", "off", "status")
DEFAULT_CYCLE_TRIES = 3
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h)?")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_FIELD_RE = re.compile(r"\{([^{}]*)\}")
_SLOT_RE = re.compile(r"[A-Za-z0-9_.:-]{1,32}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PowerSettings:
    """``[cluster]``'s opt-ins (seconds; None: off)."""

    cycle_after_s: float | None = None
    cycle_tries: int = DEFAULT_CYCLE_TRIES
    save_after_s: float | None = None


def duration(value: str) -> float | None:
    """``"2m"`` -> 120.0; None when it is not a duration."""
    match = _DURATION_RE.fullmatch(value.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def check_hook(key: str, value: list[Any], fail: Any) -> tuple[str, ...]:
    """A hook's argument list, every argument a plain string with only ``{node}`` and ``{slot}`` in braces."""
    if not value:
        fail(f'\'{key}\' is empty; give the program and its arguments, e.g. ["clusterctrl", "on", "p{{slot}}"]')
    for item in value:
        if not isinstance(item, str) or not item or _CONTROL_RE.search(item):
            fail(f"'{key}' must be a list of non-empty strings, one argument each; {item!r} is not")
        for name in _FIELD_RE.findall(item):
            if name not in ("node", "slot"):
                fail(f"'{key}': {{{name}}} in {item!r} is not known; use {{node}} (its host) or {{slot}}")
    return tuple(value)


def check_slot(value: int | str, fail: Any) -> str:
    text = str(value)
    if isinstance(value, bool) or not _SLOT_RE.fullmatch(text):
        fail(f"slot {value!r} must be a number or a short name (letters, digits, '_.:-')")
    return text


def settings(cluster: dict[str, Any]) -> PowerSettings:
    """``[cluster]``'s power opt-ins, already checked (``CLUSTER_POWER``)."""
    found: dict[str, Any] = {}
    for key in ("power_cycle_after", "power_save_after"):
        if key in cluster:
            found[key.removeprefix("power_").replace("after", "after_s")] = duration(cluster[key])
    return PowerSettings(cycle_tries=cluster.get("power_cycle_tries", DEFAULT_CYCLE_TRIES), **found)


def command(hooks: dict[str, tuple[str, ...]], action: str, host: str, slot: str | None) -> list[str] | None:
    """The argument list of one hook for one node, its fields filled; None when the node has no such hook."""
    hook = hooks.get(f"power_{action}")
    if hook is None:
        return None
    values = {"node": host, "slot": slot or ""}
    return [_FIELD_RE.sub(lambda m: values[m.group(1)], arg) for arg in hook]


HOOK = Kind((list,), 'a list of arguments, e.g. ["clusterctrl", "on", "p{slot}"]')
_WHAT = {"on": "turns it on", "off": "turns it off", "status": "prints a line with `on` or `off`"}


def _duration_check(key: str) -> Any:
    def check(value: str) -> str | None:
        seconds = duration(value)
        if seconds is None or seconds <= 0:
            return f'{key} {value!r} is not a duration; write it like "2m", "90s" or "1h"'
        return None

    return check


def _hooks(where: str) -> tuple[Setting, ...]:
    return tuple(
        Setting(
            f"power_{action}",
            HOOK,
            f"for {where}: an argument list run on the head, no shell, that {_WHAT[action]}; "
            "`{node}` is the node's host, `{slot}` its slot",
            "none" if where == "every node" else "`[cluster]`'s",
            sentence_of(lambda value, fail, key=f"power_{action}": check_hook(key, value, fail)),
        )
        for action in ACTIONS
    )


CLUSTER_POWER = Table(
    "cluster",
    (
        *_hooks("every node"),
        Setting(
            "power_cycle_after",
            Kind((str,), 'a duration like "2m" or "90s"'),
            'power-cycle a node that stays down this long, e.g. `"2m"` (opt-in)',
            "off",
            _duration_check("power_cycle_after"),
        ),
        Setting(
            "power_cycle_tries",
            INTEGER,
            "power cycles of one node before giving up",
            str(DEFAULT_CYCLE_TRIES),
            lambda v: None if 1 <= v <= 20 else f"power_cycle_tries must be from 1 to 20, not {v}",
        ),
        Setting(
            "power_save_after",
            Kind((str,), 'a duration like "10m"'),
            'power off nodes with no engine work this long, e.g. `"10m"` (opt-in)',
            "off",
            _duration_check("power_save_after"),
        ),
    ),
)
NODE_POWER = Table(
    "nodes",
    (
        Setting(
            "slot",
            Kind((int, str), "a number or a short name (where the node sits in its case or PDU)"),
            "where it sits in its case or PDU: `{slot}` in a power hook",
            "none",
            sentence_of(lambda value, fail: check_slot(value, fail)),
        ),
        *_hooks("this node"),
    ),
)
HOOK_KEYS = [f"power_{action}" for action in ACTIONS]
