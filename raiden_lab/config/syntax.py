"""What a line of ``raiden.toml`` means before it means anything to a cluster: positions, types, addresses."""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any

_SCOPE_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def port_range(value: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*", value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def key_lines(text: str) -> dict[tuple[str, int, str | None], int]:
    """Map (table, index, key) to the line a key (or, with key None, a table) starts on.

    tomllib gives values but no positions; this light scan of the text
    fills that gap well enough for one-line error messages.
    """
    lines: dict[tuple[str, int, str | None], int] = {}
    table, index, counts = "", 0, {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if m := re.match(r"^\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]", line):
            table = m.group(1)
            index = counts.get(table, -1) + 1
            counts[table] = index
            lines.setdefault((table, index, None), lineno)
            lines.setdefault(("", 0, table), lineno)
        elif m := re.match(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]", line):
            table, index = m.group(1), 0
            lines.setdefault((table, index, None), lineno)
            lines.setdefault(("", 0, table), lineno)
        elif m := re.match(r"""^(["']?)([A-Za-z0-9_-]+)\1\s*=""", line):
            lines.setdefault((table, index, m.group(2)), lineno)
    return lines


def unknown_key(table: str, key: str, value: Any, allowed: list[str]) -> str:
    """The sentence for a key the inventory does not know (at the top, a table: [[node]] for [[nodes]])."""
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if table == "":
        left, right = ("[[", "]]") if isinstance(value, list) else ("[", "]")
        hint = f"; did you mean {left}{near[0]}{right}?" if near else f"; known tables: {', '.join(sorted(allowed))}"
        return f"unknown table {left}{key}{right}{hint}"
    hint = f"; did you mean '{near[0]}'?" if near else f"; known keys: {', '.join(sorted(allowed))}"
    label = f"[{table}]" if table != "nodes" else "[[nodes]]"
    return f"unknown key '{key}' in {label}{hint}"


def toml_type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def is_ip(value: str) -> bool:
    address, _, scope = value.partition("%")
    if "%" in value and not _SCOPE_RE.fullmatch(scope):  # an interface name, nothing that could end a line
        return False
    try:
        ipaddress.ip_address(address if "%" not in value else value)
    except ValueError:
        return False
    return True


def is_host(value: str) -> bool:
    if is_ip(value):
        return True
    if len(value) > 253 or not value:
        return False
    labels = value.rstrip(".").split(".")
    return all(_HOST_LABEL_RE.fullmatch(label) for label in labels) and not value.replace(".", "").isdigit()


_SIZE_RE = re.compile(r"^\s*(\d+)\s*([MG])i?B?\s*$", re.IGNORECASE)


def size(value: str) -> int | None:
    """``"512M"`` -> bytes; None when it is not a size."""
    found = _SIZE_RE.match(value)
    return int(found.group(1)) << (20 if found.group(2).upper() == "M" else 30) if found else None
