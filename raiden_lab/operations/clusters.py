"""The one front door: what the ``raiden`` command, the Jupyter server and the ``%raiden`` magics call.

As ipyparallel's ``ClusterManager`` serves both ``ipcluster`` and its lab extension, ``Clusters`` finds
the clusters a folder knows (its ``raiden.toml``, else the embedded default, and every cluster of this
user started before) and ``Cluster`` does what a person asks of one: up, down, restart a node, power,
reload, remove, interrupt, status, events, preflight. Each answers with an ``Outcome`` (what it said,
warnings, problems) or a model; none prints, so each door words it its own way (a terminal, JSON, a
notebook's output). The coroutines run in the server's loop; ``aio.run_sync`` runs them anywhere else.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.inventory import DEFAULT_PATH, INVENTORY_ENV, Inventory, embedded_default, load
from ..config.paths import ClusterPaths
from ..daemon import control
from ..errors import InputError, NotFound, NotRunning
from . import lifecycle
from .doctor import NodeReport
from .lifecycle import DOWN_TIMEOUT_S, UP_TIMEOUT_S, Outcome
from .status import cluster_events, running_inventories


@dataclass
class Cluster:
    """One cluster: its inventory and where its state lives."""

    inventory: Inventory
    paths: ClusterPaths

    @property
    def name(self) -> str:
        return self.inventory.name

    def is_running(self) -> bool:
        return control.is_running(self.paths)

    def node(self, host: str) -> str:
        """``host`` when the inventory has it; NotFound naming the cluster otherwise."""
        if host not in [n.host for n in self.inventory.nodes]:
            raise NotFound(f"cluster '{self.name}' has no node '{host}'")
        return host

    async def preflight(self) -> list[NodeReport]:
        return await lifecycle.preflight(self.inventory, self.paths)

    async def up(self, timeout: float | None = None) -> Outcome:
        """Start the cluster; wait TIMEOUT seconds for its engines (None: ``lifecycle.up_timeout()``)."""
        wait = timeout if timeout is not None else lifecycle.up_timeout()  # a bad setting changes nothing
        return await lifecycle.up(self.inventory, self.paths.ensure(), wait)

    async def down(self, timeout: float = DOWN_TIMEOUT_S) -> Outcome:
        return await lifecycle.down(self.inventory, self.paths.ensure(), timeout)

    async def restart(self, host: str, timeout: float = UP_TIMEOUT_S) -> Outcome:
        return await lifecycle.restart_node(self.inventory, self.paths, host, timeout)

    async def power(self, action: str, host: str, timeout: float = UP_TIMEOUT_S) -> Outcome:
        from . import reshape

        return await reshape.power_nodes(self.inventory, self.paths, action, host, timeout)

    async def reload(self, timeout: float = UP_TIMEOUT_S) -> Outcome:
        from . import reshape

        return await reshape.reload(self.inventory, self.paths, timeout)

    async def remove(self, host: str, drain: bool, timeout: float) -> Outcome:
        from . import reshape

        if timeout <= 0:
            raise InputError(f"--timeout {timeout:g}: give the seconds to wait for running tasks, more than 0")
        return await reshape.remove(self.inventory, self.paths, host, drain, timeout)

    async def interrupt(self) -> Outcome:
        """Interrupt the tasks running on every engine (the Stop-work button, ``raiden interrupt``)."""
        from .interrupting import interrupt_cluster

        if not self.is_running():
            raise NotRunning(f"cluster '{self.name}' is not running; nothing to interrupt")
        busy = await asyncio.to_thread(interrupt_cluster, self.paths)
        said = f"interrupted the tasks running on engines {', '.join(map(str, busy))}" if busy else "no engine was busy"
        return Outcome(said=[said])

    async def status(self) -> dict[str, Any]:
        return await lifecycle.status(self.inventory, self.paths)

    def status_problem(self, status: dict[str, Any]) -> bool:
        return lifecycle.status_problem(status, self.inventory)

    def events(self, limit: int = 50, host: str | None = None) -> list[dict[str, Any]]:
        if host is not None and self.inventory.nodes:  # a launcher that finds its nodes (Slurm) lists none
            self.inventory.node(host)
        return cluster_events(self.paths, limit=limit, host=host)


class Clusters:
    """The clusters a folder knows: ``folder/raiden.toml`` (else the local default) and those running."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else Path()

    @property
    def inventory_path(self) -> Path:
        return self.folder / DEFAULT_PATH

    def cluster(self, inventory: Inventory) -> Cluster:
        return Cluster(inventory, ClusterPaths(inventory.name))

    def resolve(self, inventory: str | Path | None = None) -> Cluster:
        """The cluster a command means: ``-i FILE``, else the folder's ``raiden.toml``, else
        ``$RAIDEN_INVENTORY`` (``raiden lab -i FILE``'s), else the default."""
        if inventory is not None:
            return self.cluster(load(inventory))
        if self.inventory_path.is_file():
            return self.cluster(load(self.inventory_path))
        if os.environ.get(INVENTORY_ENV):  # `raiden lab -i FILE` started this process's JupyterLab
            return self.cluster(load(os.environ[INVENTORY_ENV]))
        return self.cluster(embedded_default())

    def known(self) -> dict[str, Inventory]:
        """By name: the folder's inventory (a broken one left out), else ``$RAIDEN_INVENTORY``'s, else the default;
        then those running."""
        found: dict[str, Inventory] = {}
        for path in (self.inventory_path, os.environ.get(INVENTORY_ENV)):  # the folder's, else `raiden lab -i`'s
            if not found and path and Path(path).is_file():
                try:
                    inventory = load(path)
                    found[inventory.name] = inventory
                except InputError:
                    pass
        if not found:
            found["local"] = embedded_default()
        for name, inventory in running_inventories().items():
            found.setdefault(name, inventory)
        return found

    def named(self, name: str) -> Cluster:
        known = self.known()
        if name not in known:
            raise NotFound(f"no cluster named '{name}'; known: {', '.join(known) or 'none'}")
        return self.cluster(known[name])
