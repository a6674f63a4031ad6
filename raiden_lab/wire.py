"""One JSON request, one JSON reply, over a Unix socket: how the CLI talks to a supervisor and a student to a class.

Standard library only, so a student's process with no Raiden dependencies can use it.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from typing import Any

MAX_REPLY = 16 << 20


class WrongPeer(Exception):
    """The process that answered on the socket is not one of the users it must be (nothing was sent)."""


def peer_uid(sock: socket.socket) -> int:
    """The user of the process at the other end of a connected Unix socket, as the kernel knows it."""
    _, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def ask(path: str, message: dict[str, Any], timeout: float, peers: set[int] | None = None) -> dict[str, Any]:
    """Send ``message`` on one line to the socket at ``path``; its one-line reply. OSError when nobody listens.

    With ``peers``, nothing is sent unless the process that answers runs as one of those users (WrongPeer).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        if peers is not None and (uid := peer_uid(sock)) not in peers:
            raise WrongPeer(f"{path}: the process listening there runs as uid {uid}, not as the user it must")
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_REPLY:
                raise ValueError(f"{path}: a reply of more than {MAX_REPLY >> 20} MiB")
    return json.loads(data or b'{"ok": false, "error": "no reply"}')


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity (an agent's reading gone wrong) as None: JSON has neither."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
