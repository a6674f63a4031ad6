"""The JupyterLab extension in a real Chromium: the Raiden sidebar starts and stops the cluster;
the launcher's workshop tiles copy and open a lesson; the refresh interval setting is applied."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import power_switch
import pytest
import quietnet

from conftest import STRICT, dashboard_html, need, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        if STRICT:
            pytest.fail(f"RAIDEN_STRICT=1 but Chromium is missing at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(reason=f"the browser tests need Chromium at {CHROMIUM}")
    pytest.importorskip("playwright", reason="the browser tests need playwright (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def apart(tmp_path_factory):
    """Chromium's network namespace: the other modules' virtual networks come and go, and Chromium drops
    what it is loading when the machine's interfaces change (quietnet); each server's port is forwarded."""
    _need_chromium()
    with quietnet.chromium_apart(f"rdnchrome{os.getpid()}", tmp_path_factory.mktemp("chromium")) as made:
        yield made


@pytest.fixture(scope="module")
def chromium(apart):
    """One Chromium for the module; each test has a context of its own in it (``_lab_page``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=apart.executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def _serve(raiden, app: str, apart):
    """Run ``python -m APP`` (jupyterlab or notebook) for the test's user folder; yield its base URL."""
    _need_chromium()
    port = _free_port()
    apart.forward(port)
    env = dict(
        raiden.env,
        JUPYTER_CONFIG_DIR=str(raiden.cwd / "cfg"),
        JUPYTER_RUNTIME_DIR=str(raiden.cwd / "rt"),
        JUPYTERLAB_WORKSPACES_DIR=str(raiden.cwd / "ws"),
    )
    argv = [sys.executable, "-m", app, "--no-browser", f"--port={port}", "--ServerApp.token=t0k"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    server = subprocess.Popen(
        argv, cwd=raiden.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield raiden, f"http://127.0.0.1:{port}"
    finally:
        raiden("down")
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture
def lab(raiden, apart):
    for user, base in _serve(raiden, "jupyterlab", apart):
        yield user, f"{base}/lab?token=t0k"


@pytest.fixture
def notebook7(raiden, apart):
    for user, base in _serve(raiden, "notebook", apart):
        yield user, f"{base}/tree?token=t0k"


def test_the_commands_run_the_cluster_in_notebook_7(notebook7, chromium) -> None:
    """The extension's plugins need no JupyterLab shell: Notebook 7's palette starts and stops the cluster."""

    raiden, url = notebook7
    with _lab_page(chromium, url) as page:
        page.wait_for_selector(".jp-DirListing", timeout=90000)
        for verb, state in (("Start", "running"), ("Stop", "stopped")):
            page.keyboard.press("Control+Shift+c")
            page.keyboard.type(f"Raiden: {verb} the Cluster")
            page.locator(".lm-CommandPalette-item", has_text=f"Raiden: {verb} the Cluster").wait_for(timeout=30000)
            page.keyboard.press("Enter")
            assert wait_for(lambda state=state: raiden("status", "--json").json()["state"] == state, 180), verb


def test_sidebar_starts_and_the_palette_stops_the_cluster(lab, chromium) -> None:
    raiden, url = lab
    engines = os.cpu_count()
    with _lab_page(chromium, url) as page:
        page.locator(".lm-TabBar-tab[data-id='raiden-lab-panel']").click(timeout=90000)
        page.wait_for_selector(".raiden-State-stopped", timeout=30000)
        assert page.locator(".raiden-Node").count() == 1
        assert "localhost" in page.locator(".raiden-NodeTitle").inner_text()

        # one cluster panel: ipyparallel's own (which lists no Raiden cluster) is not there beside it
        assert page.locator(".lm-TabBar-tab[title='IPython Parallel']").count() == 0
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        assert "ipyparallel-labextension:plugin" in config["disabledExtensions"]
        page.locator(".raiden-Start").click()
        page.wait_for_selector(".raiden-State-running", timeout=180000)
        page.wait_for_function(f"document.querySelectorAll('.raiden-Engine-idle').length === {engines}", timeout=30000)
        assert page.locator(".raiden-Count").inner_text() == f"{engines}/{engines} engines"
        assert page.locator(".raiden-StatusItem").inner_text().startswith(f"Raiden: {engines}/{engines} engines")
        assert raiden("status", "--json").json()["state"] == "running"
        page.wait_for_selector(".raiden-Event-cluster-running", timeout=30000)
        page.screenshot(path=str(_output("sidebar.png")))

        # stop it from the command palette this time
        page.keyboard.press("Control+Shift+c")
        page.keyboard.type("Raiden: Stop the Cluster")
        page.keyboard.press("Enter")
        page.wait_for_selector(".raiden-State-stopped", timeout=180000)
        assert raiden("status", "--json").json()["state"] == "stopped"
        page.wait_for_function(
            "document.querySelector('.raiden-StatusItem').innerText === 'Raiden: local stopped'", timeout=30000
        )

        # the launcher: a tile per lesson, in the "Raiden workshop" section; a click copies and opens one
        page.keyboard.press("Control+Shift+c")
        page.keyboard.type("New Launcher")
        page.keyboard.press("Enter")
        tiles = page.locator(".jp-Launcher:visible .jp-Launcher-section:has-text('Raiden workshop') .jp-LauncherCard")
        tiles.first.wait_for(timeout=30000)
        assert tiles.count() == 9
        assert tiles.nth(0).inner_text().strip() == "00 A tour of the cluster"
        page.screenshot(path=str(_output("launcher.png")))
        tiles.filter(has_text="02 Scatter, gather, reduce: Monte Carlo pi").click()
        page.locator(".lm-TabBar-tab", has_text="02-monte-carlo-pi.ipynb").wait_for(timeout=60000)
        page.locator(
            ".jp-Notebook .jp-MarkdownOutput h1", has_text="02 · Scatter, gather and reductions"
        ).first.wait_for(timeout=60000)
        lesson = raiden.cwd / "raiden-workshop" / "02-monte-carlo-pi.ipynb"
        assert lesson.is_file()
        page.screenshot(path=str(_output("lesson.png")))

        # Run All never answers an exercise: each `%raiden solution ID` cell loads its solution into
        # itself, to read, and runs none of it; the exercises stay unanswered. As a person would, wait
        # for the kernel to be ready first: cells run before it answers are lost (seen once: nothing ran)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120000)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.keyboard.press("Control+Shift+c")
        page.keyboard.type("Run All Cells")
        page.keyboard.press("Enter")
        try:
            page.locator(".jp-OutputArea-output", has_text="✘ 02.pi: no answer yet").wait_for(timeout=240000)
        except Exception as e:  # say where Run All stood: the last outputs the notebook shows
            page.screenshot(path=str(_output("lesson-run-all-stalled.png")))
            shown = page.locator(".jp-OutputArea-output").all_inner_texts()
            raise AssertionError(f"Run All did not reach 02.pi; its last outputs: {shown[-6:]}") from e
        page.keyboard.press("Control+s")
        saved = wait_for(lambda: "# A solution to 02.pi" in lesson.read_text() and json.loads(lesson.read_text()), 60)
        assert saved, "the lesson was not saved with its solutions loaded"
        loaders = [c for c in saved["cells"] if "solution" in c["metadata"].get("tags", [])]
        assert [c["source"][0] for c in loaders] == [
            f"# A solution to {ex}: read it, then run this cell to check it.\n" for ex in ("02.estimate", "02.pi")
        ]
        assert all(c["execution_count"] and not c["outputs"] for c in loaders)  # ran as a loader, nothing else
        exercises = [c for c in saved["cells"] if "exercise" in c["metadata"].get("tags", [])]
        assert all("✘" in json.dumps(c["outputs"], ensure_ascii=False) for c in exercises)
        page.screenshot(path=str(_output("lesson-solution-loaded.png")))

        # the refresh interval setting (2 s by default) reaches the panel
        assert page.locator("#raiden-lab-panel").get_attribute("data-interval") == "2000"
        api = url.replace("/lab?token=t0k", "/lab/api/settings/raiden-lab:plugin?token=t0k")
        put = page.request.put(
            api,
            data=json.dumps({"raw": json.dumps({"refreshInterval": 0.5})}),
            headers={"Content-Type": "application/json"},
        )
        assert put.ok, put.text()
        page.reload()
        page.wait_for_selector("#raiden-lab-panel[data-interval='500']", state="attached", timeout=90000)


@contextmanager
def _lab_page(browser, url: str):
    """A page of its own (a fresh browser context: no cookies, no storage) on JupyterLab, once the server answers."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = context.new_page()
        deadline = time.monotonic() + 120
        while True:
            try:
                page.goto(url, timeout=10000)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield page
    finally:
        context.close()


def _output(name: str):
    out = Path(__file__).resolve().parent.parent / "test-output"
    out.mkdir(exist_ok=True)
    return out / name


def test_sidebar_shows_the_mpi_job(lab, chromium) -> None:
    """Under launcher = "mpi" the sidebar starts the cluster as one MPI job and names it."""

    raiden, url = lab
    if shutil.which("mpiexec") is None:
        if STRICT:
            pytest.fail("RAIDEN_STRICT=1 but mpiexec is missing (apt-get install openmpi-bin)")
        pytest.skip(reason="needs Open MPI's mpiexec")
    (raiden.cwd / "raiden.toml").write_text(
        '[cluster]\nname = "desk-mpi"\nlauncher = "mpi"\nengines_per_node = 2\n\n[[nodes]]\nhost = "localhost"\n'
    )
    with _lab_page(chromium, url) as page:
        page.locator(".lm-TabBar-tab[data-id='raiden-lab-panel']").click(timeout=90000)
        page.wait_for_selector(".raiden-State-stopped", timeout=30000)
        assert page.locator(".raiden-Name").inner_text() == "desk-mpi"
        assert page.locator(".raiden-Job").count() == 0
        page.locator(".raiden-Start").click()
        page.wait_for_selector(".raiden-State-running", timeout=180000)
        page.wait_for_function("document.querySelectorAll('.raiden-Engine-idle').length === 2", timeout=30000)
        job = raiden("status", "--json").json()["jobs"][0]
        page.wait_for_selector(".raiden-Job-mpi", timeout=30000)
        assert page.locator(".raiden-Job-mpi").inner_text() == f"mpiexec pid {job['id']}: RUNNING · localhost"
        page.screenshot(path=str(_output("sidebar-mpi.png")))
        page.locator(".raiden-Stop").click()
        page.wait_for_selector(".raiden-State-stopped", timeout=180000)
        assert page.locator(".raiden-Job").count() == 0
        assert raiden("status", "--json").json()["state"] == "stopped"


def test_sidebar_powers_a_node_off_and_on(lab, chromium) -> None:
    """A node with power hooks gets Off/On/Cycle buttons on its card; Off makes it "off", not "down"."""

    raiden, url = lab
    hooks = power_switch.hook_lines(power_switch.local_switch(raiden.cwd)[0])
    (raiden.cwd / "raiden.toml").write_text(
        f'[cluster]\nname = "desk-power"\nengines_per_node = 2\n{hooks}\n\n[[nodes]]\nhost = "localhost"\n'
    )
    with _lab_page(chromium, url) as page:
        page.locator(".lm-TabBar-tab[data-id='raiden-lab-panel']").click(timeout=90000)
        page.wait_for_selector(".raiden-State-stopped", timeout=30000)
        page.locator(".raiden-Start").click()
        page.wait_for_selector(".raiden-State-running", timeout=180000)
        page.wait_for_selector(".raiden-PowerState:text('power on')", timeout=60000)
        assert page.locator(".raiden-Power-on").is_disabled()  # it is on already
        page.locator(".raiden-Power-off").click()
        page.wait_for_selector(".raiden-Node-off", timeout=120000)
        page.wait_for_selector(".raiden-PowerState:text('power off')", timeout=30000)
        assert "localhost · off" in page.locator(".raiden-NodeTitle").inner_text()
        page.wait_for_selector(".raiden-State-running", timeout=10000)  # off on purpose: not degraded
        page.screenshot(path=str(_output("sidebar-power-off.png")))
        assert json.loads((raiden.cwd / "power.json").read_text()) == {"localhost": "off"}
        page.locator(".raiden-Power-on").click()
        page.wait_for_selector(".raiden-Node-up", timeout=180000)
        page.wait_for_function("document.querySelectorAll('.raiden-Engine-idle').length === 2", timeout=60000)
        assert raiden("status", "--json").json()["engines"]["alive"] == 2
        page.locator(".raiden-Stop").click()
        page.wait_for_selector(".raiden-State-stopped", timeout=180000)


def test_the_teacher_sees_the_class_grid_in_the_sidebar(lab, chromium) -> None:
    """While a class runs, the sidebar shows each student's row filling in, and links the CSV."""

    from raiden_lab import classroom

    raiden, url = lab
    socket = raiden.cwd / "class" / "c.sock"
    assert raiden("class", "start", "--open", "--socket", str(socket)).code == 0
    try:
        assert classroom.ask(str(socket), {"op": "report", "exercise": "02.estimate", "passed": True})["ok"]
        assert classroom.ask(str(socket), {"op": "report", "exercise": "02.pi", "passed": False})["ok"]
        with _lab_page(chromium, url) as page:
            page.locator(".lm-TabBar-tab[data-id='raiden-lab-panel']").click(timeout=90000)
            row = page.locator(".raiden-Student").first
            row.wait_for(timeout=60000)
            assert row.locator(".raiden-Result-passed").count() == 1
            assert row.locator(".raiden-Result-failed").count() == 1
            assert row.locator(".raiden-Result-passed").get_attribute("title").endswith("02.estimate: passed")
            assert page.locator(".raiden-Csv").get_attribute("href").endswith("/raiden-lab/clusters/local/class.csv")
            page.screenshot(path=str(_output("class-grid.png")))
    finally:
        raiden("class", "stop")


STREAM_MAP = """
import raiden_lab
c = raiden_lab.connect()
def spin(x):
    import time
    time.sleep(0.25)
    return x
assert c.map(spin, range(48 * 12), chunksize=1) == list(range(48 * 12))
"""


@pytest.mark.timeout(900)  # its own waits say which step was slow, before pytest's limit would
def test_the_sidebar_and_the_dashboard_show_48_nodes_as_a_grid(lab, tmp_path, chromium) -> None:
    """Past a handful of nodes, one cell per node, the nodes that need a look first (a real 48-node cluster)."""

    import vcluster

    need(vcluster.missing_requirements())
    raiden, url = lab
    farm = vcluster.build(tmp_path / "farm48", [f"pi{i + 1}" for i in range(48)], subnet=vcluster.subnet(83))
    try:
        inventory = farm.inventory("rack", farm.nodes, engines=1, filename="raiden.toml")
        (raiden.cwd / "raiden.toml").write_text(inventory.read_text())
        with _lab_page(chromium, url) as page:
            page.locator(".lm-TabBar-tab[data-id='raiden-lab-panel']").click(timeout=90000)
            page.wait_for_selector(".raiden-NodeGrid", timeout=30000)
            assert page.locator(".raiden-Cell").count() == 48
            assert page.locator(".raiden-Node").count() == 0  # no card per node
            page.locator(".raiden-Start").click()
            started = time.monotonic()
            page.wait_for_selector(".raiden-State-running", timeout=420000)
            print(f"48 nodes running after {time.monotonic() - started:.0f} s")
            page.wait_for_function(
                "document.querySelectorAll('.raiden-Dot.raiden-Engine-idle').length === 48", timeout=60000
            )
            assert page.locator(".raiden-NodeSummary").inner_text() == "48 nodes: 48 up"

            # the task stream: a map on every engine shows live, a lane per engine, each node's heat below
            mapping = subprocess.Popen(
                [sys.executable, "-c", STREAM_MAP], cwd=raiden.cwd, env=raiden.env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                page.wait_for_function("document.querySelectorAll('.raiden-Stream-task').length >= 48", timeout=60000)
                lanes = page.evaluate(
                    "new Set([...document.querySelectorAll('.raiden-Stream-task')].map(r => r.getAttribute('y'))).size"
                )
                assert lanes == 48, lanes  # one engine a node: every lane has work
                assert page.locator(".raiden-Stream-heat").count() >= 48
                assert "spin" in page.locator(".raiden-StreamLegend").inner_text()
                page.locator(".raiden-Stream").scroll_into_view_if_needed()
                page.screenshot(path=str(_output("sidebar-48-nodes-stream.png")))
            finally:
                out, err = mapping.communicate(timeout=300)
            assert mapping.returncode == 0, err[-2000:]
            print(f"the map on 48 engines done after {time.monotonic() - started:.0f} s")

            cut = farm.nodes[30]  # pulled cable: the node is down, and its cell comes first
            farm.set_link(cut, up=False)
            page.wait_for_selector(".raiden-Cell-down", timeout=60000)
            first = page.locator(".raiden-Cell").first
            assert first.get_attribute("data-host") == cut.address
            assert f"{cut.address} · down" in first.get_attribute("title")
            assert first.locator(".raiden-CellName").inner_text() == cut.address.rsplit(".", 1)[1]
            assert page.locator(".raiden-NodeSummary").inner_text() == "48 nodes: 47 up, 1 down"
            page.screenshot(path=str(_output("sidebar-48-nodes.png")))
            first.click()  # its card opens under the grid
            page.wait_for_selector(f".raiden-Node[data-host='{cut.address}']", timeout=10000)
            assert "down" in page.locator(".raiden-NodeTitle").inner_text()

            board = dashboard_html(raiden, raiden.cwd / "raiden.toml")
            assert board.count("class='raiden-cell ") == 48 and "<b>48 nodes</b>: 47 up, 1 down" in board
            assert board.index(f"title='{cut.address} · down") < board.index(f"title='{farm.nodes[0].address} · up")
            assert ">11<br>" in board and ">58<br>" in board  # what tells the nodes apart: 10.83.0.11 is "11"
            assert board.count("class='raiden-node'") == 1  # the card of the one that needs a look
            farm.set_link(cut, up=True)
            print(f"a node cut and seen down after {time.monotonic() - started:.0f} s")
            page.locator(".raiden-Stop").click()
            page.wait_for_selector(".raiden-State-stopped", timeout=300000)
            print(f"48 nodes stopped after {time.monotonic() - started:.0f} s")
    finally:
        raiden("down", timeout=300)
        vcluster.teardown(farm)
