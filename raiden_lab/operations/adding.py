"""``raiden add HOST``: a Pi that so far accepts only its password becomes a node, step by step.

1. The cluster's own ed25519 key, made on first use (``$RAIDEN_HOME/CLUSTER/id_ed25519``, 0600).
2. Its public half put in the node's ``~/.ssh/authorized_keys`` over one password login. The
   password comes from a prompt or ``--password-file``; it reaches ssh through ``SSH_ASKPASS``
   (a 0700 script reading a 0600 file in the cluster's private folder, both removed after),
   never on a command line, in the environment or in a log.
   Before the password leaves the head, the Pi's host key is read and its fingerprint shown: it
   is recorded in the cluster's known_hosts only once the person confirms it (at the prompt, or
   ``--fingerprint SHA256:...`` for scripts), and the login checks it strictly. A key that differs
   from the one recorded is refused, naming the node; the password is never sent to it.
3. The confirmed host key, which every later connection checks.
4. The node appended to the inventory as text (the user's comments stay), checked by loading it.
5. Provisioning: with ``--wheelhouse DIR``, the wheels for the node's platform are downloaded
   on the head first, so the node needs no internet.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ..config.clustertables import LABEL_RE, USER_RE
from ..config.inventory import LOCAL_HOSTS, Inventory, load
from ..config.paths import ClusterPaths
from ..config.syntax import is_host
from ..errors import InputError, RaidenError

Say = Callable[[str], None]
DEFAULT_PYTHON = "~/raiden/venv/bin/python"  # provisioning creates it

_ADD_KEY = (
    'umask 077; mkdir -p "$HOME/.ssh"; read -r key; touch "$HOME/.ssh/authorized_keys"; '
    'grep -qxF "$key" "$HOME/.ssh/authorized_keys" || printf "%s\\n" "$key" >> "$HOME/.ssh/authorized_keys"'
)


def cluster_key(paths: ClusterPaths) -> Path:
    """The cluster's own key pair, made on first use; private half 0600."""
    key = paths.root / "id_ed25519"
    if not key.exists():
        paths.ensure()
        made = subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"raiden-{paths.name}", "-f", str(key)],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise RaidenError(f"ssh-keygen could not make {key}: {made.stderr.strip()}")
    key.chmod(0o600)
    return key


@contextlib.contextmanager
def _askpass(paths: ClusterPaths, password: str) -> Iterator[dict[str, str]]:
    """An environment in which ssh asks this program, not a terminal, for the password."""
    folder = Path(tempfile.mkdtemp(prefix="askpass-", dir=paths.root))
    secret = folder / "password"
    helper = folder / "askpass"
    try:
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password)
        helper.write_text(f"#!/bin/sh\ncat '{secret}'\n")
        helper.chmod(0o700)
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        yield {**env, "SSH_ASKPASS": str(helper), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": env.get("DISPLAY", ":0")}
    finally:
        for path in (secret, helper):
            path.unlink(missing_ok=True)
        folder.rmdir()


_KEY_NAMES = {"ed25519": "ED25519", "ecdsa": "ECDSA", "rsa": "RSA"}  # ssh-keyscan's -t names, ssh-keygen -l's
READ_ON_THE_PI = "on the Pi: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"


def _fingerprint_of(line: str) -> str:
    """``ED25519 SHA256:...`` of one known_hosts line, as ``ssh-keygen -l`` prints it."""
    _, kind, blob = line.split()[:3]
    digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
    name = next((v for k, v in _KEY_NAMES.items() if k in kind), kind)  # ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa
    return f"{name} SHA256:{digest}"


def scan_host_keys(host: str, port: int) -> list[tuple[str, str]]:
    """The node's host keys, ed25519 first, as (known_hosts line, fingerprint); nothing is trusted yet."""
    scanned = subprocess.run(
        ["ssh-keyscan", "-T", "10", "-p", str(port), "-t", ",".join(_KEY_NAMES), host],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in scanned.stdout.splitlines() if line.strip() and not line.startswith("#")]
    keys = [(line, _fingerprint_of(line)) for line in lines if len(line.split()) >= 3]
    order = list(_KEY_NAMES.values())  # ed25519 first: the kind a Pi's screen shows with READ_ON_THE_PI
    return sorted(keys, key=lambda k: order.index(k[1].split()[0]) if k[1].split()[0] in order else len(order))


def confirm_host_key(
    host: str, port: int, paths: ClusterPaths, given: str | None, ask: Callable[[str], bool] | None
) -> str:
    """Make sure of the node's host key before any password goes to it; its fingerprint.

    A key recorded already must still be the node's; else the person confirms the one shown (``ask``,
    at a terminal) or gave it (``given``, ``--fingerprint``); it is recorded in known_hosts then.
    """
    keys = scan_host_keys(host, port)
    if not keys:
        raise RaidenError(f"{host}: its SSH host key could not be read; is it on, on the network, with SSH enabled?")
    recorded = subprocess.run(
        ["ssh-keygen", "-F", host if port == 22 else f"[{host}]:{port}", "-f", str(paths.known_hosts)],
        capture_output=True,
        text=True,
    ).stdout
    known = {_fingerprint_of(line) for line in recorded.splitlines() if line.strip() and not line.startswith("#")}
    if known:
        for _, fp in keys:
            if fp in known:
                return fp
        raise RaidenError(
            f"{host}: its host key differs from the one recorded for it in {paths.known_hosts}; the password was "
            "not sent. If the Pi was re-flashed, remove its line there and run `raiden add` again"
        )
    line, fp = keys[0]
    if given is not None:
        wanted = given.strip().removeprefix("SHA256:")
        match = [(line, fp) for line, fp in keys if fp.split("SHA256:")[1] == wanted]
        if not match:
            raise RaidenError(
                f"{host}: its host key is {fp}, not the --fingerprint given; the password was not sent. "
                f"Read the Pi's own ({READ_ON_THE_PI})"
            )
        line, fp = match[0]
    elif ask is None:
        raise InputError(
            f"{host}: its host key is {fp}; confirm it with --fingerprint {fp.split()[1]} once you have read the "
            f"Pi's own ({READ_ON_THE_PI}), or run `raiden add` at a terminal"
        )
    elif not ask(
        f"{host}: its host key is {fp}\n  compare it with the Pi's own ({READ_ON_THE_PI})\n"
        "  the same? the password is sent only if so [y/N] "
    ):
        raise RaidenError(f"{host}: its host key was not confirmed; nothing was sent to it")
    paths.ensure()
    fd = os.open(paths.known_hosts, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(line + "\n")
    return fp


def install_key(host: str, user: str, port: int, password: str, paths: ClusterPaths, key: Path) -> None:
    """Log in once with the password and add the cluster's public key, to the host key confirmed before."""
    public = Path(f"{key}.pub").read_text().strip()
    argv = [
        "ssh",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={paths.known_hosts}",
        "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password,keyboard-interactive",
        "-o", "NumberOfPasswordPrompts=1",
        "-o", "ConnectTimeout=10",
        "-o", "ForwardAgent=no",
        "-o", "ClearAllForwardings=yes",
        "-o", "LogLevel=ERROR",
        "-p", str(port), "-l", user, host, "--", _ADD_KEY,
    ]  # fmt: skip
    with _askpass(paths, password) as env:
        done = subprocess.run(
            argv, input=public + "\n", env=env, capture_output=True, text=True, timeout=60, start_new_session=True
        )
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        if "permission denied" in said.lower():
            raise RaidenError(f"{host}: the password for {user} was refused; check the user name and the password")
        if "host key" in said.lower() or "identification has changed" in said.lower():
            raise RaidenError(
                f"{host}: its host key differs from the one recorded for it in {paths.known_hosts}; "
                "if the Pi was re-flashed, remove its line there and run `raiden add` again"
            )
        raise RaidenError(f"{host}: could not log in over SSH ({said}); is it on, on the network, with SSH enabled?")


def python_problem(host: str, user: str, port: int, paths: ClusterPaths, key: Path, python: str | None) -> str | None:
    """Why the node's Python cannot run the head's code (another minor version), or None.

    Pickled functions and numba's caches are specific to one Python minor version, so the node's
    environment must be made with the head's: ``python`` when given, else the ``pythonX.Y`` that
    provisioning would pick (the head's minor, else the node's ``python3``).
    """
    import platform
    import shlex

    head = ".".join(platform.python_version_tuple()[:2])
    ask = "import sys; print('%d.%d' % sys.version_info[:2])"
    if python and not python.startswith("~"):
        probe = f"{shlex.quote(python)} -I -c {shlex.quote(ask)}"
    else:  # what provisioning makes the environment with (or the environment made already)
        probe = (
            f'if [ -x "$HOME"/{shlex.quote((python or DEFAULT_PYTHON)[2:])} ]; then '
            f'"$HOME"/{shlex.quote((python or DEFAULT_PYTHON)[2:])} -I -c {shlex.quote(ask)}; '
            f"elif command -v python{head} >/dev/null; then echo {head}; else python3 -I -c {shlex.quote(ask)}; fi"
        )
    argv = [
        "ssh",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={paths.known_hosts}",
        "-o", "IdentitiesOnly=yes", "-i", str(key),
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-o", "LogLevel=ERROR",
        "-p", str(port), "-l", user, host, "--", probe,
    ]  # fmt: skip
    said = subprocess.run(argv, capture_output=True, text=True, timeout=60, start_new_session=True)
    minor = said.stdout.strip()
    if said.returncode != 0 or not minor:
        why = (said.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{host}: no Python 3 answered there ({why}); install python3 and python3-venv on {host}"
    if minor == head:
        return None
    return (
        f"{host}: Python {minor} there, {head} on the head, and pickled code runs only on the same minor version: "
        f"make the head's environment with Python {minor} (`python{minor} -m venv .venv`, or a Pi as the head), "
        f"or install Python {head} on {host} and give its path with --python; see Requirements"
    )


def fingerprint(host: str, paths: ClusterPaths) -> str:
    found = subprocess.run(
        ["ssh-keygen", "-l", "-F", host, "-f", str(paths.known_hosts)], capture_output=True, text=True
    ).stdout
    lines = [line for line in found.splitlines() if line and not line.startswith("#")]
    return lines[0].split(" ", 1)[1] if lines else "(not recorded)"


def append_node(
    inventory: Inventory,
    host: str,
    user: str,
    port: int,
    key: Path,
    engines: int | None,
    labels: list[str],
    python: str,
) -> Inventory:
    """Append a ``[[nodes]]`` table as text (comments and layout stay); put the file back if it does not load."""
    path = inventory.path
    assert path is not None
    before = path.read_text()
    lines = ["", "[[nodes]]", f"host = {json.dumps(host)}", f"user = {json.dumps(user)}"]
    if port != 22:
        lines.append(f"port = {port}")
    lines += [f"identity_file = {json.dumps(str(key))}", f"python = {json.dumps(python)}"]
    if engines is not None:
        lines.append(f"engines = {engines}")
    if labels:
        lines.append(f"labels = [{', '.join(json.dumps(label) for label in labels)}]")
    path.write_text(before.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    try:
        return load(path, nodes_required=False)
    except InputError:
        path.write_text(before)
        raise


def address_toward(host: str, port: int = 22) -> str:
    """This head's address on the network that reaches ``host`` (no packet is sent: the route is asked)."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family[0], socket.SOCK_DGRAM) as s:
            s.connect(family[4])
            return str(s.getsockname()[0])
    except OSError as e:
        raise InputError(f"{host}: no route to it from this head ({e.strerror or e}); check its address") from None


def inventory_for(path: Path, host: str, port: int, say: Say) -> Inventory:
    """The inventory ``raiden add`` extends: ``path`` as it is, begun when missing (a ``[cluster]`` whose
    ``controller_ip`` is this head's address toward ``host``), with that address added when the file has
    none and ``host`` is another machine. Nodes are not required: the first ``add`` brings one."""
    if not path.exists():
        name = "raiden"
        address = address_toward(host, port)
        path.write_text(
            "# raiden.toml: the nodes of one Raiden Lab cluster (`raiden add HOST` appends each one).\n\n"
            f'[cluster]\nname = "{name}"\ncontroller_ip = "{address}"   # this head\'s address toward {host}\n'
        )
        say(f"[0/4] wrote {path}: cluster '{name}', controller_ip {address} (this head's address toward {host})")
        return load(path, nodes_required=False)
    inventory = load(path, nodes_required=False)
    text = path.read_text()
    if host not in LOCAL_HOSTS and not inventory.remote_hosts and "controller_ip" not in text:
        address = address_toward(host, port)
        lines = text.splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.strip() == "[cluster]"), None)
        if at is None:
            lines[:0] = ["[cluster]\n", f'controller_ip = "{address}"\n', "\n"]
        else:
            lines.insert(at + 1, f'controller_ip = "{address}"   # this head\'s address toward {host}\n')
        path.write_text("".join(lines))
        say(f"[0/4] {path}: controller_ip {address} (this head's address toward {host})")
        inventory = load(path, nodes_required=False)
    return inventory


def check_request(inventory: Inventory, host: str, user: str, labels: list[str]) -> None:
    if inventory.path is None:
        raise InputError("raiden add needs an inventory file; give one with -i FILE (it is begun if missing)")
    if not is_host(host):
        raise InputError(f"{host!r} is not a hostname or IP address")
    if any(n.host == host for n in inventory.nodes):
        raise InputError(f"{host} is already a node in {inventory.path}; `raiden provision {host}` updates it")
    if not USER_RE.fullmatch(user):
        raise InputError(f"--user {user!r} is not a plain user name (letters, digits, '_', '-', '.')")
    for label in labels:
        if not LABEL_RE.fullmatch(label):
            raise InputError(f"--labels: {label!r} is not a plain label (letters, digits, '_.:=-')")


CLOCK_OFF_S = 1.0


async def fix_clock(inventory: Inventory, host: str, paths: ClusterPaths) -> str:
    """Compare the node's clock with the head's; past a second, turn on NTP, else set it from the head's.

    A Pi has no real-time clock: one that booted without a network starts in the past.
    Returns the sentence saying what was found and done.
    """
    import asyncio
    import time

    from ..transport import ssh
    from ..transport.nodes import target_for

    node = inventory.node(host)
    target = target_for(node, paths)

    lag = [0.0]  # how long the last command took to come back: when a command sent now runs there

    async def skew_now() -> float | None:
        """The node's clock minus the head's."""
        skew, took = await ssh.clock_skew(target)
        if took is not None:
            lag[0] = took
        return skew

    skew = await skew_now()
    if skew is None:
        return f"{host}: its clock could not be read (`date` did not answer over SSH)"
    if abs(skew) <= CLOCK_OFF_S:
        return f"{host}: its clock agrees with the head's ({skew:+.1f} s)"
    off = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the head's"
    ntp = await ssh.run(target, ["sudo", "-n", "timedatectl", "set-ntp", "true"], timeout=30)
    if ntp.ok:
        for _ in range(10):
            await asyncio.sleep(1)
            again = await skew_now()
            if again is not None and abs(again) <= CLOCK_OFF_S:
                return f"{host}: its clock was {off}; turned on NTP there, and it now agrees"
    aim = lag[0]  # the head's time when the command runs there, not when it leaves
    for _ in range(5):  # again while it lands over a second off, less what the last try missed by
        stamp = f"@{time.time() + aim:.3f}"  # to the millisecond: a whole second would miss by up to half of one
        fixed = await ssh.run(target, ["sudo", "-n", "timedatectl", "set-time", stamp], timeout=30)
        if not fixed.ok:
            said = (fixed.stderr.decode(errors="replace").strip().splitlines() or ["refused"])[-1]
            return (
                f"{host}: its clock is {off} and could not be set ({said}); set it there: "
                "`sudo timedatectl set-ntp true`, or `sudo date -s` with the head's time"
            )
        again = await skew_now()
        if again is None or abs(again) <= CLOCK_OFF_S:
            break
        aim -= again
    now = f"{again:+.1f} s" if again is not None else "unknown"
    return f"{host}: its clock was {off} and no time server answered; set it from the head's clock (now {now})"
