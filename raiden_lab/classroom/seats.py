"""The seats of a class: one cluster per student, started on demand, ended by the teacher.

Each seat is a cluster of its own (``classroom.seatinventory.seat_inventory``) run by a
supervisor of its own under ``$RAIDEN_HOME/<cluster>/seats/``, in the teacher's
private folder; its client connection file (its CurveZMQ keys) leaves that
folder only as the answer to its own student, whom the kernel names
(SO_PEERCRED, in ``classroom``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from typing import Any

from ..config.inventory import Inventory
from ..config.paths import ClusterPaths
from ..daemon import control
from ..errors import RaidenError
from ..operations import lifecycle
from ..operations.status import cluster_events, cluster_status
from ..vocabulary import EngineState
from . import seataccounts
from .seatinventory import seat_inventory, seat_problem

SCHEMA = """
CREATE TABLE IF NOT EXISTS seats (
    user TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    started REAL NOT NULL
);
"""
SEAT_UP_TIMEOUT_S = 120.0
EVENTS_SHOWN = 10
EVENTS_KEPT = 200  # what a student's own %raiden events and checks read of their seat


class Seats:
    def __init__(self, inventory: Inventory, paths: ClusterPaths, db: sqlite3.Connection, limit: int | None) -> None:
        self.inventory = inventory
        self.home = paths.root / "seats"
        self.db = db
        self.db.executescript(SCHEMA)
        self.limit = min(limit or inventory.classroom.seats, inventory.classroom.seats)
        self.problem = seat_problem(inventory)
        self.lock = asyncio.Lock()  # numbers (and with them ports and accounts) are handed out one at a time
        self.starting: dict[int, asyncio.Lock] = {}  # a seat starts or ends under its own lock

    def paths(self, number: int) -> ClusterPaths:
        return ClusterPaths(seat_inventory(self.inventory, number).name, home=self.home)

    def number_of(self, user: str) -> int | None:
        row = self.db.execute("SELECT number FROM seats WHERE user = ?", (user,)).fetchone()
        return row[0] if row else None

    def taken(self) -> list[tuple[str, int]]:
        return [(r[0], r[1]) for r in self.db.execute("SELECT user, number FROM seats ORDER BY number")]

    async def take(self, user: str) -> dict[str, Any]:
        """The user's seat (started now if it is not running): its number and client connection.

        Numbers are handed out under one lock; each seat starts under a lock of its own, so one student's
        slow start keeps no other waiting.
        """
        if self.problem:
            return {"ok": False, "error": self.problem}
        async with self.lock:
            number = self.number_of(user)
            if number is None:
                used = {n for _, n in self.taken()}
                free = [n for n in range(1, self.limit + 1) if n not in used]
                if not free:
                    return {"ok": False, "error": f"all {self.limit} seats are taken; ask the teacher to end one"}
                number = free[0]
                self.db.execute("INSERT INTO seats VALUES (?, ?, ?)", (user, number, time.time()))
            seat_lock = self.starting.setdefault(number, asyncio.Lock())
        async with seat_lock:
            if self.number_of(user) != number:
                return {"ok": False, "error": f"seat {number} was ended while it started; take a seat again"}
            paths = self.paths(number)
            if not control.is_running(paths):
                problem = await self._start(number, paths)
                if problem is not None:
                    await self._down(number)
                    self.db.execute("DELETE FROM seats WHERE user = ?", (user,))
                    return {"ok": False, "error": f"seat {number} did not start: {problem}"}
            hosts = [n.host for n in seat_inventory(self.inventory, number).nodes]
            return {
                "ok": True,
                "seat": number,
                "name": paths.name,
                "nodes": hosts,
                "connection": self.connection(number),
            }

    async def _start(self, number: int, paths: ClusterPaths) -> str | None:
        """Start seat ``number`` on accounts left clean by its last student; why it could not, or None."""
        inventory = seat_inventory(self.inventory, number)
        self.home.mkdir(mode=0o700, exist_ok=True)
        paths.ensure()
        unsafe = await seataccounts.check(inventory, paths)
        if unsafe:
            return "; ".join(unsafe)
        try:
            outcome = await lifecycle.up(inventory, paths, SEAT_UP_TIMEOUT_S)
        except RaidenError as e:
            return str(e)
        if not outcome.ok:
            return "; ".join(outcome.problems + outcome.skipped) or "no engine came up"
        return None

    def connection(self, number: int) -> dict[str, Any]:
        return json.loads(self.paths(number).client_file.read_text())

    async def end(self, user: str) -> bool:
        """Stop the user's seat (its engines on every node), leave nothing of theirs on the seat's accounts,
        and give the seat back; False if they had none."""
        number = self.number_of(user)
        if number is None:
            return False
        async with self.starting.setdefault(number, asyncio.Lock()):
            await self._down(number)
            self.db.execute("DELETE FROM seats WHERE user = ? AND number = ?", (user, number))
        return True

    async def restart(self, user: str, host: Any) -> dict[str, Any]:
        """Restart the engines of the user's own seat on one of its nodes (``%raiden restart NODE`` in a seat)."""
        number = self.number_of(user)
        if number is None:
            return {"ok": False, "error": "you have no seat; run %raiden up to take one"}
        inventory = seat_inventory(self.inventory, number)
        hosts = [n.host for n in inventory.nodes]
        if host not in hosts:
            return {
                "ok": False,
                "error": f"{str(host)[:80]!r} is not a node of your seat; its nodes: {', '.join(hosts)}",
            }
        async with self.starting.setdefault(number, asyncio.Lock()):
            try:
                outcome = await lifecycle.restart_node(inventory, self.paths(number), host, SEAT_UP_TIMEOUT_S)
            except RaidenError as e:
                return {"ok": False, "error": str(e)}
        return {"ok": outcome.ok, "said": outcome.said + outcome.messages()}

    def detail(self, user: str) -> dict[str, Any] | None:
        """The whole state of the user's own seat, as a dashboard draws a cluster: its nodes' health and
        engines, and its events; None without a seat."""
        number = self.number_of(user)
        if number is None:
            return None
        model = cluster_status(seat_inventory(self.inventory, number), self.paths(number))
        model["events"] = cluster_events(self.paths(number), limit=EVENTS_KEPT)
        return model

    async def end_all(self) -> None:
        await asyncio.gather(*(self.end(user) for user, _ in self.taken()))

    async def _down(self, number: int) -> None:
        inventory = seat_inventory(self.inventory, number)
        await lifecycle.down(inventory, self.paths(number))
        for problem in await seataccounts.reset(inventory, self.paths(number)):
            print(f"seat {number}: {problem}", file=sys.stderr, flush=True)  # the class's log

    def status(self, user: str | None = None) -> list[dict[str, Any]]:
        """Each seat (or the user's): student, engines alive, CPU of its engines, tasks running."""
        seats = []
        for owner, number in self.taken():
            if user is not None and owner != user:
                continue
            model = cluster_status(seat_inventory(self.inventory, number), self.paths(number))
            engines = [e for n in model["nodes"] for e in n["engines"]]
            cpu = sum(
                (info.get("cpu") or 0)
                for n in model["nodes"]
                for info in ((n.get("sample") or {}).get("engines") or {}).values()
            )
            seats.append(
                {
                    "user": owner,
                    "seat": number,
                    "name": model["name"],
                    "state": model["state"],
                    "engines": {
                        "alive": model["engines"]["alive"],
                        "total": model["engines"]["total"],
                        "busy": sum(e["state"] == EngineState.BUSY for e in engines),
                    },
                    "cpu": round(cpu, 1),
                    "tasks": model["tasks"],
                    "nodes": [{k: n[k] for k in ("host", "state", "engines")} for n in model["nodes"]],
                    # what happened to the seat (an engine restarted, and why), newest first
                    "events": cluster_events(self.paths(number), limit=EVENTS_SHOWN),
                }
            )
        return seats
