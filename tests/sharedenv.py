"""A Python environment every user of this machine can run: for students, seat accounts and a JupyterHub.

The head's own environment may live where only root can enter (a pyenv
interpreter under /root), so tests with other Unix users get a virtual
environment of Debian's ``/usr/bin/python3`` in a world-readable cache folder
outside the clone (reused by later runs), with the head's exact versions of
the packages the preflight compares, JupyterHub, and this checkout of
raiden_lab installed as a wheel (labextension and server config included).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("RAIDEN_SHARED_CACHE", "/var/cache/raiden-lab"))
SYSTEM_PYTHON = "/usr/bin/python3"
# the head's versions, so the preflight of a seat's nodes passes; the rest for kernels and the hub
PINNED = ("ipyparallel", "pyzmq", "numba", "cloudpickle", "jupyter_client", "psutil", "jupyterlab", "ipykernel")
UNPINNED = ("jupyterhub", "ipywidgets", "matplotlib", "pamela")


def _requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in PINNED] + list(UNPINNED)


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted([*ROOT.joinpath("raiden_lab").rglob("*"), ROOT / "pyproject.toml"]):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@contextmanager
def _building(what: str) -> Iterator[None]:
    """One test process at a time builds or updates ``what`` in the cache; the others wait, then reuse it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{what}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def shared_python() -> str:
    """The interpreter of the shared environment, built or brought up to date with this checkout."""
    with _building("shared-venv"):
        return _shared_python()


def _shared_python() -> str:
    key = hashlib.sha256("\n".join([sys.version.split()[0], *_requirements()]).encode()).hexdigest()[:12]
    venv = CACHE / f"shared-venv-{key}"
    python = venv / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    CACHE.chmod(0o755)
    if not (venv / ".ready").exists():
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *_requirements()], check=True, timeout=900)
        (venv / ".ready").touch()
    digest = _source_digest()
    stamp = venv / ".raiden-source"
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(ROOT)],
            check=True,
            timeout=600,
        )
        stamp.write_text(digest)
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return str(python)


def proxy() -> str:
    """JupyterHub's proxy, configurable-http-proxy from npm, installed once into the cache folder."""
    with _building("proxy"):
        return _proxy()


def _proxy() -> str:
    folder = CACHE / "configurable-http-proxy"
    command = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(folder),
                "configurable-http-proxy",
            ],
            check=True,
            timeout=600,
        )
    return str(command)
