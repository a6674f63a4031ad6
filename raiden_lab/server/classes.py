"""The class as this server's user sees it: the teacher's grid and seats, or a student's own seat.

Every answer comes from the class's daemon, which knows who asks from the
kernel (SO_PEERCRED): this server only relays what its own Unix user may see,
so a student's server can show nothing but that student's seat.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from .. import classroom
from ..classroom import rendezvous
from ..classroom.roster import read_roster
from ..config.paths import ClusterPaths
from ..errors import InputError, NotFound, RaidenError
from ..operations.lessons import exercise_names


class Forbidden(RaidenError):
    """The class refused this user (only its teacher may do that): a 403 with a sentence."""


def _ask(where: str, message: dict[str, Any]) -> dict[str, Any]:
    try:
        reply = classroom.ask(where, message)
    except (OSError, ValueError) as e:
        raise NotFound(f"no class answers at {where} ({e.__class__.__name__}); is it running?") from None
    if not reply.get("ok"):
        error = str(reply.get("error", "the class refused"))
        raise Forbidden(error) if "only the teacher" in error else RaidenError(error)
    return reply


def teacher_view(name: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
    """The grid and the seats, when a class of cluster ``name`` runs and this user teaches it."""
    info = classroom.running_class(ClusterPaths(name))
    if info is None:
        return None, None
    try:
        reply = classroom.ask(info["socket"], {"op": "progress"})
    except (OSError, ValueError, RaidenError):
        return None, None
    return (reply.get("progress"), reply.get("seats")) if reply.get("ok") else (None, None)


def student_view() -> dict[str, Any] | None:
    """This user's seat, when their environment names a class (``RAIDEN_CLASS``) they do not teach."""
    where = os.environ.get(classroom.CLASS_ENV)
    if not where:
        return None
    try:
        who = classroom.ask(where, {"op": "whoami"})
        if not who.get("ok") or who.get("teacher"):
            return None
        mine = classroom.ask(where, {"op": "myseat"})
    except rendezvous.UntrustedClass as e:
        return {"class": None, "user": None, "seat": None, "error": str(e)}
    except (OSError, ValueError):
        return None  # no class runs (yet): the teacher, who has RAIDEN_CLASS too, must be able to start it
    return {"class": who.get("class"), "user": who.get("user"), "seat": mine.get("seat"), "error": mine.get("error")}


class ClassActions:
    """What the sidebar's class buttons do; the manager mixes this in."""

    root: Path
    inventory: Any  # the manager's: name -> Inventory, NotFound for an unknown name

    def _running(self, name: str) -> dict[str, Any]:
        self.inventory(name)
        info = classroom.running_class(ClusterPaths(name))
        if info is None:
            raise NotFound(f"no class of cluster '{name}' is running; start one with `raiden class start`")
        return info

    async def class_csv(self, name: str) -> str:
        """The class's grid as CSV, for a spreadsheet."""
        info = self._running(name)
        reply = await asyncio.to_thread(_ask, info["socket"], {"op": "progress"})
        return classroom.progress_csv(reply["progress"])

    async def start_class(self, name: str) -> dict[str, Any]:
        """Start a class of the cluster, for the students listed in ``students.txt`` beside the inventory."""
        inv = self.inventory(name)
        roster_file = self.root / "students.txt"
        if not roster_file.is_file():
            raise InputError(
                f"{roster_file}: no list of students; write one user name a line there to start the class from "
                "the sidebar (or `raiden class start --group GROUP`, or `--open` for any account of this machine)"
            )
        roster = read_roster(roster_file)
        paths = ClusterPaths(inv.name).ensure()
        info = await asyncio.to_thread(
            classroom.start_class, inv.name, paths, rendezvous.default_socket(), roster, exercise_names(), inv.path
        )
        who = f"{len(roster)} students of {roster_file.name}"
        return {
            "ok": True,
            "output": f"class '{inv.name}' started for {who}; students set RAIDEN_CLASS={info['socket']}",
        }

    async def stop_class(self, name: str) -> dict[str, Any]:
        inv = self.inventory(name)
        stopped = await asyncio.to_thread(classroom.stop_class, inv.name, ClusterPaths(inv.name))
        return {"ok": True, "output": f"class '{inv.name}' stopped" if stopped else "no class was running"}

    async def end_seat(self, name: str, user: str) -> dict[str, Any]:
        info = self._running(name)
        await asyncio.to_thread(_ask, info["socket"], {"op": "end", "user": user})
        return {"ok": True, "output": f"{user}'s seat ended; their engines stopped"}

    async def take_my_seat(self) -> dict[str, Any]:
        where = self._class_env()
        reply = await asyncio.to_thread(_ask, where, {"op": "seat"})
        return {"ok": True, "output": f"your seat {reply['seat']} is ready: raiden_lab.connect() attaches to it"}

    async def end_my_seat(self) -> dict[str, Any]:
        where = self._class_env()
        await asyncio.to_thread(_ask, where, {"op": "end"})
        return {"ok": True, "output": "your seat was given back; its engines stopped"}

    def _class_env(self) -> str:
        where = os.environ.get(classroom.CLASS_ENV)
        if not where:
            raise NotFound(f"this server is in no class ({classroom.CLASS_ENV} is not set)")
        return where
