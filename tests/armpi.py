"""An emulated Raspberry Pi: a Debian bookworm arm64 root (the base of Raspberry Pi OS 64-bit), run
under qemu-user as a node of the virtual cluster, with its own sshd chrooted into it.

Fresh as a new image: ``python3``, ``python3-venv``, ``openssh-server`` and nothing from pip; user
``pi`` with password ``raspberry``, which sshd accepts until a key is in. Test-only parts: a fake
Pi firmware (``vcgencmd get_throttled`` and a thermal file under ``/run/fake-pi/`` that a test
sets), and libfaketime for a node whose clock is off (a namespace shares this machine's clock).

The bootstrapped root is cached as a tar in ``/var/cache/raiden-lab`` keyed by its package list,
so only the first run pays for debootstrap (about 2.5 minutes); each run unpacks a fresh copy.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("RAIDEN_CACHE", "/var/cache/raiden-lab"))
SUITE = "bookworm"  # Raspberry Pi OS 64-bit until 2025 (Python 3.11); "trixie" is today's (Python 3.13)
SUITES = ("bookworm", "trixie")
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "openssh-server", "sudo", "libfaketime", "iproute2")
PASSWORD = "raspberry"
# A Pi 4's CPU. qemu's default ("max") has pointer authentication, which trixie's programs use and qemu
# emulates slowly: its Python 3.13 ran a loop 35 times slower than bookworm's 3.11 (0.96 s as a Cortex-A72)
CPU = "cortex-a72"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU_RULE = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")

# The emulated Pi's clock: every program in its root runs with libfaketime (/etc/ld.so.preload),
# whose offset is /etc/faketimerc. A namespace shares this machine's clock, which a test must never
# set; this stand-in for systemd's timedatectl moves the offset instead, so Raiden's fix runs end to end.
TIMEDATECTL = """#!/bin/sh
# timedatectl (stand-in on the emulated Pi): the clock is libfaketime's offset in /etc/faketimerc
case "$1" in
    set-ntp)
        echo "Failed to set ntp: no time server is reachable from this Pi" >&2
        exit 1 ;;
    set-time)
        want=$(FAKETIME=+0 date -u -d "$2" +%s.%N) || exit 1
        real=$(FAKETIME=+0 date -u +%s.%N)  # to the millisecond, as a real clock is set
        awk -v w="$want" -v r="$real" 'BEGIN { o = w - r; printf "%s%.3f\\n", (o >= 0 ? "+" : ""), o }' > /etc/faketimerc ;;
    *)
        echo "               Local time: $(date)"
        echo "System clock synchronized: no" ;;
esac
"""

VCGENCMD = """#!/bin/sh
# A stand-in for the Pi firmware's tool: what a test writes in /run/fake-pi/throttled.
if [ "$1" = get_throttled ]; then
    echo "throttled=$(cat /run/fake-pi/throttled 2>/dev/null || echo 0x0)"
else
    echo "vcgencmd (fake): only get_throttled" >&2
    exit 1
fi
"""


def missing_requirements() -> str | None:
    if os.geteuid() != 0:
        return "an emulated Pi needs root (debootstrap, chroot, binfmt_misc, namespaces)"
    for tool in ("debootstrap", "qemu-aarch64-static", "ip"):
        if shutil.which(tool) is None:
            return f"an emulated Pi needs {tool} (Debian: debootstrap qemu-user-static iproute2)"
    if not QEMU_RULE.exists():
        return f"{QEMU_RULE} is missing (Debian: qemu-user-static)"
    return None


def ensure_binfmt() -> None:
    """Mount binfmt_misc and register qemu-aarch64 when missing.

    Flags: F (the emulator is opened now, so it works inside a chroot) and C (a setuid program such
    as sudo gets its owner's rights, as on a real Pi). A registration without C is made again.
    """
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    entry = BINFMT / "qemu-aarch64"
    if entry.exists() and "C" in _flags(entry.read_text()):
        return
    if entry.exists():
        entry.write_text("-1")  # unregister, to register again with C
    rule = QEMU_RULE.read_text().strip().splitlines()[-1]
    head, _, flags = rule.rpartition(":")
    (BINFMT / "register").write_text(f"{head}:{''.join(sorted(set(flags + 'CF')))}")


def _flags(entry: str) -> str:
    return next((line.split(":", 1)[1].strip() for line in entry.splitlines() if line.startswith("flags:")), "")


def cached_root(suite: str = SUITE) -> Path:
    """The bootstrapped, configured root of Debian ``suite`` as a tar; made once per suite and package list."""
    key = hashlib.sha256(f"{suite} arm64 {' '.join(PACKAGES)} v1".encode()).hexdigest()[:12]
    tar = CACHE / f"pi-root-{key}.tar"
    if tar.exists():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".pi-root-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one test process builds it; the others wait, then reuse it
        return tar if tar.exists() else _build_root(suite, tar)


def _build_root(suite: str, tar: Path) -> Path:
    ensure_binfmt()
    CACHE.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"pi-root-{suite}-", dir=CACHE))
    build.chmod(0o755)
    try:
        subprocess.run(
            [
                "debootstrap",
                "--arch=arm64",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                suite,
                build,
                MIRROR,
            ],
            check=True,
            capture_output=True,
        )
        _chroot(build, "useradd", "--create-home", "--shell", "/bin/bash", "pi")
        _chroot(build, "sh", "-c", f"echo 'pi:{PASSWORD}' | chpasswd")
        (build / "etc/sudoers.d/010_pi-nopasswd").write_text("pi ALL=(ALL) NOPASSWD: ALL\n")  # as Raspberry Pi OS
        (build / "etc/sudoers.d/010_pi-nopasswd").chmod(0o440)
        (build / "etc/faketimerc").write_text("+0\n")
        (build / "etc/faketimerc").chmod(0o644)
        lib = next(build.glob("usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"))
        (build / "etc/ld.so.preload").write_text(f"/{lib.relative_to(build)}\n")
        for leftover in ("etc/ssh/ssh_host_ecdsa_key", "etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_rsa_key"):
            for path in build.glob(leftover + "*"):
                path.unlink()  # each emulated Pi makes its own, as a first boot does
        save_root(build, tar)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return tar


@dataclass
class ArmPi:
    name: str
    address: str
    namespace: str
    root: Path
    user: str = "pi"
    python: str = "/usr/bin/python3"

    def path(self, inside: str) -> Path:
        """A path of the Pi's file system, as seen from the head."""
        return self.root / inside.lstrip("/")

    def set_throttled(self, value: int) -> None:
        self.path("/run/fake-pi/throttled").write_text(hex(value))

    def set_clock_offset(self, seconds: int) -> None:
        """Move the Pi's clock (libfaketime's offset for every program in its root)."""
        self.path("/etc/faketimerc").write_text(f"{seconds:+d}\n")

    def clock_offset(self) -> float:
        return float(self.path("/etc/faketimerc").read_text().strip())

    def set_temperature(self, celsius: float) -> None:
        self.path("/run/fake-pi/temp").write_text(str(int(celsius * 1000)))


def start(base: Path, name: str, address: str, namespace: str, suite: str = SUITE) -> ArmPi:
    """Unpack a fresh root of ``suite`` and start its sshd in ``namespace`` (made and wired by the caller)."""
    tar = cached_root(suite)
    ensure_binfmt()
    root = base / f"{name}-root"
    root.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "-xf", tar, "-C", root], check=True)
    root.chmod(0o755)  # its "/" (the tar keeps the build folder's 0700, which user pi could not enter)
    for path, script in (("usr/bin/vcgencmd", VCGENCMD), ("usr/bin/timedatectl", TIMEDATECTL)):
        (root / path).write_text(script)  # the stand-ins, written here: changing one rebuilds no cached root
        (root / path).chmod(0o755)
    pi = ArmPi(name=name, address=address, namespace=namespace, root=root)
    subprocess.run(["mount", "-t", "proc", "proc", root / "proc"], check=True)
    subprocess.run(["mount", "--rbind", "/dev", root / "dev"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", root / "run"], check=True)
    (root / "run/sshd").mkdir(mode=0o755)
    (root / "run/fake-pi").mkdir(mode=0o755)
    pi.set_throttled(0)
    pi.set_temperature(48.0)
    _chroot(root, "ssh-keygen", "-A")
    config = root / "etc/ssh/sshd_config.d/raiden-test.conf"
    config.write_text(
        f"ListenAddress {address}\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin no\nMaxSessions 100\nMaxStartups 100:30:200\nClientAliveInterval 2\nClientAliveCountMax 3\n"
        f"SetEnv QEMU_CPU={CPU}\n"  # every program of a session (engines too) runs on the Pi 4's CPU
    )
    # the Pi's sensors, where Raiden's agent reads them on a real Pi, are files the test sets
    subprocess.run(
        ["ip", "netns", "exec", namespace, "chroot", str(root), "/usr/sbin/sshd", "-E", "/var/log/sshd.log"],
        check=True,
        env=dict(os.environ, QEMU_CPU=CPU),
    )
    return pi


def save_root(build: Path, tar: Path) -> None:
    """``build`` as the cached ``tar``, which appears whole or not at all."""
    partial = tar.with_suffix(".part")
    subprocess.run(["tar", "--numeric-owner", "-cf", partial, "-C", build, "."], check=True)
    partial.rename(tar)


def kill_inside(root: Path) -> None:
    """Kill every process whose root is ``root`` (what a test left running in a chroot)."""
    for _ in range(20):
        pids = [p for p in os.listdir("/proc") if p.isdigit() and _root_of(p) == str(root)]
        if not pids:
            break
        for pid in pids:
            subprocess.run(["kill", "-9", pid], capture_output=True)


def stop(pi: ArmPi) -> None:
    """Kill what runs in the root and unmount it (the root folder goes with the test's tmp)."""
    kill_inside(pi.root)
    for mount in ("run", "dev", "proc"):
        subprocess.run(["umount", "-R", "-l", str(pi.root / mount)], capture_output=True)


def _root_of(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/root")
    except OSError:
        return None


def _chroot(root: Path, *argv: str) -> None:
    subprocess.run(["chroot", str(root), *argv], check=True, capture_output=True)
