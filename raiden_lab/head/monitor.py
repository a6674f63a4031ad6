"""The head's end of one node's metrics agent: samples into the store, changes into events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from typing import Any

from ..config.inventory import Node
from ..vocabulary import HOT_C as DEFAULT_HOT_C
from ..vocabulary import THROTTLE_FLAGS, THROTTLE_LABELS, Event
from . import ssh
from .remote import launch
from .store import Store

log = logging.getLogger("raiden.monitor")

HOT_C = float(os.environ.get("RAIDEN_HOT_C", DEFAULT_HOT_C))
COOL_MARGIN_C = 5.0


def sensor_path(template: str | None, host: str) -> str | None:
    """A sensor path for ``host``; ``{host}`` in it lets a test give every node its own fake sensor."""
    return template.replace("{host}", host) if template else None


class NodeMonitor:
    def __init__(self, node: Node, target: ssh.Target | None, work_dir: str, store: Store) -> None:
        self.node = node
        self.target = target
        self.work_dir = work_dir
        self.store = store
        self.proc: asyncio.subprocess.Process | None = None
        self.last_sample_at = 0.0
        self.latest: dict[str, Any] | None = None
        self._reader: asyncio.Task | None = None
        self._hot = False
        self._throttled: frozenset[str] = frozenset()
        self._engine_pids: dict[int, int] = {}

    @property
    def host(self) -> str:
        return self.node.host

    async def start(self) -> None:
        args = ["--work-dir", self.work_dir]
        for flag, env in (("--thermal", "RAIDEN_THERMAL_PATH"), ("--throttled", "RAIDEN_THROTTLED_PATH")):
            if path := sensor_path(os.environ.get(env), self.host):
                args += [flag, path]
        self.last_sample_at = time.monotonic()  # grace: the first sample takes a moment
        self.latest = None
        self.proc = await launch(self.target, self.node.python, "agent", args)
        self._reader = asyncio.create_task(self._read(self.proc))
        if self._engine_pids:
            await self.set_engines(self._engine_pids)

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError, AttributeError):
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def set_engines(self, pids: dict[int, int]) -> None:
        """Tell the agent which processes are the node's engines."""
        self._engine_pids = dict(pids)
        if self.proc is None or self.proc.stdin is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.proc.stdin.write(json.dumps({"engines": pids}).encode() + b"\n")
            await self.proc.stdin.drain()

    def stale_for(self) -> float:
        """Seconds since the last sample (or since the agent was started)."""
        return time.monotonic() - self.last_sample_at

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        drain = asyncio.create_task(_log_lines(proc.stderr, self.host))
        async for line in proc.stdout:
            try:
                sample = json.loads(line)
            except ValueError:
                continue
            self.last_sample_at = time.monotonic()
            self.latest = sample
            self.store.add_sample(self.host, sample)
            self._notice(sample)
        drain.cancel()

    def _notice(self, sample: dict[str, Any]) -> None:
        temp = sample.get("temperature")
        if temp is not None:
            if not self._hot and temp >= HOT_C:
                self._hot = True
                self.store.add_event(Event.TEMPERATURE_HIGH, f"{temp:.1f} °C, past {HOT_C:.0f} °C", self.host)
            elif self._hot and temp < HOT_C - COOL_MARGIN_C:
                self._hot = False
                self.store.add_event(
                    Event.TEMPERATURE_NORMAL, f"{temp:.1f} °C, back under {HOT_C - COOL_MARGIN_C:.0f} °C", self.host
                )
        flags = sample.get("throttled") or {}
        now = frozenset(name for name in THROTTLE_FLAGS if flags.get(name))
        for name in sorted(now - self._throttled):
            self.store.add_event(Event.THROTTLING_BEGAN, THROTTLE_LABELS[name], self.host)
        for name in sorted(self._throttled - now):
            self.store.add_event(Event.THROTTLING_ENDED, THROTTLE_LABELS[name], self.host)
        self._throttled = now


async def _log_lines(stream: asyncio.StreamReader, host: str) -> None:
    async for line in stream:
        log.info("%s agent: %s", host, line.decode(errors="replace").rstrip())
