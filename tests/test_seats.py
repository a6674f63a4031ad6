"""Seats of a class on the virtual Pi cluster: each student (a real Unix user) gets engines of their own,
run by a seat account of their own on the nodes; nobody reaches another's seat; the cores are shared fairly."""

from __future__ import annotations

import json
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sharedenv

import unixusers
from conftest import Raiden, need, wait_for

pytestmark = pytest.mark.vcluster

STUDENTS = ("raidenstu1", "raidenstu2")
SEAT_USERS = ("raidenseat1", "raidenseat2")
PORTS = (10500, 10599)
SEAT_MEMORY_MB = 600  # an idle seat holds about 200 MB on a node: its runner, agent and one engine
SEAT_PROCESSES = 256  # threads count too: an engine runs about ten

TAKE = """
import json, getpass, os, raiden_lab
c = raiden_lab.connect()
c.wait_for_engines(2, timeout=60)
users = c.direct.apply(lambda: __import__("getpass").getuser())
hosts = c.direct.apply(lambda: __import__("socket").gethostname())
c.direct.push({"secret": "mine: " + getpass.getuser()})
pids = c.direct.apply(lambda: __import__("os").getpid())
print(json.dumps({"seat": c.seat, "name": c.name, "users": sorted(set(users)), "engines": len(c.ids), "pids": pids,
                  "nodes": [n["host"] for n in c.nodes]}))
"""


@pytest.fixture(scope="module")
def python():
    need(unixusers.missing_requirements())
    return sharedenv.shared_python()


@pytest.fixture
def klass(vpi, python, tmp_path: Path):
    """A class of two students on pi1 and pi2, seat accounts on the nodes, its socket where students reach it."""
    raiden = Raiden(tmp_path / "raiden-home", tmp_path / "work")
    raiden.cwd.mkdir()
    nodes = [vpi.node("pi1"), vpi.node("pi2")]
    lines = [
        "[cluster]",
        'name = "klass"',
        f'controller_ip = "{vpi.head}"',
        'user = "root"',
        f'identity_file = "{vpi.identity}"',
        f'python = "{python}"',
        "",
        "[class]",
        "seats = 2",
        'seat_user = "raidenseat{n}"',
        f'ports = "{PORTS[0]}-{PORTS[1]}"',
        f'memory_per_seat = "{SEAT_MEMORY_MB}M"',
        f"processes_per_seat = {SEAT_PROCESSES}",
    ]
    for node in nodes:
        lines += ["", "[[nodes]]", f'host = "{node.address}"', f'work_dir = "{node.work_dir}-klass"']
    inventory = raiden.cwd / "raiden.toml"
    inventory.write_text("\n".join(lines) + "\n")
    socket_dir = Path("/tmp") / f"raiden-klass-{tmp_path.name[-12:]}"
    with unixusers.unix_users(*STUDENTS), unixusers.unix_users(*SEAT_USERS, login=True):
        for seat in SEAT_USERS:  # what the teacher does once per seat account: let the head's key in
            unixusers.authorize(seat, Path(f"{vpi.identity}.pub").read_text())
        roster = raiden.cwd / "students.txt"
        roster.write_text("\n".join(STUDENTS) + "\n")
        # as the guide has the teacher do once: the doctor records each node's host key, which seats then trust
        raiden("doctor")
        pinned = (raiden.home / "klass" / "known_hosts").read_text()
        assert all(node.address in pinned for node in nodes), pinned
        try:
            started = raiden("class", "start", "--users", str(roster), "--socket", str(socket_dir / "class.sock"))
            assert started.code == 0, started.err
            assert "seats: up to 2, 1 engine(s) per node each" in started.out
            yield raiden, socket_dir / "class.sock", python
        finally:
            raiden("class", "stop")
            subprocess.run(["rm", "-rf", str(socket_dir)])


def as_student(user: str, code: str, socket: Path, python: str, timeout: float = 180):
    ran = unixusers.run_as(user, code, None, env={"RAIDEN_CLASS": str(socket)}, timeout=timeout, python=python)
    return ran


def take(user: str, socket: Path, python: str) -> dict:
    ran = as_student(user, TAKE, socket, python)
    assert ran.returncode == 0, ran.stderr[-3000:]
    return json.loads(ran.stdout.strip().splitlines()[-1])


def node_processes(user: str) -> list[str]:
    """The account's live processes (on any node: the namespaces share one process table)."""
    found = subprocess.run(["pgrep", "-a", "-u", user], capture_output=True, text=True).stdout.splitlines()
    return [p for p in found if "<defunct>" not in p]


def test_each_student_gets_a_seat_of_their_own_and_cannot_reach_anothers(klass, vpi) -> None:
    raiden, socket, python = klass
    first = take(STUDENTS[0], socket, python)
    second = take(STUDENTS[1], socket, python)
    # engines of their own, on both nodes, run by the seat's own account
    assert (first["seat"], first["users"], first["engines"]) == (1, [SEAT_USERS[0]], 2)
    assert (second["seat"], second["users"], second["engines"]) == (2, [SEAT_USERS[1]], 2)
    assert sorted(first["nodes"]) == sorted(n.address for n in (vpi.node("pi1"), vpi.node("pi2")))
    # a student who attaches again gets the same seat, engines and data
    again = as_student(
        STUDENTS[0],
        "import raiden_lab\nc = raiden_lab.connect()\nprint(c.seat, c.direct.pull('secret'))",
        socket,
        python,
    )
    assert again.returncode == 0 and again.stdout.split()[0] == "1" and "mine: raidenstu1" in again.stdout, again

    # the teacher sees both seats, live
    seats = {s["user"]: s for s in raiden("class", "status", "--json").json()["seats"]}
    assert sorted(seats) == sorted(STUDENTS)
    assert seats[STUDENTS[0]]["engines"]["alive"] == seats[STUDENTS[1]]["engines"]["alive"] == 2
    text = raiden("class", "status").out
    assert "seats (2 taken)" in text and STUDENTS[1] in text.split("seats (2 taken)")[1]

    # from the second student's side: another seat's keys, engines and controls are out of reach
    probe = f"""
import json, os, signal, ipyparallel as ipp, tempfile
from raiden_lab.classroom import ask
out = {{}}
sock = {str(socket)!r}
out["seats"] = ask(sock, {{"op": "seats"}})
out["end"] = ask(sock, {{"op": "end", "user": {STUDENTS[0]!r}}})
out["stop"] = ask(sock, {{"op": "stop"}})
out["progress"] = ask(sock, {{"op": "progress"}})
# restart and the seat's detail act on the asker's own seat only: there is no way to name another's
out["restart"] = ask(sock, {{"op": "restart", "host": "10.255.0.1", "user": {STUDENTS[0]!r}}})
out["detail"] = ask(sock, {{"op": "myseat", "detail": True, "user": {STUDENTS[0]!r}}})["model"]["name"]
try:
    os.listdir({str(raiden.home)!r})
    out["home"] = "listed"
except PermissionError:
    out["home"] = "refused"
# my own seat's keys, aimed at the first seat's controller (its ports are the first of the class's range)
mine = ask(sock, {{"op": "seat"}})["connection"]
forged = dict(mine)
for k, v in mine.items():
    if isinstance(v, int) and k != "location":
        forged[k] = v - {PORTS[0]} - 20 + {PORTS[0]} if v >= {PORTS[0]} + 20 else v
fd, path = tempfile.mkstemp(suffix=".json")
os.write(fd, json.dumps(forged).encode()); os.close(fd)
try:
    c = ipp.Client(path, timeout=4)
    c.wait_for_engines(1, timeout=4)
    out["other_controller"] = "engines: %s" % c.ids
except Exception as e:
    out["other_controller"] = type(e).__name__
print(json.dumps(out))
"""
    ran = as_student(STUDENTS[1], probe, socket, python)
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = json.loads(ran.stdout.strip().splitlines()[-1])
    for op in ("seats", "end", "stop", "progress"):
        assert out[op]["ok"] is False and "only the teacher" in out[op]["error"], (op, out[op])
    assert out["home"] == "refused"
    assert out["restart"]["ok"] is False and "is not a node of your seat" in out["restart"]["error"], out
    assert out["detail"] == "klass-seat2", out  # their own seat's state, whatever user they name
    assert out["other_controller"] in ("TimeoutError", "NoEnginesRegistered"), out

    # code on the second seat's engines (on the nodes) cannot read or signal the first seat's engines
    spy = f"""
import raiden_lab
c = raiden_lab.connect()
def spy(pids):
    import os, signal
    seen = {{}}
    for pid in pids:
        try:
            open("/proc/%d/environ" % pid, "rb").read()
            seen[str(pid)] = "read"
        except PermissionError:
            seen[str(pid)] = "refused"
        except FileNotFoundError:
            seen[str(pid)] = "gone"
        try:
            os.kill(pid, signal.SIGTERM)
            seen[str(pid)] += ", killed"
        except PermissionError:
            seen[str(pid)] += ", kill refused"
    try:
        os.listdir(os.path.expanduser("~{SEAT_USERS[0]}/.raiden"))
        seen["work"] = "listed"
    except PermissionError:
        seen["work"] = "refused"
    return seen
print(c.direct.apply(spy, {first["pids"]!r}))
"""
    ran = as_student(STUDENTS[1], spy, socket, python)
    assert ran.returncode == 0, ran.stderr[-3000:]
    for pid in first["pids"]:
        assert f"'{pid}': 'refused, kill refused'" in ran.stdout, ran.stdout
    assert "'work': 'refused'" in ran.stdout
    still = as_student(STUDENTS[0], "import raiden_lab\nprint(len(raiden_lab.connect().ids))", socket, python)
    assert still.stdout.strip() == "2", still

    # the teacher ends the first seat: its engines stop on every node; the second seat runs on
    ended = raiden("class", "end", STUDENTS[0])
    assert ended.code == 0 and "seat ended" in ended.out, ended.err
    assert wait_for(lambda: not node_processes(SEAT_USERS[0]), 10), node_processes(SEAT_USERS[0])
    assert node_processes(SEAT_USERS[1])
    nobody = raiden("class", "end", "nosuchstudent")
    assert nobody.code == 2 and "nosuchstudent has no seat" in nobody.err
    seats = raiden("class", "status", "--json").json()["seats"]
    assert [s["user"] for s in seats] == [STUDENTS[1]]
    # stopping the class stops every seat
    assert raiden("class", "stop").code == 0
    assert wait_for(lambda: not node_processes(SEAT_USERS[1]), 10), node_processes(SEAT_USERS[1])


FAIR = """
import json, os, time, raiden_lab
c = raiden_lab.connect()
c.wait_for_engines(2, timeout=60)
t0 = float(os.environ["T0"])
def spin(start, end):
    import time
    while time.time() < start:   # busy before the window as well: CPU-bound all along
        pass
    cpu = time.process_time()
    while time.time() < end:
        pass
    return time.process_time() - cpu
print(json.dumps(c.direct.apply(spin, t0 + 4, t0 + 12)))
"""


def test_two_busy_seats_share_the_cores_fairly(klass) -> None:
    raiden, socket, python = klass
    for student in STUDENTS:
        take(student, socket, python)  # both seats up before the clock starts
    t0 = time.time() + 3
    results: dict[str, list[float]] = {}

    def run(student: str, delay: float) -> None:
        time.sleep(max(0.0, t0 + delay - time.time()))
        ran = unixusers.run_as(
            student, FAIR, None, env={"RAIDEN_CLASS": str(socket), "T0": str(t0)}, timeout=120, python=python
        )
        assert ran.returncode == 0, ran.stderr[-2000:]
        results[student] = json.loads(ran.stdout.strip().splitlines()[-1])

    # the first seat is busy from the start; the second starts later and must still get its half
    threads = [
        threading.Thread(target=run, args=(STUDENTS[0], -2.5)),
        threading.Thread(target=run, args=(STUDENTS[1], 0)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = sum(results[STUDENTS[0]]), sum(results[STUDENTS[1]])
    print(f"fair share over 8 s: seat 1 {a:.2f} CPU s, seat 2 {b:.2f} CPU s, ratio {a / b:.3f}")
    assert b > 1.0, results  # the later seat really ran
    assert 0.8 <= a / b <= 1.25, results


def test_a_seat_code_gives_a_laptop_its_seat(klass, vpi) -> None:
    """A student off the head (here: a user not on the roster, with no RAIDEN_CLASS) attaches with a code."""
    raiden, socket, python = klass
    issued = raiden("class", "code", "carol")
    assert issued.code == 0, issued.err
    code = issued.out.strip()
    # the server key is Z85, which has ':' in its alphabet: only the first four ':' separate fields
    assert code.startswith(f"raiden-seat:{vpi.head}:") and len(code.split(":", 4)[4]) == 40
    laptop = f"""
import getpass, raiden_lab
c = raiden_lab.connect(seat={code!r})
c.wait_for_engines(2, timeout=60)
print(c.seat, sorted(set(c.direct.apply(getpass.getuser))), len(c.nodes))
"""
    ran = unixusers.run_as("nobody", laptop, None, timeout=180, python=python)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split("\n")[0] == f"1 ['{SEAT_USERS[0]}'] 2", ran.stdout
    assert [s["user"] for s in raiden("class", "status", "--json").json()["seats"]] == ["carol"]
    # a code whose token the class never issued gets a sentence, not a seat
    forged = code.split(":", 4)
    forged[3] = "not-a-token"
    bad = unixusers.run_as(
        "nobody", f"import raiden_lab\nraiden_lab.connect(seat={':'.join(forged)!r})", None, python=python
    )
    assert bad.returncode == 1 and "this seat code is not (or no longer) valid" in bad.stderr, bad.stderr[-500:]
    assert "raiden_lab.errors.RaidenError" in bad.stderr
    # students cannot mint codes
    minted = as_student(
        STUDENTS[0],
        f"from raiden_lab.classroom import ask\nprint(ask({str(socket)!r}, {{'op': 'code', 'user': 'x'}}))",
        socket,
        python,
    )
    assert "only the teacher" in minted.stdout, minted
    # a new code for carol replaces the old one; ending her seat ends the new one too
    reissued = raiden("class", "code", "carol").out.strip()
    use = "import raiden_lab\ntry:\n    raiden_lab.connect(seat={!r})\nexcept raiden_lab.RaidenError as e:\n    print(e)\n"
    old = unixusers.run_as("nobody", use.format(code), None, python=python)
    assert "this seat code is not (or no longer) valid" in old.stdout, old
    assert raiden("class", "end", "carol").code == 0
    ended = unixusers.run_as("nobody", use.format(reissued), None, python=python)
    assert "this seat code is not (or no longer) valid" in ended.stdout, ended


PLANT = """
import json, os, raiden_lab
c = raiden_lab.connect()
c.wait_for_engines(2, timeout=60)
def plant(evidence):
    import os, site, subprocess, sys
    home = os.path.expanduser("~")
    trap = "import os\\nopen(os.path.join(%r, '%s-' + str(os.getpid())), 'w').close()\\n"
    # what the next student's runner would import from the home it starts in, were it on sys.path
    with open(os.path.join(home, "json.py"), "w") as f:
        f.write(trap % (evidence, "json") + "import sys\\nsys.path = [p for p in sys.path if p not in ('', os.getcwd())]\\n"
                "del sys.modules['json']\\nimport json\\nsys.modules['json'] = json\\n")
    # what the next student's engines would run at start, from the user site
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    os.makedirs(user_site, exist_ok=True)
    with open(os.path.join(user_site, "raiden-trap.pth"), "w") as f:
        f.write("import os; open(os.path.join(%r, 'pth-' + str(os.getpid())), 'w').close()\\n" % evidence)
    # a process of its own, without the engines' marker, that outlives the seat if nothing kills it
    stray = subprocess.Popen(["sleep", "3600"], start_new_session=True, env={}).pid
    # and a key of its own, to come back as the account later
    try:
        with open(os.path.join(home, ".ssh", "authorized_keys"), "a") as f:
            f.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttackerAttackerAttackerAttackerAttackerAtt mallory\\n")
        door = "key added"
    except OSError as e:
        door = type(e).__name__
    try:
        with open(os.path.join(home, ".ssh", "rc"), "w") as f:
            f.write("touch %s/rc-$$\\n" % evidence)
        door += ", rc written"
    except OSError as e:
        door += ", " + type(e).__name__
    return {"stray": stray, "door": door}
print(json.dumps(c.direct.apply_sync(plant, os.environ["EVIDENCE"])))
"""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (a killed child its new parent has not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_a_seat_account_keeps_nothing_of_its_last_student(klass, tmp_path: Path) -> None:
    """Student 1 leaves traps in their seat's account (a module in its home, a user-site .pth, an SSH key and
    rc, a process without the engines' marker), gives the seat back, and student 2 gets the same
    account: none of it runs for student 2, and the process died with the seat."""
    raiden, socket, python = klass
    evidence = Path(tempfile.mkdtemp(prefix="raiden-evidence-", dir="/tmp"))
    evidence.chmod(0o1777)  # the seat accounts may write here; it is root's, so no reset removes it
    try:
        planted = unixusers.run_as(
            STUDENTS[0],
            PLANT,
            None,
            env={"RAIDEN_CLASS": str(socket), "EVIDENCE": str(evidence)},
            timeout=180,
            python=python,
        )
        assert planted.returncode == 0, planted.stderr[-3000:]
        traps = json.loads(planted.stdout.strip().splitlines()[-1])
        assert all(t["door"] == "PermissionError, PermissionError" for t in traps), traps  # root's door
        strays = [t["stray"] for t in traps]
        assert all(_running(pid) for pid in strays)
        before = sorted(p.name for p in evidence.iterdir())

        ended = as_student(STUDENTS[0], "import raiden_lab\nraiden_lab.connect().end()", socket, python)
        assert ended.returncode == 0, ended.stderr[-2000:]
        alive = [pid for pid in strays if _running(pid)]
        assert not alive, f"processes of seat 1's account outlived the seat: {alive}"
        assert not node_processes(SEAT_USERS[0]), node_processes(SEAT_USERS[0])

        second = take(STUDENTS[1], socket, python)
        assert second["seat"] == 1 and second["users"] == [SEAT_USERS[0]], second  # the same account, handed on
        ran = sorted(p.name for p in evidence.iterdir() if p.name not in before)
        assert ran == [], f"student 1's traps ran for student 2: {ran}"
        home = Path(pwd.getpwnam(SEAT_USERS[0]).pw_dir)
        assert not (home / "json.py").exists() and not (home / ".local").exists()
        assert "mallory" not in (home / ".ssh" / "authorized_keys").read_text()
    finally:
        shutil.rmtree(evidence, ignore_errors=True)


def test_a_seat_trusts_only_the_host_keys_the_teacher_recorded(klass, vpi) -> None:
    """A machine that answers in pi2's place (here: pi2 with a host key that is not the one recorded for it)
    gets no seat's keys: the seat does not start, and the student reads which node and why."""
    raiden, socket, python = klass
    known = raiden.home / "klass" / "known_hosts"
    pi1, pi2 = vpi.node("pi1").address, vpi.node("pi2").address
    lines = known.read_text().splitlines()
    pi1_key = next(line.split(" ", 1)[1] for line in lines if line.split()[0] == pi1)
    # pi2's line now holds pi1's key: to the seat, the real pi2 is an impostor
    known.write_text("\n".join(line if line.split()[0] != pi2 else f"{pi2} {pi1_key}" for line in lines) + "\n")
    ran = as_student(STUDENTS[0], "import raiden_lab\nraiden_lab.connect()", socket, python)
    assert ran.returncode == 1, ran.stdout
    assert f"seat 1 did not start: {pi2}: its host key differs" in ran.stderr, ran.stderr[-2000:]
    assert not node_processes(SEAT_USERS[0])  # no engine, no runner: the seat never started
    # a node the teacher never recorded is refused as well, not trusted on first use
    known.write_text("\n".join(line for line in lines if line.split()[0] != pi2) + "\n")
    ran = as_student(STUDENTS[0], "import raiden_lab\nraiden_lab.connect()", socket, python)
    assert ran.returncode == 1 and f"{pi2}: no host key is recorded for it" in ran.stderr, ran.stderr[-2000:]
    assert pi2 not in known.read_text()


HOG = """
import json, os, time, raiden_lab
c = raiden_lab.connect()
c.wait_for_engines(2, timeout=60)
pi1 = [e for e, host in zip(c.ids, c.direct.apply_sync(lambda: __import__("os").environ["RAIDEN_NODE"])) if host == os.environ["PI1"]]
def hog(mb):
    import time
    data = bytearray(mb << 20)  # every page written: resident
    time.sleep(20)
    return len(data)
def fork_bomb(n):
    import subprocess
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen(["sleep", "60"]))
        return "all %d started" % n
    except OSError as e:
        return "refused after %d: %s" % (len(procs), type(e).__name__)
    finally:
        for p in procs:
            p.kill()
            p.wait()
out = {"fork": c.client[pi1[0]].apply_sync(fork_bomb, 400)}
try:
    out["hog"] = c.client[pi1[0]].apply_sync(hog, 2 * int(os.environ["SEAT_MB"]))
except Exception as e:
    out["hog"] = type(e).__name__
c.wait_for_engines(2, timeout=90)  # restarted
out["events"] = [e["message"] for e in c.events()]
print(json.dumps(out))
"""
SHARE = """
import json, raiden_lab
c = raiden_lab.connect()
c.wait_for_engines(2, timeout=60)
print(json.dumps(c.map(lambda x: x * x, range(200))))
"""


def test_one_seat_cannot_take_a_pi_from_the_others(klass, vpi) -> None:
    """Student 1's engine on pi1 takes twice the seat's memory and starts 400 processes; student 2's map on
    the same nodes finishes with every result meanwhile; student 1 reads why their engine was restarted."""
    raiden, socket, python = klass
    take(STUDENTS[1], socket, python)
    pi1 = vpi.node("pi1").address
    results: dict[str, str] = {}

    def hogging() -> None:
        ran = unixusers.run_as(
            STUDENTS[0],
            HOG,
            None,
            env={"RAIDEN_CLASS": str(socket), "PI1": pi1, "SEAT_MB": str(SEAT_MEMORY_MB)},
            timeout=240,
            python=python,
        )
        results["hog"] = ran.stdout if ran.returncode == 0 else ran.stderr[-3000:]

    hog = threading.Thread(target=hogging)
    hog.start()
    time.sleep(15)  # student 1's seat is up and hogging by now
    shared = as_student(STUDENTS[1], SHARE, socket, python)
    hog.join()
    assert shared.returncode == 0, shared.stderr[-3000:]
    assert json.loads(shared.stdout.strip().splitlines()[-1]) == [x * x for x in range(200)]
    out = json.loads(results["hog"].strip().splitlines()[-1])
    assert out["fork"].startswith("refused after") and "BlockingIOError" in out["fork"], out
    assert out["hog"] in ("EngineError", "RemoteError"), out
    told = [m for m in out["events"] if m.startswith("engine ") and f" on {pi1} used " in m]
    assert told, out["events"]
    assert re.fullmatch(
        rf"engine \d+ on {re.escape(pi1)} used \d+ MB of this seat's {SEAT_MEMORY_MB} MB and was restarted", told[0]
    )
