"""The engine set of one node: starts its ipyparallel engines and ties their life to ours.

ipyparallel's SSH launcher copies connection files to the node and leaves the
engines detached (``nohup``), so a lost head leaves orphans behind. This runner
fills that gap: the connection info (with its key) arrives on stdin, never in a
file or on a command line; events go out as JSON lines on stdout; when stdin
closes (the head stopped us, or the SSH connection died) every engine is
stopped. Standard library only: it runs as ``python -c BOOTSTRAP`` on the node.

Protocol. In, one JSON object per line: first the configuration
``{"engines": [ids], "work_dir", "env", "engine_args", "marker"}`` (a class's
seat adds ``"limits": {"memory", "processes"}``), then commands
``{"cmd": "start" | "stop" | "signal", "id", "sig"}`` or ``{"cmd": "exit"}``.
Out: ``{"event": "ready" | "started" | "exited" | "stopped", ...}``; an
engine killed here for its seat's memory exits with ``"why"``.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time

GRACE_S = 5.0
GUARD_EVERY_S = 0.5  # how often a seat's guard reads what its account holds


def _emit(**event) -> None:
    event.setdefault("time", time.time())
    try:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    except OSError:
        pass  # the head is gone; stopping the engines still matters


def _exit(*_: object) -> None:
    raise SystemExit(0)


def _die_with_parent() -> None:
    """Kill the engine if this runner dies without cleaning up (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class EngineSet:
    def __init__(self, config: dict) -> None:
        self.work_dir = os.path.abspath(os.path.expanduser(config["work_dir"]))
        self.engine_args = list(config.get("engine_args", []))
        self.env = dict(os.environ)
        self.env.update(config.get("env", {}))
        self.env["RAIDEN_ENGINE_SET"] = config["marker"]
        self.env["IPYTHONDIR"] = os.path.join(self.work_dir, "ipython")
        self.env["RAIDEN_WORK_DIR"] = self.work_dir
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.procs: dict[int, subprocess.Popen] = {}
        self.why: dict[int, str] = {}  # why an engine was killed here, told with its exit
        self.limits = {k: int(v) for k, v in (config.get("limits") or {}).items()}
        if "engine_memory" in self.limits:  # what a task may read, to size its work (lesson 07)
            self.env["RAIDEN_ENGINE_MEMORY"] = str(self.limits["engine_memory"])
        # private from creation: logs, caches and profiles are this node account's only (a seat's, in a class)
        os.umask(0o077)
        for sub in ("logs", "profile", "ipython"):
            os.makedirs(os.path.join(self.work_dir, sub), mode=0o700, exist_ok=True)

    def start(self, engine_id: int) -> None:
        if engine_id in self.procs and self.procs[engine_id].poll() is None:
            return
        log = open(os.path.join(self.work_dir, "logs", f"engine-{engine_id}.log"), "ab")  # noqa: SIM115 (the engine's for life)
        argv = [
            sys.executable,
            "-P",  # the work folder (the engine's cwd) is not put in front of sys.path
            "-m",
            "ipyparallel.engine",
            f"--IPEngine.id={engine_id}",
            f"--profile-dir={os.path.join(self.work_dir, 'profile')}",
            *self.engine_args,
        ]
        env = dict(self.env, RAIDEN_ENGINE_ID=str(engine_id))
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.work_dir,
                preexec_fn=self._preexec,
            )
        except OSError as e:
            _emit(event="exited", id=engine_id, pid=None, code=None, error=str(e))
            return
        finally:
            log.close()
        self.procs[engine_id] = proc
        _emit(event="started", id=engine_id, pid=proc.pid)

    def _preexec(self) -> None:
        _die_with_parent()
        if "processes" in self.limits:  # a seat's account runs at most this many (threads count too)
            resource.setrlimit(resource.RLIMIT_NPROC, (self.limits["processes"], self.limits["processes"]))

    def signal(self, engine_id: int, sig: int) -> None:
        proc = self.procs.get(engine_id)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)

    def stop(self, ids: list[int]) -> None:
        live = [self.procs[i] for i in ids if i in self.procs and self.procs[i].poll() is None]
        for proc in live:
            proc.terminate()
        deadline = time.monotonic() + GRACE_S
        for proc in live:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.reap()

    def reap(self) -> None:
        for engine_id, proc in list(self.procs.items()):
            code = proc.poll()
            if code is not None:
                del self.procs[engine_id]
                why = self.why.pop(engine_id, None)
                _emit(event="exited", id=engine_id, pid=proc.pid, code=code, **({"why": why} if why else {}))

    def kill(self, engine_id: int, why: str) -> None:
        proc = self.procs.get(engine_id)
        if proc is not None and proc.poll() is None:
            self.why[engine_id] = why
            proc.kill()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


class MemoryGuard(threading.Thread):
    """What engines hold on this node, kept within ``memory_per_engine`` and, for a class's seat,
    ``[class] memory_per_seat``.

    An engine counts with what it started. For a seat, every process of the seat's account counts too
    (and the files it left in /dev/shm): past the seat's limit, the engine that holds the most is
    killed. Either way the head, which restarts the engine, tells why. One task's big array then costs
    an engine, not the node (nor, in a class, the room its Pi).
    """

    def __init__(self, engines: EngineSet, seat_limit: int | None, engine_limit: int | None) -> None:
        super().__init__(daemon=True)
        self.engines, self.uid = engines, os.getuid()
        self.seat_limit, self.engine_limit = seat_limit, engine_limit

    def run(self) -> None:
        while True:
            # twice a second: a node runs a guard per seat (20 on a Pi), each reading /proc at every tick
            time.sleep(GUARD_EVERY_S)
            try:
                self.check()
            except Exception:  # a reading gone wrong (a process gone mid-read) is taken again next tick
                continue

    def check(self) -> None:
        resident, parents = {}, {}
        here = os.readlink("/proc/self/ns/net")  # this node's: nodes that share one kernel differ by namespace
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) != self.uid or os.readlink(f"/proc/{name}/ns/net") != here:
                    continue
                resident[int(name)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
                parents[int(name)] = int(fields["PPid"])
            except (OSError, KeyError, ValueError):
                continue
        holds = {}  # each engine's resident memory with that of what it started
        for engine_id, proc in list(self.engines.procs.items()):
            holds[engine_id] = sum(rss for pid, rss in resident.items() if _descends(pid, proc.pid, parents))
        if self.engine_limit is not None:
            over = {e: n for e, n in holds.items() if n > self.engine_limit}
            for engine_id, held in over.items():
                self.engines.kill(engine_id, f"used {_mib(held)} of its {_mib(self.engine_limit)} (memory_per_engine)")
            if over:
                time.sleep(1.0)  # its memory goes back before the next reading
                return
        if self.seat_limit is None:
            return
        shared = 0
        for entry in os.scandir("/dev/shm") if os.path.isdir("/dev/shm") else ():
            try:
                st = entry.stat(follow_symlinks=False)
                shared += st.st_blocks * 512 if st.st_uid == self.uid else 0
            except OSError:
                continue
        used = sum(resident.values()) + shared
        if used > self.seat_limit and holds:
            largest = max(holds, key=holds.__getitem__)
            self.engines.kill(largest, f"used {_mib(used)} of this seat's {_mib(self.seat_limit)}")
            time.sleep(1.0)


def _descends(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        pid = parents.get(pid, 0)
        if pid <= 1:
            return False
    return False


def _lines(fd: int):
    """Yield complete lines from ``fd`` as they arrive, None on each idle tick, and stop at EOF."""
    buf = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            yield None
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)


def _replace_previous(work_dir: str) -> None:
    """Stop a runner of this engine set that lost its head (a network cut) but still runs.

    Its SIGTERM handler stops its engines, so old and new engines never mix.
    """
    pidfile = os.path.join(work_dir, "runner.pid")
    try:
        with open(pidfile) as f:
            old = int(f.read().strip())
        with open(f"/proc/{old}/cmdline", "rb") as f:
            is_runner = b"raiden: no program received" in f.read()
    except (OSError, ValueError):
        is_runner = False
    if is_runner and old != os.getpid():
        try:
            os.kill(old, signal.SIGTERM)
            deadline = time.monotonic() + GRACE_S + 2
            while os.path.exists(f"/proc/{old}") and time.monotonic() < deadline:
                time.sleep(0.05)
        except OSError:
            pass
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")


def main() -> None:
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    stream = _lines(sys.stdin.fileno())
    config = next(stream)
    while config is None:
        config = next(stream)
    engines = EngineSet(config)
    _replace_previous(engines.work_dir)
    if "memory" in engines.limits or "engine_memory" in engines.limits:
        MemoryGuard(engines, engines.limits.get("memory"), engines.limits.get("engine_memory")).start()
    _emit(event="ready", pid=os.getpid(), work_dir=engines.work_dir, python=sys.executable)
    try:
        for engine_id in config["engines"]:
            engines.start(engine_id)
        for message in stream:
            engines.reap()
            if message is None:
                continue
            cmd = message.get("cmd")
            if cmd == "exit":
                break
            if cmd == "start":
                engines.start(int(message["id"]))
            elif cmd == "stop":
                engines.stop([int(message["id"])])
            elif cmd == "signal":
                engines.signal(int(message["id"]), int(message["sig"]))
    finally:
        engines.stop(list(engines.procs))
        _emit(event="stopped")


if __name__ == "__main__":
    main()
