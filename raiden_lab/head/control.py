"""Talking to a cluster's supervisor: its lock says whether it runs, its socket takes requests.

The socket lives in the cluster's 0700 folder, so only its owner can send a request.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any

import psutil

from ..config.paths import ClusterPaths
from ..errors import RaidenError
from . import wire


def hold_lock(paths: ClusterPaths) -> int | None:
    """Take the cluster's lock (the supervisor keeps it for life); None if someone holds it."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def is_running(paths: ClusterPaths) -> bool:
    """True while a supervisor holds the cluster's lock."""
    if not paths.lock.exists():
        return False
    fd = hold_lock(paths)
    if fd is None:
        return True
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
            if "ipyparallel.controller" not in cmdline and "raiden_lab.head.controller" not in cmdline:
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
