"""The room's JupyterHub: every student logs in with their Unix account and gets JupyterLab as that user.

``raiden class hub`` writes a JupyterHub configuration into the cluster's
folder and runs ``jupyterhub`` with it (as root: the hub starts each
student's server as that student). Each server gets ``RAIDEN_CLASS``, the
teacher's class socket (in a folder root makes for the teacher under
``/run/raiden``), and ``RAIDEN_CLASS_TEACHER``, whose socket it must be, so ``raiden_lab.connect()`` takes the student's seat,
``workshop.check`` reports to the grid, and the sidebar shows the seat. Users
log in with their system password (PAM); only the teacher and the students
of the roster may.
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from pathlib import Path

from ..config.paths import ClusterPaths
from ..errors import InputError, RaidenError
from .rendezvous import TEACHER_ENV, make_rendezvous

PROXY = "configurable-http-proxy"


def find_proxy(given: str | None) -> str:
    """JupyterHub's proxy (npm's configurable-http-proxy): ``--proxy``, else the one on PATH."""
    found = shutil.which(given or PROXY)
    if found is None:
        raise RaidenError(
            f"{given or PROXY}: not found; install it with `npm install -g configurable-http-proxy` "
            "or give its path with --proxy"
        )
    return found


def hub_config(
    paths: ClusterPaths, teacher: str, students: list[str], socket_path: str, ip: str, port: int, proxy: str
) -> str:
    """The text of ``jupyterhub_config.py`` for a room (every value written as a Python literal)."""
    folder = paths.root / "hub"
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    users = sorted({teacher, *students})
    lines = [
        "# written by `raiden class hub`; edits are lost at its next start",
        "c = get_config()  # noqa",
        f"c.JupyterHub.bind_url = {f'http://{ip}:{port}'!r}",
        'c.JupyterHub.hub_ip = "127.0.0.1"',
        f"c.JupyterHub.db_url = {'sqlite:///' + str(folder / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(folder / 'jupyterhub_cookie_secret')!r}",
        f"c.JupyterHub.pid_file = {str(folder / 'jupyterhub.pid')!r}",
        f"c.ConfigurableHTTPProxy.command = [{proxy!r}]",
        f"c.ConfigurableHTTPProxy.pid_file = {str(folder / 'proxy.pid')!r}",
        f"c.Authenticator.allowed_users = {set(users)!r}",
        f"c.Authenticator.admin_users = {{{teacher!r}}}",
        f"c.Spawner.cmd = [{str(singleuser)!r}]",
        'c.Spawner.default_url = "/lab"',
        f"c.Spawner.environment = {{'RAIDEN_CLASS': {socket_path!r}, {TEACHER_ENV!r}: {teacher!r}}}",
        "c.Spawner.start_timeout = 120",
        "c.Spawner.http_timeout = 90",
    ]
    return "\n".join(lines) + "\n"


def run_hub(
    paths: ClusterPaths,
    teacher: str,
    students: list[str],
    socket_path: Path | None,
    ip: str,
    port: int,
    proxy: str | None,
) -> int:
    """Write the configuration and run JupyterHub in this process's place (it never returns)."""
    if os.geteuid() != 0:
        raise RaidenError("the class's hub starts each student's JupyterLab as that student: run it as root (sudo)")
    try:
        entry = pwd.getpwnam(teacher)
    except KeyError:
        raise InputError(f"--teacher {teacher}: no such user on this machine; name the teacher's account") from None
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        raise RaidenError("JupyterHub is not installed here; pip install 'raiden-lab[hub]'") from None
    # root makes the teacher's socket folder where no student can make it first (/run/raiden)
    where = str(socket_path or make_rendezvous(entry.pw_uid))
    folder = paths.root / "hub"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = folder / "jupyterhub_config.py"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(hub_config(paths, teacher, students, where, ip, port, find_proxy(proxy)))
    print(
        f"JupyterHub for class '{paths.name}' on http://{ip}:{port}: {teacher} teaches; students' RAIDEN_CLASS={where}"
    )
    sys.stdout.flush()
    os.chdir(folder)
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(config)]
    os.execv(sys.executable, argv)
    return 0  # not reached
