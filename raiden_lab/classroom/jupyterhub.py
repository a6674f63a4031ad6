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

import hashlib
import ipaddress
import os
import pwd
import shutil
import socket
import ssl
import subprocess
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
    paths: ClusterPaths,
    teacher: str,
    students: list[str],
    socket_path: str,
    ip: str,
    port: int,
    proxy: str,
    tls: tuple[Path, Path] | None = None,
    internal: tuple[int, int] | None = None,
) -> str:
    """The text of ``jupyterhub_config.py`` for a room (every value written as a Python literal).

    ``internal``: the hub's own API port and its proxy's, on 127.0.0.1 (``internal_ports()``): two
    classes on one head (two teachers) would otherwise both want JupyterHub's 8081 and 8001."""
    folder = paths.root / "hub"
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    users = sorted({teacher, *students})
    bind = f"{'https' if tls else 'http'}://{ip}:{port}"
    lines = [
        "# written by `raiden class hub`; edits are lost at its next start",
        "c = get_config()  # noqa",
        f"c.JupyterHub.bind_url = {bind!r}",
        'c.JupyterHub.hub_ip = "127.0.0.1"',
        *(
            [
                f"c.JupyterHub.hub_port = {internal[0]!r}",
                f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{internal[1]}'",
            ]
            if internal
            else []
        ),
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
    if tls:
        lines += [f"c.JupyterHub.ssl_cert = {str(tls[0])!r}", f"c.JupyterHub.ssl_key = {str(tls[1])!r}"]
    return "\n".join(lines) + "\n"


def internal_ports() -> tuple[int, int]:
    """Two ports free on 127.0.0.1 now, for a hub's API and its proxy's."""
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]


def _loopback(ip: str) -> bool:
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def hub_tls(
    paths: ClusterPaths, ip: str, cert: str | None, key: str | None, self_signed: bool
) -> tuple[Path, Path] | None:
    """The hub's certificate and key; None only on a loopback address, where no password leaves the head.

    Students and the teacher type their Unix passwords into the hub: on the room's network that happens over
    TLS or not at all. ``--self-signed`` makes a pair once in the class's hub folder and prints its
    fingerprint, for the teacher to show the room.
    """
    if (cert is None) != (key is None):
        raise InputError("--ssl-cert and --ssl-key go together: give both, or --self-signed")
    if cert and key:
        for flag, given in (("--ssl-cert", cert), ("--ssl-key", key)):
            if not os.access(given, os.R_OK):
                raise InputError(f"{flag} {given}: not a file that can be read; give the path of the PEM file")
        return Path(cert).resolve(), Path(key).resolve()
    if self_signed:
        return _self_signed(paths.root / "hub", ip)
    if _loopback(ip):
        return None
    raise InputError(
        f"--ip {ip}: the hub would carry every password in clear on the room's network; give --ssl-cert and "
        "--ssl-key, or --self-signed (its fingerprint is printed to show the room), or --ip 127.0.0.1"
    )


def _self_signed(folder: Path, ip: str) -> tuple[Path, Path]:
    cert, key = folder / "hub.crt", folder / "hub.key"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not (cert.is_file() and key.is_file()):
        name = socket.gethostname()
        names = [f"DNS:{name}", "DNS:localhost", "IP:127.0.0.1"]
        if not _loopback(ip) and ip not in ("0.0.0.0", "::"):
            names.append(f"IP:{ip}")
        old = os.umask(0o077)  # the key is root's alone from its first byte
        try:
            made = subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
                + ["-days", "825", "-subj", f"/CN={name}", "-addext", f"subjectAltName={','.join(names)}"]
                + ["-keyout", str(key), "-out", str(cert)],
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            raise RaidenError(
                "openssl is not installed; apt install openssl, or give --ssl-cert and --ssl-key"
            ) from None
        finally:
            os.umask(old)
        if made.returncode != 0:
            raise RaidenError(f"openssl could not make the hub's certificate: {made.stderr.strip()[-300:]}")
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    print(
        f"the hub's certificate ({cert}, self-signed): SHA-256 {':'.join(digest[i : i + 2] for i in range(0, 64, 2))}; "
        "show it to the room: each browser's warning page shows it, and it must match before anyone logs in"
    )
    return cert, key


def run_hub(
    paths: ClusterPaths,
    teacher: str,
    students: list[str],
    socket_path: Path | None,
    ip: str,
    port: int,
    proxy: str | None,
    tls: tuple[Path, Path] | None = None,
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
        f.write(hub_config(paths, teacher, students, where, ip, port, find_proxy(proxy), tls, internal_ports()))
    scheme = "https" if tls else "http"
    print(
        f"JupyterHub for class '{paths.name}' on {scheme}://{ip}:{port}: {teacher} teaches; students' RAIDEN_CLASS={where}"
    )
    sys.stdout.flush()
    os.chdir(folder)
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(config)]
    os.execv(sys.executable, argv)
    return 0  # not reached
