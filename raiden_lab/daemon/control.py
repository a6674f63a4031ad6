"""Talking to a cluster's supervisor: its lock says whether it runs, its socket takes requests.

The socket lives in the cluster's 0700 folder, so only its owner can send a request.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import Any

import psutil

from .. import wire
from ..config.paths import ClusterPaths
from ..errors import RaidenError

LOCK_PATIENCE_S = 2.0


def hold_lock(paths: ClusterPaths, patience: float = LOCK_PATIENCE_S) -> int | None:
    """Take the cluster's lock (the supervisor keeps it for life) and write our pid in it.

    None if another supervisor holds it. ``is_running`` takes the lock for a moment to
    look; ``patience`` keeps a starting supervisor from taking such a look for a rival.
    """
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline or _holder(paths) is not None:
                os.close(fd)
                return None
            time.sleep(0.02)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _holder(paths: ClusterPaths) -> int | None:
    """The pid written in the lock when that process is alive and a supervisor; else None."""
    try:
        pid = int(paths.lock.read_text().strip() or 0)
        proc = psutil.Process(pid) if pid else None
        if proc is not None and "raiden_lab.daemon.supervisor" in " ".join(proc.cmdline()):
            return pid
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def supervisor_pid(paths: ClusterPaths) -> int | None:
    """The running supervisor's pid, read from its lock (no state file needed)."""
    return _holder(paths) if is_running(paths) else None


def is_running(paths: ClusterPaths) -> bool:
    """True while a supervisor holds the cluster's lock."""
    if not paths.lock.exists():
        return False
    if _holder(paths) is not None:
        return True
    fd = os.open(paths.lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def kill_stray_controllers(paths: ClusterPaths) -> int:
    """Kill controller processes of this cluster that lost their supervisor or their parent.

    A controller killed hard leaves its scheduler processes behind, and a
    supervisor killed hard leaves the controller: both hold ports and keys.
    """
    profile = os.path.realpath(paths.profile_dir)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or ())
            if "ipyparallel.controller" not in cmdline and "raiden_lab.daemon.ipcontroller" not in cmdline:
                continue
            if os.path.realpath(proc.environ().get("IPP_PROFILE_DIR", "")) == profile:
                found.append(proc)
        except psutil.Error:
            continue
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(found, timeout=5)
    return len(found)


def request(paths: ClusterPaths, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    """Send one request to the supervisor and return its reply."""
    try:
        return wire.ask(str(paths.control_socket), message, timeout)
    except OSError as e:
        raise RaidenError(
            f"cluster '{paths.name}': its supervisor does not answer ({e.strerror or e}); see {paths.log}"
        ) from None
