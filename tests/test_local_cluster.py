"""The embedded default as a laptop user meets it: up, status, connect, run code, restart, down."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import psutil
import pytest

import unixusers
from conftest import _make_raiden, need


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("local"))
    ran = raiden("up")
    assert ran.code == 0, ran
    assert "cluster 'local' is up" in ran.out
    try:
        yield raiden
    finally:
        raiden("down")


def _status(raiden) -> dict:
    ran = raiden("status", "--json")
    assert ran.code == 0, ran
    return ran.json()


def running(pid: int) -> bool:
    """Alive and not a zombie (some containers' init never reaps orphans)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _engine_pids(status: dict) -> dict[int, int]:
    return {e["id"]: e["pid"] for n in status["nodes"] for e in n["engines"]}


def test_up_starts_one_engine_per_core_on_loopback(local) -> None:
    status = _status(local)
    assert status["name"] == "local" and status["state"] == "running"
    assert status["controller"]["ip"] == "127.0.0.1"
    assert running(status["controller"]["pid"])
    assert {"registration", "mux", "task"} <= set(status["controller"]["ports"])
    (node,) = status["nodes"]
    assert node["host"] == "localhost" and node["state"] == "up" and node["arch"]
    assert len(node["engines"]) == os.cpu_count()
    assert all(e["state"] == "idle" for e in node["engines"])
    assert status["engines"] == {"alive": os.cpu_count(), "total": os.cpu_count()}


def test_status_table_for_people(local) -> None:
    ran = local("status")
    assert ran.code == 0
    assert "cluster 'local': running" in ran.out
    assert "localhost" in ran.out and f"{os.cpu_count()}/{os.cpu_count()}" in ran.out


def test_connect_runs_code_on_every_engine(local) -> None:
    ran = local.python(
        "import os, json, raiden_lab\n"
        "c = raiden_lab.connect()\n"
        "pids = c.direct.apply_sync(os.getpid)\n"
        "squares = c.map(lambda x: x * x, range(20))\n"
        "print(json.dumps({'ids': c.ids, 'pids': pids, 'squares': squares,\n"
        "                  'nodes': [n['host'] for n in c.nodes]}))\n"
    )
    assert ran.code == 0, ran.err
    got = json.loads(ran.out)
    status = _status(local)
    assert got["ids"] == sorted(_engine_pids(status))
    assert got["pids"] == [_engine_pids(status)[i] for i in got["ids"]]
    assert got["squares"] == [x * x for x in range(20)]
    assert got["nodes"] == ["localhost"]


def test_a_map_whose_function_raises_raises_that_error(local) -> None:
    # ipyparallel's own retries hold such a task forever once it failed on every engine
    ran = local.python(
        "import time, raiden_lab\n"
        "c = raiden_lab.connect()\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    c.map(lambda x: 1 / (x - 57), range(100))\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e.ename, round(time.monotonic() - start))\n"
        "print(c.map(abs, range(-3, 0)))\n",
        timeout=60,
    )
    assert ran.code == 0, ran.err
    name, ename, seconds = ran.out.splitlines()[0].split()
    assert (name, ename) == ("RemoteError", "ZeroDivisionError") and int(seconds) < 20, ran.out
    assert ran.out.splitlines()[1] == "[3, 2, 1]"  # the cluster takes the next map as usual


def test_px_cell_magic_runs_on_every_engine(local) -> None:
    code = (
        "import raiden_lab\n"
        "rc = raiden_lab.connect()\n"
        "get_ipython().run_cell_magic('px', '', 'import os\\nwho = os.getpid()')\n"
        "print(sorted(rc.direct['who']))\n"
    )
    ran = local.python(f"from IPython import start_ipython; start_ipython(argv=['--quick', '-c', {code!r}])")
    assert ran.code == 0, ran.err
    assert ran.out.strip().splitlines()[-1] == str(sorted(_engine_pids(_status(local)).values()))


def test_plain_ipyparallel_code_attaches_unchanged(local) -> None:
    profile = local.home / "local" / "profile"
    ran = local.python(
        "import ipyparallel as ipp, os\n"
        f"rc = ipp.Client(profile_dir={str(profile)!r})\n"
        "print(len(rc[:].apply_sync(os.getpid)))\n"
    )
    assert ran.code == 0, ran.err
    assert ran.out.strip() == str(os.cpu_count())


def test_second_up_says_so_and_changes_nothing(local) -> None:
    before = _status(local)
    ran = local("up")
    assert ran.code == 0
    assert "already running" in ran.out and "nothing changed" in ran.out
    after = _status(local)
    assert after["supervisor_pid"] == before["supervisor_pid"]
    assert _engine_pids(after) == _engine_pids(before)


def _controller_sockets(local) -> list[str]:
    """The Unix socket paths the local controller listens on, as its client file names them."""
    info = json.loads((local.home / "local" / "profile" / "security" / "ipcontroller-client.json").read_text())
    assert info["interface"].startswith("ipc://"), info["interface"]
    prefix = info["interface"].removeprefix("ipc://")
    return [f"{prefix}:{info[k]}" for k in ("registration", "control", "mux", "task", "iopub", "notification")]


def test_a_local_cluster_listens_on_no_network_at_all(local) -> None:
    """Every node is this machine: the controller's sockets are Unix sockets in a 0700 folder, no TCP port."""
    status = _status(local)
    assert status["controller"]["transport"] == "ipc"
    controller = psutil.Process(status["controller"]["pid"])
    procs = [controller, *controller.children(recursive=True)]
    assert [c.laddr for p in procs for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN] == []
    sockets = _controller_sockets(local)
    for path in sockets:
        assert stat.S_ISSOCK(os.stat(path).st_mode), path
    folder = os.path.dirname(sockets[0])
    assert os.stat(folder).st_uid == os.getuid() and stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert "controller on private ipc sockets" in local("status").out


def test_another_user_of_the_machine_cannot_reach_a_local_cluster(local) -> None:
    """On TCP, even on loopback, any local user could connect and read every engine's output (iopub is a
    broadcast). As the user ``nobody``: the client file cannot be read and no socket can be connected."""
    if os.geteuid() != 0:
        need("this test runs a process as the user nobody, which needs root")
    probe = (
        "import socket, sys\n"
        "for path in sys.argv[1:]:\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(path); print('connected', path)\n"
        "    except OSError as e:\n"
        "        print(type(e).__name__)\n"
        "try:\n"
        "    open(sys.argv[0]); print('read the client file')\n"
        "except OSError as e:\n"
        "    print(type(e).__name__)\n"
    )
    client_file = local.home / "local" / "profile" / "security" / "ipcontroller-client.json"
    ran = subprocess.run(
        ["/usr/bin/python3", "-c", probe.replace("sys.argv[0]", repr(str(client_file))), *_controller_sockets(local)],
        **unixusers.identity("nobody"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["PermissionError"] * 7


def test_files_holding_keys_are_private(local) -> None:
    root = local.home / "local"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    security = root / "profile" / "security"
    files = list(security.iterdir())
    assert any(f.name == "ipcontroller-client.json" for f in files)
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE((root / "state.sqlite").stat().st_mode) == 0o600


def test_restart_node_gives_fresh_engines_with_the_same_ids(local) -> None:
    before = _engine_pids(_status(local))
    ran = local("restart", "localhost")
    assert ran.code == 0, ran
    after = _engine_pids(_status(local))
    assert set(after) == set(before)
    assert not set(after.values()) & set(before.values())
    assert not [pid for pid in before.values() if running(pid)]
    ran = local.python("import raiden_lab; c = raiden_lab.connect(); print(sorted(c.direct.apply_sync(lambda: 7)))")
    assert ran.code == 0 and ran.out.strip() == str([7] * len(before))


def test_restart_of_an_unknown_node_is_bad_input(local) -> None:
    ran = local("restart", "pi9")
    assert ran.code == 2
    assert ran.err.strip() == "(embedded default): no node 'pi9' in the inventory (nodes: localhost)"


def test_events_tell_what_happened(local) -> None:
    ran = local("events", "--json")
    kinds = [e["kind"] for e in ran.json()["events"]]
    assert kinds[:2] == ["cluster-starting", "controller-started"]
    assert "cluster-running" in kinds and "node-restarting" in kinds
    assert "localhost" in local("events").out


def test_down_stops_everything_and_leaves_nothing(local) -> None:
    status = _status(local)
    pids = [status["supervisor_pid"], status["controller"]["pid"], *_engine_pids(status).values()]
    ran = local("down")
    assert ran.code == 0, ran
    assert "stopped; no engine left on 1 node" in ran.out
    assert not [p for p in pids if running(p)]
    marker = f"RAIDEN_ENGINE_SET=local@localhost:{local.home / 'local' / 'work'}"
    leftovers = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if any(f"{k}={v}" == marker for k, v in proc.environ().items()):
                leftovers.append(proc.pid)
        except psutil.Error:
            continue
    assert leftovers == []
    stopped = _status(local)
    assert stopped["state"] == "stopped" and stopped["nodes"][0]["engines"] == []
    ran = local.python("import raiden_lab; raiden_lab.connect()")
    assert ran.code == 1 and "cluster 'local' is not running; start it with `raiden up`" in ran.err
    ran = local("restart", "localhost")
    assert ran.code == 3 and ran.err.strip() == "raiden: cluster 'local' is not running; start it with `raiden up`"
    ran = local("down")
    assert ran.code == 0 and "is not running" in ran.out


def test_down_cleans_up_after_a_supervisor_that_was_killed(raiden) -> None:
    assert raiden("up").code == 0
    status = _status(raiden)
    engines = list(_engine_pids(status).values())
    controller = status["controller"]["pid"]
    os.kill(status["supervisor_pid"], 9)
    deadline = time.monotonic() + 30
    while _status(raiden)["state"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _status(raiden)["state"] == "stopped"
    ran = raiden("down")
    assert ran.code == 0, ran
    assert "is not running" in ran.out
    assert "killed the controller left behind by a supervisor that died" in ran.out
    assert not [p for p in [controller, *engines] if running(p)]


def test_an_engine_slower_to_start_than_the_hubs_30_s_still_joins(raiden, tmp_path) -> None:
    """A Pi Zero, or a Pi under load, takes longer than ipyparallel's 30 s between its engine's registration
    and its first heartbeat (IPython's startup, then the warm-up's numba import): the engine must still join,
    not run forever registered in its own eyes only."""
    work = tmp_path / "slow-board"
    startup = work / "profile" / "startup"  # the engine's IPython runs these before its heart starts
    startup.mkdir(parents=True)
    (startup / "00-slow-board.py").write_text("import time\n\ntime.sleep(40)\n")
    (raiden.cwd / "raiden.toml").write_text(
        f'[cluster]\nname = "slowboard"\n\n[[nodes]]\nhost = "localhost"\nengines = 1\nwork_dir = "{work}"\n'
    )
    started = time.monotonic()
    ran = raiden("up", "--timeout", "150", timeout=240)
    try:
        assert ran.code == 0, ran
        assert time.monotonic() - started > 40  # the slow startup ran before the engine joined
        assert _status(raiden)["engines"]["alive"] == 1
        used = raiden.python("import raiden_lab\nprint(raiden_lab.connect().map(abs, [-2, -3], progress=False))")
        assert used.code == 0 and used.out.strip() == "[2, 3]", used
    finally:
        raiden("down")


def test_an_engine_that_dies_while_starting_is_replaced_under_its_own_id(raiden, tmp_path) -> None:
    """An engine that exits between its registration and its first heartbeat leaves the hub holding its id; the
    engine started in its place must get that id back, or its node would wait for it forever."""
    work = tmp_path / "flaky-board"
    startup = work / "profile" / "startup"
    startup.mkdir(parents=True)
    once = tmp_path / "died-once"
    # engine 1, the first time only, with its nanny (which would tell the hub): killed, as a board that ran
    # out of memory kills both
    (startup / "00-dies-once.py").write_text(
        f"import os, pathlib, psutil\n\nif os.environ['RAIDEN_ENGINE_ID'] == '1' and not pathlib.Path({str(once)!r}).exists():\n"
        f"    pathlib.Path({str(once)!r}).touch()\n    for nanny in psutil.Process().children():\n        nanny.kill()\n"
        "    os._exit(3)\n"
    )
    (raiden.cwd / "raiden.toml").write_text(
        f'[cluster]\nname = "flakyboard"\n\n[[nodes]]\nhost = "localhost"\nengines = 2\nwork_dir = "{work}"\n'
    )
    ran = raiden("up", "--timeout", "90", timeout=180)
    try:
        assert ran.code == 0, ran
        assert once.exists()  # the first engine did die while starting
        kinds = [e["kind"] for e in raiden("events", "--json").json()["events"]]
        assert "engine-died" in kinds and "engine-restarted" in kinds, kinds
        assert [e["id"] for n in _status(raiden)["nodes"] for e in n["engines"]] == [0, 1]
        used = raiden.python("import raiden_lab\nprint(raiden_lab.connect().ids)")
        assert used.code == 0 and used.out.strip() == "[0, 1]", used
    finally:
        raiden("down")
