"""Run commands on nodes with the system OpenSSH client.

One multiplexed master connection per node carries the preflight and short
commands; once engines start, the node's relay session (``links.py``) is that master
and carries the runner and the agent too. Host keys are accepted on first use into the
cluster's own known_hosts and checked after that; checking is never turned off.
A local node runs the same commands as plain child processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config.inventory import Node


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class Target:
    """How to reach one node: over SSH, or directly when the node is the head itself."""

    node: Node
    known_hosts: Path
    control_dir: Path
    connect_timeout: float = 5.0
    pinned_only: bool = False  # only keys already in known_hosts (a seat's): an unknown one is refused

    @property
    def host(self) -> str:
        return self.node.host

    @property
    def is_local(self) -> bool:
        return self.node.is_local

    def ssh_options(self, master: bool = False, persist: bool = True) -> list[str]:
        node = self.node
        opts = [
            "-o",
            "BatchMode=yes",
            "-o",
            f"StrictHostKeyChecking={'yes' if self.pinned_only else 'accept-new'}",
            "-o",
            # first the cluster's own (new keys go there), then the keys the user already verified
            "UserKnownHostsFile=" + " ".join(_quoted(p) for p in (self.known_hosts, *user_known_hosts())),
            # nothing of the user's own ~/.ssh/config reaches a node: no agent, no X11, no tunnels
            "-o",
            "ForwardAgent=no",
            "-o",
            "ForwardX11=no",
            "-o",
            "ClearAllForwardings=yes",
            "-o",
            "PermitLocalCommand=no",
            "-o",
            "HashKnownHosts=no",  # so the line of a rebuilt node can be found and removed
            "-o",
            f"ConnectTimeout={max(1, int(self.connect_timeout))}",
            "-o",
            "ServerAliveInterval=2",
            "-o",
            "ServerAliveCountMax=2",
            "-o",
            "LogLevel=ERROR",
            "-o",
            f"ControlPath={self.control_dir}/%C",
            "-o",
            f"ControlMaster={'yes' if master else 'no'}",
            "-p",
            str(node.port),
        ]
        if master and persist:
            opts += ["-o", "ControlPersist=600"]
        if node.identity_file:
            opts += ["-i", node.identity_file, "-o", "IdentitiesOnly=yes"]
        if node.user:
            opts += ["-l", node.user]
        return opts

    def command(self, argv: Sequence[str]) -> list[str]:
        """The local argv that runs ``argv`` on the node."""
        if self.is_local:
            return [os.path.expanduser(argv[0]), *argv[1:]]
        return ["ssh", *self.ssh_options(), self.host, "--", remote_command(argv)]

    def session_command(self, argv: Sequence[str]) -> list[str]:
        """A session that is the node's master while it lasts (the relay's, ``links.py``)."""
        return ["ssh", *self.ssh_options(master=True, persist=False), self.host, "--", remote_command(argv)]

    def master_command(self) -> list[str]:
        return ["ssh", *self.ssh_options(master=True), "-N", "-f", self.host]

    def control_command(self, op: str) -> list[str]:
        return ["ssh", *self.ssh_options(), "-O", op, self.host]


def user_known_hosts() -> list[Path]:
    """The user's own ``~/.ssh/known_hosts`` (from ``$HOME``), when there is one."""
    path = Path.home() / ".ssh" / "known_hosts"
    return [path] if path.is_file() else []


def _quoted(path: Path) -> str:
    text = str(path)
    if '"' in text or "\n" in text:
        raise ValueError(f"{text!r}: a known_hosts path cannot hold quotes or newlines")
    return f'"{text}"' if " " in text else text


def config_block(target: Target) -> str:
    """The node's options as an ``ssh_config`` ``Host`` block, for programs that run ssh themselves.

    Open MPI starts its daemons with ``plm_rsh_agent``, a command line split on
    spaces; ``ssh -F FILE`` with this block keeps every option (host key
    checking included) without quoting through it.
    """
    opts = target.ssh_options()
    names = {"-p": "Port", "-i": "IdentityFile", "-l": "User"}
    lines = [f"Host {target.host}"]
    for flag, value in zip(opts[::2], opts[1::2], strict=True):
        key, _, val = value.partition("=") if flag == "-o" else (names[flag], "", value)
        lines.append(f"  {key} {val}" if key == "UserKnownHostsFile" or " " not in val else f'  {key} "{val}"')
    return "\n".join(lines) + "\n"


_OTHER_HOME = re.compile(r"~([a-z_][a-z0-9_-]{0,31})/(.+)")


def remote_command(argv: Sequence[str]) -> str:
    """Quote ``argv`` for the remote shell; ``~/`` and ``~user/`` stay expandable and nothing else is."""
    parts = []
    for arg in argv:
        owner = _OTHER_HOME.match(arg)
        if arg == "~" or arg.startswith("~/"):
            rest = arg[2:]
            parts.append('"$HOME"' + ("/" + shlex.quote(rest) if rest else ""))
        elif owner:  # another account's home (a seat runs its owner's Python): a user name, checked, unquoted
            parts.append(f"~{owner.group(1)}/" + shlex.quote(owner.group(2)))
        else:
            parts.append(shlex.quote(arg))
    return " ".join(parts)


def explain(host: str, result: Result, what: str = "ssh") -> str:
    """Turn OpenSSH's stderr into one sentence naming the node and what to do."""
    err = result.stderr.decode(errors="replace").strip()
    low = err.lower()
    if "host key is known for" in low and "strict checking" in low:
        return (
            f"{host}: no host key is recorded for it, and a class's seats trust only recorded ones; as the "
            f"teacher, run `raiden doctor` once (or `raiden add {host}`) and check the fingerprint it shows"
        )
    if "remote host identification has changed" in low or "host key verification failed" in low:
        return (
            f"{host}: its host key differs from the one recorded on first use; if the node was "
            f"rebuilt, remove its line from the cluster's known_hosts and try again"
        )
    if "permission denied" in low:
        return f"{host}: the SSH key was refused; check user and identity_file, and the node's authorized_keys"
    if "could not resolve hostname" in low or "name or service not known" in low:
        return f"{host}: the host name does not resolve; check the name or use its IP address"
    if any(s in low for s in ("timed out", "no route to host", "network is unreachable", "connection refused")):
        reason = err.splitlines()[-1].split(":")[-1].strip()
        return f"{host}: unreachable over SSH ({reason}); check that it is powered, on the network and runs sshd"
    if result.returncode == 127:
        return f"{host}: command not found there ({err.splitlines()[-1] if err else what}); check the 'python' path in the inventory"
    last = err.splitlines()[-1] if err else f"exit status {result.returncode}"
    return f"{host}: {what} failed: {last}"


async def ensure_master(target: Target, timeout: float | None = None) -> Result:
    """Open (or reuse) the node's multiplexed connection and return how that went.

    The master is started with ``-f`` and its stderr in a file: a master that
    inherits a pipe would hold it open and hang whoever reads the pipe.
    """
    if target.is_local:
        return Result(0, b"", b"")
    check = await run_local(target.control_command("check"), timeout=timeout or target.connect_timeout + 5)
    if check.ok:
        return check
    with tempfile.TemporaryFile() as errfile:
        proc = await asyncio.create_subprocess_exec(
            *target.master_command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile
        )
        try:
            code = await asyncio.wait_for(proc.wait(), timeout or target.connect_timeout + 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            code = 255
            errfile.write(b"ssh: connect: Connection timed out\n")
        errfile.seek(0)
        return Result(code, b"", errfile.read())


async def run(target: Target, argv: Sequence[str], input: bytes | None = None, timeout: float = 60.0) -> Result:
    """Run ``argv`` on the node and collect its output.

    On a remote node the command runs under coreutils' ``timeout``: closing our end of
    the connection would not stop a program that hangs there, and nothing may be left.
    """
    if target.is_local:
        return await run_local(target.command(argv), input=input, timeout=timeout)
    bounded = ["timeout", "-k", "3", f"{max(1, int(timeout))}", *argv]
    return await run_local(target.command(bounded), input=input, timeout=timeout + 10)


async def spawn(target: Target, argv: Sequence[str], **kwargs) -> asyncio.subprocess.Process:
    """Start ``argv`` on the node with pipes to and from it; the caller owns the process."""
    return await asyncio.create_subprocess_exec(
        *target.command(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )


def close_master(target: Target) -> None:
    """Close the node's master connection (``raiden down`` leaves nothing running)."""
    if target.is_local:
        return
    subprocess.run(
        target.control_command("exit"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=10,
        check=False,
    )


async def round_trip(target: Target) -> float | None:
    """Seconds for one trivial command over the open connection, or None if it failed."""
    start = time.perf_counter()
    result = await run(target, ["true"], timeout=target.connect_timeout + 5)
    return time.perf_counter() - start if result.ok else None


async def clock_skew(target: Target, tries: int = 3) -> tuple[float | None, float | None]:
    """The node's clock minus the head's, read with ``date`` (a node's Python may not exist yet), and the round
    trip it was read in: of ``tries`` readings the one that came back quickest, as NTP keeps, since its stamp is
    the least uncertain (by half that round trip). On a loaded head or node one round trip can take seconds."""
    best: tuple[float | None, float | None] = (None, None)
    for _ in range(tries):
        before = time.time()
        said = await run(target, ["date", "+%s.%N"], timeout=target.connect_timeout + 25)
        after = time.time()
        try:
            there = float(said.stdout.decode().strip())
        except ValueError:
            continue
        if best[1] is None or after - before < best[1]:
            best = (there - (before + after) / 2, after - before)
    return best


MAX_OUTPUT = 1 << 20  # what is kept of a command's stdout (and of its stderr): a node cannot fill the head


async def _capped(stream: asyncio.StreamReader) -> bytes:
    """All of a stream read, its first MAX_OUTPUT bytes kept."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < MAX_OUTPUT:
            kept += chunk[: MAX_OUTPUT - len(kept)]
    return bytes(kept)


async def run_local(argv: Sequence[str], input: bytes | None = None, timeout: float = 60.0) -> Result:
    """Run ``argv`` here (an ``ssh`` command line, or a local node's program); its output, capped."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as e:
        return Result(127, b"", f"{e.filename}: not found\n".encode())

    async def feed() -> None:
        if input is None or proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(input)
            await proc.stdin.drain()
        proc.stdin.close()

    async def whole() -> tuple[bytes, bytes]:
        assert proc.stdout is not None and proc.stderr is not None
        out, err, _ = await asyncio.gather(_capped(proc.stdout), _capped(proc.stderr), feed())
        await proc.wait()
        return out, err

    try:
        out, err = await asyncio.wait_for(whole(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Result(124, b"", f"timed out after {timeout:g} s\n".encode())
    return Result(proc.returncode if proc.returncode is not None else -1, out, err)
