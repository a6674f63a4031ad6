"""Attaching: ``connect()`` to a running cluster by name, or to this user's seat in a class.

``connect`` finds the cluster (``-i``/name, ``./raiden.toml``, ``raiden lab``'s, the embedded
default) and wraps a plain ipyparallel ``Client`` in a ``RaidenCluster``; a student of a class
(``RAIDEN_CLASS``, or a seat code) gets a ``SeatCluster`` from the class instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import ipyparallel as ipp

from .. import classroom
from ..config.paths import ClusterPaths
from ..daemon import control
from ..errors import RaidenError
from ..operations.status import find_inventory
from .client import RaidenCluster, SeatCluster


def take_seat(socket_path: str | None = None, timeout: float = 10, code: str | None = None) -> SeatCluster:
    """This user's seat (started on first use), attached: from the class on ``socket_path`` (on the head),
    or with a seat ``code`` the teacher handed out (anywhere on the class's network)."""
    if code is not None:
        from ..classroom.seatcodes import ask_desk, parse_code

        ip, port = parse_code(code)[:2]
        where = f"the class at {ip}:{port}"

        def ask(message: dict[str, Any]) -> dict[str, Any]:
            return ask_desk(code, message)
    else:
        assert socket_path is not None
        where = f"{classroom.CLASS_ENV}={socket_path}"

        def ask(message: dict[str, Any]) -> dict[str, Any]:
            return classroom.ask(socket_path, message)

    try:
        reply = ask({"op": "seat"})
    except OSError as e:
        raise RaidenError(
            f"{where}: no class answers there ({e.strerror or e}); ask the teacher whether the class runs"
        ) from None
    if not reply.get("ok"):
        raise RaidenError(f"{where}: {reply.get('error', 'no seat was given')}")
    # the seat's keys, for this user only (mkstemp: 0600), read by the Client and removed at once
    fd, path = tempfile.mkstemp(prefix="raiden-seat-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(reply["connection"], f)
        client = ipp.Client(path, timeout=timeout)
    finally:
        os.unlink(path)
    return SeatCluster(ask, reply, client)


def connect(
    name: str | None = None,
    inventory: str | os.PathLike[str] | None = None,
    timeout: float = 10,
    seat: str | None = None,
) -> RaidenCluster:
    """Attach to a running cluster by name.

    With no name: the cluster of ``./raiden.toml``, else the only running
    cluster, else the embedded default (``local``). A student of a class
    (``RAIDEN_CLASS`` set, as a class's JupyterHub does) gets their seat;
    elsewhere ``seat="raiden-seat:…"``, the code the teacher handed out, does.
    """
    if seat is not None:
        return take_seat(timeout=timeout, code=seat)
    if name is None and inventory is None and os.environ.get(classroom.CLASS_ENV):
        return take_seat(os.environ[classroom.CLASS_ENV], timeout)
    inv = find_inventory(name, inventory)
    paths = ClusterPaths(inv.name)
    if not control.is_running(paths) or not paths.client_file.exists():
        raise RaidenError(
            f"cluster '{inv.name}' is not running; start it with `raiden up`" + (f" -i {inv.path}" if inv.path else "")
        )
    client = ipp.Client(str(paths.client_file), timeout=timeout)
    return RaidenCluster(inv, paths, client)
