"""The preflight's sentences: each names the node, what differs, and the fix."""

from __future__ import annotations

import platform

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
