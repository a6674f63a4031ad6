"""Real Unix users for tests of a machine shared by several people: made with useradd, removed after.

What they run must be readable by them, so :func:`student_copy` puts a copy of raiden_lab in a
world-readable folder made for the test, for Debian's own ``/usr/bin/python3`` (the head's
interpreter may live in a home folder only root can enter). Never loosens a real home's modes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGE = Path(__file__).resolve().parent.parent / "raiden_lab"


def missing_requirements() -> str | None:
    if os.geteuid() != 0:
        return "tests with real Unix users need root (useradd, and running processes as those users)"
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None:
            return f"tests with real Unix users need {tool} (Debian: passwd)"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"tests with real Unix users need {SYSTEM_PYTHON} (Debian: python3)"
    return None


@contextmanager
def unix_users(*names: str) -> Iterator[list[str]]:
    """Create the users (no home, no login shell) and remove them afterwards, even when the test fails."""
    made = []
    try:
        for name in names:
            subprocess.run(["userdel", name], capture_output=True)  # a leftover of a run that was killed
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
            made.append(name)
        yield made
    finally:
        for name in made:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            subprocess.run(["userdel", name], capture_output=True)


@contextmanager
def student_copy() -> Iterator[Path]:
    """A copy of raiden_lab that any user can import, in a folder of its own under /tmp (0755), removed after."""
    folder = Path(tempfile.mkdtemp(prefix="raiden-students-", dir="/tmp"))
    try:
        shutil.copytree(
            PACKAGE, folder / "raiden_lab", ignore=shutil.ignore_patterns("__pycache__", "labextension", "corpus")
        )
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_as(user: str, code: str, path: Path, env: dict[str, str] | None = None, timeout: float = 60):
    """Run ``code`` with the system Python as ``user``, importing raiden_lab from ``path``."""
    assert pwd.getpwnam(user)
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(path), "HOME": "/nonexistent", **(env or {})}
    return subprocess.run(
        [SYSTEM_PYTHON, "-c", code],
        user=user,
        env=environment,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
