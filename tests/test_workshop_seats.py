"""Every lesson as a student runs it in a class: a real Unix user whose kernel has ``RAIDEN_CLASS`` set (as the
class's JupyterHub sets it), in a seat of their own on the virtual Pi cluster.

The lesson's ``%raiden up`` takes the seat; ``%raiden status`` and ``events`` show the seat, ``%raiden restart``
(04) goes through the class, ``kill_engine`` (07) kills an engine of the seat; two students running the same
lesson at once each keep their own names on their own engines.
"""

from __future__ import annotations

import json
import pwd
import re
import shutil
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest
import sharedenv

import unixusers
from conftest import Raiden, need
from lessons import OUTPUT, assert_lesson_taught, cell_text, lesson_file, record_time
from raiden_lab import workshop

pytestmark = pytest.mark.vcluster

STUDENTS = ("raidenls1", "raidenls2")
SEAT_USERS = ("raidenlseat1", "raidenlseat2")
PORTS = (10700, 10799)
LESSONS = [x.file for x in workshop.catalog()]

RUN = """
import json, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read({src!r}, as_version=4)
start = time.perf_counter()
try:
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={{"metadata": {{"path": {folder!r}}}}}).execute()
finally:
    nbformat.write(nb, {out!r})
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""


@pytest.fixture(scope="module")
def seats(vpi, tmp_path_factory):
    """A class on pi1-pi3 (root its teacher, as in test_seats): two students, two seat accounts."""
    need(unixusers.missing_requirements())
    python = sharedenv.shared_python()
    base = tmp_path_factory.mktemp("lesson-seats")
    raiden = Raiden(base / "raiden-home", base / "work")
    raiden.cwd.mkdir()
    nodes = [vpi.node(n) for n in ("pi1", "pi2", "pi3")]
    lines = [
        "[cluster]",
        'name = "lessons"',
        f'controller_ip = "{vpi.head}"',
        'user = "root"',
        f'identity_file = "{vpi.identity}"',
        f'python = "{python}"',
        'memory_per_engine = "400M"',  # lesson 07 shows an engine killed for memory, and the fix
        "",
        "[class]",
        "seats = 2",
        'seat_user = "raidenlseat{n}"',
        f'ports = "{PORTS[0]}-{PORTS[1]}"',
    ]
    for node in nodes:
        lines += ["", "[[nodes]]", f'host = "{node.address}"', f'work_dir = "{node.work_dir}-lessons"']
    (raiden.cwd / "raiden.toml").write_text("\n".join(lines) + "\n")
    socket_dir = Path("/tmp") / f"raiden-lessons-{base.name[-12:]}"
    with unixusers.unix_users(*STUDENTS, login=True), unixusers.unix_users(*SEAT_USERS, login=True):
        for seat in SEAT_USERS:
            unixusers.authorize(seat, Path(f"{vpi.identity}.pub").read_text())
        roster = raiden.cwd / "students.txt"
        roster.write_text("\n".join(STUDENTS) + "\n")
        raiden("doctor")  # the teacher's doctor records the nodes' host keys, which seats trust
        try:
            started = raiden("class", "start", "--users", str(roster), "--socket", str(socket_dir / "class.sock"))
            assert started.code == 0, started.err
            yield raiden, socket_dir / "class.sock", python, [n.address for n in nodes]
        finally:
            raiden("class", "stop")
            subprocess.run(["rm", "-rf", str(socket_dir)])


def run_in_seat(student: str, name: str, socket: Path, python: str) -> tuple[nbformat.NotebookNode, float]:
    """The lesson, solutions loaded as a learner who asked for each, run by a kernel of the student's own."""
    nb = nbformat.read(lesson_file(name), as_version=4)
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            cell.source = workshop.solution(cell.source.split()[-1])
    home = Path(pwd.getpwnam(student).pw_dir)
    folder = home / "workshop" / name.removesuffix(".ipynb")
    folder.mkdir(parents=True, exist_ok=True)
    src, out = folder / name, folder / f"ran-{name}"
    nbformat.write(nb, src)
    for path in (home / "workshop", folder, src):
        shutil.chown(path, student, student)
    ran = unixusers.run_as(
        student,
        RUN.format(src=str(src), out=str(out), folder=str(folder)),
        None,
        env={"RAIDEN_CLASS": str(socket), "HOME": str(home)},
        timeout=600,
        python=python,
    )
    done = nbformat.read(out, as_version=4) if out.exists() else None
    assert ran.returncode == 0, (ran.stderr[-3000:], done and "".join(cell_text(c) for c in done.cells)[-3000:])
    return done, json.loads(ran.stdout.strip().splitlines()[-1])["seconds"]


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_runs_in_a_students_seat(seats, name: str) -> None:
    raiden, socket, python, addresses = seats
    nb, seconds = run_in_seat(STUDENTS[0], name, socket, python)
    assert_lesson_taught(name, nb)
    record_time(name, seconds, "a student's seat on the virtual Pi cluster, 3 nodes x 1 engine")
    (OUTPUT / "seat-lessons").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, OUTPUT / "seat-lessons" / name)  # as it ran in the seat, to read after the run
    text = "".join(cell_text(c) for c in nb.cells)
    # %raiden up took the seat: engines of the student's own, run by their seat account on the Pis
    assert re.search(r"your seat \d in the class \(lessons-seat\d\): 3 engines of your own on ", text), text[:2000]
    taken = {s["user"]: s["engines"]["alive"] for s in raiden("class", "status", "--json").json()["seats"]}
    assert taken.get(STUDENTS[0]) == 3, taken  # the teacher sees the student's seat, its engines alive
    if name == "00-tour.ipynb":
        assert "✔ 00.per_node: right: 3 node(s), 3 engines in all." in text, text
        for address in addresses:
            assert f"{address}  pid" in text  # each engine reported its own node
        assert "cluster 'lessons-seat" in text and "engines 3/3 alive" in text, text  # %raiden status: the seat
        # the dashboard drew the seat, as the class tells it (the seat's store is the teacher's)
        widgets = json.dumps(nb.metadata.get("widgets", {}))
        assert "engines <span class='raiden-engines'>3/3</span> alive" in widgets, widgets[:3000]
        assert "cannot read its state" not in widgets
    if name == "01-px.ipynb":  # what a message costs, between two Pis: the engines talk directly
        assert re.search(r"engine to engine \(two nodes\): latency [\d.]+ ms", text), text
    if name == "04-numba.ipynb":  # the restart went through the class, and the engines came back
        assert "✔ 04.warmup: right: compiled on 3 engines" in text, text
    if name == "06-heat-equation.ipynb":
        assert "in a class seat" in text, text  # the MPI part is the teacher's, not a cluster on the head
    if name == "07-fault-tolerance.ipynb":
        killed = re.findall(r"'node': '([\d.]+)'", text)
        assert killed and set(killed) <= set(addresses), text  # the seat's own engines, on the Pis
        assert re.search(r"✔ 07\.results: right: .* although engine \d+ died during this map", text), text
        assert "engine-restarted" in text  # %raiden events: the seat's events, through the class
        # memory: the item that held too much cost its engine (twice: the map sent it again), then the fix
        assert re.search(r"event: engine \d+ on [\d.]+ used \d+ MB of its 400 MB \(memory_per_engine\)", text), text
        assert re.search(r"in \d+ pieces of \d+ MB: \d+ results, no engine lost", text), text


def test_two_students_run_the_same_lesson_at_once_and_keep_their_own_names(seats) -> None:
    """Lesson 01 sets `my_id`, `shopping` and `total` on the engines: in seats, nobody overwrites anybody."""
    raiden, socket, python, _ = seats
    ran: dict[str, tuple] = {}

    def run(student: str) -> None:
        ran[student] = run_in_seat(student, "01-px.ipynb", socket, python)

    threads = [threading.Thread(target=run, args=(s,)) for s in STUDENTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(700)
    assert set(ran) == set(STUDENTS), ran.keys()
    for student in STUDENTS:
        nb, seconds = ran[student]
        assert_lesson_taught("01-px.ipynb", nb)  # 01.totals passes only when the engines hold their own totals
        text = "".join(cell_text(c) for c in nb.cells)
        assert "each engine's list: [['bread', 'milk'], ['bread', 'milk'], ['bread', 'milk']]" in text, text
    seats_now = {s["user"]: s["seat"] for s in raiden("class", "status", "--json").json()["seats"]}
    assert set(seats_now) >= set(STUDENTS) and len(set(seats_now.values())) == len(seats_now), seats_now
