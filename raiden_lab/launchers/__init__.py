"""How engines start: launchers found by name through the ``raiden_lab.launchers`` entry points.

As ipyparallel finds its own launchers, a package may add one (PBS, Kubernetes)
by declaring an entry point in this group that names a subclass of
:class:`raiden_lab.launchers.base.Launcher`; the inventory's
``[cluster] launcher = "NAME"`` picks it, and its settings live in a ``[NAME]``
table. Nothing else names a launcher.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

GROUP = "raiden_lab.launchers"


@cache
def names() -> tuple[str, ...]:
    """Every launcher installed, in a stable order (the built-in ones first)."""
    found = sorted(ep.name for ep in entry_points(group=GROUP))
    builtin = [n for n in ("ssh", "mpi", "slurm") if n in found]
    return (*builtin, *(n for n in found if n not in builtin))


@cache
def get(name: str) -> Any:
    """The launcher class registered as ``name``; KeyError when none is."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return ep.load()
    raise KeyError(name)
