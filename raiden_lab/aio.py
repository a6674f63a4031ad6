"""Running a coroutine to completion from plain code, including code inside a running loop.

``%raiden up`` runs the CLI inside a Jupyter kernel, whose thread already runs
an event loop, where ``asyncio.run`` refuses to start; there the coroutine
runs on a loop of its own in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="raiden-sync") as pool:
        return pool.submit(asyncio.run, coro).result()


NODES_AT_ONCE = 16  # nodes opened, probed or started at the same time: SSH handshakes cost the head CPU


async def each_node(coros: Iterable[Awaitable[T]], limit: int = NODES_AT_ONCE) -> list[T]:
    """``asyncio.gather`` for a step per node, with at most ``limit`` of them under way at once.

    Hundreds of SSH handshakes at once on a two-core head make every one of them slow;
    a bounded number keeps each quick, and ``up`` grows with the node count, not faster.
    """
    gate = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[T]) -> T:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


async def bounded_lines(
    stream: asyncio.StreamReader, overlong: Callable[[], None] | None = None
) -> AsyncIterator[bytes]:
    """The stream's lines, leaving out (and telling ``overlong`` of) any longer than the stream's limit.

    ``async for line in stream`` ends with a ValueError on such a line, which would end
    the reader: a node that prints one 1 MiB line must not stop the head listening to it.
    """
    rest_of_long_line = False
    while True:
        try:
            line = await stream.readline()
        except ValueError as e:  # asyncio's LimitOverrunError, re-raised by readline
            # "Separator is found" means the whole line was consumed; "not found", only its start.
            rest_of_long_line = "not found" in str(e)
            if overlong is not None:
                overlong()
            continue
        if not line:
            return
        if rest_of_long_line:
            rest_of_long_line = False
            continue
        yield line


class Quota:
    """At most ``per_minute`` of something (log lines, events); counts what it refused."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.window = 0.0
        self.used = 0
        self.refused = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self.window >= 60:
            self.window, self.used = now, 0
        if self.used < self.per_minute:
            self.used += 1
            return True
        self.refused += 1
        return False


def printable(text: str, limit: int = 400) -> str:
    """``text`` as a terminal may show it: control characters (escapes, bells, new lines) escaped, cut."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
