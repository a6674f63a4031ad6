"""The ``[slurm]`` table: what the engines' job asks Slurm for (``SlurmLauncher.settings_table``)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from ..config.clustertables import a_path, arguments, at_least_one
from ..config.tables import INTEGER, STRING, STRINGS, Kind, Setting, Table

_TIME_RE = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$|^UNLIMITED$|^INFINITE$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class SlurmSettings:
    """``[slurm]``: what the engines' job asks Slurm for; Slurm decides the nodes."""

    engines: int = 2
    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None
    sbatch_options: tuple[str, ...] = ()
    python: str = sys.executable  # on the compute nodes; a shared file system is assumed, as for ipyparallel
    work_dir: str | None = None  # shared; one folder per node inside (default: the cluster's folder)

    def describe_nodes(self) -> str:
        return f"the nodes of Slurm partition '{self.partition or '(default)'}'"


SLURM = Table(
    "slurm",
    (
        Setting("engines", INTEGER, "engines in the job", "2", at_least_one("engines")),
        Setting(
            "partition",
            STRING,
            "the partition",
            "Slurm's default",
            lambda v: (
                None
                if _NAME_RE.match(v)
                else f"partition {v!r} is not a plain Slurm name (letters, digits, '_', '.', '-')"
            ),
        ),
        Setting(
            "account",
            STRING,
            "the account",
            "Slurm's default",
            lambda v: (
                None
                if _NAME_RE.match(v)
                else f"account {v!r} is not a plain Slurm name (letters, digits, '_', '.', '-')"
            ),
        ),
        Setting(
            "time_limit",
            Kind((str,), 'a Slurm time like "1:00:00"'),
            'the job\'s limit, e.g. `"2:00:00"`',
            "Slurm's default",
            lambda v: (
                None
                if _TIME_RE.match(v)
                else f'time_limit {v!r} is not a Slurm time; write minutes, "H:MM:SS" or "D-HH:MM:SS"'
            ),
        ),
        Setting(
            "sbatch_options",
            STRINGS,
            'more `sbatch` options, e.g. `["--mem-per-cpu=1G"]`',
            "none",
            arguments("sbatch_options"),
        ),
        Setting(
            "python",
            Kind((str,), "a path"),
            "the interpreter on the compute nodes (a shared file system is assumed)",
            "the head's",
            a_path("python"),
        ),
        Setting(
            "work_dir",
            Kind((str,), "a path"),
            "a shared folder for the engines' logs",
            "the cluster's folder",
            a_path("work_dir"),
        ),
    ),
)
