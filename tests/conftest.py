"""Shared fixtures: a private RAIDEN_HOME per test, the CLI as a user runs it, the virtual Pi cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import vcluster

STRICT = os.environ.get("RAIDEN_STRICT") == "1"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Raiden:
    """Runs ``raiden`` in a subprocess, as a user would, with its own RAIDEN_HOME and folder."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.env = dict(os.environ, RAIDEN_HOME=str(home))

    def __call__(self, *args: str, timeout: float = 180) -> Ran:
        p = subprocess.run(
            [sys.executable, "-m", "raiden_lab", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Ran(p.returncode, p.stdout, p.stderr)

    def python(self, code: str, timeout: float = 120) -> Ran:
        """Run a script the way a notebook user's kernel would (same RAIDEN_HOME, same folder)."""
        p = subprocess.run(
            [sys.executable, "-c", code], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        return Ran(p.returncode, p.stdout, p.stderr)


def dashboard_html(raiden: Raiden, inventory: Path) -> str:
    """What the dashboard widget shows (header and node cards) after its first refresh, in a fresh process."""
    ran = raiden.python(
        "import time, raiden_lab\n"
        f"board = raiden_lab.dashboard(inventory={str(inventory)!r})\n"
        "while board.refreshes < 1: time.sleep(0.1)\n"
        "print(board.header.value)\n"
        "for card in board.cards.children: print(card.value)\n"
        "board.close()\n"
    )
    assert ran.code == 0, ran.err
    return ran.out


def _make_raiden(tmp: Path) -> Raiden:
    home = tmp / "raiden-home"
    cwd = tmp / "work"
    cwd.mkdir(parents=True, exist_ok=True)
    return Raiden(home, cwd)


@pytest.fixture
def raiden(tmp_path: Path) -> Raiden:
    return _make_raiden(tmp_path)


def need(why: str | None) -> None:
    """Skip for ``why`` (or, under RAIDEN_STRICT=1 as in CI, fail); nothing when it is None."""
    if why is None:
        return
    if STRICT:
        pytest.fail(f"RAIDEN_STRICT=1 but {why}")
    pytest.skip(reason=why)


def need_root_cluster() -> None:
    """Skip (or fail under RAIDEN_STRICT=1) when the virtual cluster cannot be built."""
    need(vcluster.missing_requirements())


def wait_for(predicate, timeout: float, every: float = 0.5):
    """The first truthy answer of ``predicate`` within ``timeout`` seconds, else its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    return predicate()


@pytest.fixture(scope="module")
def vpi(tmp_path_factory: pytest.TempPathFactory):
    """Three namespaced nodes with their own sshd, plus a fourth whose Python lacks ipyparallel."""
    need_root_cluster()
    base = tmp_path_factory.mktemp("vpi")
    bare = base / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    cluster = vcluster.build(
        base, ["pi1", "pi2", "pi3", "pi4"], subnet="10.77.0", bare_python={"pi4": str(bare / "bin" / "python")}
    )
    try:
        yield cluster
    finally:
        vcluster.teardown(cluster)
