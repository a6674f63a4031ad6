"""Where a cluster keeps its state: ``$RAIDEN_HOME/<name>/`` (default ``~/.raiden``)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def raiden_home() -> Path:
    return Path(os.environ.get("RAIDEN_HOME") or "~/.raiden").expanduser().resolve()


class ClusterPaths:
    """The files of one cluster. Creating the folder is explicit: importing writes nothing."""

    def __init__(self, name: str, home: Path | None = None) -> None:
        self.name = name
        self.root = (home or raiden_home()) / name

    def ensure(self) -> ClusterPaths:
        """Create the cluster folder private to its owner: it holds keys and sockets."""
        self.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.mkdir(mode=0o700, exist_ok=True)
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
    def known_hosts(self) -> Path:
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
        path = self.root / name
        if len(str(path)) > longest:
            digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
            suffix = "" if name == "cm" else f"-{name}"
            path = Path(tempfile.gettempdir()) / f"raiden-{os.getuid()}-{digest}{suffix}"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise PermissionError(f"{path} must belong to you with mode 0700 (it holds sockets)")
        return path
