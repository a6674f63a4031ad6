"""Provisioning: bring a new or rebuilt node to the head's exact software with one command.

Creates the virtual environment at the node's ``python`` path when it is
missing, installs the head's versions of what engines need (from the package
index, or from a folder of wheels copied over SSH for nodes without internet),
then runs the preflight again.
"""

from __future__ import annotations

import io
import json
import platform
import posixpath
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

from ..aio import each_node
from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from ..transport import ssh
from ..transport.nodes import CHECKED_PACKAGES, NodeReport, head_versions, target_for, work_dir_for
from .doctor import check_node

# numpy rides along with numba: arrays pickled on one side must unpickle on the other.
# raiden_lab itself is not on the package index: it is copied from the head.
ENGINE_PACKAGES = (*(p for p in CHECKED_PACKAGES if p != "raiden_lab"), "numpy")

_RECEIVE = (
    "import os,sys\n"
    "d=os.path.expanduser(sys.argv[1]);os.makedirs(d,exist_ok=True)\n"
    "p=os.path.join(d,os.path.basename(sys.argv[2]))\n"
    "open(p+'.part','wb').write(sys.stdin.buffer.read());os.replace(p+'.part',p)\n"
)
_LIST = (
    "import os,sys,json\n"
    "d=os.path.expanduser(sys.argv[1])\n"
    "print(json.dumps({f:os.path.getsize(os.path.join(d,f)) for f in os.listdir(d)} if os.path.isdir(d) else {}))\n"
)

Say = Callable[[str], None]


def head_requirements(extra: tuple[str, ...] = ()) -> list[str]:
    """``name==version`` for every engine package as installed on the head, and the launcher's ``extra``."""
    versions: dict[str, str | None] = dict(head_versions())
    versions.update(head_versions(extra))
    packages = (*ENGINE_PACKAGES, *extra)
    try:
        from importlib.metadata import version

        versions["numpy"] = version("numpy")
    except Exception:
        versions["numpy"] = None
    pinned = [f"{name}=={versions[name]}" for name in packages if versions.get(name)]
    # the head may lack a launcher's package (it only runs mpiexec): then the nodes take the index's
    return pinned + [name for name in extra if not versions.get(name)]


def venv_of(python: str) -> str | None:
    """``/x/venv`` for ``/x/venv/bin/python``: where to create an environment that is missing."""
    folder, name = posixpath.split(python)
    if posixpath.basename(folder) != "bin" or not name.startswith("python"):
        return None
    return posixpath.dirname(folder)


async def provision_node(
    inventory: Inventory, node: Node, paths: ClusterPaths, wheelhouse: Path | None, say: Say
) -> NodeReport:
    host = node.host
    target = target_for(node, paths)
    failed = NodeReport(host=host)
    opened = await ssh.ensure_master(target)
    if not opened.ok:
        failed.problems.append(ssh.explain(host, opened))
        return failed
    if problem := await _ensure_environment(node, target, say):
        failed.problems.append(problem)
        return failed
    if problem := await _open_to_seats(inventory, node, target, say):
        failed.problems.append(problem)
        return failed
    pip_source: list[str] = []
    if wheelhouse is not None:
        remote = posixpath.join(work_dir_for(inventory, node, paths), "wheelhouse")
        if problem := await _send_wheels(node, target, wheelhouse, remote, say):
            failed.problems.append(problem)
            return failed
        pip_source = ["--no-index", "--find-links", remote]
    requirements = head_requirements(inventory.mode.node_packages(inventory))
    say(
        f"{host}: installing {' '.join(requirements)} "
        f"({'from the wheelhouse' if wheelhouse else 'from the package index'})"
    )
    result = await ssh.run(
        target,
        [node.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_source, *requirements],
        timeout=1800,
    )
    if not result.ok:
        err = [line for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
        failed.problems.append(f"{host}: pip could not install the head's versions: {err[-1] if err else 'no output'}")
        return failed
    if problem := await _send_raiden_lab(node, target, say):
        failed.problems.append(problem)
        return failed
    say(f"{host}: checking it again")
    return await check_node(inventory, node, paths)


async def _open_to_seats(inventory: Inventory, node: Node, target: ssh.Target, say: Say) -> str | None:
    """A class's seat accounts run the owner's environment (``~pi/raiden/venv``): let them pass the owner's
    home (``o+x``: they can open what they know the name of, and list nothing)."""
    if inventory.classroom.seat_user is None or not node.python.startswith("~/"):
        return None
    opened = await ssh.run(target, ["chmod", "o+x", "~"], timeout=30)
    if not opened.ok:
        err = opened.stderr.decode(errors="replace").strip().splitlines()
        return f"{node.host}: could not let the seat accounts reach {node.python}: {err[-1] if err else 'chmod failed'}"
    say(f"{node.host}: seat accounts may run {node.python} (the home can be passed, not listed)")
    return None


async def _ensure_environment(node: Node, target: ssh.Target, say: Say) -> str | None:
    host = node.host
    probe = await ssh.run(target, [node.python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    if probe.ok:
        return None
    venv = venv_of(node.python)
    if venv is None:
        return (
            f"{host}: no Python at '{node.python}' and it is not a virtual environment's bin/python; "
            f"point 'python' at one (e.g. ~/raiden/venv/bin/python) and provisioning creates it"
        )
    minor = ".".join(platform.python_version_tuple()[:2])
    say(f"{host}: creating a virtual environment at {venv} with Python {minor}")
    tried = []
    for base in (f"python{minor}", "python3"):
        made = await ssh.run(
            target,
            [base, "-I", "-c", f"import sys; assert sys.version_info[:2] == ({minor.replace('.', ', ')}), 'minor'"],
        )
        if not made.ok:
            tried.append(base)
            continue
        made = await ssh.run(target, [base, "-m", "venv", venv], timeout=600)
        if made.ok:
            return None
        err = made.stderr.decode(errors="replace").strip().splitlines()
        return (
            f"{host}: {base} -m venv {venv} failed: {err[-1] if err else made.returncode} (is python3-venv installed?)"
        )
    return f"{host}: no Python {minor} there ({' and '.join(tried)} tried); install Python {minor} on {host}"


_UNPACK = (
    "import sys,tarfile,sysconfig,shutil,os\n"
    "site=sysconfig.get_paths()['purelib'];shutil.rmtree(os.path.join(site,'raiden_lab'),ignore_errors=True)\n"
    "tarfile.open(fileobj=sys.stdin.buffer,mode='r|').extractall(site)\n"
)


async def _send_raiden_lab(node: Node, target: ssh.Target, say: Say) -> str | None:
    """Copy this raiden_lab into the node's environment unless the same code is there (by content)."""
    from .. import code_version

    __version__ = code_version()
    ask = "import raiden_lab; print(getattr(raiden_lab, 'code_version', lambda: raiden_lab.__version__)())"
    there = await ssh.run(target, [node.python, "-I", "-c", ask])
    if there.ok and there.stdout.decode().strip() == __version__:
        return None
    package = Path(__file__).resolve().parent.parent
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(package, arcname="raiden_lab", filter=lambda t: None if "__pycache__" in t.name else t)
    say(f"{node.host}: copying raiden_lab {__version__} into its environment")
    sent = await ssh.run(target, [node.python, "-I", "-c", _UNPACK], input=buffer.getvalue(), timeout=300)
    return None if sent.ok else ssh.explain(node.host, sent, what="copying raiden_lab")


async def _send_wheels(node: Node, target: ssh.Target, wheelhouse: Path, remote: str, say: Say) -> str | None:
    files = sorted(p for p in wheelhouse.iterdir() if p.suffix in (".whl", ".gz", ".zip") and p.is_file())
    if not files:
        return f"{wheelhouse}: no wheels there; fill it with `pip download -d {wheelhouse} ...`"
    listed = await ssh.run(target, [node.python, "-I", "-c", _LIST, remote])
    present = json.loads(listed.stdout or b"{}") if listed.ok else {}
    todo = [f for f in files if present.get(f.name) != f.stat().st_size]
    size = sum(f.stat().st_size for f in todo)
    say(f"{node.host}: copying {len(todo)} of {len(files)} wheels ({size / 2**20:.0f} MiB) to {remote}")
    for path in todo:
        sent = await ssh.run(
            target, [node.python, "-I", "-c", _RECEIVE, remote, path.name], input=path.read_bytes(), timeout=600
        )
        if not sent.ok:
            return ssh.explain(node.host, sent, what=f"copying {path.name}")
    return None


async def provision(
    inventory: Inventory, paths: ClusterPaths, hosts: list[str], wheelhouse: Path | None, say: Say
) -> list[NodeReport]:
    nodes = [inventory.node(h) for h in hosts] if hosts else list(inventory.nodes)
    remote = [n for n in nodes if not n.is_local]
    for node in nodes:
        if node.is_local:
            say(f"{node.host}: the head itself; nothing to provision")
    start = time.monotonic()

    def timed(message: str) -> None:
        say(f"[{time.monotonic() - start:4.0f}s] {message}")

    return await each_node(provision_node(inventory, n, paths, wheelhouse, timed) for n in remote)
