"""``raiden reload``, ``raiden remove`` and ``raiden power``: the CLI's side of a cluster that changes.

A running cluster is changed by its supervisor (``membership.py``), asked over its
control socket; a stopped one needs only its inventory edited or its hooks run.
"""

from __future__ import annotations

import asyncio
import re

from ..config.inventory import Inventory, Node, load
from ..config.paths import ClusterPaths
from ..config.syntax import key_lines
from ..daemon import control
from ..errors import InputError, NotRunning, RaidenError
from ..transport import powerswitch
from .lifecycle import UP_TIMEOUT_S, Outcome, wait_until_up

POWER_ACTIONS = ("on", "off", "cycle", "status")


async def reload(inventory: Inventory, paths: ClusterPaths, timeout: float = UP_TIMEOUT_S) -> Outcome:
    """Apply ``raiden.toml``'s [[nodes]] to the running cluster and wait for the new nodes' engines."""
    if not control.is_running(paths):
        raise NotRunning(f"cluster '{inventory.name}' is not running; `raiden up` starts it with every node")
    reply = await asyncio.to_thread(control.request, paths, {"op": "reload"}, 600)
    if not reply.get("ok"):
        raise RaidenError(reply.get("error", "reload failed"))
    outcome = Outcome()
    outcome.said += [f"{host}: drained and removed from the running cluster" for host in reply["removed"]]
    outcome.skipped += [f"{host}: {p.removeprefix(host + ': ')}" for host, p in reply["skipped"].items()]
    outcome.warnings += [
        f"{host}: its settings changed; they apply at `raiden restart {host}`" for host in reply["unchanged"]
    ]
    if reply["added"]:
        await wait_until_up(load(inventory.path), paths, None, timeout, [], reply["added"], outcome)
        _say_whole(inventory, outcome, f"{', '.join(reply['added'])} joined")
    elif not reply["removed"]:
        outcome.said.append(f"cluster '{inventory.name}': no node to add or remove")
    outcome.ok = outcome.ok and not reply["skipped"]
    return outcome


async def remove(inventory: Inventory, paths: ClusterPaths, host: str, drain: bool, timeout: float) -> Outcome:
    """Take a node out of the inventory, and out of the running cluster (drained first with ``drain``)."""
    inventory.node(host)
    if len(inventory.nodes) == 1:
        raise InputError(f"{host} is the only node of {inventory.source}; a cluster needs one")
    if inventory.path is None:
        raise InputError("raiden remove needs an inventory file; the embedded default has one node")
    before = inventory.path.read_text()
    remove_node_text(inventory, host)
    outcome = Outcome()
    if control.is_running(paths):
        reply = await asyncio.to_thread(
            control.request, paths, {"op": "remove", "host": host, "drain": drain, "timeout": timeout}, timeout + 120
        )
        if not reply.get("ok"):
            inventory.path.write_text(before)
            raise RaidenError(reply.get("error", "remove failed"))
        if not drain:
            outcome.said.append(f"{host}: its engines stopped (tasks they had were sent to other engines)")
        elif reply.get("moved"):
            outcome.said.append(f"{host}: drained; {reply['moved']} tasks still running after {timeout:g} s moved")
        else:
            outcome.said.append(f"{host}: drained; every task it had finished there")
    outcome.said.append(f"{host}: removed from {inventory.path}")
    return outcome


def remove_node_text(inventory: Inventory, host: str) -> Inventory:
    """Cut the node's ``[[nodes]]`` table out of the file, with the comment just above it (the next table's stays)."""
    path = inventory.path
    assert path is not None
    text = path.read_text()
    index = [n.host for n in inventory.nodes].index(host)
    lines = text.splitlines(keepends=True)
    starts = key_lines(text)
    first = starts[("nodes", index, None)] - 1
    end = first + 1
    while end < len(lines) and not re.match(r"\s*\[", lines[end]):
        end += 1
    while end > first + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # the comments and blank lines just before the next table belong to it
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1  # the comment just above its header is about it
    while first > 0 and not lines[first - 1].strip():
        first -= 1
    path.write_text("".join(lines[:first] + lines[end:]))
    try:
        return load(path)
    except InputError:
        path.write_text(text)
        raise


async def power_nodes(
    inventory: Inventory, paths: ClusterPaths, action: str, which: str, timeout: float = UP_TIMEOUT_S
) -> Outcome:
    """``raiden power on|off|cycle|status NODE|all``."""
    if action not in POWER_ACTIONS:
        raise InputError(f"raiden power: {action!r} is not one of {', '.join(POWER_ACTIONS)}")
    needed = ("off", "on") if action == "cycle" else (action,)
    if which == "all":
        nodes = [n for n in inventory.nodes if all(n.power_command(a) for a in needed)]
        if not nodes:
            raise InputError(f"{inventory.source}: no node has a power_{needed[0]} hook; " + _HOOK_HINT)
    else:
        node = inventory.node(which)
        for a in needed:
            if node.power_command(a) is None:
                raise InputError(f"{inventory.source}: {powerswitch.hook_missing(node, a)}")
        nodes = [node]
    outcome = Outcome()
    running = control.is_running(paths)
    results = await asyncio.gather(*(_one(paths, n, action, running) for n in nodes), return_exceptions=True)
    for node, result in zip(nodes, results, strict=True):
        if isinstance(result, RaidenError):
            outcome.ok = False
            outcome.problems.append(str(result))
        elif isinstance(result, BaseException):
            raise result
        else:
            outcome.said.append(f"{node.host}: {result}")
    woken = [n.host for n, r in zip(nodes, results, strict=True) if not isinstance(r, BaseException)]
    if running and action in ("on", "cycle") and woken:
        await wait_until_up(inventory, paths, None, timeout, [], woken, outcome)
        _say_whole(inventory, outcome, f"{', '.join(woken)} back")
    return outcome


def _say_whole(inventory: Inventory, outcome: Outcome, what: str) -> None:
    """Replace the waiting's sentence (about the nodes waited for) with one about the whole cluster."""
    said = [s for s in outcome.said if not s.startswith(f"cluster '{inventory.name}' is up")]
    if outcome.status and outcome.ok:
        nodes = [n for n in outcome.status["nodes"] if n["state"] == "up"]
        said.append(
            f"{what}: cluster '{inventory.name}' has {outcome.status['engines']['alive']} engines on "
            f"{len(nodes)} node{'s' if len(nodes) != 1 else ''} now"
        )
    outcome.said = said


_HOOK_HINT = 'add power_on, power_off and power_status (see docs/pis.md, "Power")'


async def _one(paths: ClusterPaths, node: Node, action: str, running: bool) -> str:
    if running:
        reply = await asyncio.to_thread(
            control.request, paths, {"op": "power", "action": action, "host": node.host}, 300
        )
        if not reply.get("ok"):
            raise RaidenError(reply.get("error", "power failed"))
        return {"off": "off", "status": reply.get("state"), "on": "on; waiting for its engines"}.get(
            action, "power-cycled; waiting for its engines"
        )
    if action == "status":
        return await powerswitch.status(node)
    if action == "cycle":
        await powerswitch.run_hook(node, "off")
        await asyncio.sleep(powerswitch.CYCLE_PAUSE_S)
    await powerswitch.run_hook(node, "on" if action == "cycle" else action)
    return {"on": "on", "off": "off", "cycle": "power-cycled"}[action]
