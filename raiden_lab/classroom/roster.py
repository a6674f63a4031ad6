"""Who takes part in a class: a roster file, a Unix group, or, said explicitly, any account of this head."""

from __future__ import annotations

import grp
import pwd
from pathlib import Path

from ..errors import InputError

NO_ROSTER = (
    "raiden class start: say who the students are: --users FILE (one user name a line), --group GROUP "
    "(a Unix group), or --open (any account of this machine, service accounts included, may take a seat)"
)


def read_roster(path: Path) -> list[str]:
    """User names, one a line (``#`` starts a comment); each must be a user of this machine."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(
            f"{path}: cannot read the list of students ({e.__class__.__name__}); give a file with one user name a line"
        ) from None
    users: list[str] = []
    for number, line in enumerate(lines, start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise InputError(
                f"{path}:{number}: no user '{name}' on this machine; create it or remove the line"
            ) from None
        if name not in users:
            users.append(name)
    if not users:
        raise InputError(f"{path}: no user names in it; write one a line")
    return users


def group_members(name: str) -> list[str]:
    """The accounts of the Unix group ``name``: its listed members and those whose primary group it is."""
    try:
        group = grp.getgrnam(name)
    except KeyError:
        raise InputError(
            f"--group {name}: no such group on this machine; create it (groupadd) or name another"
        ) from None
    members = list(group.gr_mem) + [p.pw_name for p in pwd.getpwall() if p.pw_gid == group.gr_gid]
    users = list(dict.fromkeys(members))
    if not users:
        raise InputError(f"--group {name}: the group has no members; add the students (usermod -aG {name} USER)")
    return users
