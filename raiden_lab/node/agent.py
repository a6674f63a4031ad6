"""The metrics agent: one JSON sample a second from every node, on stdout.

Runs on the node as ``python -m raiden_lab.node.agent`` or, sent as source by the
supervisor over the node's SSH connection, with nothing of Raiden installed
there: it needs only the standard library and psutil. It stops when its stdin
closes, so it never outlives the connection. On stdin it takes
``{"engines": {"ID": PID, ...}}`` lines naming the node's engine processes.

The sensors are read from paths that a test (or an unusual board) can point
elsewhere: ``--thermal`` (millidegrees, as ``/sys/class/thermal``) and
``--throttled`` (hex, as the Pi firmware's ``get_throttled``); without a sysfs
file, ``vcgencmd get_throttled`` is asked every few seconds where it exists.
``--power`` names a file that reads the node's power draw in microwatts (hwmon's
``power1_input``: an INA219, a PoE HAT), given by the inventory's ``power_sensor``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import time

import psutil

THERMAL_PATH = "/sys/class/thermal/thermal_zone0/temp"
THROTTLED_PATH = "/sys/devices/platform/soc/soc:firmware/get_throttled"
VCGENCMD_EVERY_S = 5.0
# A busy Pi's vcgencmd can miss its 2 s: its last answer stands this long (a missed reading is not news)
VCGENCMD_KEPT_S = 30.0

# Bits of the Pi firmware's get_throttled word: (bit, name); the same name + "_occurred" at bit + 16.
THROTTLE_BITS = ((0, "under_voltage"), (1, "freq_capped"), (2, "throttled"), (3, "soft_temp_limit"))


def decode_throttled(raw: int) -> dict:
    """Now and since boot, for each condition the firmware reports."""
    flags: dict = {"raw": raw}
    for bit, name in THROTTLE_BITS:
        flags[name] = bool(raw >> bit & 1)
        flags[name + "_occurred"] = bool(raw >> (bit + 16) & 1)
    return flags


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


class Sensors:
    """Temperature and throttling, or None where the board has no such sensor."""

    def __init__(self, thermal: str, throttled: str, power: str | None = None) -> None:
        self.thermal = thermal
        self.power_path = power
        self.throttled_path = throttled
        self.vcgencmd = shutil.which("vcgencmd") if not os.path.exists(throttled) else None
        self._vc_value: int | None = None
        self._vc_time = 0.0
        self._vc_answered = 0.0

    def temperature(self) -> float | None:
        text = _read(self.thermal)
        try:
            return int(text) / 1000.0 if text is not None else None
        except ValueError:
            return None

    def watts(self) -> float | None:
        text = _read(self.power_path) if self.power_path else None
        try:
            return int(text) / 1e6 if text is not None else None
        except ValueError:
            return None

    def throttled(self) -> dict | None:
        text = _read(self.throttled_path)
        if text is None and self.vcgencmd:
            now = time.monotonic()
            if now - self._vc_time >= VCGENCMD_EVERY_S:
                self._vc_time = now
                answer = self._ask_vcgencmd()
                if answer is not None:
                    self._vc_value, self._vc_answered = answer, now
                elif now - self._vc_answered > VCGENCMD_KEPT_S:
                    self._vc_value = None
            return decode_throttled(self._vc_value) if self._vc_value is not None else None
        try:
            return decode_throttled(int(text, 16)) if text is not None else None
        except ValueError:
            return None

    def _ask_vcgencmd(self) -> int | None:
        try:
            out = subprocess.run([self.vcgencmd, "get_throttled"], capture_output=True, text=True, timeout=2).stdout
            return int(out.strip().split("=")[-1], 16)
        except (OSError, ValueError, subprocess.SubprocessError):
            return None


class Agent:
    def __init__(self, work_dir: str, sensors: Sensors) -> None:
        self.work_dir = work_dir
        self.sensors = sensors
        self.engines: dict[str, psutil.Process] = {}
        psutil.cpu_percent(percpu=True)  # the first reading only sets the baseline

    def set_engines(self, pids: dict[str, int]) -> None:
        current = {}
        for engine_id, pid in pids.items():
            proc = self.engines.get(engine_id)
            if proc is None or proc.pid != pid:
                try:
                    proc = psutil.Process(pid)
                    proc.cpu_percent()
                except psutil.Error:
                    continue
            current[engine_id] = proc
        self.engines = current

    def sample(self) -> dict:
        memory = psutil.virtual_memory()
        net = psutil.net_io_counters()
        try:
            disk_free = shutil.disk_usage(self.work_dir).free
        except OSError:
            disk_free = None
        cpu = psutil.cpu_percent(percpu=True)
        engines = {}
        for engine_id, proc in self.engines.items():
            try:
                with proc.oneshot():
                    engines[engine_id] = {"pid": proc.pid, "cpu": proc.cpu_percent(), "memory": proc.memory_info().rss}
            except psutil.Error:
                engines[engine_id] = {"pid": proc.pid, "cpu": None, "memory": None}
        return {
            "time": time.time(),
            "cpu": cpu,
            "cpu_total": sum(cpu) / len(cpu) if cpu else None,
            "load": list(os.getloadavg()),
            "memory": {"total": memory.total, "available": memory.available, "percent": memory.percent},
            "temperature": self.sensors.temperature(),
            "throttled": self.sensors.throttled(),
            "watts": self.sensors.watts(),
            "mhz": _mhz(),
            "disk_free": disk_free,
            "net": {"bytes_sent": net.bytes_sent, "bytes_recv": net.bytes_recv} if net else None,
            "engines": engines,
        }


def _mhz() -> float | None:
    """The CPU's clock now, in MHz (a throttled Pi 4's drops from 1800 to 600), where the kernel tells it."""
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, AttributeError):
        return None
    return round(freq.current, 1) if freq and freq.current else None


def run(agent: Agent, interval: float, count: int | None = None) -> None:
    """Print a sample every ``interval`` seconds until stdin closes (or ``count`` samples)."""
    fd = sys.stdin.fileno()
    buf = b""
    next_at = time.monotonic()
    printed = 0
    while count is None or printed < count:
        timeout = max(0.0, next_at - time.monotonic())
        if select.select([fd], [], [], timeout)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    message = json.loads(line)
                    if "engines" in message:
                        agent.set_engines({str(k): int(v) for k, v in message["engines"].items()})
            continue
        sys.stdout.write(json.dumps(agent.sample()) + "\n")
        sys.stdout.flush()
        printed += 1
        next_at += interval
        if next_at < time.monotonic():  # fell behind (a suspended process): do not burst
            next_at = time.monotonic() + interval


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="raiden_lab.node.agent", description="Print one JSON sample of this node a second."
    )
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--work-dir", default=".", help="folder whose free disk is reported")
    parser.add_argument("--thermal", default=THERMAL_PATH, help="temperature file in millidegrees Celsius")
    parser.add_argument("--throttled", default=THROTTLED_PATH, help="file with the firmware's throttled word (hex)")
    parser.add_argument("--power", default=None, help="file with the node's power draw in microwatts")
    parser.add_argument("--count", type=int, default=None, help="stop after this many samples")
    args = parser.parse_args(argv)
    work_dir = os.path.abspath(os.path.expanduser(args.work_dir))
    os.umask(0o077)
    os.makedirs(work_dir, exist_ok=True)
    try:
        run(Agent(work_dir, Sensors(args.thermal, args.throttled, args.power)), args.interval, args.count)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
