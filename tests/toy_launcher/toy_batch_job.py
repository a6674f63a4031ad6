"""A batch system in miniature: run N copies of a command, each told its rank in ``TOY_RANK``, as one job.

``python toy_batch_job.py N COMMAND...``: the job ends when every task has; SIGTERM to the job ends
every task (as ``scancel`` does), SIGKILL of a task ends only that task.
"""

import os
import signal
import subprocess
import sys

count, command = int(sys.argv[1]), sys.argv[2:]
tasks = [subprocess.Popen(command, env={**os.environ, "TOY_RANK": str(rank)}) for rank in range(count)]


def cancel(*_: object) -> None:
    for task in tasks:
        if task.poll() is None:
            task.terminate()


signal.signal(signal.SIGTERM, cancel)
codes = [task.wait() for task in tasks]
sys.exit(next((c for c in codes if c), 0))
