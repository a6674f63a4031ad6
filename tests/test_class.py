"""A class on one head: real students (Unix users made by the test) report their checks, the teacher sees
the grid; nobody reports as someone else, reads the grid or stops the class but the teacher."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
from pathlib import Path

import pytest

import unixusers
from conftest import Raiden, need

STUDENTS = ("raidencls1", "raidencls2")  # test_seats has raidenstu1 and 2
CHECK = "from raiden_lab import workshop\nprint(bool(workshop.check('02.estimate', lambda hits, n: {formula})))\n"


@pytest.fixture
def room(raiden: Raiden, tmp_path: Path):
    """Two students on this machine, a roster naming them, a copy of raiden_lab they can import."""
    need(unixusers.missing_requirements())
    with unixusers.unix_users(*STUDENTS), unixusers.student_copy() as package:
        roster = raiden.cwd / "students.txt"
        roster.write_text("# the class of Thursday\n" + "\n".join(STUDENTS) + "\n")
        socket = package / "sock" / "class.sock"  # /tmp/raiden-students-*/: any user may enter
        try:
            yield raiden, roster, socket, package
        finally:
            raiden("class", "stop")


def _as(user: str, code: str, socket: Path, package: Path):
    return unixusers.run_as(user, code, package, env={"RAIDEN_CLASS": str(socket)})


def _ask(user: str, message: dict, socket: Path, package: Path) -> dict:
    code = f"from raiden_lab.classroom import ask\nimport json\nprint(json.dumps(ask({str(socket)!r}, {message!r})))"
    ran = _as(user, code, socket, package)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_students_checks_fill_the_teachers_grid(room) -> None:
    raiden, roster, socket, package = room
    started = raiden("class", "start", "--users", str(roster), "--socket", str(socket))
    assert started.code == 0, started.err
    assert "2 students" in started.out and f"RAIDEN_CLASS={socket}" in started.out
    assert stat.S_IMODE(socket.stat().st_mode) == 0o666 and stat.S_IMODE(socket.parent.stat().st_mode) == 0o711
    right = _as(STUDENTS[0], CHECK.format(formula="4 * hits / n"), socket, package)
    assert right.returncode == 0 and right.stdout.strip() == "True", right.stderr
    wrong = _as(STUDENTS[1], CHECK.format(formula="hits / n"), socket, package)
    assert wrong.returncode == 0 and wrong.stdout.strip() == "False", wrong.stderr
    progress = raiden("class", "status", "--json").json()
    grid = {s["user"]: s["results"] for s in progress["students"]}
    assert list(grid) == list(STUDENTS)
    assert grid[STUDENTS[0]]["02.estimate"] == "passed" and grid[STUDENTS[1]]["02.estimate"] == "failed"
    assert grid[STUDENTS[0]]["02.pi"] is None  # not tried
    # a function that raises inside the check is a failed try on the grid, not "not yet"
    crash = "from raiden_lab import workshop\nprint(bool(workshop.check('06.split', lambda cells, parts: cells / 0)))"
    crashed = _as(STUDENTS[0], crash, socket, package)
    assert crashed.returncode == 0 and crashed.stdout.strip() == "False", crashed.stderr
    assert raiden("class", "status", "--json").json()["students"][0]["results"]["06.split"] == "failed"
    # the teacher's notebook widget shows the same grid, live
    shown = raiden.python(
        "import raiden_lab\nview = raiden_lab.class_view(interval=0.2)\n"
        "import time\nwhile view.refreshes < 2: time.sleep(0.1)\nprint(view.grid.value)\nview.close()\n"
    )
    assert shown.code == 0, shown.err
    rows = shown.out.split("class='raiden-student'")[1:]
    assert [r.split("<td>")[1].split("<")[0] for r in rows] == list(STUDENTS)
    assert "02.estimate: passed" in rows[0] and "02.estimate: failed" in rows[1] and "02.pi: not tried" in rows[0]
    csv = raiden("class", "status", "--csv").out.splitlines()
    assert csv[0].startswith("student,00.engines,") and csv[1].startswith(f"{STUDENTS[0]},")
    assert csv[1].split(",")[progress["exercises"].index("02.estimate") + 1] == "passed"
    # a later right answer turns the failed cell green; a later wrong one never takes a pass back
    _as(STUDENTS[1], CHECK.format(formula="4 * hits / n"), socket, package)
    _as(STUDENTS[0], CHECK.format(formula="hits / n"), socket, package)
    grid = {s["user"]: s["results"] for s in raiden("class", "status", "--json").json()["students"]}
    assert grid[STUDENTS[0]]["02.estimate"] == grid[STUDENTS[1]]["02.estimate"] == "passed"
    text = raiden("class", "status").out.splitlines()
    rows = {line.split()[0]: line.split()[1:3] for line in text[2:4]}
    assert rows == {STUDENTS[0]: ["1/20", "·"], STUDENTS[1]: ["1/20", "·"]}, text
    assert sum(line.count("✔") for line in text) == 2 and sum(line.count("✘") for line in text) == 1


def test_a_student_reports_only_as_themselves_and_cannot_run_the_class(room) -> None:
    raiden, roster, socket, package = room
    assert raiden("class", "start", "--users", str(roster), "--socket", str(socket)).code == 0
    # the message claims another user: the kernel's word (SO_PEERCRED) is what counts
    forged = _ask(
        STUDENTS[0], {"op": "report", "exercise": "02.pi", "passed": True, "user": STUDENTS[1]}, socket, package
    )
    assert forged == {"ok": True, "user": STUDENTS[0]}
    grid = {s["user"]: s["results"] for s in raiden("class", "status", "--json").json()["students"]}
    assert grid[STUDENTS[0]]["02.pi"] == "passed" and grid[STUDENTS[1]]["02.pi"] is None
    for op in ("progress", "stop"):
        refused = _ask(STUDENTS[1], {"op": op}, socket, package)
        assert refused["ok"] is False and "only the teacher" in refused["error"], refused
    assert raiden("class", "status").code == 0  # still running
    # a class of an inventory without [class] seat_user hands out no seats, and says why
    seatless = _ask(STUDENTS[0], {"op": "seat"}, socket, package)
    assert seatless["ok"] is False and "no seat_user in [class]" in seatless["error"], seatless
    assert raiden("class", "end", STUDENTS[1]).err.strip() == f"{STUDENTS[1]} has no seat in class 'local'"
    # a user of the machine who is not on the roster is not heard
    outsider = _ask("nobody", {"op": "report", "exercise": "02.pi", "passed": True}, socket, package)
    assert outsider["ok"] is False and "not a student" in outsider["error"]
    # and cannot read what the class keeps
    folder = raiden.home / "local" / "class"
    ran = unixusers.run_as("nobody", f"open({str(folder / 'class.sqlite')!r}).read()", package)
    assert ran.returncode != 0 and "PermissionError" in ran.stderr
    stopped = raiden("class", "stop")
    assert stopped.code == 0 and "stopped" in stopped.out and not socket.exists()
    assert raiden("class", "status").code == 3


def test_a_roster_naming_no_such_user_is_one_line(raiden: Raiden) -> None:
    roster = raiden.cwd / "students.txt"
    roster.write_text("# Thursday\nroot\nno-such-student-42\n")
    ran = raiden("class", "start", "--users", str(roster), "--socket", str(raiden.cwd / "c.sock"))
    assert ran.code == 2
    assert ran.err.strip() == f"{roster}:3: no user 'no-such-student-42' on this machine; create it or remove the line"
    ran = raiden("class", "status")
    assert (
        ran.code == 3 and ran.err.strip() == "raiden: class 'local' is not running; start it with `raiden class start`"
    )
    assert not os.path.exists(raiden.cwd / "c.sock")
    # seats out of the inventory's limit, or an end that names nobody: one line, exit 2
    over = raiden("class", "start", "--open", "--seats", "99", "--socket", str(raiden.cwd / "c.sock"))
    assert over.code == 2 and over.err.strip() == "--seats 99: give 1 to 20 (the inventory's [class] seats)"
    nobody = raiden("class", "end")
    assert nobody.code == 2 and "name the student, e.g. `raiden class end alice`" in nobody.err


def test_a_mistyped_seat_code_is_one_sentence(raiden: Raiden) -> None:
    ran = raiden.python(
        "import raiden_lab\ntry:\n    raiden_lab.connect(seat='raiden-seat:10.0.0.1:x')\n"
        "except raiden_lab.RaidenError as e:\n    print(e)\n"
    )
    assert ran.code == 0, ran.err
    assert (
        ran.out.strip()
        == "seat code 'raiden-seat:10.0.0.1:x'…: not a seat code; copy the whole line the teacher gave you"
    )


IMPOSTOR = """
import json, os, socket
folder = os.environ["FOLDER"]
os.mkdir(folder, 0o711)
os.chmod(folder, 0o711)
server = socket.socket(socket.AF_UNIX)
server.bind(os.path.join(folder, "class.sock"))
os.chmod(os.path.join(folder, "class.sock"), 0o666)
server.listen(8)
print("listening", flush=True)
forged = {"ok": True, "user": "victim", "seat": 1, "name": "x", "nodes": ["pi1; touch /tmp/pwned"],
          "connection": {"location": "10.6.6.6"}}
while True:
    conn, _ = server.accept()
    heard = conn.recv(65536)
    with open(os.path.join(folder, "heard"), "ab") as f:
        f.write(heard)
    conn.sendall(json.dumps(forged).encode() + b"\\n")
    conn.close()
"""

VICTIM = """
from raiden_lab import workshop
from raiden_lab.classroom import ask
import os
print("check", workshop.check("02.estimate", lambda hits, n: 4 * hits / n))
try:
    print("seat", ask(os.environ["RAIDEN_CLASS"], {"op": "seat"}))
except Exception as e:
    print("refused", type(e).__name__, e)
"""


def test_a_student_who_makes_the_class_folder_first_hears_nothing(room) -> None:
    """Before class (after a reboot), a student makes the teacher's socket folder and listens in it, to answer
    "your seat" to the others. Nothing reaches them: each client checks whose folder it is before it sends."""
    raiden, roster, socket, package = room
    attacker, victim = STUDENTS
    with unixusers.unix_users("raidenclsteach") as (teacher,):
        uid = pwd.getpwnam(teacher).pw_uid
        for folder, env in (
            (Path(f"/tmp/raiden-class-{uid}"), {}),  # the default folder: its name says whose it must be
            (package / "hub-made", {"RAIDEN_CLASS_TEACHER": teacher}),  # the hub names the teacher
        ):
            subprocess.run(["rm", "-rf", str(folder)])
            if folder.parent == package:
                folder.parent.chmod(0o1777)  # as /tmp is: anyone may make a folder there
            impostor = subprocess.Popen(
                [unixusers.SYSTEM_PYTHON, "-c", IMPOSTOR],
                **unixusers.identity(attacker),
                env={"PATH": "/usr/bin:/bin", "FOLDER": str(folder)},
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert impostor.stdout.readline().strip() == "listening"
                env = {"RAIDEN_CLASS": str(folder / "class.sock"), **env}
                ran = unixusers.run_as(victim, VICTIM, package, env=env)
                assert ran.returncode == 0, ran.stderr
                assert "check ✔ 02.estimate: right" in ran.stdout  # the check itself still runs and says so
                expected = (
                    f"{folder} belongs to {attacker}, not to the class's teacher ({teacher}): someone else made it"
                )
                assert f"not reported to the class: {expected}" in ran.stderr, ran.stderr
                assert f"refused UntrustedClass {expected}" in ran.stdout, ran.stdout
                assert not (folder / "heard").exists(), (folder / "heard").read_bytes()  # not one byte was sent
            finally:
                impostor.kill()
                impostor.wait()
                subprocess.run(["rm", "-rf", str(folder)])


def test_two_hubs_on_one_head_take_internal_ports_of_their_own(tmp_path: Path) -> None:
    """Two teachers' classes on one head: each hub's own API and its proxy's are on ports of its own (both
    JupyterHub's defaults, 8081 and 8001, would clash and the second hub would never serve its students)."""
    import socket

    from raiden_lab.classroom.jupyterhub import hub_config, internal_ports
    from raiden_lab.config.paths import ClusterPaths

    configs = []
    for teacher in ("alice", "carol"):
        paths = ClusterPaths(f"room-{teacher}", tmp_path)
        text = hub_config(
            paths, teacher, ["bob"], "/run/raiden/x", "0.0.0.0", 8000, "/bin/true", None, internal_ports()
        )
        values: dict = {}
        exec(text, {"get_config": lambda values=values: _Config(values)})  # the file as JupyterHub reads it
        configs.append(values)
    hub_ports = {c["JupyterHub.hub_port"] for c in configs}
    api_urls = {c["ConfigurableHTTPProxy.api_url"] for c in configs}
    assert len(hub_ports) == 2 and 8081 not in hub_ports and len(api_urls) == 2
    for port in hub_ports:
        with socket.socket() as s:  # free to bind: the hub will
            s.bind(("127.0.0.1", port))


class _Config:
    """What ``c`` is in a JupyterHub config file: ``c.Section.key = value``, recorded."""

    def __init__(self, values: dict) -> None:
        object.__setattr__(self, "values", values)

    def __getattr__(self, section: str):
        values = self.values

        class _Section:
            def __setattr__(self, key, value):
                values[f"{section}.{key}"] = value

        return _Section()


def test_a_hub_on_the_rooms_network_without_tls_is_refused(raiden: Raiden) -> None:
    """Passwords typed into the hub would cross the room's network in clear: without a certificate the hub
    listens on loopback only, and says so in one line."""
    ran = raiden("class", "hub", "--teacher", "root")  # --ip 0.0.0.0, the default
    assert ran.code == 2, ran.err
    assert ran.err.strip() == (
        "--ip 0.0.0.0: the hub would carry every password in clear on the room's network; give --ssl-cert "
        "and --ssl-key, or --self-signed (its fingerprint is printed to show the room), or --ip 127.0.0.1"
    )
    half = raiden("class", "hub", "--teacher", "root", "--ssl-cert", str(raiden.cwd / "hub.crt"))
    assert half.code == 2 and "--ssl-cert and --ssl-key go together" in half.err


FLOOD = """
import os, socket, sys, time
path = os.environ["RAIDEN_CLASS"]
held = []
for _ in range(200):  # connections that never send a byte
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    held.append(s)
print("holding", flush=True)
sys.stdin.readline()
time.sleep(0.5)
open_ = 0
for s in held:
    s.setblocking(False)
    try:
        open_ += s.recv(1) != b""
    except BlockingIOError:
        open_ += 1  # still open, nothing to read
    except OSError:
        pass
print("open", open_, flush=True)
"""

HOSTILE = """
import json, os, socket
path = os.environ["RAIDEN_CLASS"]
def send(data):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            return s.recv(65536).decode(errors="replace").strip() or "closed"
        except OSError as e:
            return "closed: " + type(e).__name__
print(json.dumps({
    "deep": send(b"[" * 3000 + b"]" * 3000 + b"\\n"),
    "deep object": send(b'{"op": ' + b"[" * 2000 + b"]" * 2000 + b"}\\n"),
    "huge": send(b'{"op": "report", "x": "' + b"x" * (1 << 20) + b'"}\\n'),
    "binary": send(os.urandom(3000) + b"\\n"),
    "not an object": send(b"[1, 2, 3]\\n"),
}))
"""


def test_bad_requests_and_a_flood_from_one_student_hurt_nobody_else(room) -> None:
    """Deep, huge, binary and half-open requests, and 200 connections held by one account: each gets an
    error or a closed connection, never a traceback; the account keeps a few connections at most, and
    another student's report is answered at once meanwhile."""
    raiden, roster, socket, package = room
    assert raiden("class", "start", "--users", str(roster), "--socket", str(socket)).code == 0
    env = {"RAIDEN_CLASS": str(socket)}
    hostile = unixusers.run_as(STUDENTS[0], HOSTILE, package, env=env)
    assert hostile.returncode == 0, hostile.stderr
    answers = json.loads(hostile.stdout)
    for name, answer in answers.items():
        assert answer.startswith("closed") or json.loads(answer)["ok"] is False, (name, answer)
    assert "send one JSON object on one line" in answers["deep"], answers
    flood = subprocess.Popen(
        [unixusers.SYSTEM_PYTHON, "-c", FLOOD],
        **unixusers.identity(STUDENTS[0]),
        env={"PATH": "/usr/bin:/bin", **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flood.stdout.readline().strip() == "holding"
        # meanwhile another student's check reports at once (the class's timeout for a report is 2 s)
        right = _as(STUDENTS[1], CHECK.format(formula="4 * hits / n"), socket, package)
        assert right.returncode == 0 and right.stdout.strip() == "True" and "not reported" not in right.stderr, right
        flood.stdin.write("\n")
        flood.stdin.flush()
        still_open = int(flood.stdout.readline().split()[1])
    finally:
        flood.kill()
        flood.wait()
    assert still_open <= 16, f"one account held {still_open} of the class's connections"
    grid = {s["user"]: s["results"] for s in raiden("class", "status", "--json").json()["students"]}
    assert grid[STUDENTS[1]]["02.estimate"] == "passed"
    log = (raiden.home / "local" / "class" / "class.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_a_class_needs_to_know_its_students(raiden: Raiden) -> None:
    """No roster, no class: any account of the head (service accounts included) would take seats. Saying
    --open is a choice; a Unix group is a roster."""
    sock = str(raiden.cwd / "c.sock")
    ran = raiden("class", "start", "--socket", sock)
    assert ran.code == 2 and ran.err.strip() == (
        "raiden class start: say who the students are: --users FILE (one user name a line), --group GROUP "
        "(a Unix group), or --open (any account of this machine, service accounts included, may take a seat)"
    )
    nogroup = raiden("class", "start", "--group", "raiden-no-such-group", "--socket", sock)
    assert nogroup.code == 2 and "--group raiden-no-such-group: no such group on this machine" in nogroup.err
    group = raiden("class", "start", "--group", "root", "--socket", sock)  # root's group: root is its member
    assert group.code == 0 and "started for 1 students" in group.out, group.err
    assert raiden("class", "stop").code == 0


def test_seat_codes_expire_are_one_per_student_and_the_port_takes_small_requests() -> None:
    import asyncio
    import sqlite3
    import threading

    from raiden_lab.classroom import seatcodes

    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    desk = seatcodes.CodeDesk(None, db, "127.0.0.1")  # the requests below never reach a seat
    first, second = desk.issue("carol"), desk.issue("carol")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        stop.append(asyncio.Event())
        started.set()
        await desk.serve(stop[0])

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert started.wait(10)
        # a second code for the same student replaces the first
        assert seatcodes.ask_desk(first, {"op": "x"}, timeout=10)["error"] == seatcodes.INVALID
        assert seatcodes.ask_desk(second, {"op": "x"}, timeout=10)["error"] == "unknown request 'x'"
        # a message beyond the port's bound is never read: no answer; the port goes on answering others
        with pytest.raises(OSError, match="no class answered"):
            seatcodes.ask_desk(second, {"op": "x", "pad": "x" * 10000}, timeout=3)
        assert seatcodes.ask_desk(second, {"op": "x"}, timeout=10)["error"] == "unknown request 'x'"
        # past its expiry, a code is refused
        db.execute("UPDATE codes SET expires = 0")
        assert seatcodes.ask_desk(second, {"op": "x"}, timeout=10)["error"] == seatcodes.INVALID
        db.execute("UPDATE codes SET expires = 1e12")
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(20)
    assert db.execute("SELECT count(*) FROM codes").fetchone()[0] == 0  # the class's stop revokes every code
