"""A seat's accounts on the nodes, between students: nothing one student leaves reaches the next.

A seat's node account (``[class] seat_user``) is handed from student to
student. Before a seat starts, each node says whether its account is clean
and whether only root decides who logs in as it (``~/.ssh`` and its
``authorized_keys`` root's); an account with processes left is reset first.
When a seat ends, every node resets its account (``node/seatreset.py``):
every process of it killed, its home back to ``/etc/skel``, its files in the
shared temporary folders and its crontab gone.
"""

from __future__ import annotations

import json
from typing import Any

from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from ..transport import ssh
from ..transport.nodes import target_for
from ..transport.remote import source

MAX_REPLY = 1 << 20


async def _ask(node: Node, paths: ClusterPaths, mode: str) -> dict[str, Any] | str:
    target = target_for(node, paths)
    result = await ssh.run(target, [node.python, "-I", "-", mode], input=source("seatreset"), timeout=60)
    line = result.stdout[-MAX_REPLY:].decode(errors="replace").strip().splitlines()[-1:]
    try:
        reply = json.loads(line[0])
    except (ValueError, IndexError):
        return ssh.explain(node.host, result, f"checking seat account {node.user}")
    if not isinstance(reply, dict) or reply.get("error"):
        return f"{node.host}: seat account {node.user}: {reply.get('error') if isinstance(reply, dict) else reply}"
    return reply


def _problems(node: Node, reply: dict[str, Any] | str) -> list[str]:
    if isinstance(reply, str):
        return [reply]
    where = f"seat account {node.user} on {node.host}"
    found = [f"{where}: {p}" for p in reply.get("gate") or [] if isinstance(p, str)]
    procs = [p for p in reply.get("processes") or [] if isinstance(p, str)]
    if procs:
        found.append(f"{where}: {len(procs)} process(es) outlived the reset ({procs[0][:80]})")
    return found


async def check(inventory: Inventory, paths: ClusterPaths) -> list[str]:
    """Why seat ``inventory`` may not start on its nodes (nothing when it may): accounts with processes left
    are reset first; an account whose login the account itself controls is refused."""
    problems: list[str] = []
    # one node after another, here and in reset: nodes may share one process table (and homes), and a
    # reset kills every process of the account but its own session's
    for node in inventory.nodes:
        reply = await _ask(node, paths, "check")
        if isinstance(reply, dict) and (reply.get("processes") or reply.get("left")):
            reply = await _ask(node, paths, "reset")
        problems += _problems(node, reply)
    return problems


async def reset(inventory: Inventory, paths: ClusterPaths) -> list[str]:
    """Leave nothing of the seat's student on any node; what could not be put right, one line a node."""
    problems: list[str] = []
    for node in inventory.nodes:
        problems += _problems(node, await _ask(node, paths, "reset"))
    return problems
