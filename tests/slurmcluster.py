"""A one-machine Slurm cluster for the tests: munged, slurmctld and slurmd with a config of our own.

Everything lives in one folder (config, spool, state, logs, munge's key and
socket) with ports of our own, so it never touches a Slurm the machine may
already run. As root only: slurmd starts jobs as their owner.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")


def missing_requirements() -> str | None:
    if os.geteuid() != 0:
        return "the test Slurm cluster needs root (slurmd runs jobs as their owner)"
    for path in DAEMONS:
        if not os.path.exists(path):
            return f"the test Slurm cluster needs {path} (Debian: slurmctld, slurmd, munge)"
    for tool in ("sbatch", "squeue", "scancel", "sinfo", "scontrol"):
        if shutil.which(tool) is None:
            return f"the test Slurm cluster needs '{tool}' (Debian: slurm-client)"
    return None


@dataclass
class SlurmCluster:
    base: Path
    conf: Path
    node: str
    partition: str = "raiden"

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *argv: str) -> str:
        return subprocess.run(argv, env=dict(os.environ, **self.env), capture_output=True, text=True, timeout=30).stdout

    def jobs(self) -> list[str]:
        """Job ids squeue still lists, whatever their state."""
        return self.run("squeue", "-h", "-o", "%i").split()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(base: Path) -> SlurmCluster:
    """Start munged, slurmctld and slurmd; the caller must call ``stop`` (even on failure)."""
    for sub in ("munge", "state", "spool", "log"):
        (base / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    key = base / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    node = socket.gethostname()
    conf = base / "slurm.conf"
    cluster = SlurmCluster(base=base, conf=conf, node=node)
    conf.write_text(f"""\
ClusterName=raidentest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={base}/munge/socket
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
NodeName={node} NodeAddr=127.0.0.1 CPUs=8 RealMemory=4000 State=UNKNOWN
PartitionName={cluster.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    env = dict(os.environ, SLURM_CONF=str(conf))
    try:
        subprocess.run(
            [
                "/usr/sbin/munged",
                "--force",
                f"--socket={base}/munge/socket",
                f"--key-file={key}",
                f"--log-file={base}/munge/log",
                f"--pid-file={base}/munge/pid",
                f"--seed-file={base}/munge/seed",
            ],
            check=True,
            env=env,
        )
        subprocess.run(["/usr/sbin/slurmctld", "-f", str(conf)], check=True, env=env)
        subprocess.run(["/usr/sbin/slurmd", "-f", str(conf), "-N", node], check=True, env=env)
        deadline = time.monotonic() + 30
        while "idle" not in cluster.run("sinfo", "-h", "-o", "%T"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Slurm did not come up: {cluster.run('sinfo')}; see {base}/log")
            time.sleep(0.3)
    except BaseException:
        stop(cluster)
        raise
    return cluster


def stop(cluster: SlurmCluster) -> None:
    cluster.run("scancel", "--full", "-u", "root")
    for pidfile in ("slurmd.pid", "slurmctld.pid", "munge/pid"):
        try:
            pid = int((cluster.base / pidfile).read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
