"""The preflight's sentences: each names the node, what differs, and the fix."""

from __future__ import annotations

import platform
import sys

from raiden_lab.config.inventory import Node
from raiden_lab.operations import doctor
from raiden_lab.transport.ssh import remote_command


def _report(**found) -> doctor.NodeReport:
    head = doctor.head_versions()
    report = doctor.NodeReport(host="pi3", python=platform.python_version(), packages=dict(head), clock_skew=0.01)
    for key, value in found.items():
        setattr(report, key, value)
    doctor.judge(report, {"work_dir_error": None}, Node(host="pi3"))
    return report


def test_a_node_like_the_head_passes() -> None:
    report = _report()
    assert report.ok and report.problems == [] and report.warnings == []


def test_package_version_mismatch_names_both_versions_and_the_fix() -> None:
    head = doctor.head_versions()["ipyparallel"]
    report = _report(packages=dict(doctor.head_versions(), ipyparallel="8.8.0"))
    assert not report.ok
    assert report.problems == [f"pi3: ipyparallel 8.8.0 there, {head} on the head; install {head} on pi3"]


def test_python_minor_mismatch() -> None:
    major, minor, _ = platform.python_version_tuple()
    report = _report(python=f"{major}.{int(minor) - 1}.2")
    assert report.problems == [
        f"pi3: Python {major}.{int(minor) - 1} there, {major}.{minor} on the head; give pi3 a Python "
        f"{major}.{minor} ('python' in the inventory), or make the head's environment with Python "
        f"{major}.{int(minor) - 1} (`python{major}.{int(minor) - 1} -m venv .venv`)"
    ]


def test_clock_skew_past_a_second_is_a_warning_not_a_failure() -> None:
    report = _report(clock_skew=-2.5)
    assert report.ok
    assert report.warnings == ["pi3: clock is -2.5 s off the head's; enable NTP (timesyncd) on pi3"]


def test_table_lists_every_node_and_its_problems() -> None:
    good = _report()
    bad = _report(packages=dict(doctor.head_versions(), pyzmq=None))
    bad.host = "pi4"
    text = doctor.format_table([good, bad])
    assert text.splitlines()[0].split()[:3] == ["HOST", "OK", "PYTHON"]
    assert "pi4" in text and "problem: pi3: pyzmq is not installed there" in text


def test_remote_commands_are_quoted_for_the_shell() -> None:
    assert (
        remote_command(["/opt/my py/bin/python", "-c", "print('$HOME')"])
        == "'/opt/my py/bin/python' -c 'print('\"'\"'$HOME'\"'\"')'"
    )
    assert remote_command(["~/venv/bin/python", "-"]) == '"$HOME"/venv/bin/python -'
    assert remote_command(["~/x;rm -rf /"]) == "\"$HOME\"/'x;rm -rf /'"


def test_a_node_whose_python_is_slow_to_end_is_not_said_to_be_off_the_heads_clock(raiden) -> None:
    """The head's own clock, read through a Python that takes 2 s to end (a loaded Pi: the interpreter's exit,
    SSH closing): the preflight once put those seconds down to the node's clock and told the user to enable NTP."""
    slow = raiden.cwd / "slow-python"
    slow.write_text(f'#!/bin/sh\n{sys.executable} "$@"\nended=$?\nsleep 2\nexit $ended\n')
    slow.chmod(0o755)
    inventory = raiden.cwd / "raiden.toml"
    inventory.write_text(
        f'[cluster]\nname = "slow"\ncontroller_ip = "127.0.0.1"\n\n[[nodes]]\nhost = "localhost"\npython = "{slow}"\n'
    )
    ran = raiden("doctor", "--json")
    assert ran.code == 0, ran
    (node,) = ran.json()["nodes"]
    assert node["ok"] and abs(node["clock_skew"]) < 0.5, node
    assert not [w for w in node["warnings"] if "clock" in w], node["warnings"]
