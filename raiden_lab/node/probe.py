"""Preflight probe: prints one JSON object describing this node. Standard library only.

Usage on the node: ``python - WORK_DIR PACKAGE...`` with this file on stdin.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from importlib import metadata


def _memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _version(package: str) -> str | None:
    if package == "raiden_lab":  # may be copied in by `raiden provision`, without metadata
        try:
            import raiden_lab

            return getattr(raiden_lab, "code_version", lambda: raiden_lab.__version__)()
        except Exception:
            return None
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _boot_id() -> str | None:
    """Two "nodes" with one boot id are one kernel (namespaces, containers): they share /tmp."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def main(argv: list[str]) -> None:
    work_dir = os.path.abspath(os.path.expanduser(argv[0]))
    os.umask(0o077)  # the work folder and the folders above it that we create: this account's only
    try:
        os.makedirs(work_dir, mode=0o700, exist_ok=True)
        work_dir_error = None
    except OSError as e:
        work_dir_error = f"{e.strerror}"
    probe_dir = work_dir
    while not os.path.isdir(probe_dir):
        probe_dir = os.path.dirname(probe_dir)
    report = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "arch": platform.machine(),
        "libc": "-".join(platform.libc_ver()),  # "glibc-2.36": which manylinux wheels the node can take
        "cores": os.cpu_count(),
        "memory": _memory(),
        "disk_free": shutil.disk_usage(probe_dir).free,
        "work_dir": work_dir,
        "work_dir_error": work_dir_error,
        "packages": {name: _version(name) for name in argv[1:]},
        "orted": shutil.which("orted"),
        "boot_id": _boot_id(),  # Open MPI's daemon, for launcher = "mpi"
        "time": time.time(),
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
