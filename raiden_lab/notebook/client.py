"""Attaching to a running cluster from a notebook or a script.

``connect()`` wraps a plain ipyparallel ``Client``; anything written for
ipyparallel keeps working through ``.client``, ``.direct`` and ``.balanced``
(both views block, as ``%px`` does; ``*_async`` methods or ``block=False``
still return AsyncResults).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import ipyparallel as ipp

from ..config.inventory import Inventory, Node
from ..config.paths import ClusterPaths
from ..config.syntax import is_host
from ..daemon import control
from ..errors import RaidenError
from ..operations.status import cluster_events, cluster_status, engine_ids_on
from ..vocabulary import NodeState
from . import sharing, stopping
from .jit import JitFunction, WarmupTable, warmup
from .mapping import ChunkedMap
from .tasklog import MapResult, TaskLog, remember

RECONNECT_S = 120.0  # how long a map waits for a restarted controller's engines


class RaidenCluster:
    """A running Raiden cluster, seen from a notebook or script."""

    def __init__(self, inventory: Inventory, paths: ClusterPaths, client: ipp.Client) -> None:
        self.inventory = inventory
        self.paths = paths
        self.client = client
        # blocking, as in a notebook one expects `cluster.direct.pull("x")` to be the values
        self.direct = client[:]
        self.direct.block = True
        self.balanced = client.load_balanced_view()
        self.balanced.block = True
        self.last_map: ChunkedMap | None = None  # the latest map, for plots.timeline
        # every task this client ran through raiden: reports read it, the task stream reads its file
        self.tasks = TaskLog.in_folder(paths.root)
        self._engine_nodes: dict[int, str] = {}
        remember(self)
        self._shared: dict[str, dict[str, str]] = {}  # broadcast name -> node -> path of its copy
        self._scattered: dict[str, dict[int, tuple[int, int]]] = {}  # scatter name -> engine -> its rows
        self._controller_pid = self._read_controller_pid()

    def _read_controller_pid(self) -> int | None:
        try:
            return (cluster_status(self.inventory, self.paths).get("controller") or {}).get("pid")
        except RaidenError:
            return None

    def lost_problem(self) -> str | None:
        """Why results can no longer come (the supervisor or the controller we attached to is gone), or None."""
        if not control.is_running(self.paths):
            return f"cluster '{self.name}' stopped (its supervisor is gone); start it with `raiden up`"
        pid = self._read_controller_pid()
        if self._controller_pid and pid and pid != self._controller_pid:
            return (
                f"the controller of cluster '{self.name}' was restarted, so this connection's tasks are gone; "
                f"attach again with raiden_lab.connect({self.name!r})"
            )
        return None

    def reattach(self, timeout: float = RECONNECT_S) -> ipp.Client | None:
        """After the supervisor restarted the controller: a client of the new one, once engines are back.

        None when the cluster stopped instead, or nothing came back within ``timeout``.
        The old client's views are dead; ``direct``, ``balanced`` and ``client`` are replaced.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not control.is_running(self.paths):
                return None
            try:
                status = cluster_status(self.inventory, self.paths)
            except RaidenError:
                status = None
            pid = status and (status.get("controller") or {}).get("pid")
            if status and pid and pid != self._controller_pid and status["engines"]["alive"]:
                try:
                    client = ipp.Client(str(self.paths.client_file), timeout=10)
                except (OSError, TimeoutError, ValueError):
                    time.sleep(0.5)
                    continue
                try:  # the store counts engines alive before this client has heard of them
                    client.wait_for_engines(1, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
                except (TimeoutError, ipp.error.NoEnginesRegistered):
                    client.close()
                    continue
                with contextlib.suppress(Exception):
                    self.client.close()
                self.client, self._controller_pid = client, pid
                self.direct = client[:]
                self.direct.block = True
                self.balanced = client.load_balanced_view()
                self.balanced.block = True
                return client
            time.sleep(0.5)
        return None

    def broadcast(self, name: str, value: Any) -> None:
        """Bind ``name`` to ``value`` on every engine, sending one copy per node (not one per engine).

        The engines of a node share that copy: a numpy array is a read-only memory map of it.
        """
        self._shared[name] = sharing.broadcast(self.client, name, value)

    def scatter(self, name: str, array: Any) -> None:
        """Split a numpy array's rows across the engines, one message per node (not one per engine).

        Each engine's ``name`` is a read-only view of its rows in its node's shared memory;
        ``gather(name)`` joins the engines' arrays of that name again, in the same order.
        """
        self._scattered[name], self._shared[name] = sharing.scatter(self.client, name, array)

    def gather(self, name: str, like: str | None = None) -> Any:
        """The engines' arrays called ``name``, joined in the order of the scatter of ``like`` (default ``name``):
        ``cluster.scatter("rows", table)``, the engines compute ``done`` from ``rows``, then
        ``cluster.gather("done", like="rows")``."""
        order = like or name
        if order not in self._scattered:
            raise RaidenError(
                f"gather: nothing was scattered as {order!r}; call cluster.scatter({order!r}, array) first"
            )
        return sharing.gather(self.client, name, self._scattered[order])

    def forget(self, name: str) -> None:
        """Remove what ``broadcast`` or ``scatter`` put on the nodes under ``name`` (their shared memory is freed)."""
        self._scattered.pop(name, None)
        sharing.forget(self.client, name, self._shared.pop(name, {}))

    def interrupt(self) -> list[int]:
        """Stop this connection's work: tasks not started are aborted, running ones interrupted (SIGINT).

        The engines stay registered and usable; returns the ids of those interrupted.
        """
        return stopping.interrupt(self.client)

    def parked_ids(self) -> set[int]:
        """Engines that should get no new work: their node is draining (``raiden remove --drain``) or off."""
        return engine_ids_on(self.paths, (NodeState.DRAINING.value, NodeState.OFF.value))

    @property
    def name(self) -> str:
        return self.inventory.name

    @property
    def ids(self) -> list[int]:
        return list(self.client.ids)

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """Every node with its state and engines, as the supervisor last saw them."""
        return cluster_status(self.inventory, self.paths)["nodes"]

    def node_of(self, engine: int | None) -> str | None:
        """The host of the node that runs ``engine`` (looked up again when an engine is new)."""
        if engine is None:
            return None
        if engine not in self._engine_nodes:
            with contextlib.suppress(Exception):  # the state file is away for a moment: unknown, not an error
                self._engine_nodes = {e["id"]: n["host"] for n in self.nodes for e in n["engines"]}
        return self._engine_nodes.get(engine)

    def engines_on(self, host: str) -> ipp.DirectView:
        """A view of the engines of one node."""
        for node in self.nodes:
            if node["host"] == host:
                return self.client[[e["id"] for e in node["engines"] if e["id"] in self.client.ids]]
        raise RaidenError(f"cluster '{self.name}' has no node '{host}'")

    def activate(self, suffix: str = "") -> None:
        """Make ``%px`` and ``%%px`` run on every engine of this cluster (and wait for them).

        ``%%px --timeout SECONDS`` interrupts the cell's work on every engine after that long.
        """
        view = self.client[:]
        view.block = True
        stopping.activate(view, suffix)

    def map(
        self,
        fn: Callable,
        *iterables: Iterable,
        chunksize: int | None = None,
        ordered: bool = True,
        retries: int | None = None,
        progress: bool | None = None,
        targets: list[int] | None = None,
        timeout: float | None = None,
    ) -> list:
        """``fn`` over the iterables on every engine: every result once, in order.

        Chunks are sized from measured task times unless ``chunksize`` is given.
        A chunk whose engine dies, or whose node is lost, runs again elsewhere (up
        to ``retries`` times; default: the number of engines, at least 3). A
        progress bar appears for maps that run longer than two seconds
        (``progress=False`` hides it, ``True`` shows it at once). ``targets``
        limits it to some engine ids. Interrupting the kernel (or passing ``timeout``
        seconds) stops the map on every engine within a second and raises
        ``MapInterrupted`` (``MapTimeout``) whose ``results`` hold what finished;
        the engines stay usable. The list it returns also has ``output(i)``: what item ``i``
        printed (stdout, stderr, log records), and ``records``: each chunk's and task's record.
        """
        results = list(
            self.imap(
                fn,
                *iterables,
                chunksize=chunksize,
                ordered=ordered,
                retries=retries,
                progress=progress,
                targets=targets,
                timeout=timeout,
            )
        )
        done = self.last_map
        return MapResult(results, done.said if done else {}, done.tasks if done else [])

    def imap(
        self,
        fn: Callable,
        *iterables: Iterable,
        chunksize: int | None = None,
        ordered: bool = True,
        retries: int | None = None,
        progress: bool | None = None,
        targets: list[int] | None = None,
        timeout: float | None = None,
    ) -> Iterator:
        """Like ``map`` but yields results as they arrive (in order unless ``ordered=False``)."""
        self.last_map = ChunkedMap(
            self.client,
            fn,
            iterables,
            chunksize=chunksize,
            ordered=ordered,
            retries=retries,
            progress=progress,
            targets=targets,
            watch=self.lost_problem,
            reattach=self.reattach if targets is None else None,
            avoid=self.parked_ids,
            timeout=timeout,
            log=self.tasks,
            node_of=self.node_of,
        )
        self.tasks.keep_said(self.last_map.map_id, self.last_map.said)
        return iter(self.last_map)

    def warmup(self, fn: JitFunction, *signatures: str) -> WarmupTable:
        """Compile a ``raiden_lab.jit`` function on every engine at once, for each signature.

        Returns one row per engine (engine, node, arch, seconds, cache_hit). A
        function numba cannot compile raises one error naming the nodes.
        """
        return warmup(self.client, fn, *signatures)

    def events(self, limit: int = 10) -> list[dict[str, Any]]:
        """What happened to the cluster, newest first: engines died and restarted, nodes lost and back."""
        return cluster_events(self.paths, limit=limit)

    def wait_for_engines(self, n: int | None = None, timeout: float = 60) -> None:
        wanted = n if n is not None else sum(len(node["engines"]) for node in self.nodes)
        self.client.wait_for_engines(wanted, timeout=timeout)

    def close(self) -> None:
        self.tasks.close()
        self.client.close()

    def __enter__(self) -> RaidenCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        hosts = len(self.inventory.nodes)
        return f"<RaidenCluster {self.name!r}: {len(self.client.ids)} engines, {hosts} nodes>"


class SeatCluster(RaidenCluster):
    """A student's seat in a class: engines of their own on the class's nodes.

    The seat's state comes from the class (the student cannot read the
    teacher's files): ``nodes`` asks it, ``end()`` gives the seat back.
    """

    def __init__(
        self, ask: Callable[[dict[str, Any]], dict[str, Any]], seat: dict[str, Any], client: ipp.Client
    ) -> None:
        name = seat["name"]
        named = seat.get("nodes") or []
        if not isinstance(named, list) or not all(isinstance(h, str) and is_host(h) for h in named):
            raise RaidenError(
                f"the class named nodes that are not host names or addresses ({named!r:.120}); tell the teacher"
            )
        hosts = tuple(Node(host=h) for h in named)
        inventory = Inventory(name=name, controller_ip=seat["connection"].get("location") or "", nodes=hosts)
        super().__init__(inventory, ClusterPaths(name), client)
        self._ask = ask  # the class: over its Unix socket on the head, or a seat code's encrypted link
        self.seat = seat["seat"]

    @property
    def nodes(self) -> list[dict[str, Any]]:
        reply = self._ask({"op": "myseat"})
        return ((reply.get("seat") or {}).get("nodes")) or []

    def model(self) -> dict[str, Any]:
        """The seat's whole state, as the class sees it (nodes, engines, health, events); what the seat's
        dashboard, ``%raiden status`` and ``%raiden events`` show."""
        model = self._ask({"op": "myseat", "detail": True}).get("model")
        if not model:
            raise RaidenError("your seat was ended; run %raiden up to take one again")
        return model

    def events(self, limit: int = 10) -> list[dict[str, Any]]:
        """What happened to this seat, newest first (an engine died, restarted, and why): the class tells."""
        return list(self.model().get("events") or [])[:limit]

    def restart(self, host: str) -> list[str]:
        """Restart this seat's engines on one node (same ids), through the class; what it said."""
        reply = self._ask({"op": "restart", "host": host})
        if not reply.get("ok"):
            raise RaidenError(reply.get("error") or f"the class could not restart your engines on {host}")
        return list(reply.get("said") or [])

    def _read_controller_pid(self) -> int | None:
        return None  # the seat's state file is the teacher's

    def parked_ids(self) -> set[int]:
        return set()  # a seat's nodes are the class's; they are not drained under a student

    def lost_problem(self) -> str | None:
        try:
            seat = self._ask({"op": "myseat"}).get("seat")
        except (OSError, RaidenError) as e:
            return f"the class does not answer ({e})"
        return None if seat else "your seat was ended; run raiden_lab.connect() again to take one"

    def end(self) -> None:
        """Give the seat back: its engines stop (the teacher sees the seat free)."""
        self.tasks.close()
        self.client.close()
        self._ask({"op": "end"})

    def __repr__(self) -> str:
        return f"<RaidenCluster {self.name!r} (your seat {self.seat}): {len(self.client.ids)} engines>"
