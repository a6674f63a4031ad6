""" "From a box of Pis", as docs/pis.md walks it, on an emulated Pi fresh from its image.

The page's worked example (its blocks marked ``journey: box-of-pis``) runs as written, at a
terminal, in an empty folder: ``raiden add`` with the Pi's password and its host key confirmed at
the prompts, ``raiden up``, then the page's notebook cells computing on the Pi. The Pi is Debian
bookworm (Python 3.11, Raspberry Pi OS until 2025) and trixie (Python 3.13, today's): a head whose
Python is another minor is told so at ``raiden add``'s second step, with nothing written; then the page
runs again on a head made as Requirements says (a Debian trixie head, its environment made with its
own Python 3.13 and the clone installed into it).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import armpi
import headroot
import journeys
import pytest

import vcluster
from conftest import _make_raiden, need

PAGE = Path(__file__).resolve().parent.parent / "docs" / "pis.md"
HEAD_MINOR = ".".join(platform.python_version_tuple()[:2])
PI_MINOR = {"bookworm": "3.11", "trixie": "3.13"}


@pytest.fixture(scope="module", params=armpi.SUITES)
def box(request, tmp_path_factory):
    """One emulated Pi 4 fresh from a Debian ``request.param`` image: user pi, a password, nothing from pip."""
    need(vcluster.missing_requirements() or armpi.missing_requirements())
    base = tmp_path_factory.mktemp(f"box-{request.param}")
    number = 80 + armpi.SUITES.index(request.param)
    cluster = vcluster.build(base, ["pi1"], subnet=vcluster.subnet(number), arm={"pi1": request.param})
    cluster.suite = request.param
    try:
        yield cluster
    finally:
        vcluster.teardown(cluster)


def _the_pis_own_fingerprint(pi) -> str:
    said = subprocess.run(
        ["ssh-keygen", "-lf", str(pi.path("/etc/ssh/ssh_host_ed25519_key.pub"))], capture_output=True, text=True
    )
    return said.stdout.split()[1]


def test_a_box_of_pis_as_the_page_walks_it(box, tmp_path) -> None:
    (pi,) = box.pis
    said = subprocess.run(["chroot", str(pi.root), "python3", "-c", "import sys; print(sys.version[:4])"],
                          capture_output=True, text=True)  # fmt: skip
    assert said.stdout.strip() == PI_MINOR[box.suite], said
    steps = journeys.journey(PAGE, "box-of-pis")
    assert [s.text for s in steps if s.kind == "command"] == ["raiden add 10.0.0.11 --wheelhouse wheels", "raiden up"]
    raiden = _make_raiden(tmp_path)
    # an emulated Pi starts its engines many times slower than a Pi 4 (qemu-user; in a full run beside test_pi's
    # emulated Pi, on two cores): the page's `raiden up` as written, given the wait a slow board is given
    slow_board = {"RAIDEN_UP_TIMEOUT": "600"}
    env = dict(raiden.env, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", **slow_board)
    cores = len(os.sched_getaffinity(0))  # an emulated Pi has the head's cores, a Pi 4 has 4
    glibc = {"bookworm": "2.36", "trixie": "2.41"}[box.suite]
    replace = {
        "Python 3.11": f"Python {PI_MINOR[box.suite]}",
        "glibc 2.36": f"glibc {glibc}",
        "10.0.0.11: 4)": f"{pi.address}: {cores})",
        "4 engines": f"{cores} engines",
        "10.0.0.11": pi.address,
        "10.0.0.1": box.head,
    }
    answers = {"[y/N] ": "y", "(asked once, not kept): ": armpi.PASSWORD}
    if PI_MINOR[box.suite] != HEAD_MINOR:
        # the head's Python is not the Pi's: `raiden add` says so once the key is in, and writes nothing
        with pytest.raises(AssertionError) as refused:
            journeys.run(steps[:1], raiden.cwd, env, replace, answers, timeout=600)
        told = str(refused.value)
        pi_minor = PI_MINOR[box.suite]
        assert (
            f"raiden: {pi.address}: Python {pi_minor} there, {HEAD_MINOR} on the head, and pickled code runs only on "
            f"the same minor version: make the head's environment with Python {pi_minor} (`python{pi_minor} -m venv "
            f".venv`, or a Pi as the head), or install Python {HEAD_MINOR} on {pi.address} and give its path with "
            "--python; see Requirements"
        ) in told, told
        assert "exited 1" in told and "Traceback" not in told
        assert f'host = "{pi.address}"' not in (raiden.cwd / "raiden.toml").read_text()  # no node written
        # what Requirements says to do: a head whose environment is made with the Pis' Python (a trixie head)
        need(headroot.missing_requirements())
        head, mounts = headroot.start(tmp_path, box.suite)
        try:
            (head.root / "work").mkdir()
            env = dict(head.env("/work/raiden-home"), **slow_board)

            def shell(line: str) -> list[str]:
                return head.argv(line, "/work")

            try:
                timed = journeys.run(steps, head.root / "work", env, replace, answers, timeout=900, shell=shell)
            finally:
                subprocess.run(shell("raiden down"), env=env, capture_output=True, timeout=300)
        finally:
            headroot.stop(head, mounts)
    else:
        try:
            timed = journeys.run(steps, raiden.cwd, env, replace, answers, timeout=900)
        finally:
            subprocess.run([sys.executable, "-m", "raiden_lab", "down"], cwd=raiden.cwd, env=env, capture_output=True,
                           timeout=300)  # fmt: skip
    shown = "\n".join(line for _, _, lines in timed for line in lines)
    # the fingerprint shown at the prompt is the one the Pi's owner reads on the Pi's own screen
    assert re.search(rf"its host key is ED25519 {re.escape(_the_pis_own_fingerprint(pi))}$", shown, re.M), shown
    total = sum(seconds for _, seconds, _ in timed)
    print(f"box of Pis ({box.suite}): fresh Pi to engines computing in {total:.0f} s "
          + ", ".join(f"{s.where} {seconds:.0f} s" for s, seconds, _ in timed))  # fmt: skip
