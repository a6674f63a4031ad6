"""Stop means stop: running work ends on every engine within a second, and the engines stay usable.

How the engines are interrupted is ``operations/interrupting.py``; here is what a
notebook adds: a map stopped by the user or by its ``timeout`` (with what
finished), the wait for interrupted tasks to answer, and ``%%px --timeout``.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

import ipyparallel as ipp

from ..operations.interrupting import interrupt

SETTLE_S = 2.0  # how long a stopped map waits for its interrupted chunks to answer


class MapInterrupted(KeyboardInterrupt):
    """A map stopped by the user; ``results`` holds what finished, by item position."""

    def __init__(self, message: str, results: dict[int, Any]) -> None:
        super().__init__(message)
        self.results = results


class MapTimeout(TimeoutError):
    """A map that ran past its ``timeout``; ``results`` holds what finished, by item position."""

    def __init__(self, message: str, results: dict[int, Any]) -> None:
        super().__init__(message)
        self.results = results


def settle(pending: Iterable[ipp.AsyncResult], seconds: float = SETTLE_S) -> None:
    """Wait a moment for interrupted tasks to answer, so the engines are idle when the caller goes on."""
    deadline = time.monotonic() + seconds
    for ar in pending:
        with contextlib.suppress(Exception):
            ar.wait(max(0.0, deadline - time.monotonic()))


_TIMEOUT_RE = re.compile(r"(?:^|\s)--timeout(?:=|\s+)(\S+)")


def take_timeout(line: str) -> tuple[float | None, str]:
    """``--timeout N`` out of a ``%%px`` line: the seconds (None without it) and the rest of the line."""
    from IPython.core.error import UsageError

    match = _TIMEOUT_RE.search(line)
    if match is None:
        return None, line
    try:
        seconds = float(match.group(1))
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise UsageError(f"%%px: --timeout {match.group(1)!r} is not a number of seconds above 0")
    return seconds, (line[: match.start()] + line[match.end() :]).strip()


def activate(view: ipp.DirectView, suffix: str = "") -> None:
    """ipyparallel's ``%px`` magics for ``view``, with ``%%px --timeout SECONDS``."""
    from ipyparallel.client.magics import ParallelMagics
    from IPython import get_ipython

    class RaidenParallelMagics(ParallelMagics):
        def cell_px(self, line: str = "", cell: str | None = None) -> Any:
            seconds, rest = take_timeout(line)
            if seconds is None:
                return super().cell_px(rest, cell)
            fired = threading.Event()

            def stop() -> None:
                fired.set()
                interrupt(self.view.client, msg_ids=())

            timer = threading.Timer(seconds, stop)
            timer.start()
            try:
                return super().cell_px(rest, cell)
            finally:
                timer.cancel()
                if fired.is_set():
                    print(f"%%px: timed out after {seconds:g} s; the engines were interrupted", file=sys.stderr)

        cell_px.parser = ParallelMagics.cell_px.parser  # type: ignore[attr-defined]  # the same options, parsed as ipyparallel does
        cell_px.__doc__ = ParallelMagics.cell_px.__doc__

    shell = get_ipython()
    if shell is None:
        return
    shell.magics_manager.register(RaidenParallelMagics(shell, view, suffix))
