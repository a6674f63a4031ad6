"""One JSON request, one JSON reply, over a Unix socket: how the CLI talks to a supervisor and a student to a class.

Standard library only, so a student's process with no Raiden dependencies can use it.
"""

from __future__ import annotations

import json
import socket
from typing import Any


def ask(path: str, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send ``message`` on one line to the socket at ``path``; its one-line reply. OSError when nobody listens."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data or b'{"ok": false, "error": "no reply"}')
