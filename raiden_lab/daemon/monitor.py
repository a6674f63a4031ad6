"""The head's end of one node's metrics agent: samples into the store, changes into events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from typing import Any

from ..aio import Quota, bounded_lines
from ..config.inventory import Node
from ..transport import ssh
from ..transport.remote import launch
from ..vocabulary import HOT_C as DEFAULT_HOT_C
from ..vocabulary import THROTTLE_FLAGS, THROTTLE_LABELS, Event
from .store import Store

log = logging.getLogger("raiden.monitor")

HOT_C = float(os.environ.get("RAIDEN_HOT_C", DEFAULT_HOT_C))
COOL_MARGIN_C = 5.0
SAMPLE_GAP_S = 0.5  # the agent samples once a second; more often is stored no more than this
SAMPLE_MAX_BYTES = 16 * 1024  # a sample is a few hundred bytes; bigger ones are not stored
CLOCK_OFF_S = 120.0  # a node's clock this far from the head's is told as an event
NOISE_EVENT_EVERY_S = 600.0


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
        self._stored_at = 0.0
        self._noise = 0  # lines dropped since the last event about them
        self._noise_told = 0.0
        self._clock_off = False
        self._log_quota = Quota(20)
        self._burst = Quota(600)

    @property
    def host(self) -> str:
        return self.node.host

    async def start(self) -> None:
        args = ["--work-dir", self.work_dir]
        for flag, env in (("--thermal", "RAIDEN_THERMAL_PATH"), ("--throttled", "RAIDEN_THROTTLED_PATH")):
            if path := sensor_path(os.environ.get(env), self.host):
                args += [flag, path]
        if power := self.node.power_sensor or sensor_path(os.environ.get("RAIDEN_POWER_PATH"), self.host):
            args += ["--power", power]
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
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
            except Exception:  # whatever ended the reader must not stop the stopping
                log.exception("%s: the agent's reader had failed", self.host)

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
        """Samples into the store: one every SAMPLE_GAP_S at most, stamped with the head's clock.

        What a broken or hostile node sends instead (not JSON, not an object, lines over
        64 KiB, thousands a second) is dropped and told as one event every ten minutes.
        """
        assert proc.stdout is not None and proc.stderr is not None
        drain = asyncio.create_task(_log_lines(proc.stderr, self.host, self._log_quota))
        try:
            async for line in bounded_lines(proc.stdout, self._noisy):
                now = time.monotonic()
                if now - self._stored_at < SAMPLE_GAP_S:
                    self.last_sample_at = now  # too many samples is not silence
                    if not self._burst.allow():  # a burst (a file read from its start) is fine; a flood is not
                        self._noisy()
                    continue
                try:
                    sample = json.loads(line) if len(line) <= SAMPLE_MAX_BYTES else None
                except ValueError:
                    sample = None
                if not isinstance(sample, dict) or not well_formed(sample):
                    self._noisy()
                    continue
                self.last_sample_at = self._stored_at = now
                self._take(sample)
        finally:
            drain.cancel()

    def _take(self, sample: dict[str, Any]) -> None:
        head_time = time.time()
        node_time = sample.get("time")
        sample["time"] = head_time  # the node's clock may be anywhere: thinning and plots use the head's
        if isinstance(node_time, (int, float)) and not isinstance(node_time, bool):
            sample["node_time"] = node_time
            self._check_clock(node_time - head_time)
        self.latest = sample
        self.store.add_sample(self.host, sample)
        try:
            self._notice(sample)
        except (TypeError, ValueError, AttributeError):  # a sensor value of the wrong type
            self._noisy()

    def _check_clock(self, off: float) -> None:
        if not self._clock_off and abs(off) > CLOCK_OFF_S:
            self._clock_off = True
            where = "ahead of" if off > 0 else "behind"
            self.store.add_event(
                Event.NODE_CLOCK_OFF,
                f"its clock is {_span(abs(off))} {where} the head's; samples keep the head's time. "
                "Set its time (`sudo timedatectl set-ntp true`, or a time server on the head for Pis offline)",
                self.host,
            )
        elif self._clock_off and abs(off) < CLOCK_OFF_S / 2:
            self._clock_off = False

    def _noisy(self) -> None:
        self._noise += 1
        now = time.monotonic()
        if now - self._noise_told >= NOISE_EVENT_EVERY_S:
            self._noise_told = now
            self.store.add_event(
                Event.NODE_NOISY,
                f"its agent sent {self._noise} line{'s' if self._noise != 1 else ''} that are not samples "
                "(not JSON objects, over 64 KiB, or many a second); they were dropped. "
                "Is the node running another program's output into Raiden's agent?",
                self.host,
            )
            self._noise = 0

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


async def _log_lines(stream: asyncio.StreamReader, host: str, quota: Quota) -> None:
    async for line in bounded_lines(stream):
        if quota.allow():
            log.info("%s agent: %s", host, line[:1000].decode(errors="replace").rstrip())
        elif quota.refused in (1, 1000, 100_000):
            log.warning("%s agent: more lines than %d a minute; not logging them all", host, quota.per_minute)


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _numbers(value: Any, kind: type) -> bool:
    if value is None:
        return True
    items = value.values() if kind is dict and isinstance(value, dict) else value if isinstance(value, list) else None
    return items is not None and isinstance(value, kind) and all(_number(v) for v in items)


# What the agent sends (node/agent.py), checked before anything reads it: a node is not trusted.
_SHAPE = {
    "time": _number,
    "cpu": lambda v: _numbers(v, list),
    "cpu_total": _number,
    "load": lambda v: _numbers(v, list),
    "memory": lambda v: _numbers(v, dict),
    "temperature": _number,
    "watts": _number,
    "mhz": _number,
    "throttled": lambda v: (
        v is None
        or (isinstance(v, dict) and all(isinstance(b, bool) or (k == "raw" and _number(b)) for k, b in v.items()))
    ),
    "disk_free": _number,
    "net": lambda v: _numbers(v, dict),
    "engines": lambda v: isinstance(v, dict) and all(_numbers(e, dict) for e in v.values()),
}


def well_formed(sample: dict[str, Any]) -> bool:
    """True when every field the head reads has the agent's types; other fields are dropped."""
    for key in [k for k in sample if k not in _SHAPE]:
        del sample[key]
    return all(check(sample[key]) for key, check in _SHAPE.items() if key in sample)


def _span(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
