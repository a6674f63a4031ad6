"""The class: a teacher, the students on this head, and which exercises each has passed, live.

``raiden class start`` runs this daemon as the teacher. It listens on a Unix
socket that the students' processes can reach (``RAIDEN_CLASS`` names it in
their environment, e.g. set by the JupyterHub of the head) and asks the kernel
who connected (SO_PEERCRED): a report is always recorded as the user who sent
it, whatever the message says; only users on the roster may report; only the
teacher (the daemon's own user, or root) may read the progress or stop the
class. What was reported lives in a SQLite file in the teacher's private folder.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import pwd
import signal
import socket
import sqlite3
import stat
import struct
import sys
import time
from pathlib import Path
from typing import Any

from .. import wire
from ..config.inventory import embedded_default, load
from ..config.paths import ClusterPaths
from ..errors import InputError, RaidenError
from . import progress_model
from .rendezvous import user_name
from .seatcodes import CodeDesk
from .seats import Seats

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    user TEXT NOT NULL,
    exercise TEXT NOT NULL,
    passed INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last REAL NOT NULL,
    PRIMARY KEY (user, exercise)
);
"""
MAX_REQUEST = 4096
MAX_CONNECTIONS = 16  # open at once, per student account


class Classroom:
    def __init__(self, config: dict[str, Any]) -> None:
        self.name = config["name"]
        self.socket_path = Path(config["socket"])
        self.roster: list[str] = config["roster"]
        self.exercises: list[str] = config["exercises"]
        self.db = sqlite3.connect(Path(config["folder"]) / "class.sqlite", isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)
        inventory = load(config["inventory"]) if config.get("inventory") else embedded_default()
        self.seats = Seats(inventory, ClusterPaths(inventory.name), self.db, config.get("seats"))
        self.desk = None  # seat codes, for students on laptops: only where seats can be handed out
        if self.seats.problem is None:
            self.desk = CodeDesk(self.seats, self.db, inventory.controller_ip)
        self.stop_requested = asyncio.Event()
        self.connections: collections.Counter[int] = collections.Counter()  # open ones, by the peer's uid

    def _peer(self, writer: asyncio.StreamWriter) -> tuple[int, str]:
        sock = writer.get_extra_info("socket")
        _, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        try:
            return uid, pwd.getpwuid(uid).pw_name
        except KeyError:
            return uid, f"uid{uid}"

    def _teacher(self, uid: int) -> bool:
        return uid in (0, os.getuid())

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request, one reply; whatever a client sends (huge, deep, binary, nothing at all), it gets an
        error or a closed connection, never a traceback, and holds at most a few connections of its own."""
        try:
            uid, user = self._peer(writer)
        except OSError:
            writer.close()
            return
        if self.connections[uid] >= MAX_CONNECTIONS and not self._teacher(uid):
            writer.close()  # one account cannot hold the class's connections (or file descriptors)
            return
        self.connections[uid] += 1
        try:
            try:
                line = await asyncio.wait_for(reader.readline(), 5)
                request = json.loads(line[:MAX_REQUEST] or b"{}")
                reply = await self.dispatch(uid, user, request if isinstance(request, dict) else {})
            except (TimeoutError, ValueError, RecursionError, OSError):
                reply = {"ok": False, "error": "send one JSON object on one line"}
            except Exception as e:  # a request's failure is logged in one line, and the class goes on
                print(f"a request of {user} failed: {e.__class__.__name__}: {e}", file=sys.stderr, flush=True)
                reply = {"ok": False, "error": "the class could not answer that; its log says why"}
            writer.write(json.dumps(wire.finite(reply)).encode() + b"\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self.connections[uid] -= 1
            writer.close()

    def _revoke(self, user: str) -> None:
        if self.desk is not None:
            self.desk.revoke(user)

    def _student(self, uid: int, user: str) -> bool:
        return not self.roster or user in self.roster or self._teacher(uid)

    async def dispatch(self, uid: int, user: str, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "whoami":
            return {"ok": True, "user": user, "teacher": self._teacher(uid), "class": self.name}
        if op == "report":
            return self.report(uid, user, request)
        if op in ("seat", "myseat") and not self._student(uid, user):
            return {"ok": False, "error": f"{user} is not a student of class '{self.name}'"}
        if op == "seat":
            return await self.seats.take(user)
        if op == "myseat":
            seat = next(iter(self.seats.status(user)), None)
            if request.get("detail") is True:  # the student's dashboard, %raiden status and events: their seat only
                return {"ok": True, "seat": seat, "model": self.seats.detail(user)}
            return {"ok": True, "seat": seat}
        if op == "restart":  # a student restarts their own seat's engines on a node; no one else's
            if not self._student(uid, user):
                return {"ok": False, "error": f"{user} is not a student of class '{self.name}'"}
            return await self.seats.restart(user, request.get("host"))
        # a student may end their own seat; any other seat is the teacher's to end
        if op == "end" and request.get("user") in (None, user):
            self._revoke(user)
            return {"ok": await self.seats.end(user)}
        if op in ("progress", "stop", "end", "seats", "code") and not self._teacher(uid):
            return {"ok": False, "error": f"{user}: only the teacher of class '{self.name}' may do that"}
        if op == "progress":
            return {"ok": True, "progress": self.progress(), "seats": self.seats.status()}
        if op == "seats":
            return {"ok": True, "seats": self.seats.status(), "limit": self.seats.limit, "problem": self.seats.problem}
        if op == "end":
            target = str(request.get("user"))
            self._revoke(target)  # the seat's end ends its codes, seat or none
            if await self.seats.end(target):
                return {"ok": True}
            return {"ok": False, "error": f"{target} has no seat in class '{self.name}'"}
        if op == "code":
            if self.desk is None:
                return {"ok": False, "error": self.seats.problem}
            try:
                return {"ok": True, "code": self.desk.issue(str(request.get("user")))}
            except InputError as e:
                return {"ok": False, "error": str(e)}
        if op == "stop":
            self.stop_requested.set()
            return {"ok": True}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def report(self, uid: int, user: str, request: dict[str, Any]) -> dict[str, Any]:
        exercise = request.get("exercise")
        if not self._student(uid, user):
            return {"ok": False, "error": f"{user} is not a student of class '{self.name}'"}
        if exercise not in self.exercises:
            return {"ok": False, "error": f"no exercise named {exercise!r}"}
        passed = 1 if request.get("passed") is True else 0
        self.db.execute(
            "INSERT INTO reports (user, exercise, passed, attempts, last) VALUES (?, ?, ?, 1, ?) "
            "ON CONFLICT (user, exercise) DO UPDATE SET passed = max(passed, excluded.passed), "
            "attempts = attempts + 1, last = excluded.last",
            (user, exercise, passed, time.time()),
        )
        return {"ok": True, "user": user}

    def progress(self) -> dict[str, Any]:
        rows = [dict(r) for r in self.db.execute("SELECT user, exercise, passed FROM reports")]
        return progress_model(self.name, self.exercises, self.roster, rows)

    async def serve(self) -> None:
        folder = self.socket_path.parent
        if not os.path.lexists(folder):
            folder.mkdir(parents=True)
            folder.chmod(0o711)  # students may enter to reach the socket, not list or write (the umask is 077)
        st = os.lstat(folder)
        if st.st_uid != os.getuid():
            raise RaidenError(
                f"{folder} belongs to {user_name(st.st_uid)}, not to you: someone made it before the class started; "
                f"have root remove it (sudo rm -r {folder}), or choose another --socket"
            )
        if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o022 or not st.st_mode & 0o001:
            raise RaidenError(
                f"{folder} must be a folder, writable by you only, that lets others in (chmod 711): "
                "it holds the class's socket"
            )
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        old = os.umask(0o111)  # any local user may connect: the roster and SO_PEERCRED decide what they may do
        try:
            server = await asyncio.start_unix_server(self.handle, path=str(self.socket_path), limit=4 * MAX_REQUEST)
        finally:
            os.umask(old)
        desk = asyncio.create_task(self.desk.serve(self.stop_requested)) if self.desk else None
        try:
            await self.stop_requested.wait()
            await self.seats.end_all()
        finally:
            server.close()
            if desk is not None:
                await desk
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()


def main() -> None:
    os.umask(0o077)
    config = json.loads(sys.stdin.read())
    room = Classroom(config)
    (Path(config["folder"]) / "class.json").write_text(json.dumps({**config, "pid": os.getpid()}))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, room.stop_requested.set)
        await room.serve()

    try:
        asyncio.run(run())
    finally:
        with contextlib.suppress(FileNotFoundError):
            (Path(config["folder"]) / "class.json").unlink()


if __name__ == "__main__":
    main()
