"""Real Unix users for tests of a machine shared by several people: made with useradd, removed after.

What they run must be readable by them, so :func:`student_copy` puts a copy of raiden_lab in a
world-readable folder made for the test, for Debian's own ``/usr/bin/python3`` (the head's
interpreter may live in a home folder only root can enter). Never loosens a real home's modes.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import tempfile
import time
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
def passwd_lock() -> Iterator[None]:
    """One useradd or userdel at a time across test processes: a second one fails on /etc/passwd's lock."""
    with open("/run/lock/raiden-tests-passwd.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def unix_users(*names: str, login: bool = False) -> Iterator[list[str]]:
    """Create the users and remove them afterwards, even when the test fails.

    With ``login`` (accounts that SSH reaches, such as a class's seat accounts): a home, a shell, and an
    unlocked account with no password (sshd without PAM refuses a locked one; keys are the only way in).
    Without: no home, no shell. Each module uses names of its own, so modules may run side by side.
    """
    made = []
    try:
        for name in names:
            with passwd_lock():
                _remove(name, home=True)  # leftovers of a killed run
                shape = (
                    ["--create-home", "--shell", "/bin/sh"]
                    if login
                    else ["--no-create-home", "--shell", "/usr/sbin/nologin"]
                )
                subprocess.run(["useradd", *shape, name], check=True)
                made.append(name)
                if login:
                    subprocess.run(["usermod", "-p", "*", name], check=True)
        yield made
    finally:
        for name in made:
            with passwd_lock():
                _remove(name, home=login)


def _remove(name: str, home: bool) -> None:
    """Kill the user's processes, wait until they are gone (userdel refuses a user still running), then delete."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    deadline = time.monotonic() + 30
    while True:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        if subprocess.run(["pgrep", "-u", name], capture_output=True).returncode == 1:
            gone = subprocess.run(
                ["userdel", "-r", name] if home else ["userdel", name], capture_output=True, text=True
            )
            if gone.returncode in (0, 6, 12):  # 6: no such user; 12: its home stayed, the account is gone
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not remove the test user {name}: its processes outlive SIGKILL")
        time.sleep(0.1)


def authorize(user: str, public_key: str) -> None:
    """Let ``public_key`` log in as the seat account ``user`` over SSH, as the class guide has it: its
    ``~/.ssh`` and ``authorized_keys`` are root's (0755, 0644), so the account cannot change who logs in as it."""
    home = Path(pwd.getpwnam(user).pw_dir)
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o755, exist_ok=True)
    keys = ssh / "authorized_keys"
    keys.write_text(public_key)
    keys.chmod(0o644)
    ssh.chmod(0o755)
    shutil.chown(ssh, "root", "root")
    shutil.chown(keys, "root", "root")


@contextmanager
def student_copy() -> Iterator[Path]:
    """A copy of raiden_lab that any user can import, in a folder of its own under /tmp (0755), removed after."""
    folder = Path(tempfile.mkdtemp(prefix="raiden-students-", dir="/tmp"))
    try:
        shutil.copytree(
            PACKAGE, folder / "raiden_lab", ignore=shutil.ignore_patterns("__pycache__", "labextension", "corpus")
        )
        # the lessons' folders, where the wheel puts them: the exercises' checks are declared there
        shutil.copytree(
            PACKAGE.parent / "notebooks",
            folder / "raiden_lab" / "workshop" / "lessons",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def identity(user: str) -> dict:
    """``subprocess`` arguments that run as ``user`` as a login would: their uid, their group and their groups only.
    (``user=`` alone keeps root's group 0 and root's groups: an attacker with more rights than a real student.)"""
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": os.getgrouplist(user, entry.pw_gid)}


def run_as(
    user: str,
    code: str,
    path: Path | None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    python: str = SYSTEM_PYTHON,
):
    """Run ``code`` as ``user`` with ``python`` (the system's), importing raiden_lab from ``path``."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **(env or {})}
    if path is not None:
        environment["PYTHONPATH"] = str(path)
    return subprocess.run(
        [python, "-c", code],
        **identity(user),
        env=environment,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
