"""Sending the programs of ``raiden_lab/node/`` to a node as source over SSH, so it needs no Raiden install.

Each of them uses the standard library (the agent also psutil) and runs as
``python -I -`` (one-shot probes) or ``python -I -c BOOTSTRAP`` (long-lived: the
runner and the agent, which keep reading stdin after their source).
"""

from __future__ import annotations

import asyncio
import json
from importlib.resources import files

from . import links, ssh

# Reads a program's source as one JSON line from stdin, byte by byte so that no
# buffer swallows the lines (configuration, commands) that follow it.
BOOTSTRAP = (
    "import os,sys,json\n"
    "b=b''\n"
    "while not b.endswith(b'\\n'):\n"
    " c=os.read(0,1)\n"
    " if not c: raise SystemExit('raiden: no program received')\n"
    " b+=c\n"
    "p=json.loads(b)\n"
    "exec(compile(p['source'],p['name'],'exec'),{'__name__':'__main__','__file__':p['name']})\n"
)


def source(name: str) -> bytes:
    """The source of a node-side program: ``"probe"`` is ``node/probe.py``."""
    return files("raiden_lab.node").joinpath(f"{name}.py").read_bytes()


async def launch(
    target: ssh.Target, python: str, name: str, args: list[str] | None = None
) -> asyncio.subprocess.Process:
    """Start a long-lived node-side program; its stdin stays open for further lines."""
    argv = [python, "-I", "-u", "-c", BOOTSTRAP, *(args or [])]
    if not target.is_local:  # a channel inside the node's one SSH session (links.py)
        relay = ([python, "-I", "-u", "-c", BOOTSTRAP], _first("relay"))
        return await links.launch(target, argv, _first(name), relay)  # type: ignore[return-value]
    first = _first(name)
    proc = await ssh.spawn(target, argv)
    assert proc.stdin is not None
    proc.stdin.write(first)
    return proc


def _first(name: str) -> bytes:
    """The line BOOTSTRAP reads: the program's name and source."""
    return json.dumps({"name": f"raiden-{name}", "source": source(name).decode()}).encode() + b"\n"
