"""A head on another Debian release: an x86_64 Debian root (trixie: Python 3.13) run with chroot on this
machine's network, for the journey of a head whose Python matches trixie Pis.

Its environment is what docs/requirements.md tells a reader to make on such a head: ``python3 -m venv``
with the system's Python, then ``pip install`` of the clone. The root and the environment's packages
(the project's dependencies) are cached as a tar in ``/var/cache/raiden-lab``, keyed by the release and
the dependency list; Raiden Lab itself is installed from this clone into each fresh copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from armpi import CACHE, MIRROR, kill_inside, save_root

CLONE = Path(__file__).resolve().parent.parent
PACKAGES = ("python3", "python3-venv", "openssh-client", "iproute2", "procps")
VENV = "/opt/raiden/venv"
CERT = Path("/etc/ssl/certs/ca-certificates.crt")
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


def missing_requirements() -> str | None:
    if shutil.which("debootstrap") is None:
        return "a head on another Debian release needs debootstrap"
    return None


def _dependencies() -> list[str]:
    project = tomllib.loads((CLONE / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], "ipython", "hatchling"]


def cached_root(suite: str = "trixie") -> Path:
    """The root with the environment's packages, as a tar; made once per release and dependency list."""
    key = hashlib.sha256(f"{suite} amd64 {PACKAGES} {_dependencies()} v1".encode()).hexdigest()[:12]
    tar = CACHE / f"head-root-{suite}-{key}.tar"
    if tar.exists():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"head-root-{suite}-", dir=CACHE))
    build.chmod(0o755)
    try:
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, build, MIRROR],
            check=True,
            capture_output=True,
        )
        with _mounted(build):
            _in(build, "python3", "-m", "venv", VENV)
            _in(build, f"{VENV}/bin/python", "-m", "pip", "install", "--quiet", *_dependencies())
        save_root(build, tar)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return tar


@dataclass
class HeadRoot:
    root: Path
    python: str = f"{VENV}/bin/python"

    def argv(self, line: str, cwd: str) -> list[str]:
        """A shell command line run on this head, in ``cwd`` (a path inside it)."""
        return [CHROOT, str(self.root), "bash", "-c", f"cd {cwd} && {line}"]

    def env(self, raiden_home: str) -> dict[str, str]:
        return {
            "PATH": f"{VENV}/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": "/root",
            "RAIDEN_HOME": raiden_home,
            "LANG": "C.UTF-8",
            "TERM": "xterm",
            "PIP_CERT": str(CERT),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }


class _mounted:
    """/proc, /dev and the network's files of this machine inside ``root``, for what runs there."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __enter__(self) -> None:
        subprocess.run(["mount", "-t", "proc", "proc", self.root / "proc"], check=True)
        subprocess.run(["mount", "--rbind", "/dev", self.root / "dev"], check=True)
        shutil.copy("/etc/resolv.conf", self.root / "etc/resolv.conf")
        if CERT.exists():  # the package index is reached as this machine reaches it
            (self.root / CERT.parent.relative_to("/")).mkdir(parents=True, exist_ok=True)
            shutil.copy(CERT, self.root / CERT.relative_to("/"))

    def __exit__(self, *_) -> None:
        for mount in ("dev", "proc"):
            subprocess.run(["umount", "-R", "-l", str(self.root / mount)], capture_output=True)


def _in(root: Path, *argv: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "PIP_CERT": str(CERT), "LANG": "C.UTF-8"}
    done = subprocess.run([CHROOT, str(root), *argv], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} in {root}: {done.stderr[-2000:]}")


def start(base: Path, suite: str = "trixie") -> tuple[HeadRoot, _mounted]:
    """A fresh copy of the root with Raiden Lab installed from this clone; stop it with ``stop``."""
    tar = cached_root(suite)
    root = base / f"head-{suite}"
    root.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "-xf", tar, "-C", root], check=True)
    root.chmod(0o755)
    mounts = _mounted(root)
    mounts.__enter__()
    try:
        source = root / "raiden-lab"
        shutil.copytree(
            CLONE,
            source,
            ignore=shutil.ignore_patterns(".venv", ".git", "node_modules", "test-output", "_build", "__pycache__"),
            symlinks=True,
        )
        _in(root, f"{VENV}/bin/python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
            "/raiden-lab")  # fmt: skip
    except BaseException:
        mounts.__exit__()
        raise
    return HeadRoot(root=root), mounts


def stop(head: HeadRoot, mounts: _mounted) -> None:
    kill_inside(head.root)  # what the journey left running there (a supervisor, a controller)
    mounts.__exit__()
