"""One ``ssh`` process per node for everything long-lived there: the node's relay (``node/relay.py``).

The relay's session is the node's SSH master as well (``ControlMaster=yes`` with no
``ControlPersist``): short commands (probes, ``raiden doctor``) go over it as before, and
the runner and the agent are channels inside it. Before, each was an ``ssh`` client of
its own beside a background master: three processes per node on the head, now one.

A ``Channel`` stands where an ``asyncio.subprocess.Process`` stood: ``stdin`` (write,
drain, close), ``stdout`` and ``stderr`` (stream readers), ``returncode``, ``wait``,
``kill``. When the link ends (the node is cut off, ``raiden down`` closes it), every
channel ends with code 255 and the link's ``ssh`` error as its stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
from collections.abc import Sequence

from ..aio import bounded_lines
from . import ssh

log = logging.getLogger("raiden.links")

LINE_LIMIT = 2**16  # what a channel's reader takes in one line, as a pipe's reader did
FRAME_LIMIT = 2**17  # a frame is a line, cut by the relay at LINE_LIMIT + 1, and its header


class ChannelInput:
    """A channel's stdin: whole lines become ``in`` frames."""

    def __init__(self, link: Link, ch: int) -> None:
        self.link, self.ch, self._partial = link, ch, b""

    def write(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self.link.send({"op": "in", "ch": self.ch, "d": line.decode(errors="replace") + "\n"})

    async def drain(self) -> None:
        await self.link.drain()

    def close(self) -> None:
        if self.ch in self.link.channels:
            self.link.send({"op": "eof", "ch": self.ch})


class Channel:
    """A program on the node, inside the link's session."""

    pid = None

    def __init__(self, link: Link, ch: int) -> None:
        self.link, self.ch = link, ch
        self.stdin = ChannelInput(link, ch)
        self.stdout = asyncio.StreamReader(limit=LINE_LIMIT)
        self.stderr = asyncio.StreamReader(limit=LINE_LIMIT)
        self.returncode: int | None = None
        self._done = asyncio.Event()

    def ended(self, code: int, why: bytes = b"") -> None:
        if self.returncode is not None:
            return
        if why:
            self.stderr.feed_data(why)
        self.returncode = code
        self.stdout.feed_eof()
        self.stderr.feed_eof()
        self.link.channels.pop(self.ch, None)
        self._done.set()

    async def wait(self) -> int:
        await self._done.wait()
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        """Close its stdin now (the relay kills it if it has not exited 10 s later); it counts as ended."""
        if self.returncode is None:
            with contextlib.suppress(ConnectionError):
                self.link.send({"op": "kill", "ch": self.ch})
            self.ended(-9)


class Link:
    def __init__(self, target: ssh.Target) -> None:
        self.target = target
        self.proc: asyncio.subprocess.Process | None = None
        self.channels: dict[int, Channel] = {}
        self._next = 1
        self._stderr = b""
        self._tasks: list[asyncio.Task] = []

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, argv: Sequence[str], first: bytes) -> None:
        """Start the relay (``argv``, reading its source as ``first``) in the session that becomes the master."""
        # The background master of the preflight stops taking new sessions and ends with
        # its last one; this session takes its place as the node's master.
        await ssh.run_local(self.target.control_command("stop"), timeout=self.target.connect_timeout + 5)
        self.proc = await asyncio.create_subprocess_exec(
            *self.target.session_command(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            limit=FRAME_LIMIT,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(first)
        self._tasks = [asyncio.create_task(self._read(self.proc)), asyncio.create_task(self._errors(self.proc))]

    def send(self, frame: dict) -> None:
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise ConnectionResetError(f"{self.target.host}: the connection is closed")
        self.proc.stdin.write(json.dumps(frame).encode() + b"\n")

    async def drain(self) -> None:
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise ConnectionResetError(f"{self.target.host}: the connection is closed")
        await self.proc.stdin.drain()

    async def open(self, argv: Sequence[str], first: bytes) -> Channel:
        ch, self._next = self._next, self._next + 1
        channel = self.channels[ch] = Channel(self, ch)
        self.send({"op": "start", "ch": ch, "argv": list(argv), "first": first.decode()})
        with contextlib.suppress(ConnectionError):
            await self.drain()
        return channel

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for frame in bounded_lines(proc.stdout):
            head, _, rest = frame.partition(b" ")
            kind, _, payload = rest.partition(b" ")
            channel = self.channels.get(int(head)) if head.isdigit() else None
            if channel is None:
                continue
            if kind == b"o":
                channel.stdout.feed_data(payload)
            elif kind == b"e":
                channel.stderr.feed_data(payload)
            elif kind == b"x":
                channel.ended(int(payload) if payload.strip().lstrip(b"-").isdigit() else 255)
        await proc.wait()
        await asyncio.sleep(0.1)  # the last of ssh's stderr
        for channel in list(self.channels.values()):
            channel.ended(255, self._stderr)

    async def _errors(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for line in bounded_lines(proc.stderr):
            self._stderr = (self._stderr + line)[-4096:]


_links: dict[tuple, Link] = {}


async def launch(target: ssh.Target, argv: Sequence[str], first: bytes, relay: tuple[Sequence[str], bytes]) -> Channel:
    """Start ``argv`` on the node inside its link (started with ``relay`` on first use, or after it ended)."""
    key = (str(target.control_dir), target.host, target.node.port, target.node.user, tuple(relay[0]))
    link = _links.get(key)
    if link is None or not link.alive:
        link = _links[key] = Link(target)
        await link.start(*relay)
    return await link.open(argv, first)
