"""Seat codes: a student on their own laptop takes a seat with a code the teacher hands out.

The class listens on the head's address (the inventory's ``controller_ip``)
with a CurveZMQ socket whose key pair is made when the class starts. A code,
``raiden-seat:IP:PORT:TOKEN:SERVERKEY``, carries the address, a secret token
naming the student, and the socket's public key, so the exchange (which hands
over the seat's own keys) is encrypted to the class and nobody on the network
can read it. ``raiden class code NAME`` makes one; it stays valid, so the
student can attach again, until its expiry (``CODE_TTL_S``), a newer code for
the same student, the end of their seat, or the class's stop or next start.
The socket takes small requests only: a larger message or more frames close
the peer's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import sqlite3
import time
from typing import Any

import zmq
import zmq.asyncio

from ..errors import InputError
from .seats import Seats

PREFIX = "raiden-seat"
_CODE_RE = re.compile(rf"^{PREFIX}:([0-9a-fA-F.:]+?):(\d+):([A-Za-z0-9_-]+):(.{{40}})$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
SCHEMA = """
DROP TABLE IF EXISTS codes;
CREATE TABLE codes (token TEXT PRIMARY KEY, user TEXT NOT NULL UNIQUE, expires REAL NOT NULL);
"""  # dropped at each class start: no code of an earlier class is valid
CODE_TTL_S = 12 * 3600.0  # a school day
MAX_MESSAGE = 4096
INVALID = "this seat code is not (or no longer) valid; ask the teacher for a new one"


def parse_code(code: str) -> tuple[str, int, str, bytes]:
    """IP, port, token and server key of a seat code; InputError naming what is wrong."""
    match = _CODE_RE.match(code.strip())
    if not match:
        raise InputError(f"seat code {code[:24]!r}…: not a seat code; copy the whole line the teacher gave you")
    ip, port, token, key = match.groups()
    return ip, int(port), token, key.encode("ascii")


class CodeDesk:
    def __init__(self, seats: Seats, db: sqlite3.Connection, ip: str) -> None:
        self.seats = seats
        self.db = db
        self.db.executescript(SCHEMA)
        self.ip = ip
        self.public, self.secret = zmq.curve_keypair()
        self.context = zmq.asyncio.Context()
        self.sock = self.context.socket(zmq.ROUTER)
        self.sock.curve_server = True
        self.sock.curve_publickey, self.sock.curve_secretkey = self.public, self.secret
        self.sock.linger = 0
        self.sock.maxmsgsize = MAX_MESSAGE  # a larger message closes its sender's connection, unread
        self.port = self.sock.bind_to_random_port(f"tcp://{ip}")

    def issue(self, user: str) -> str:
        if not _NAME_RE.match(user):
            raise InputError(f"{user!r}: a student's name is letters, digits, '_', '.', '-' (at most 32)")
        token = secrets.token_urlsafe(12)
        # one live code a student: a new one replaces the last (a code shown on a screen, then reissued)
        self.db.execute("DELETE FROM codes WHERE user = ?", (user,))
        self.db.execute("INSERT INTO codes VALUES (?, ?, ?)", (token, user, time.time() + CODE_TTL_S))
        return f"{PREFIX}:{self.ip}:{self.port}:{token}:{self.public.decode()}"

    def revoke(self, user: str | None = None) -> None:
        """No code of ``user`` (of anyone: None) is valid any more."""
        if user is None:
            self.db.execute("DELETE FROM codes")
        else:
            self.db.execute("DELETE FROM codes WHERE user = ?", (user,))

    def holder(self, token: Any) -> str | None:
        row = self.db.execute(
            "SELECT user FROM codes WHERE token = ? AND expires > ?", (str(token), time.time())
        ).fetchone()
        return row[0] if row else None

    async def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        user, op = self.holder(request.get("token")), request.get("op")
        if user is None:
            return {"ok": False, "error": INVALID}
        if op == "seat":
            return await self.seats.take(user)
        if op == "myseat":
            return {"ok": True, "seat": next(iter(self.seats.status(user)), None)}
        if op == "end":
            self.revoke(user)
            return {"ok": await self.seats.end(user)}
        return {"ok": False, "error": f"unknown request {op!r}"}

    async def serve(self, stop: asyncio.Event) -> None:
        sock = self.sock
        pending: set[asyncio.Task] = set()

        async def one(frames: list[bytes]) -> None:
            try:
                request = json.loads(frames[-1][:MAX_MESSAGE])
                reply = await self.answer(request if isinstance(request, dict) else {})
            except (ValueError, RecursionError):
                reply = {"ok": False, "error": "send one JSON object"}
            with contextlib.suppress(zmq.ZMQError):
                await sock.send_multipart([*frames[:-1], json.dumps(reply).encode()])

        try:
            while not stop.is_set():
                if await sock.poll(200):
                    frames = await sock.recv_multipart()
                    if len(frames) > 3:  # ROUTER's identity, REQ's delimiter, the request: nothing more
                        continue
                    task = asyncio.create_task(one(frames))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
        finally:
            for task in pending:
                task.cancel()
            self.revoke()
            sock.close()
            self.context.term()


def ask_desk(code: str, message: dict[str, Any], timeout: float = 150.0) -> dict[str, Any]:
    """One request to the class behind a seat code (from a laptop), encrypted to its key."""
    ip, port, token, key = parse_code(code)
    context = zmq.Context.instance()
    sock = context.socket(zmq.REQ)
    sock.curve_serverkey = key
    sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.linger = 0
    sock.rcvtimeo = int(timeout * 1000)
    try:
        sock.connect(f"tcp://{ip}:{port}")
        sock.send(json.dumps({**message, "token": token}).encode())
        return json.loads(sock.recv())
    except zmq.Again:
        raise OSError(f"no class answered at {ip}:{port} within {timeout:g} s") from None
    finally:
        sock.close()
