"""The virtual Pi cluster: Linux network namespaces, each a host with its own address and sshd.

Engines really travel over SSH and TCP between the namespaces and the head
(the bridge's own address). The namespaces share the file system, so each node
gets its own work folder and may point at its own Python. Nothing here touches
the machine's ``~/.ssh``: sshd has its own host keys and authorized_keys, the
client its own identity, and raiden its own known_hosts.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
_BUILT = itertools.count()  # clusters built by this process: part of every link and namespace name


def subnet(second: int) -> str:
    """A /24 of the suite's own for this test process: ``10.SECOND.W``, W the pytest-xdist worker's number.

    Two workers building clusters at once never share a subnet (nor, through ``build``, a name).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return f"10.{second}.{int(worker) if worker.isdigit() else 0}"


def missing_requirements() -> str | None:
    """Why the virtual cluster cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "the virtual Pi cluster needs root (network namespaces and sshd)"
    for tool in ("ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"the virtual Pi cluster needs '{tool}' (iproute2 / openssh-client)"
    if not os.path.exists(SSHD):
        return f"the virtual Pi cluster needs {SSHD} (openssh-server)"
    return None


@dataclass
class VNode:
    name: str
    address: str
    namespace: str
    work_dir: Path
    python: str
    sshd: list[str] = field(default_factory=list)  # how its sshd starts (inside its namespace), as a boot would


@dataclass
class VirtualCluster:
    base: Path
    head: str
    nodes: list[VNode] = field(default_factory=list)
    bridge: str = ""
    identity: Path = Path()
    veths: list[str] = field(default_factory=list)
    pis: list = field(default_factory=list)  # armpi.ArmPi, for the nodes that are emulated Pis

    def node(self, name: str) -> VNode:
        return next(n for n in self.nodes if n.name == name)

    def inventory(
        self,
        name: str,
        nodes: list[VNode | str],
        engines: int = 2,
        extra: str = "",
        controller_ip: str | None = None,
        filename: str | None = None,
    ) -> Path:
        """Write a raiden.toml naming ``nodes`` (a VNode, or an address with no host behind it)."""
        lines = [
            "[cluster]",
            f'name = "{name}"',
            f'controller_ip = "{controller_ip or self.head}"',
            'user = "root"',
            f'identity_file = "{self.identity}"',
            f"engines_per_node = {engines}",
            extra,
        ]
        for node in nodes:
            lines.append("\n[[nodes]]")
            if isinstance(node, VNode):
                lines += [f'host = "{node.address}"', f'python = "{node.python}"', f'work_dir = "{node.work_dir}"']
            else:
                lines += [f'host = "{node}"', f'work_dir = "{self.base / "work" / node}"']
        path = self.base / (filename or f"{name}.toml")
        path.write_text("\n".join(lines) + "\n")
        return path

    def processes(self, node: VNode) -> list[str]:
        """Command lines of every process in the node's namespace but its sshd."""
        pids = subprocess.run(["ip", "netns", "pids", node.namespace], capture_output=True, text=True).stdout.split()
        found = []
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            if not cmdline:
                continue  # a zombie (an sshd child that served a probe, not reaped yet): it runs nothing
            # under qemu-user (an emulated Pi) the program is the emulator's second or third word
            if not cmdline.startswith(SSHD) and not any("sshd" in word for word in cmdline.split(" ")[:3]):
                found.append(f"{pid} {cmdline}")
        return found

    def power_switch(self, nodes: list[VNode]) -> tuple[list[str], Path]:
        """The tests' power switch (power_switch.py) for ``nodes``: its argv before ACTION NODE, and its state file."""
        state = self.base / "power.json"
        config = self.base / "switch.json"
        where = {n.address: {"namespace": n.namespace, "sshd": n.sshd} for n in nodes}
        config.write_text(json.dumps({"state": str(state), "nodes": where}))
        state.unlink(missing_ok=True)
        Path(f"{state}.log").unlink(missing_ok=True)
        return [_head_python(), str(Path(__file__).resolve().parent / "power_switch.py"), str(config)], state

    def set_link(self, node: VNode, up: bool) -> None:
        _ip("-n", node.namespace, "link", "set", "eth0", "up" if up else "down")


def build(
    base: Path,
    names: list[str],
    subnet: str,
    bare_python: dict[str, str] | None = None,
    arm: tuple[str, ...] | dict[str, str] = (),
) -> VirtualCluster:
    """Build the namespaces, bridge and sshds; the caller must call ``teardown`` (even on failure).

    Nodes named in ``arm`` are emulated Raspberry Pis (``armpi``): an arm64 root under qemu-user
    with its own sshd, reached as user ``pi``; they are in ``cluster.pis`` as well. A dict names each
    one's Debian release (``{"pi5": "trixie"}``); a tuple means bookworm.
    """
    tag = f"{os.getpid() % 10000}{chr(ord('a') + next(_BUILT) % 26)}"
    cluster = VirtualCluster(base=base, head=f"{subnet}.1", bridge=f"rbr{tag}")
    keys = base / "keys"
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    cluster.identity = keys / "id_ed25519"
    _keygen(cluster.identity)
    authorized = keys / "authorized_keys"
    authorized.write_bytes(Path(f"{cluster.identity}.pub").read_bytes())
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    held = subprocess.run(["ip", "-o", "addr", "show", "to", f"{subnet}.0/24"], capture_output=True, text=True)
    if held.stdout.strip():
        link = held.stdout.split()[1]
        raise RuntimeError(
            f"subnet {subnet}.0/24 is already on link {link}, left by another run (or one that was killed): "
            f"delete it (ip link del {link}) and its namespaces (ip netns list), then run again"
        )
    try:
        _ip("link", "add", cluster.bridge, "type", "bridge")
        _ip("addr", "add", f"{cluster.head}/24", "dev", cluster.bridge)
        _ip("link", "set", cluster.bridge, "up")
        for i, name in enumerate(names):
            node = VNode(
                name=name,
                address=f"{subnet}.{11 + i}",
                namespace=f"r{tag}{name}",
                work_dir=base / "work" / name,
                python=(bare_python or {}).get(name, _head_python()),
            )
            cluster.nodes.append(node)
            veth = f"rv{tag}{i}"
            cluster.veths.append(veth)
            _ip("netns", "add", node.namespace)
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", node.namespace)
            _ip("link", "set", veth, "master", cluster.bridge, "up")
            _ip("-n", node.namespace, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _ip("-n", node.namespace, "link", "set", "eth0", "up")
            _ip("-n", node.namespace, "link", "set", "lo", "up")
            if name in arm:
                import armpi

                suite = arm.get(name, armpi.SUITE) if isinstance(arm, dict) else armpi.SUITE
                pi = armpi.start(base, name, node.address, node.namespace, suite)
                cluster.pis.append(pi)
                node.python, node.work_dir = pi.python, Path("~/.raiden/node")
            else:
                node.sshd = _start_sshd(node, keys, authorized)
        for node in cluster.nodes:
            # an emulated Pi's sshd starts under qemu: on a loaded 2-core box it took over 10 s once in CI
            try:
                _wait_port(node.address, 22, timeout=120.0 if node.name in arm else 30.0)
            except OSError as e:
                logs = [pi.path("/var/log/sshd.log") for pi in cluster.pis if pi.name == node.name]
                tail = logs[0].read_text()[-2000:] if logs and logs[0].exists() else ""
                raise RuntimeError(f"{node.name}: sshd did not listen on {node.address}:22 ({e})\n{tail}") from e
    except BaseException:
        teardown(cluster)
        raise
    return cluster


def teardown(cluster: VirtualCluster) -> None:
    if cluster.pis:
        import armpi

        for pi in cluster.pis:
            armpi.stop(pi)
    for node in cluster.nodes:
        # a process can start in the namespace while we kill (an sshd session, a restarted engine): repeat
        for _ in range(20):
            pids = subprocess.run(
                ["ip", "netns", "pids", node.namespace], capture_output=True, text=True
            ).stdout.split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            time.sleep(0.1)
        subprocess.run(["ip", "netns", "del", node.namespace], capture_output=True)
    # deleting our end of each veth removes the pair, even while something still holds a namespace
    for veth in cluster.veths:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
    if cluster.bridge:
        subprocess.run(["ip", "link", "del", cluster.bridge], capture_output=True)


def changes(cluster: VirtualCluster) -> list[str]:
    """How the cluster differs from one just built: a link down, an sshd that does not answer, a process left."""
    found = []
    for node in cluster.nodes:
        link = subprocess.run(
            ["ip", "-n", node.namespace, "-o", "link", "show", "eth0"], capture_output=True, text=True
        ).stdout
        flags = link.partition("<")[2].partition(">")[0].split(",")
        if "UP" not in flags:
            found.append(f"{node.name}: its link is down")
        elif node.sshd:
            try:
                _wait_port(node.address, 22, timeout=1.0)
            except OSError:
                found.append(f"{node.name}: its sshd does not answer")
        found += [f"{node.name}: still running: {p[:160]}" for p in cluster.processes(node)]
    return found


def reset(cluster: VirtualCluster) -> None:
    """Put the cluster back as built: links up, sshd listening, no process left, empty work folders."""
    for node in cluster.nodes:
        _ip("-n", node.namespace, "link", "set", "eth0", "up")
        for line in cluster.processes(node):
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if node.sshd:
            try:
                _wait_port(node.address, 22, timeout=1.0)
            except OSError:
                subprocess.run(["ip", "netns", "exec", node.namespace, *node.sshd], check=True)
                _wait_port(node.address, 22, timeout=30.0)
    shutil.rmtree(cluster.base / "work", ignore_errors=True)


def _head_python() -> str:
    import sys

    return sys.executable


def _start_sshd(node: VNode, keys: Path, authorized: Path) -> list[str]:
    host_key = keys / f"host_{node.name}"
    _keygen(host_key)
    config = keys / f"sshd_{node.name}.conf"
    config.write_text(
        f"Port 22\nListenAddress {node.address}\nHostKey {host_key}\n"
        # the test's key for root; other accounts (a class's seat accounts) have their own, as on a real node
        f"AuthorizedKeysFile {authorized} .ssh/authorized_keys\nPidFile {keys / f'sshd_{node.name}.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nMaxSessions 100\nMaxStartups 100:30:200\n"
        "ClientAliveInterval 2\nClientAliveCountMax 3\nSubsystem sftp internal-sftp\n"
    )
    argv = [SSHD, "-f", str(config), "-E", str(keys / f"sshd_{node.name}.log")]
    subprocess.run(["ip", "netns", "exec", node.namespace, *argv], check=True)
    return argv


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
