"""The metrics agent inside a Slurm job: one per node of the job, samples into a shared file.

Over SSH the agent's samples come back on its stdout; a Slurm job has no such
channel to the head, so this runs the same agent (``agent.py``) with its output
in ``WORK_DIR/HOST/agent.jsonl`` on the shared file system, where the head
follows it. It also finds this node's engines (they carry the job's marker in
their environment) and tells the agent their pids, as the head does over SSH.

Usage (from the job's batch script, one task per node):
``python -m raiden_lab.node.jobagent PLAN`` with the plan of ``jobengine.encode_plan``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil

from .jobengine import decode_plan, host_of

SCAN_S = 2.0


def engine_pids(marker: str) -> dict[str, int]:
    """This user's processes whose environment carries ``marker``: the node's engines, by engine id."""
    found: dict[str, int] = {}
    me = os.getuid()
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] is None or proc.info["uids"].real != me:
                continue
            env = proc.environ()
        except psutil.Error:
            continue
        if env.get("RAIDEN_ENGINE_SET") == marker and "RAIDEN_ENGINE_ID" in env:
            found[env["RAIDEN_ENGINE_ID"]] = proc.pid
    return found


def main() -> None:
    plan = decode_plan(sys.argv[1])
    host = host_of(plan)
    work_dir = os.path.join(plan["each_host"]["work_dir"], host)
    os.makedirs(work_dir, mode=0o700, exist_ok=True)
    marker = f"{plan['each_host']['marker']}@{host}"
    with open(os.path.join(work_dir, "agent.jsonl"), "wb") as out:
        agent = subprocess.Popen(
            [sys.executable, "-m", "raiden_lab.node.agent", "--work-dir", work_dir], stdin=subprocess.PIPE, stdout=out
        )
    signal.signal(signal.SIGTERM, lambda *_: agent.terminate())
    told: dict[str, int] = {}
    assert agent.stdin is not None
    while agent.poll() is None:
        pids = engine_pids(marker)
        if pids != told:
            told = pids
            try:
                agent.stdin.write(json.dumps({"engines": pids}).encode() + b"\n")
                agent.stdin.flush()
            except OSError:
                break
        time.sleep(SCAN_S)
    agent.wait()


if __name__ == "__main__":
    main()
