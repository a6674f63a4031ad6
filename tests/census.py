"""What one run of the suite starts: clusters, seats, engines, virtual nodes, hubs, browsers, servers.

A thread in the main pytest process looks at the machine's processes (and ``/run/netns``)
a few times a second and counts each new one once, by pid and start time, so the count
covers everything the tests start however they start it (the CLI, a kernel, the sidebar,
a class's seats, an xdist worker). Printed at the end of the run and written to
``test-output/census.json``; CONTRIBUTING.md keeps the table.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path

import psutil

NETNS = Path("/run/netns")


def kind_of(cmdline: list[str], cwd: str) -> str | None:
    """Which kind of thing the process is, or None for one that is not counted."""
    line = " ".join(cmdline)
    if "raiden_lab.daemon.supervisor" in line:
        return "seats" if "/seats/" in cwd else "clusters"
    if "raiden_lab.classroom" in line:
        return "classes"
    if "ipyparallel.engine" in line and "nanny" not in line:
        return "engines"
    if "jupyterhub" in line and "jupyterhub-singleuser" not in line and "configurable-http-proxy" not in line:
        return "hubs"
    if "-m jupyterlab" in line or "-m notebook " in line or "jupyterhub-singleuser" in line:
        return "jupyter servers"
    if "ipykernel_launcher" in line:
        return "kernels"
    if cmdline and cmdline[0].endswith("chromium") and not any(a.startswith("--type=") for a in cmdline):
        return "browsers"
    if cmdline and cmdline[0].endswith("slurmctld"):
        return "slurm clusters"
    if "qemu-aarch64" in line and "sshd" in line:
        return "emulated Pis"
    return None


class Census:
    def __init__(self, every: float = 0.25) -> None:
        self.every = every
        self.seen: set[tuple[int, float]] = set()
        self.namespaces: set[str] = set()  # present at the last look: a name seen again later is a new node
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="census", daemon=True)
        self._mine = os.getpid()

    def start(self) -> None:
        self._look()  # what was already running is not the run's
        self.counts.clear()
        self._thread.start()

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join(5)
        return self.table()

    def table(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._look()

    def _look(self) -> None:
        for proc in psutil.process_iter(["pid", "create_time", "cmdline"]):
            # a process is looked at again until it is counted: a fork shows its parent's command until it execs
            key = (proc.info["pid"], proc.info["create_time"])
            if key in self.seen or proc.info["pid"] == self._mine:
                continue
            try:
                cwd = proc.cwd() if "supervisor" in " ".join(proc.info["cmdline"] or ()) else ""
            except psutil.Error:
                cwd = ""
            if kind := kind_of(proc.info["cmdline"] or [], cwd):
                self.seen.add(key)
                self.counts[kind] += 1
        try:
            now = {p.name for p in NETNS.iterdir()}
        except OSError:
            now = set()
        self.counts["virtual nodes"] += len(now - self.namespaces)
        self.namespaces = now


def write(table: dict[str, int], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "census.json"
    path.write_text(json.dumps(table, indent=1) + "\n")
    return path


if __name__ == "__main__":  # watch a run from outside it: python tests/census.py OUT.json, stopped by SIGTERM or ^C
    import signal
    import sys

    census = Census()
    census.start()
    signal.signal(signal.SIGTERM, lambda *_: census._stop.set())
    try:
        while not census._stop.wait(1):
            Path(sys.argv[1]).write_text(json.dumps(census.table(), indent=1) + "\n")
    except KeyboardInterrupt:
        pass
    Path(sys.argv[1]).write_text(json.dumps(census.stop(), indent=1) + "\n")
