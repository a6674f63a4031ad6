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

import census
import vcluster

STRICT = os.environ.get("RAIDEN_STRICT") == "1"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the main process (with pytest-xdist: not a worker) counts for all
        config.stash[_CENSUS] = census.Census()
        config.stash[_CENSUS].start()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if _CENSUS not in config.stash:
        return
    table = config.stash[_CENSUS].stop()
    path = census.write(table, OUTPUT)
    terminalreporter.write_line(
        "started by this run: " + ", ".join(f"{n} {kind}" for kind, n in table.items()) + f" ({path})"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (measured: CONTRIBUTING.md), so that the workers finish together.

    Under pytest-xdist ``make test`` runs ``--dist loadfile --no-loadscope-reorder``: a module runs whole on
    one worker, its module-scoped clusters started once, and the modules go out in this order.
    """
    items.sort(
        key=lambda item: _LONGEST_FIRST.index(item.module.__name__) if item.module.__name__ in _LONGEST_FIRST else 99
    )


_LONGEST_FIRST = [
    "test_pi",
    "test_journey_pis",
    "test_workshop_vpi",
    "test_workshop",
    "test_browser",
    "test_chaos",
    "test_membership",
    "test_faults",
    "test_hub",
    "test_mpi",
    "test_vcluster",
]


_CENSUS = pytest.StashKey[census.Census]()


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
    """What the dashboard widget shows (header, node cards, task stream) after its first refresh, in a fresh process."""
    ran = raiden.python(
        "import time, raiden_lab\n"
        f"board = raiden_lab.dashboard(inventory={str(inventory)!r})\n"
        "while board.refreshes < 1: time.sleep(0.1)\n"
        "print(board.header.value)\n"
        "for card in board.cards.children: print(card.value)\n"
        "print(board.stream.value)\n"
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


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The embedded default cluster, up once for a module's tests (each module its own RAIDEN_HOME)."""
    raiden = _make_raiden(tmp_path_factory.mktemp("local"))
    ran = raiden("up")
    assert ran.code == 0, ran
    try:
        yield raiden
    finally:
        raiden("down")


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


@pytest.fixture(scope="session")
def vpi(tmp_path_factory: pytest.TempPathFactory):
    """Three namespaced nodes with their own sshd, plus a fourth whose Python lacks ipyparallel.

    Built once per test process (each pytest-xdist worker has its own, on its own subnet) and shared
    by every module that asks for it; ``_shared_vpi_left_as_found`` hands each module a clean one and
    fails the module that leaves it changed. A module that needs a cluster of its own builds one
    with ``vcluster.build`` (test_pi, the 48-node farm in test_browser).
    """
    need_root_cluster()
    base = tmp_path_factory.mktemp("vpi")
    bare = base / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    cluster = vcluster.build(
        base,
        ["pi1", "pi2", "pi3", "pi4"],
        subnet=vcluster.subnet(77),
        bare_python={"pi4": str(bare / "bin" / "python")},
    )
    try:
        yield cluster
    finally:
        vcluster.teardown(cluster)


@pytest.fixture(scope="module", autouse=True)
def _shared_vpi_left_as_found(request: pytest.FixtureRequest):
    """The guard of the shared virtual cluster: clean for each module, and as clean again after it.

    A module's last test fails (in its teardown) when the module left a node's link down, its sshd
    silent or a process running there; the cluster is then put right for the modules after it.
    """
    if not any(item.module is request.module and "vpi" in item.fixturenames for item in request.session.items):
        yield
        return
    cluster = request.getfixturevalue("vpi")
    vcluster.reset(cluster)
    yield
    if not wait_for(lambda: not vcluster.changes(cluster), timeout=30):
        left = vcluster.changes(cluster)
        vcluster.reset(cluster)
        pytest.fail(f"{request.module.__name__} left the shared virtual cluster changed: " + "; ".join(left))
