"""A seat account on its node, between two students: ``reset`` leaves nothing of the last one; ``check`` says
whether the account is clean and whether only root decides who may log in as it.

Runs as the seat account (never as root), as ``python -I - reset|check``, and
prints one JSON line: ``{"processes": [...], "left": [...], "gate": [...]}``.
``reset`` kills every process of the account but its own session (whatever
it is called: the engines' marker is not trusted), removes everything the
account owns in its home and in the shared temporary folders, and its
crontab, puts ``/etc/skel`` back, kills again whatever the files it removed
had started, and reports how the account is left. Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

SKELETON = "/etc/skel"
SHARED = ("/tmp", "/var/tmp", "/dev/shm")
USER_MANAGER = ("/usr/lib/systemd/systemd", "/lib/systemd/systemd")  # a login's systemd --user and (sd-pam)


def _home() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_dir


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _mine() -> list[int]:
    """This account's processes (by real uid) but this program and the session it runs in."""
    uid, spared, found = os.getuid(), _ancestors(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in spared:
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                real = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError):
            continue  # gone
        if real == uid:
            found.append(int(name))
    return found


def others() -> list[str]:
    """This account's live processes but this program and its session (the systemd of a login aside)."""
    found = []
    for pid in _mine():
        try:
            if os.readlink(f"/proc/{pid}/exe") in USER_MANAGER:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read(200).replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone, or a zombie: it runs nothing
        found.append(f"{pid} {cmd or '?'}")
    return found


def _kill_all() -> None:
    """Stop every other process of the account, then kill them: a stopped process forks no replacement."""
    for sig in (signal.SIGSTOP, signal.SIGKILL, signal.SIGKILL):
        for pid in _mine():
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    deadline = time.monotonic() + 5
    while others() and time.monotonic() < deadline:
        time.sleep(0.1)


def _owned(folder: str) -> list[str]:
    uid, paths = os.getuid(), []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        path = os.path.join(folder, name)
        try:
            if os.lstat(path).st_uid == uid:
                paths.append(path)
        except OSError:
            pass
    return paths


def _remove(paths: list[str]) -> None:
    if not paths:
        return
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    # folders the account made unreadable or unwritable to itself are opened up first; no shell is involved
    subprocess.run(["chmod", "-R", "u+rwX", "--", *paths], **quiet)
    subprocess.run(["rm", "-rf", "--", *paths], **quiet)


def _wipe(home: str) -> None:
    gate = os.path.join(home, ".ssh")
    kept = []
    try:
        st = os.lstat(gate)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0:
            kept.append(gate)  # root's: who may log in is not the account's to change
    except OSError:
        pass
    _remove([p for p in _owned(home) if p not in kept])
    for folder in SHARED:
        _remove(_owned(folder))
    if shutil.which("crontab"):
        subprocess.run(["crontab", "-r"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if os.path.isdir(SKELETON):
        for name in os.listdir(SKELETON):
            source, target = os.path.join(SKELETON, name), os.path.join(home, name)
            try:
                if os.path.isdir(source) and not os.path.islink(source):
                    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, target, follow_symlinks=False)
            except OSError:
                pass


def left(home: str) -> list[str]:
    """What the account owns in its home beyond the skeleton, and in the shared temporary folders."""
    skeleton = set(os.listdir(SKELETON)) if os.path.isdir(SKELETON) else set()
    found = [p for p in _owned(home) if os.path.basename(p) not in skeleton]
    for folder in SHARED:
        found += _owned(folder)
    return found


def gate(home: str) -> list[str]:
    """Why the account could change who logs in as it (nothing when root owns the door)."""
    problems = []
    try:
        st = os.lstat(home)
        if st.st_mode & 0o022:
            problems.append(f"{home} is writable by others (chmod 755 it)")
    except OSError as e:
        return [f"{home}: {e.strerror}"]
    for name, kind in ((".ssh", "folder"), (".ssh/authorized_keys", "file")):
        path = os.path.join(home, name)
        try:
            st = os.lstat(path)
        except OSError:
            problems.append(f"~/{name} is missing: the head cannot log in")
            continue
        is_kind = stat.S_ISDIR(st.st_mode) if kind == "folder" else stat.S_ISREG(st.st_mode)
        if not is_kind or st.st_uid != 0 or st.st_mode & 0o022:
            problems.append(f"~/{name} must be a {kind} of root's, writable by root only (it is not)")
    return problems


def main() -> None:
    if os.getuid() == 0:
        print(json.dumps({"error": "a seat account is never root"}))
        raise SystemExit(2)
    home = _home()
    if sys.argv[1:] == ["reset"]:
        _kill_all()
        _wipe(home)
        _kill_all()
    print(json.dumps({"processes": others(), "left": left(home), "gate": gate(home)}), flush=True)


if __name__ == "__main__":
    main()
