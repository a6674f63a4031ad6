"""Where a cluster keeps its state: ``$RAIDEN_HOME/<name>/`` (default ``~/.raiden``)."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

from ..errors import InputError, RaidenError


def raiden_home() -> Path:
    return Path(os.environ.get("RAIDEN_HOME") or "~/.raiden").expanduser().resolve()


class ClusterPaths:
    """The files of one cluster. Creating the folder is explicit: importing writes nothing."""

    def __init__(self, name: str, home: Path | None = None) -> None:
        self.name = name
        self.root = (home or raiden_home()) / name

    def ensure(self) -> ClusterPaths:
        """Create the cluster folder private to its owner: it holds keys and sockets.

        Folders that exist already must be ours and not a symlink; one that others may
        read or write is made private again (an older version, or a jit call, made it 0755).
        """
        for folder in (self.root.parent, self.root):
            if not folder.exists():
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            private_folder(folder)
        return self

    @property
    def store(self) -> Path:
        return self.root / "state.sqlite"

    @property
    def control_socket(self) -> Path:
        """The supervisor's socket; under a deep ``$RAIDEN_HOME`` (a class's seats) in a short private folder."""
        path = self.root / "control.sock"
        if len(str(path)) <= 100:  # what a Unix socket's path may hold
            return path
        return self._private_short_dir("ctl", 0) / "control.sock"

    @property
    def lock(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def log(self) -> Path:
        return self.root / "supervisor.log"

    @property
    def is_seat(self) -> bool:
        """A class's seat: ``<class cluster>/seats/<class cluster>-seat<n>`` (``classroom/seats.py``)."""
        parent = self.root.parent
        return parent.name == "seats" and self.name.startswith(f"{parent.parent.name}-seat")

    @property
    def known_hosts(self) -> Path:
        """The node host keys this cluster checks: its own; a seat's are its class's cluster's (pinned there by
        ``raiden add``, ``doctor`` or ``up``), never recorded anew."""
        if self.is_seat:
            return self.root.parent.parent / "known_hosts"
        return self.root / "known_hosts"

    @property
    def profile_dir(self) -> Path:
        return self.root / "profile"

    @property
    def client_file(self) -> Path:
        """The file plain ipyparallel code attaches with: ``ipp.Client(url_file=...)``."""
        return self.profile_dir / "security" / "ipcontroller-client.json"

    @property
    def local_work_dir(self) -> Path:
        return self.root / "work"

    @property
    def ipc_dir(self) -> Path:
        """Folder for the controller's ``ipc://`` sockets when every node is this machine.

        Private to its owner, so no other user of the machine can connect or listen in;
        a deep ``$RAIDEN_HOME`` is moved to a short private folder, as for SSH's sockets.
        """
        return self._private_short_dir("ipc", 60)  # ipyparallel adds "/c-PORT"; a socket path holds ~100 bytes

    @property
    def ssh_control_dir(self) -> Path:
        """Folder for OpenSSH's multiplexing sockets.

        A Unix socket path may hold about 100 bytes; a deep ``$RAIDEN_HOME``
        (pytest's tmp folders) is moved to a short private folder in /tmp.
        """
        return self._private_short_dir("cm", 40)  # ssh adds a 40-byte hash and a 17-byte temporary suffix

    def _private_short_dir(self, name: str, longest: int) -> Path:
        """``root/name``, or where that path is too long for a socket, a folder in
        ``$XDG_RUNTIME_DIR`` (else /tmp) whose name no other user can guess (it hashes
        a secret kept in ``$RAIDEN_HOME``), so none can create it first."""
        path = self.root / name
        if len(str(path)) > longest:
            secret = _home_secret(self.root.parent)
            digest = hashlib.sha256(f"{secret}:{self.root}".encode()).hexdigest()[:12]
            suffix = "" if name == "cm" else f"-{name}"
            path = _runtime_dir() / f"raiden-{os.getuid()}-{digest}{suffix}"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise RaidenError(f"{path} must be your own folder with mode 0700 (it holds sockets); remove it")
        return path


def private_folder(folder: Path) -> None:
    """Refuse a folder that is a symlink or someone else's; make one of ours that others can open 0700."""
    st = folder.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise InputError(
            f"{folder}: Raiden's folder must be a directory that belongs to you (uid {os.getuid()}), "
            f"not uid {st.st_uid}{' and not a symlink' if stat.S_ISLNK(st.st_mode) else ''}; "
            "move it away or set RAIDEN_HOME to a folder of your own"
        )
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)


def _runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR`` when it is ours and private (systemd makes it per user), else the temp folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        with_st = Path(runtime)
        try:
            st = with_st.stat()
            if st.st_uid == os.getuid() and not st.st_mode & 0o077 and len(runtime) < 40:
                return with_st
        except OSError:
            pass
    return Path(tempfile.gettempdir())


def _home_secret(home: Path) -> str:
    """A random value in ``$RAIDEN_HOME/.secret`` (0600), made on first use."""
    path = home / ".secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    tmp = home / f".secret.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    try:
        os.link(tmp, path)  # whoever links first wins; the others read the winner's
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value
