"""The notebook experience: the dashboard's widget state, the magics in a real kernel, the plots' data."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import _make_raiden
from raiden_lab import plots
from raiden_lab.config.inventory import embedded_default
from raiden_lab.daemon.store import Store
from raiden_lab.notebook.scaling import ScalingTable, amdahl, fit_serial_fraction

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture(scope="module")
def nb(tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("nb"))
    sensor = raiden.cwd / "temp"
    sensor.write_text("52000\n")
    raiden.env["RAIDEN_THERMAL_PATH"] = str(sensor)
    assert raiden("up").code == 0
    try:
        yield raiden, sensor
    finally:
        raiden("down")


def _wait(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_dashboard_follows_samples_busy_engines_and_a_stopping_cluster(nb, monkeypatch) -> None:
    raiden, sensor = nb
    monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
    from raiden_lab.notebook.dashboard import Dashboard

    board = Dashboard(embedded_default(), interval=0.2)
    try:
        engines = os.cpu_count()
        assert f"<span class='raiden-engines'>{engines}/{engines}</span>" in board.header.value
        assert ">running<" in board.header.value
        (card,) = board.cards.children
        assert card.value.count("raiden-engine-idle") == engines
        _wait(lambda: "raiden-temp-fine" in board.cards.children[0].value)
        assert "52.0 °C" in board.cards.children[0].value
        sensor.write_text("81500\n")
        _wait(lambda: "raiden-temp-hot" in board.cards.children[0].value)
        assert "81.5 °C" in board.cards.children[0].value
        _wait(lambda: "temperature-high" in board.events.value)

        # A long map keeps the engines busy (and its kernel blocked): the dashboard keeps moving.
        import subprocess
        import sys

        script = (
            "import raiden_lab, time\nc = raiden_lab.connect()\n"
            "c.map(lambda x: __import__('time').sleep(0.05) or x, range(120), chunksize=1, progress=False)\n"
        )
        mapper = subprocess.Popen([sys.executable, "-c", script], cwd=raiden.cwd, env=raiden.env)
        _wait(lambda: "raiden-engine-busy" in board.cards.children[0].value)
        before = board.refreshes
        _wait(lambda: board.refreshes >= before + 3)
        assert mapper.wait(timeout=60) == 0
        _wait(lambda: "raiden-engine-busy" not in board.cards.children[0].value)
        _wait(lambda: "tasks: 0 queued, 0 running" in board.header.value)

        assert raiden("down").code == 0
        _wait(lambda: ">stopped<" in board.header.value)
        assert "raiden-engine-" not in board.cards.children[0].value
        assert raiden("up").code == 0
        _wait(lambda: ">running<" in board.header.value, timeout=30)
    finally:
        board.close()
    assert not board.running
    count = board.refreshes
    time.sleep(0.6)
    assert board.refreshes == count


def _run_notebook(raiden, cells: list[str], monkeypatch) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(raiden.cwd)}}
    ).execute()
    return notebook


def _text(cell) -> str:
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.data.get("text/plain", ""))
    return "".join(out)


def test_magics_in_a_real_kernel(nb, monkeypatch) -> None:
    raiden, _ = nb
    engines = os.cpu_count()
    notebook = _run_notebook(
        raiden,
        [
            "%load_ext raiden_lab",
            "%raiden up",
            "%%px\nimport os\nwho = os.getpid()",
            "len(set(cluster.direct['who']))",
            "%%raiden_jit\ndef cube(x):\n    return x * x * x",
            "cluster.map(cube, range(6))",
            "%%px\nthree = cube(3)",
            "table = %raiden scaling cube range(3000) --engines 1,2,64",
            "[row['engines'] for row in table], 0.0 <= table.serial_fraction <= 1.0, cluster.direct.pull('three')",
            "board = %raiden dashboard\nboard.refreshes >= 1, board.model['state']",
            "board.close()\n%raiden status",
            "%raiden frobnicate",
        ],
        monkeypatch,
    )
    cells = notebook.cells
    assert "is already running" in _text(cells[1])  # the module's cluster: up changed nothing
    assert _text(cells[3]) == str(engines)
    assert "jit functions here and on" in _text(cells[4])
    assert _text(cells[5]) == "[0, 1, 8, 27, 64, 125]"
    assert _text(cells[6]) == ""  # and on every engine (pulled below: %%px stdout may come after the reply)
    assert "Amdahl fit: serial fraction" in _text(cells[7])
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in cells[7].outputs)
    assert _text(cells[8]) == f"({[1, 2][:engines]}, True, {[27] * engines})"  # cube ran on every engine
    # an engine count the cluster has too few engines for is said, not dropped silently
    assert f"not measured: 64 engines (this cluster has {engines})" in _text(cells[7])
    assert _text(cells[9]) == "(True, 'running')"
    assert "cluster 'local': running" in _text(cells[10])
    assert "raiden: unknown command 'frobnicate'" in _text(cells[11])


def test_a_kernel_started_by_raiden_lab_dash_i_uses_its_cluster(nb, monkeypatch) -> None:
    """The teacher ran `raiden lab -i teacher.toml`: a lesson copied into raiden-workshop/ (no raiden.toml there)
    runs `%raiden up`, which says which cluster it uses and attaches to the running one, and connect() gives
    that cluster too, although another (the local one) runs as well."""
    raiden, _ = nb
    inventory = raiden.cwd / "teacher.toml"
    inventory.write_text('[cluster]\nname = "teacher"\nengines_per_node = 1\n\n[[nodes]]\nhost = "localhost"\n')
    assert raiden("up", "-i", str(inventory)).code == 0
    try:
        lessons = raiden.cwd / "raiden-workshop"
        lessons.mkdir(exist_ok=True)
        monkeypatch.setenv("RAIDEN_INVENTORY", str(inventory))  # what `raiden lab -i` gives JupyterLab's kernels
        monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
        notebook = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(c)
                for c in (
                    "%load_ext raiden_lab",
                    "%raiden up",
                    "cluster.name",
                    "import raiden_lab\nraiden_lab.connect().name",
                )
            ]
        )
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(lessons)}}
        ).execute()
        said = _text(notebook.cells[1])
        assert said.startswith(f"cluster 'teacher' ({inventory})") and "is already running" in said, said
        assert _text(notebook.cells[2]) == "'teacher'" and _text(notebook.cells[3]) == "'teacher'"
    finally:
        assert raiden("down", "-i", str(inventory)).code == 0


def test_timeline_draws_a_bar_per_task_on_its_engine_row() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    records = [
        {"engine_id": 0, "started": t0, "completed": t0 + timedelta(seconds=1.0)},
        {"engine_id": 0, "started": t0 + timedelta(seconds=1.5), "completed": t0 + timedelta(seconds=2.0)},
        {"engine_id": 3, "started": t0 + timedelta(seconds=0.2), "completed": t0 + timedelta(seconds=0.6)},
    ]

    class Map:
        pass

    m = Map()
    m.records = records
    fig = plots.timeline(m)
    ax = fig.axes[0]
    bars = [
        (
            c.get_paths()[0].get_extents().x0,
            c.get_paths()[0].get_extents().width,
            c.get_paths()[0].get_extents().y0 + 0.4,
        )
        for c in ax.collections
    ]
    expected = sorted([(0.0, 1.0, 0.0), (1.5, 0.5, 0.0), (0.2, 0.4, 1.0)])
    assert [v for bar in sorted(bars) for v in bar] == pytest.approx([v for bar in expected for v in bar])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["engine 0", "engine 3"]
    assert "3 tasks on 2 engines" in ax.get_title()  # the idle gap on engine 0 lowers "busy"
    _save(fig, "timeline")


def test_scaling_plot_shows_measured_ideal_and_amdahl() -> None:
    serial = 0.1
    table = ScalingTable(
        {
            "engines": n,
            "seconds": 1 / amdahl(n, serial),
            "speedup": amdahl(n, serial),
            "efficiency": amdahl(n, serial) / n,
        }
        for n in (1, 2, 4, 8)
    )
    table.serial_fraction = fit_serial_fraction([1, 2, 4, 8], [r["speedup"] for r in table])
    assert table.serial_fraction == pytest.approx(serial, abs=1e-9)
    fig = plots.scaling(table)
    speed_ax, eff_ax = fig.axes[:2]
    measured, ideal, fitted = speed_ax.lines[:3]
    assert list(measured.get_xdata()) == [1, 2, 4, 8]
    assert list(measured.get_ydata()) == pytest.approx([amdahl(n, serial) for n in (1, 2, 4, 8)])
    assert list(ideal.get_ydata()) == [1, 8]
    assert fitted.get_ydata()[-1] == pytest.approx(amdahl(8, serial))
    assert list(eff_ax.lines[0].get_ydata()) == pytest.approx([100 * amdahl(n, serial) / n for n in (1, 2, 4, 8)])
    _save(fig, "scaling")
    # node boundaries: engines 1-2 on one node, 3-4 on the next (shaded), 5-8 on a third
    fig = plots.scaling(table, nodes=[2, 2, 4])
    spans = [p.get_extents() for p in fig.axes[0].patches]
    assert len(fig.axes[0].patches) == 1 and len(fig.axes[1].patches) == 1, spans


def test_scaling_measures_every_count_up_to_eight_then_spreads_out() -> None:
    from raiden_lab.notebook.scaling import engine_counts

    assert engine_counts(2) == [1, 2]
    assert engine_counts(12) == [1, 2, 3, 4, 5, 6, 7, 8, 12]  # a 12-engine cluster is measured at 12, not stopped at 8
    counts = engine_counts(48)
    assert counts[-1] == 48 and all(counts[i + 1] <= 1.5 * counts[i] + 1 for i in range(len(counts) - 1)), counts


def test_scaling_fills_one_node_before_the_next() -> None:
    from types import SimpleNamespace

    from raiden_lab.notebook.scaling import by_node, node_sizes

    nodes = [{"host": "a", "engines": [{"id": 3}, {"id": 1}]}, {"host": "b", "engines": [{"id": 0}, {"id": 2}]}]
    cluster = SimpleNamespace(ids=[0, 1, 2, 3, 4], nodes=nodes)  # engine 4 registered, its node not yet listed
    assert by_node(cluster) == [1, 3, 0, 2, 4]
    assert node_sizes(cluster, by_node(cluster)) == [2, 2, 1]
    assert node_sizes(cluster, sorted(cluster.ids)) == [1, 1, 1, 1, 1]  # in id order the nodes interleave


def test_node_history_plots_samples_and_marks_events(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RAIDEN_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "local"
    root.mkdir()
    store = Store(root / "state.sqlite")
    now = time.time()
    for i in range(60):
        store.add_sample("localhost", {"time": now - 60 + i, "temperature": 50 + i / 2, "cpu_total": float(i)})
    store.flush_samples()
    store.add_event("throttling-began", "throttled", "localhost")
    fig = plots.node_history(since=300)
    temp_ax, cpu_ax = fig.axes[:2]
    (temps,) = [line for line in temp_ax.lines if line.get_label() == "localhost"]
    assert list(temps.get_ydata()) == pytest.approx([50 + i / 2 for i in range(60)])
    assert list(cpu_ax.lines[0].get_ydata()) == [float(i) for i in range(60)]
    marks = [line for line in cpu_ax.lines if line.get_label().startswith("_")]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == pytest.approx(60, abs=1.5)
    assert any(t.get_text() == "throttling-began" for t in temp_ax.texts)
    _save(fig, "node_history")


def _save(fig, name: str) -> None:
    """One PNG per plot kind, for people to look at."""
    OUTPUT.mkdir(exist_ok=True)
    fig.savefig(OUTPUT / f"{name}.png", dpi=80)


def test_the_dashboard_turns_to_a_grid_past_eight_nodes_needy_nodes_first() -> None:
    from raiden_lab.notebook.dashboard import _compact

    def node(i: int, state: str = "up", band: str = "fine", throttling=None) -> dict:
        engines = [{"id": i, "state": "idle", "pid": 1}]
        return {"host": f"pi{i}.local", "state": state, "arch": "aarch64", "engines": engines, "problem": None,
                "sample": {"temperature": 50.0, "cpu_total": 5.0}, "temperature_band": band, "throttling": throttling}  # fmt: skip

    nodes = [node(i) for i in range(1, 13)]
    nodes[2] = node(3, band="hot")
    nodes[5] = node(6, state="off")
    nodes[8] = node(9, state="down")
    nodes[10] = node(11, throttling=["under-voltage"])
    grid, *cards = _compact(nodes)
    order = [int(part.split(".local")[0]) for part in grid.split("title='pi")[1:]]
    assert order == [9, 11, 3, 1, 2, 4, 5, 7, 8, 10, 12, 6]  # down, throttled, hot, the rest, off last
    assert "<b>12 nodes</b>: 10 up, 1 down, 1 off" in grid and ">pi9<br>" in grid
    assert [c.split("<b>")[1].split("</b>")[0] for c in cards] == ["pi9.local", "pi11.local", "pi3.local"]
