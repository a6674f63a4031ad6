"""The controller process: ipyparallel's own, with two gaps filled.

``ipc://`` sockets: ipyparallel's controller names an ipc socket ``PREFIX-PORT``
while its Client and its engines connect to ``PREFIX:PORT`` (ipyparallel 9), so
a controller on ipc sockets cannot be reached. Here the controller names them
``PREFIX:PORT`` too, and plain ``ipp.Client(url_file=...)`` and stock engines
reach it. Raiden puts a cluster whose nodes are all this machine on ipc sockets
in the cluster's 0700 folder: on TCP, even on loopback, any user of the machine
could connect and read every engine's output on the iopub broadcast.

Slow engines: the hub accepts an engine's registration, then waits for its first
heartbeat, and drops the registration if none came within ``registration_timeout``
(30 s). An engine's heart starts only once its startup is done (IPython, then
Raiden's warm-up, which imports numba), and a Pi Zero, or a Pi under load, takes
longer than that: the engine then runs, registered in its own eyes and never in
the hub's, and its node never comes up. Here a starting engine is given
``STARTING_ENGINE_S``; ``registration_timeout`` keeps its other use (how long the
tasks of an engine that left wait before they fail). An engine that exits while
starting has its registration cancelled by the supervisor (``Hub.cancel_pending``),
so the engine started in its place gets the same id.
"""

from __future__ import annotations

import time
from typing import Any

from ipyparallel.controller.app import IPController, main
from ipyparallel.controller.hub import Hub

STARTING_ENGINE_S = 600.0

_construct_url = IPController.construct_url


def construct_url(self: IPController, kind: str, channel: str, index: Any = None) -> str:
    url = _construct_url(self, kind, channel, index)
    if url.startswith("ipc://"):
        prefix, _, port = url.rpartition("-")
        return f"{prefix}:{port}"
    return url


IPController.construct_url = construct_url  # type: ignore[method-assign]

_purge_stalled_registration = Hub._purge_stalled_registration


def purge_stalled_registration(self: Hub, heart: bytes) -> None:
    """Drop a registration whose engine sent no heartbeat: after ``STARTING_ENGINE_S``, not 30 s."""
    pending = self.incoming_registrations.get(heart)
    if pending is not None:
        waited = time.monotonic() - pending.registration_started
        if waited < STARTING_ENGINE_S:
            again = min(max(5.0, float(self.registration_timeout)), STARTING_ENGINE_S - waited)
            pending.stallback = self.loop.add_timeout(
                self.loop.time() + again, lambda: purge_stalled_registration(self, heart)
            )
            return
    _purge_stalled_registration(self, heart)


Hub._purge_stalled_registration = purge_stalled_registration  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
