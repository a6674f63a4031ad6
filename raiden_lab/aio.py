"""Running a coroutine to completion from plain code, including code inside a running loop.

``%raiden up`` runs the CLI inside a Jupyter kernel, whose thread already runs
an event loop, where ``asyncio.run`` refuses to start; there the coroutine
runs on a loop of its own in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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
