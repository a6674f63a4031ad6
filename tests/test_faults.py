"""Faults of the head itself, injected into the real processes of a local cluster.

A damaged state file, a full disk, a supervisor killed mid-map, a controller killed
mid-map, `raiden down` while nodes are still starting, pollers racing a starting
supervisor, a log that grows. Each test checks what the user sees and that
`raiden down` leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil

from conftest import Raiden, need, wait_for

TOY = Path(__file__).resolve().parent / "toy_launcher"
CORES = os.cpu_count() or 1


def _status(raiden: Raiden, *inventory: str) -> dict:
    ran = raiden("status", "--json", *inventory)
    assert ran.code in (0, 1), ran
    return ran.json()


def _events(raiden: Raiden, *inventory: str) -> list[dict]:
    ran = raiden("events", "--json", "-n", "200", *inventory)
    assert ran.code == 0, ran
    return ran.json()["events"]


def _left_behind(home: Path) -> list[str]:
    """Processes of this RAIDEN_HOME still running: supervisor, controller, runner, engines."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or ())
            env = proc.info["environ"] or {}
        except psutil.Error:
            continue
        if proc.status() == psutil.STATUS_ZOMBIE:
            continue
        ours = (
            str(home) in cmdline or env.get("RAIDEN_HOME") == str(home) or str(home) in env.get("IPP_PROFILE_DIR", "")
        )
        if ours and ("raiden_lab" in cmdline or "ipyparallel" in cmdline):
            found.append(f"{proc.pid} {cmdline[:120]}")
    return found


def _down_leaves_nothing(raiden: Raiden, *inventory: str) -> None:
    ran = raiden("down", *inventory)
    assert ran.code == 0, ran
    assert "Traceback" not in ran.err
    assert wait_for(lambda: not _left_behind(raiden.home), 15), _left_behind(raiden.home)


MAP = (
    "import faulthandler\n"
    "faulthandler.dump_traceback_later({dump}, exit=False)  # a hang shows where every thread waits\n"
    "import sys, time, raiden_lab\n"
    "c = raiden_lab.connect()\n"
    "def work(x):\n"
    "    import time\n"
    "    time.sleep({sleep})\n"
    "    return x\n"
    "print('mapping', flush=True)\n"
    "try:\n"
    "    got = c.map(work, range({n}), progress=False)\n"
    "except raiden_lab.RaidenError as e:\n"
    "    print('ERROR', e)\n"
    "else:\n"
    "    print('OK' if got == list(range({n})) else f'WRONG {{len(got)}}', c.last_map.resent)\n"
)


def _kill_mid_map(raiden: Raiden, pid: int, sleep: float, n: int, timeout: float) -> tuple[str, str]:
    """SIGKILL ``pid`` a few seconds into a map run by another process (once it says it maps: a loaded machine
    may take seconds to start it); what that process said (an answer, not a hang)."""
    mapper = subprocess.Popen(
        [sys.executable, "-c", MAP.format(sleep=sleep, n=n, dump=max(5, timeout - 10))],
        cwd=raiden.cwd,
        env=raiden.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = select.select([mapper.stdout], [], [], 60)[0] and mapper.stdout.readline()
    assert started == "mapping\n", (started, mapper.poll())
    time.sleep(3)
    os.kill(pid, signal.SIGKILL)
    try:
        return mapper.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        mapper.kill()
        out, err = mapper.communicate()
        raise AssertionError(
            f"the map gave no answer within {timeout:g} s; it said {out!r}; its threads:\n{err[-8000:]}"
        ) from None


def test_a_damaged_state_file_is_moved_aside_while_running_and_before_up(raiden: Raiden) -> None:
    assert raiden("up").code == 0
    store = raiden.home / "local" / "state.sqlite"
    for part in (store, Path(f"{store}-wal")):  # overwritten in place, as a bad disk or a stray program would
        with open(part, "r+b") as f:
            f.write(b"this is no database " * (part.stat().st_size // 20 + 1))

    def healed() -> bool:
        ran = raiden("status", "--json")
        assert "Traceback" not in ran.err, ran.err
        if not ran.out:
            assert "the state file is damaged" in ran.err and len(ran.err.strip().splitlines()) == 1, ran.err
            return False
        status = ran.json()
        if "error" in status:  # --json: the same one sentence, as JSON for programs
            assert "the state file is damaged" in status["error"] and status["exit_code"] == 1, status
            assert "the state file is damaged" in ran.err and len(ran.err.strip().splitlines()) == 1, ran.err
            return False
        return status["state"] == "running" and status["engines"]["alive"] == CORES

    assert wait_for(healed, 40)
    assert list(store.parent.glob("state.sqlite.damaged-*"))
    assert any(e["kind"] == "state-file-damaged" for e in _events(raiden))
    ran = raiden.python("import raiden_lab\nc = raiden_lab.connect()\nprint(sum(c.map(abs, range(-50, 50))))")
    assert ran.code == 0 and ran.out.strip() == "2500", ran
    _down_leaves_nothing(raiden)

    store.write_bytes(b"garbage\n" * 512)  # and while nothing runs
    ran = raiden("status")
    assert ran.code == 1 and "Traceback" not in ran.err
    assert ran.err.strip() == (
        f"raiden: {store}: the state file is damaged (file is not a database); `raiden down` still stops "
        "the cluster, and the next supervisor moves the file aside and starts a new one"
    )
    ran = raiden("up")
    assert ran.code == 0, ran
    assert len(list(store.parent.glob("state.sqlite.damaged-*"))) == 2
    assert any(e["kind"] == "state-file-damaged" for e in _events(raiden))
    _down_leaves_nothing(raiden)


def test_a_full_disk_under_raiden_home_loses_no_result(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        need("mounting a small tmpfs needs root")
    home = tmp_path / "tiny"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(home)], check=True)
    raiden = Raiden(home / "raiden", tmp_path)
    try:
        assert raiden("up").code == 0
        filler = home / "filler"
        with open(filler, "wb") as f:  # the head's disk fills up, as a runaway log would fill it
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        ran = raiden.python(MAP.format(sleep=0.002, n=3000, dump=170), timeout=180)
        assert ran.code == 0 and ran.out.splitlines()[-1].startswith("OK"), ran
        assert _status(raiden)["engines"]["alive"] == CORES  # still read, if not updated
        filler.unlink()

        def told() -> list[dict]:
            return [e for e in _events(raiden) if e["kind"] == "state-file-unwritable"]

        (event,) = wait_for(told, 30)
        assert "could not be written for" in event["message"] and "the cluster kept running" in event["message"]
        _down_leaves_nothing(raiden)
    finally:
        raiden("down")
        subprocess.run(["umount", "-l", str(home)], check=False)


def test_a_killed_supervisor_mid_map_gives_an_answer_and_the_next_up_cleans_up(raiden: Raiden) -> None:
    assert raiden("up").code == 0
    out, err = _kill_mid_map(raiden, _status(raiden)["supervisor_pid"], sleep=0.01, n=3000, timeout=120)
    assert "Traceback" not in err, err
    assert out.startswith("OK") or out.startswith("ERROR cluster 'local' stopped (its supervisor is gone)"), out
    ran = raiden("up")
    assert ran.code == 0, ran
    assert "cluster 'local' is up" in ran.out
    assert _status(raiden)["engines"]["alive"] == CORES
    _down_leaves_nothing(raiden)


def test_a_killed_controller_mid_map_loses_and_duplicates_nothing(raiden: Raiden) -> None:
    assert raiden("up").code == 0
    out, err = _kill_mid_map(raiden, _status(raiden)["controller"]["pid"], sleep=0.005, n=4000, timeout=180)
    assert out.startswith("OK"), (out, err)
    assert int(out.split()[1]) >= 1  # chunks in flight were sent again to the new controller
    kinds = [e["kind"] for e in _events(raiden)]
    assert "controller-died" in kinds and "controller-restarted" in kinds
    _down_leaves_nothing(raiden)


def test_down_while_nodes_are_still_starting(raiden: Raiden) -> None:
    raiden.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOY), os.environ.get("PYTHONPATH")]))
    inventory = raiden.cwd / "slow.toml"
    inventory.write_text(
        '[cluster]\nname = "slow"\nlauncher = "toy"\nengines_per_node = 2\n\n[toy]\ndelay = 60\n\n'
        '[[nodes]]\nhost = "localhost"\n'
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "raiden_lab", "up", "-i", str(inventory)],
        cwd=raiden.cwd,
        env=raiden.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: _status(raiden, "-i", str(inventory))["state"] == "starting", 30)
        started = time.monotonic()
        ran = raiden("down", "-i", str(inventory))
        assert ran.code == 0, ran
        assert "cluster 'slow' stopped" in ran.out
        assert time.monotonic() - started < 30  # not after the 60 s the second engine waits for
        out, err = up.communicate(timeout=60)
        assert "Traceback" not in err and up.returncode == 1, (out, err)
        assert "the supervisor exited" in err or "not started" in err or "did not register" in err, err
        assert wait_for(lambda: not _left_behind(raiden.home), 15), _left_behind(raiden.home)
    finally:
        if up.poll() is None:
            up.kill()
        raiden("down", "-i", str(inventory))


def test_pollers_never_make_a_starting_supervisor_give_up(raiden: Raiden) -> None:
    # what `is_running` does while no supervisor holds the lock, as fast as a busy poller can
    paths_code = (
        "import fcntl, os\n"
        "from raiden_lab.config.paths import ClusterPaths\n"
        "lock = str(ClusterPaths('local').ensure().lock)\n"
        "while True:\n"
        "    try:\n"
        "        fd = os.open(lock, os.O_RDONLY)\n"
        "    except FileNotFoundError:\n"
        "        continue\n"
        "    try:\n"
        "        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)\n"
        "    except BlockingIOError:\n"
        "        pass\n"
        "    os.close(fd)\n"
    )
    raiden.home.mkdir(parents=True, exist_ok=True)
    pollers = [subprocess.Popen([sys.executable, "-c", paths_code], env=raiden.env, cwd=raiden.cwd) for _ in range(2)]
    try:
        time.sleep(1)
        for _ in range(3):  # the CLI waiting, the dashboard and the sidebar all ask, as fast as they can
            ran = raiden("up")
            assert ran.code == 0, ran
            assert "cluster 'local' is up" in ran.out, ran
            assert raiden("down").code == 0
    finally:
        for p in pollers:
            p.kill()
            p.wait()


def test_the_supervisor_log_is_rotated_and_folders_are_made_private(raiden: Raiden) -> None:
    # a jit call on the head before any `up` makes RAIDEN_HOME; it must be private from the start
    (raiden.cwd / "jitted.py").write_text("import raiden_lab\n\n\n@raiden_lab.jit\ndef twice(x):\n    return 2 * x\n")
    ran = raiden.python("import jitted\nprint(jitted.twice(21))\n", timeout=180)
    assert ran.code == 0 and ran.out.strip() == "42", ran
    assert stat.S_IMODE(raiden.home.stat().st_mode) == 0o700
    os.chmod(raiden.home, 0o755)  # as an older version left it
    folder = raiden.home / "local"
    folder.mkdir(mode=0o700)
    log = folder / "supervisor.log"
    log.write_bytes(b"old line\n" * (6 * 1024 * 1024 // 9))
    assert raiden("up").code == 0
    assert stat.S_IMODE(raiden.home.stat().st_mode) == 0o700
    assert wait_for(lambda: (folder / "supervisor.log.1").exists(), 20)
    assert log.stat().st_size < 1024 * 1024
    # the engines' cwd (their work folder) is not in front of sys.path: a file there hides nothing
    ran = raiden.python(
        "import json, raiden_lab\nc = raiden_lab.connect()\n"
        "print(json.dumps(c.direct.apply_sync(lambda: __import__('sys').path[0])))"
    )
    assert ran.code == 0, ran
    assert all(not p.startswith(str(folder / "work")) and p != "" for p in json.loads(ran.out)), ran.out
    # %raiden scaling: an int where items belong, or a name that does not exist, is one sentence
    ran = raiden.python(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'raiden_lab')\n"
        "ip.run_line_magic('raiden', 'connect')\n"
        "ip.user_ns['spin'] = lambda n: sum(range(n))\n"
        "for words in ('spin 200000', 'spin undefined_name', 'spin', 'spin [1000] * 4'):\n"
        "    print('>', words, flush=True)\n"
        "    ip.run_line_magic('raiden', f'scaling {words} --engines 1,2')\n",
        timeout=180,
    )
    assert ran.code == 0 and "Traceback" not in ran.out + ran.err, ran
    said = ran.out.split("> ")
    assert "raiden: scaling: 200000 is int, not items to map over; did you mean range(200000)?" in said[1]
    assert "raiden: scaling: cannot evaluate 'undefined_name': NameError" in said[2]
    assert "raiden: usage: %raiden scaling FUNC ITEMS..." in said[3]
    assert "engines" in said[4] and "speedup" in said[4] and "raiden:" not in said[4], said[4]
    assert raiden("down").code == 0


def test_a_raiden_home_of_another_user_is_refused(raiden: Raiden) -> None:
    if os.geteuid() != 0:
        need("giving a folder to another user needs root")
    raiden.home.mkdir(mode=0o700)
    os.chown(raiden.home, 65534, 65534)
    ran = raiden("up")
    assert ran.code == 2 and "Traceback" not in ran.err
    assert ran.err.strip() == (
        f"{raiden.home}: Raiden's folder must be a directory that belongs to you (uid 0), not uid 65534; "
        "move it away or set RAIDEN_HOME to a folder of your own"
    )
