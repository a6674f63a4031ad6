"""What a line of ``raiden.toml`` means before it means anything to a cluster: positions, types, addresses."""

from __future__ import annotations

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
        elif m := re.match(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]", line):
            table, index = m.group(1), 0
            lines.setdefault((table, index, None), lineno)
            lines.setdefault(("", 0, table), lineno)
        elif m := re.match(r"""^(["']?)([A-Za-z0-9_-]+)\1\s*=""", line):
            lines.setdefault((table, index, m.group(2)), lineno)
    return lines


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
