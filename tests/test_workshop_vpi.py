"""The lessons that need several nodes, on the virtual Pi cluster (a module of its own: a worker of its own)."""

from __future__ import annotations

import re

import pytest

from conftest import _make_raiden
from lessons import assert_lesson_taught, cell_text, record_time, run_lesson

pytestmark = pytest.mark.vcluster


@pytest.mark.parametrize(
    "name",
    # the teacher's own cluster: attached by the lessons' %raiden up, and two engines a node; every lesson
    # also runs in a student's seat on these nodes (test_workshop_seats: 03's balancing, 04's restart, 06, 07's kill)
    ["00-tour.ipynb", "05-scaling.ipynb"],
)
def test_lesson_runs_on_the_virtual_pi_cluster(vpi, pis, name: str, monkeypatch) -> None:
    monkeypatch.setenv("RAIDEN_HOME", str(pis.home))
    nb, seconds = run_lesson(pis, name, pis.cwd)
    assert_lesson_taught(name, nb)
    record_time(name, seconds, "virtual Pi cluster, 3 nodes x 2 engines")
    text = "".join(cell_text(c) for c in nb.cells)
    addresses = [vpi.node(n).address for n in ("pi1", "pi2", "pi3")]
    if name == "00-tour.ipynb":
        assert "cluster 'pis' is already running" in text
        assert "✔ 00.per_node: right: 3 node(s), 6 engines in all." in text
        for address in addresses:
            assert f"{address}  pid" in text  # each engine reported its own node
    if name == "05-scaling.ipynb":  # every engine count, filling one node before the next
        assert "engine counts to measure: [1, 2, 3, 4, 5, 6]" in text, text
        assert "engines per node, in the order they join: [2, 2, 2]" in text, text
        assert re.search(r"◆ speedup on 6 engines: measured [\d.]+; no prediction was written", text), text


@pytest.fixture(scope="module")
def pis(vpi, tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("pis"))
    vpi.inventory(
        "pis", [vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3")], engines=2, filename=str(raiden.cwd / "raiden.toml")
    )
    assert raiden("up").code == 0
    try:
        yield raiden
    finally:
        raiden("down")


def test_heat_lesson_on_an_mpi_cluster(vpi, tmp_path_factory, monkeypatch) -> None:
    """On a cluster started with launcher = "mpi", the lesson's MPI variant uses its ranks across the nodes."""
    raiden = _make_raiden(tmp_path_factory.mktemp("pis-mpi"))
    vpi.inventory(
        "pis-mpi",
        [vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3")],
        engines=2,
        extra='launcher = "mpi"',
        filename=str(raiden.cwd / "raiden.toml"),
    )
    assert raiden("up").code == 0
    try:
        monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
        nb, seconds = run_lesson(raiden, "06-heat-equation.ipynb", raiden.cwd)
        assert_lesson_taught("06-heat-equation.ipynb", nb)
        record_time("06-heat-equation.ipynb", seconds, "virtual Pi cluster under MPI, 3 nodes x 2 engines")
        text = "".join(cell_text(c) for c in nb.cells)
        assert "this cluster's engines are MPI ranks already" in text
        assert "6 MPI ranks: " in text
        assert re.search(r"rank to rank \(MPI\): latency [\d.]+ ms \+ bytes / [\d,]+ MB/s", text), text  # pi1 to pi3
        assert "8 MiB from rank 0 to 5 ranks: one by one" in text and "a tree 3 rounds: the model says 1.7x" in text
        assert text.count("bit for bit the serial answer: True") == 2
        assert not (raiden.cwd / "heat-mpi.toml").exists()
    finally:
        raiden("down")
