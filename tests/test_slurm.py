"""launcher = "slurm": engines arrive through sbatch on a real (one-machine) Slurm cluster.

munged, slurmctld and slurmd are started by the test with a config of its own;
`raiden` talks to them as it would on a university's login node.
"""

from __future__ import annotations

import json

import psutil
import pytest

import slurmcluster
from conftest import _make_raiden, dashboard_html, need, wait_for


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    need(slurmcluster.missing_requirements())
    cluster = slurmcluster.start(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        slurmcluster.stop(cluster)


def _raiden(slurm, tmp_path_factory, name: str, slurm_table: str):
    raiden = _make_raiden(tmp_path_factory.mktemp(name))
    raiden.env.update(slurm.env)
    inventory = raiden.cwd / "raiden.toml"
    inventory.write_text(
        f'[cluster]\nname = "{name}"\nlauncher = "slurm"\ncontroller_ip = "127.0.0.1"\n\n[slurm]\n{slurm_table}\n'
    )
    return raiden, inventory


def _engine_processes(home) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or ())
        if "ipyparallel.engine" in line and str(home) in line:
            found.append(proc.pid)
    return found


def test_engines_arrive_through_sbatch_and_down_cancels(slurm, tmp_path_factory):
    raiden, inventory = _raiden(
        slurm,
        tmp_path_factory,
        "hpc",
        f'partition = "{slurm.partition}"\nengines = 3\ntime_limit = "30"\nsbatch_options = ["--mem-per-cpu=100M"]',
    )
    doctor = raiden("doctor", "-i", str(inventory), "--json")
    assert doctor.code == 0, doctor.err
    assert [(n["host"], n["ok"]) for n in doctor.json()["nodes"]] == [(slurm.node, True)]

    ran = raiden("up", "-i", str(inventory), "--timeout", "120")
    assert ran.code == 0, ran.err + ran.out
    try:
        assert f"3 engines on 1 node ({slurm.node}: 3)" in ran.out
        status = raiden("status", "-i", str(inventory), "--json").json()
        assert status["launcher"] == "slurm"
        assert status["controller"]["encrypted"] is True  # Slurm's nodes are other machines: CurveZMQ by default
        [job] = status["jobs"]
        assert job["state"] == "RUNNING" and job["id"].isdigit()
        assert slurm.jobs() == [job["id"]]
        [node] = status["nodes"]
        assert node["host"] == slurm.node and node["state"] == "up"
        assert sorted(e["id"] for e in node["engines"]) == [0, 1, 2]
        assert all(e["state"] == "idle" and e["pid"] for e in node["engines"])
        assert f"Slurm job {job['id']}: RUNNING · {slurm.node}" in raiden("status", "-i", str(inventory)).out
        board = dashboard_html(raiden, inventory)
        assert f"<span class='raiden-job'>Slurm job {job['id']}: RUNNING · {slurm.node}</span>" in board
        assert f"<b>{slurm.node}</b>" in board

        # the engines run code, each knows the node Slurm put it on
        work = raiden.python(
            "import raiden_lab, json\n"
            f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
            "where = c.direct.apply_sync(lambda: __import__('os').environ['RAIDEN_NODE'])\n"
            "print(json.dumps({'squares': c.map(lambda x: x * x, range(10)), 'where': where}))\n"
        )
        assert work.code == 0, work.err
        result = json.loads(work.out.strip().splitlines()[-1])
        assert result["squares"] == [x * x for x in range(10)]
        assert result["where"] == [slurm.node] * 3

        # the job's own agent reports the node (and its engines) through the shared file system
        def sampled():
            n = raiden("status", "-i", str(inventory), "--json").json()["nodes"][0]
            return n["sample"] if n["sample"] and len(n["sample"].get("engines", {})) == 3 else None

        sample = wait_for(sampled, 30)
        assert sample is not None and sample["memory"]["total"] > 0
        kinds = [e["kind"] for e in raiden("events", "-i", str(inventory), "--json").json()["events"]]
        assert "job-submitted" in kinds and "node-joined" in kinds
    finally:
        down = raiden("down", "-i", str(inventory))
    assert down.code == 0, down.err
    assert slurm.jobs() == [], "`raiden down` left the job in squeue"
    assert wait_for(lambda: not _engine_processes(raiden.home), 20), "engines outlived scancel"


def test_a_job_slurm_ends_is_shown_as_ended(slurm, tmp_path_factory):
    raiden, inventory = _raiden(slurm, tmp_path_factory, "hpc-ended", "engines = 2")
    ran = raiden("up", "-i", str(inventory), "--timeout", "120")
    assert ran.code == 0, ran.err + ran.out
    try:
        job = raiden("status", "-i", str(inventory), "--json").json()["jobs"][0]
        slurm.run("scancel", job["id"])  # the admins, or the time limit, end the job

        def ended():
            s = raiden("status", "-i", str(inventory), "--json").json()
            done = (
                s["jobs"][0]["state"] == "CANCELLED" and s["nodes"][0]["state"] == "down" and s["state"] == "degraded"
            )
            return s if done else None

        status = wait_for(ended, 30)
        assert status is not None, raiden("status", "-i", str(inventory)).out
        assert status["engines"]["alive"] == 0
        assert f"Slurm ended job {job['id']} (CANCELLED" in status["nodes"][0]["problem"]
        text = raiden("status", "-i", str(inventory))
        assert text.code == 1 and f"Slurm job {job['id']}: CANCELLED" in text.out
    finally:
        down = raiden("down", "-i", str(inventory))
    assert down.code == 0, down.err
    assert slurm.jobs() == []


def test_slurm_mistakes_are_named(slurm, tmp_path_factory):
    raiden, inventory = _raiden(slurm, tmp_path_factory, "hpc-bad", 'partition = "gpu-huge"\nengines = 2')
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 1 and "Traceback" not in ran.err
    assert f"{inventory}:7: partition 'gpu-huge' has no nodes; check the name with `sinfo`" in ran.err
    assert slurm.jobs() == []
    # what only sbatch can judge: its refusal, in its own words, and nothing left queued
    inventory.write_text(
        '[cluster]\nname = "hpc-bad"\nlauncher = "slurm"\ncontroller_ip = "127.0.0.1"\n\n'
        '[slurm]\nengines = 2\nsbatch_options = ["--mem-per-cpu=900G"]\n'
    )
    ran = raiden("up", "-i", str(inventory), "--timeout", "60")
    assert ran.code == 1 and "Traceback" not in ran.err
    assert "raiden: Slurm job (refused) is FAILED: Memory specification can not be satisfied" in ran.err
    assert slurm.jobs() == []
    assert raiden("down", "-i", str(inventory)).code == 0
    inventory.write_text(
        '[cluster]\nname = "x"\nlauncher = "slurm"\ncontroller_ip = "127.0.0.1"\n\n[[nodes]]\nhost = "pi1"\n'
    )
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 2
    assert ran.err.strip() == (
        f'{inventory}:6: launcher = "slurm": Slurm decides which nodes the engines land '
        "on; remove the [[nodes]] tables and set [slurm] engines (and partition) instead"
    )
    inventory.write_text(
        '[cluster]\nname = "x"\nlauncher = "slurm"\ncontroller_ip = "127.0.0.1"\n\n[slurm]\ntime_limit = "soon"\n'
    )
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 2
    assert ran.err.strip().startswith(f"{inventory}:7: time_limit 'soon' is not a Slurm time")


def test_down_cancels_the_job_of_a_supervisor_that_was_killed(slurm, tmp_path_factory):
    import os
    import signal

    raiden, inventory = _raiden(
        slurm, tmp_path_factory, "orphan", f'partition = "{slurm.partition}"\nengines = 2\ntime_limit = "30"'
    )
    ran = raiden("up", "-i", str(inventory), "--timeout", "120")
    assert ran.code == 0, ran.err + ran.out
    status = json.loads(raiden("status", "-i", str(inventory), "--json").out)
    (job,) = status["jobs"]
    os.kill(status["supervisor_pid"], signal.SIGKILL)  # the OOM killer, or a `kill -9`
    assert job["id"] in slurm.jobs()  # nothing cancels the job by itself
    ran = raiden("down", "-i", str(inventory))
    assert ran.code == 0, ran
    assert f"cancelled Slurm job {job['id']}, left running by a supervisor that was killed" in ran.out
    assert wait_for(lambda: job["id"] not in slurm.jobs(), 30), "the orphaned job is still queued"
    assert wait_for(lambda: not _engine_processes(raiden.home), 20), "engines outlived scancel"


def test_sbatch_that_does_not_answer_is_given_up(monkeypatch):
    import subprocess
    import time

    from raiden_lab.launchers import slurm as launcher

    monkeypatch.setattr(launcher, "SBATCH_TIMEOUT_S", 0.5)
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):  # what _submit turns into the job's one-sentence failure
        launcher._Launcher()._run_command(["sleep", "30"])
    assert time.monotonic() - start < 10
