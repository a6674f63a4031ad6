"""Running a node's power hooks on the head: argument lists, never a shell, each under a time limit.

``power_status`` answers by printing a line with the word ``on`` or ``off`` (ClusterHAT's
``clusterctrl status``, ``tpi power status`` and most PDU scripts do; a wrapper of
two lines does for the others). Anything else reads as ``unknown``.
"""

from __future__ import annotations

import asyncio
import re

from ..config.inventory import Node
from ..errors import RaidenError

HOOK_TIMEOUT_S = 60.0
CYCLE_PAUSE_S = 2.0  # between off and on: long enough for a board's capacitors, short for a relay
POWER_STATES = ("on", "off", "unknown")


def hook_missing(node: Node, action: str) -> str:
    return (
        f"{node.host}: no power_{action} hook; give it one in its [[nodes]] table or in [cluster], "
        f'e.g. power_{action} = ["clusterctrl", "{action}", "p{{slot}}"] (see docs/pis.md, "Power")'
    )


async def run_hook(node: Node, action: str, timeout: float = HOOK_TIMEOUT_S) -> str:
    """Run one hook; its output, or RaidenError with one sentence naming the node and the program."""
    argv = node.power_command(action)
    if argv is None:
        raise RaidenError(hook_missing(node, action))
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as e:
        raise RaidenError(
            f"{node.host}: power_{action}: cannot run {argv[0]!r} ({e.strerror or e}); install it or give its full path"
        ) from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RaidenError(f"{node.host}: power_{action} ({argv[0]}) did not finish within {timeout:g} s") from None
    if proc.returncode != 0 and action != "status":
        said = (err or out).decode(errors="replace").strip().splitlines()
        raise RaidenError(
            f"{node.host}: power_{action} ({argv[0]}) exited with code {proc.returncode}"
            + (f": {said[-1][:300]}" if said else "")
        )
    return out.decode(errors="replace")


def read_state(output: str) -> str:
    """``on``, ``off`` or ``unknown`` from what ``power_status`` printed."""
    words = set(re.findall(r"[a-z]+", output.lower()))
    if "off" in words and "on" not in words:
        return "off"
    if "on" in words and "off" not in words:
        return "on"
    return "unknown"


async def status(node: Node) -> str:
    return read_state(await run_hook(node, "status"))
