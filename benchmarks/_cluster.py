"""A throw-away local cluster for benchmarks: its own RAIDEN_HOME, up on entry, down on exit."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@contextlib.contextmanager
def local_cluster() -> Iterator:
    home = tempfile.mkdtemp(prefix="raiden-bench-")
    os.environ["RAIDEN_HOME"] = home
    up = subprocess.run([sys.executable, "-m", "raiden_lab", "up"], capture_output=True, text=True)
    if up.returncode != 0:
        raise SystemExit(f"raiden up failed: {up.stderr}")
    import raiden_lab

    cluster = raiden_lab.connect()
    try:
        yield cluster
    finally:
        cluster.close()
        subprocess.run([sys.executable, "-m", "raiden_lab", "down"], capture_output=True)


@contextlib.contextmanager
def inventory_up(inventory: Path, env: dict) -> Iterator[None]:
    """``raiden up -i INVENTORY`` on entry (a failure ends the run with its output), ``raiden down`` on exit."""
    up = subprocess.run([sys.executable, "-m", "raiden_lab", "up", "-i", str(inventory)], env=env,
                        capture_output=True, text=True)  # fmt: skip
    if up.returncode != 0:
        raise SystemExit(f"raiden up failed: {up.stdout}{up.stderr}")
    try:
        yield
    finally:
        subprocess.run([sys.executable, "-m", "raiden_lab", "down", "-i", str(inventory)], env=env,
                       capture_output=True)  # fmt: skip


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def save(name: str, figures: dict) -> Path:
    """Write the figures as JSON so later runs can be compared."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(
        json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "cores": os.cpu_count(), **figures}, indent=2)
    )
    return path


def table(title: str, rows: list[tuple[str, float, str]]) -> None:
    print(title)
    width = max(len(r[0]) for r in rows)
    for name, seconds, note in rows:
        print(f"  {name:<{width}}  {seconds:9.3f} s  {note}")
