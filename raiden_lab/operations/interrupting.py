"""Interrupting the running work of a cluster, whoever sent it: the engines' nannies signal them.

ipyparallel can abort tasks that have not started (``abort``) and, through each
engine's nanny, signal an engine (``send_signal``). An engine ignores SIGINT
between tasks and turns it into KeyboardInterrupt inside one, so SIGINT to the
engines that hold tasks ends exactly the running work. ``interrupt`` does both:
first the abort, so that no queued task starts in the gap, then the signal.
The CLI, the server and the notebook's maps all stop work through here.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterable
from typing import Any

import ipyparallel as ipp

from ..errors import RaidenError


def busy_engines(client: ipp.Client) -> list[int]:
    """Engines holding tasks now (queued at them or running), as the controller counts them."""
    status = client.queue_status()
    return sorted(
        eid for eid, q in status.items() if isinstance(eid, int) and q.get("queue", 0) + q.get("tasks", 0) > 0
    )


def interrupt(client: ipp.Client, msg_ids: Iterable[str] | None = None) -> list[int]:
    """Abort ``msg_ids`` (all this client's outstanding tasks if None) and SIGINT the busy engines; their ids."""
    ids = list(client.outstanding if msg_ids is None else msg_ids)
    targets = list(client.ids)
    if ids and targets:
        with contextlib.suppress(Exception):
            client.abort(jobs=ids, targets=targets, block=False)
    busy = busy_engines(client)
    if busy:
        # blocking: the nannies answer (not the busy engines), and a caller that exits at once
        # (`raiden_lab.connect().interrupt()` in a script) must not leave the messages unsent
        client.send_signal(signal.SIGINT, targets=busy, block=True)
    return busy


def interrupt_cluster(paths: Any, timeout: float = 10.0) -> list[int]:
    """Interrupt the running tasks on every engine of a cluster, whoever sent them (``raiden interrupt``,
    the Stop-work buttons); a Raiden map whose task was interrupted stops too. The busy engines' ids."""
    try:
        client = ipp.Client(str(paths.client_file), timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise RaidenError(f"cluster '{paths.name}': cannot reach its controller ({e}); is it running?") from None
    try:
        return interrupt(client, msg_ids=())
    finally:
        client.close()
