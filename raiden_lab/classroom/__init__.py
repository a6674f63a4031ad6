"""The class, from outside: ask its daemon, start and stop it, read who passed what.

Students and the teacher import this with nothing but the standard library (``ask``): the daemon
itself, which decides what a request may do, is ``classroom/daemon.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .. import wire
from ..config.paths import ClusterPaths
from ..errors import InputError, RaidenError
from .rendezvous import UntrustedClass, rendezvous_owner

LOG_MAX_BYTES = 1 << 20
CLASS_ENV = "RAIDEN_CLASS"  # in a student's environment: the class's socket
TIMEOUT_S = 2.0
SLOW_TIMEOUT_S = 150.0  # taking a seat starts a cluster (seats.SEAT_UP_TIMEOUT_S and more)


def ask(path: str, message: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """One request to the class on ``path``, one JSON reply (students and the teacher alike).

    Nothing is sent before the socket's folder and the process listening in it are known to be the
    teacher's (``rendezvous_owner``, then ``SO_PEERCRED``): UntrustedClass otherwise. Taking, ending or
    stopping seats starts or stops clusters: those wait longer.
    """
    owner = rendezvous_owner(path)
    slow = message.get("op") in ("seat", "end", "stop", "restart")
    try:
        return wire.ask(path, message, timeout or (SLOW_TIMEOUT_S if slow else TIMEOUT_S), peers={owner, 0})
    except wire.WrongPeer as e:
        raise UntrustedClass(f"{e}; do not use this class, and tell the teacher") from None


def class_folder(paths: ClusterPaths) -> Path:
    return paths.root / "class"


def progress_model(name: str, exercises: list[str], roster: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The grid: each student against each exercise, ``passed``, ``failed`` (tried, never passed) or null."""
    seen = {r["user"] for r in rows}
    students = list(roster) + sorted(seen - set(roster))
    grid = {s: dict.fromkeys(exercises) for s in students}
    for r in rows:
        grid.setdefault(r["user"], dict.fromkeys(exercises))[r["exercise"]] = "passed" if r["passed"] else "failed"
    return {
        "name": name,
        "exercises": exercises,
        "students": [
            {"user": s, "results": grid[s], "passed": sum(v == "passed" for v in grid[s].values())} for s in students
        ],
    }


def progress_csv(model: dict[str, Any]) -> str:
    lines = [",".join(["student", *model["exercises"]])]
    for s in model["students"]:
        lines.append(",".join([s["user"], *(s["results"].get(e) or "" for e in model["exercises"])]))
    return "\n".join(lines) + "\n"


def running_class(paths: ClusterPaths) -> dict[str, Any] | None:
    """The class of this cluster while its daemon runs: its name, socket, roster and pid."""
    try:
        info = json.loads((class_folder(paths) / "class.json").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(info["pid"], 0)
    except OSError:
        return None
    return info


def start_class(
    name: str,
    paths: ClusterPaths,
    socket_path: Path,
    roster: list[str],
    exercises: list[str],
    inventory: Path | None = None,
    seats: int | None = None,
) -> dict[str, Any]:
    """Start the class's daemon (as this user, the teacher) and wait until it answers."""
    if running_class(paths):
        raise RaidenError(f"class '{name}' is already running; `raiden class stop` ends it")
    if len(str(socket_path)) > 100:
        raise InputError(
            f"{socket_path}: too long for a Unix socket (at most 100 characters); choose a shorter --socket"
        )
    folder = class_folder(paths)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = {
        "name": name,
        "folder": str(folder),
        "socket": str(socket_path),
        "roster": roster,
        "exercises": exercises,
        "inventory": str(inventory.resolve()) if inventory else None,
        "seats": seats,
    }
    with contextlib.suppress(OSError):  # one class's log at most, and the last one's
        if (folder / "class.log").stat().st_size > LOG_MAX_BYTES:
            os.replace(folder / "class.log", folder / "class.log.1")
    log = os.open(folder / "class.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "raiden_lab.classroom.daemon"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            start_new_session=True,
            cwd=folder,
        )
    finally:
        os.close(log)
    assert daemon.stdin is not None
    daemon.stdin.write(json.dumps(config).encode())
    daemon.stdin.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            tail = (folder / "class.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise RaidenError(
                f"class '{name}' did not start: {tail[0] if tail else 'no word'}; see {folder / 'class.log'}"
            )
        with contextlib.suppress(OSError, ValueError):
            if ask(str(socket_path), {"op": "whoami"}).get("ok"):
                return running_class(paths) or config
        time.sleep(0.1)
    raise RaidenError(f"class '{name}' did not answer on {socket_path} within 20 s; see {folder / 'class.log'}")


def stop_class(name: str, paths: ClusterPaths) -> bool:
    """Stop the class's daemon; False when none ran."""
    info = running_class(paths)
    if info is None:
        return False
    with contextlib.suppress(OSError, ValueError):
        ask(info["socket"], {"op": "stop"})
    deadline = time.monotonic() + 120  # every seat's cluster stops first
    while running_class(paths) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True
