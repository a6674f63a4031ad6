""" "Running a class", as docs/class.md walks it: a teacher and two students, real Unix users, the hub.

The page's worked example (its blocks marked ``journey: class``) runs as written on the virtual Pi
cluster: the teacher (a Unix user, at a terminal of her own) saves the roster, adds the ``[class]``
table to the inventory that ``raiden add`` wrote, runs ``raiden doctor``; root starts the class's
JupyterHub from an environment every account can run (the page's ``/opt/raiden``: the shared test
environment) and leaves it running; the teacher starts the class; each student logs in at the hub
with their password and runs the page's cells in a kernel of the JupyterLab the hub started as them
(over HTTPS and the kernel's WebSocket, as a browser does; test_hub clicks through the same in
Chromium); the teacher reads the seats and the grid and stops the class.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import hubclient
import journeys
import pytest
import sharedenv

import unixusers
from conftest import need

pytestmark = pytest.mark.vcluster

PAGE = Path(__file__).resolve().parent.parent / "docs" / "class.md"
TEACHER = "raidenjt"
STUDENTS = ("raidenjs1", "raidenjs2")
SEATS = ("raidenjseat1", "raidenjseat2")
PASSWORD = secrets.token_urlsafe(12)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as(user: str):
    entry = pwd.getpwnam(user)

    def shell(line: str) -> list[str]:
        return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "bash", "-c", line]

    return shell


def test_a_class_runs_as_the_page_shows_it(vpi, tmp_path: Path) -> None:
    need(unixusers.missing_requirements())
    if shutil.which("npm") is None:
        need("the class journey needs npm (configurable-http-proxy)")
    steps = journeys.journey(PAGE, "class")
    assert {s.role for s in steps} == {None, "teacher", "student"}, steps
    python, proxy = sharedenv.shared_python(), sharedenv.proxy()
    bin_dir = str(Path(python).parent)
    port = _free_port()
    root_home = tmp_path / "root-raiden-home"
    with unixusers.unix_users(TEACHER, *STUDENTS, login=True), unixusers.unix_users(*SEATS, login=True):
        with unixusers.passwd_lock():
            subprocess.run(["chpasswd"], input="".join(f"{u}:{PASSWORD}\n" for u in (TEACHER, *STUDENTS)),
                           text=True, check=True)  # fmt: skip
        for seat in SEATS:  # "the seat accounts with the head's key", as the guide's Before class makes them
            unixusers.authorize(seat, Path(f"{vpi.identity}.pub").read_text())
        home = Path(pwd.getpwnam(TEACHER).pw_dir)
        # what `raiden add` wrote in the teacher's folder (the box-of-Pis journey runs `raiden add` itself):
        # the virtual Pis' nodes, reached as root with a key of the teacher's, the environment they share
        ssh = home / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        shutil.copy(vpi.identity, ssh / "raiden_id")
        lines = ["[cluster]", 'name = "raiden"', f'controller_ip = "{vpi.head}"', 'identity_file = "~/.ssh/raiden_id"',
                 f'python = "{python}"']  # fmt: skip
        for name in ("pi1", "pi2"):
            node = vpi.node(name)
            lines += ["", "[[nodes]]", f'host = "{node.address}"', 'user = "root"', f'work_dir = "{node.work_dir}-jc"']
        (home / "raiden.toml").write_text("\n".join(lines) + "\n")
        for path in (ssh, ssh / "raiden_id", home / "raiden.toml"):
            shutil.chown(path, TEACHER, TEACHER)
        (ssh / "raiden_id").chmod(0o600)

        teacher_env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "USER": TEACHER, "LANG": "C.UTF-8"}
        root_env = dict(os.environ, PATH=f"{Path(proxy).parent}:{bin_dir}:/usr/bin:/bin", RAIDEN_HOME=str(root_home))
        base = f"https://127.0.0.1:{port}"
        cert = str(root_home / "raiden" / "hub" / "hub.crt")  # made by the hub at its start; the students trust it only
        people = {
            "teacher": [(_as(TEACHER), teacher_env)],
            "student": [(hubclient.HubStudent(base, s, PASSWORD, cert), {}) for s in STUDENTS],
        }
        replace = {
            "sudo /opt/raiden/bin/": f"{bin_dir}/",  # the test runs as root; the shared environment is /opt/raiden
            "class hub --self-signed": f"class hub --port {port} --self-signed",
            "0.0.0.0:8000": f"0.0.0.0:{port}",
            "10200-10599": "10700-10799",
            "10.0.0.11": vpi.node("pi1").address,
            "4/4": "2/2",  # four Pis on the page, two virtual ones here
            "raiden-seat": "raidenjseat",
            "alice": TEACHER,
            "bob": STUDENTS[0],
            "carol": STUDENTS[1],
        }
        try:
            timed = journeys.run(steps, home, root_env, replace, timeout=600, people=people)
        finally:
            subprocess.run(_as(TEACHER)("raiden class stop"), cwd=home, env=teacher_env, capture_output=True,
                           timeout=180)  # fmt: skip
    by_role: dict[str | None, str] = {}
    for step, _, shown in timed:
        by_role[step.role] = by_role.get(step.role, "") + "\n".join(shown) + "\n"
    # each student computed on a seat of their own, on both Pis, run by their seat's account
    for n, (student, seat) in enumerate(zip(STUDENTS, SEATS, strict=True), start=1):
        assert f"{student} has seat {n} with 2 engines, run by {{'{seat}'}}" in by_role["student"], by_role["student"]
    assert len(re.findall(r"pi is about 3\.1", by_role["student"])) == 2, by_role["student"]
    total = sum(seconds for _, seconds, _ in timed)
    print(f"running a class: hub to two students computing and the teacher's grid in {total:.0f} s: "
          + ", ".join(f"{s.where} {seconds:.0f} s" for s, seconds, _ in timed))  # fmt: skip
