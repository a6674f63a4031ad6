"""Where students meet their class: a Unix socket in a folder of the teacher's that no student can fake.

The class's daemon listens in a folder that belongs to the teacher (``0711``:
anyone may enter, nobody list or write). A student's process talks to it only
after checking, with ``lstat``, that the folder is the teacher's and nobody
else's to change, and, with ``SO_PEERCRED``, that the process listening runs
as its owner: a student who makes the folder first (after a reboot, before
class) answers nobody. The class's hub, as root, makes the folder under
``/run/raiden``, where no student can make it at all, and names the teacher in
every student's environment (``RAIDEN_CLASS_TEACHER``). Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import stat
import tempfile
from pathlib import Path

from ..errors import InputError, RaidenError

TEACHER_ENV = "RAIDEN_CLASS_TEACHER"  # beside RAIDEN_CLASS: whose that socket must be (a user name or uid)
RUN = Path("/run/raiden")  # root's: where the hub makes each teacher's socket folder


class UntrustedClass(RaidenError):
    """The class's socket is not the teacher's: someone else made its folder, or listens there."""


def user_name(uid: int | None) -> str:
    if uid is None:
        return "?"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def expected_teacher(path: str) -> int | None:
    """Whose class ``path`` must be: ``RAIDEN_CLASS_TEACHER`` (the hub sets it), else the uid that the
    default folder's name carries (``raiden-class-UID``, ``class-UID``), else nobody in particular."""
    named = os.environ.get(TEACHER_ENV, "").strip()
    if named:
        try:
            return int(named) if named.isdigit() else pwd.getpwnam(named).pw_uid
        except KeyError:
            raise InputError(f"{TEACHER_ENV}={named}: no such user on this machine; name the class's teacher") from None
    match = re.fullmatch(r"(?:raiden-)?class-(\d+)", Path(path).parent.name)
    return int(match.group(1)) if match else None


def rendezvous_owner(path: str) -> int:
    """The owner of the class's socket folder, once it is known to be the teacher's (or root's, or this
    user's own) and nobody else's to change; UntrustedClass otherwise. OSError when there is no folder."""
    folder = str(Path(path).parent)
    st = os.lstat(folder)
    expected = expected_teacher(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o022:
        raise UntrustedClass(
            f"{folder}: the class's socket folder must be a folder only its owner may change; "
            "do not use this class, and tell the teacher"
        )
    if st.st_uid not in {0, os.getuid(), expected}:
        who = f"the class's teacher ({user_name(expected)})" if expected is not None else "root"
        hint = "" if expected is not None else f" (or set {TEACHER_ENV} to the teacher's name)"
        raise UntrustedClass(
            f"{folder} belongs to {user_name(st.st_uid)}, not to {who}: someone else made it; "
            f"do not use this class, and tell the teacher{hint}"
        )
    return st.st_uid


def default_socket(uid: int | None = None) -> Path:
    """Where students reach the class of the teacher ``uid`` (default: this user): a folder of the teacher's
    that anyone may enter but not list. Under ``/run/raiden`` where root made one for the teacher (the class's
    hub does: no student can make it first); else in the temporary folder, named by the teacher's uid, which
    clients check (``rendezvous_owner``)."""
    uid = os.getuid() if uid is None else uid
    if uid == 0:
        return RUN / "class.sock"
    made = RUN / f"class-{uid}"
    with contextlib.suppress(OSError):
        st = os.lstat(made)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == uid:
            return made / "class.sock"
    return Path(tempfile.gettempdir()) / f"raiden-class-{uid}" / "class.sock"


def make_rendezvous(uid: int) -> Path:
    """As root (the hub): the teacher's socket folder under ``/run/raiden``, where no student can make it
    first; the socket's path."""
    RUN.mkdir(mode=0o755, exist_ok=True)
    os.chmod(RUN, 0o755)
    folder = RUN / f"class-{uid}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o711)
    if not stat.S_ISDIR(os.lstat(folder).st_mode):
        raise RaidenError(f"{folder}: not a folder; remove it and start the hub again")
    os.chown(folder, uid, -1)
    os.chmod(folder, 0o711)
    return folder / "class.sock"
