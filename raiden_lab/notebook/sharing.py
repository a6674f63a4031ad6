"""Node-aware data: one copy per node over the wire, shared by that node's engines.

A Pi cluster's bottleneck is the head's one link. ``DirectView.push`` of an array to
16 engines on 4 Pis sends it 16 times; ``broadcast`` sends it once to one engine of
each node (its lead), which writes it to the node's shared memory (``/dev/shm``,
else its work folder), and every engine of the node maps that file: a numpy array
becomes a read-only ``numpy.memmap`` of the one copy, any other object is
unpickled from it. Files are private to the node account (the runner's umask) and
replaced by the next broadcast of the same name; ``forget`` removes them.

``scatter`` is the same for the rows of an array split across the engines: each node
gets its engines' rows in one message (a numpy buffer, never pickled), written once to
its shared memory, and every engine binds the name to a read-only view of its own rows.
``gather`` joins the engines' arrays of that name again, in the scatter's order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import ipyparallel as ipp

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _node_of() -> str:
    """On an engine: the node it runs on, as the cluster names it."""
    import os
    import socket

    return os.environ.get("RAIDEN_NODE") or socket.gethostname()


def _store(name: str, value: Any, node: str) -> str:
    """On a node's lead engine: write the one copy; its path."""
    import hashlib
    import os
    import pickle
    import tempfile

    shm = "/dev/shm"
    folder = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else os.environ.get("RAIDEN_WORK_DIR", "")
    folder = folder or tempfile.gettempdir()
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in node)
    # the work folder is the cluster's (or seat's) own on this node: its hash keeps clusters apart
    cluster = hashlib.sha256(os.environ.get("RAIDEN_WORK_DIR", "").encode()).hexdigest()[:10]
    base = os.path.join(folder, f"raiden-{os.getuid()}-{cluster}-{safe}-{name}")
    try:
        import numpy

        array = isinstance(value, numpy.ndarray) and not value.dtype.hasobject
    except ImportError:
        array = False
    path = base + (".npy" if array else ".pickle")
    part = f"{path}.{os.getpid()}.part"
    with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        if array:
            numpy.save(f, value, allow_pickle=False)
        else:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(part, path)
    for old in (base + ".npy", base + ".pickle"):  # a broadcast of the same name with the other kind
        if old != path and os.path.exists(old):
            os.unlink(old)
    return path


@ipp.interactive
def _attach(name: str, path: str) -> str:
    """On every engine of a node: bind ``name`` in the engine's namespace to the node's copy."""
    import pickle

    if path.endswith(".npy"):
        import numpy

        value = numpy.load(path, mmap_mode="r")
    else:
        with open(path, "rb") as f:
            value = pickle.load(f)
    globals()[name] = value
    return path


@ipp.interactive
def _attach_rows(name: str, path: str, start: int, stop: int) -> int:
    """On an engine: bind ``name`` to its rows of the node's copy (a view: nothing is copied)."""
    import numpy

    globals()[name] = numpy.load(path, mmap_mode="r")[start:stop]
    return stop - start


def _forget(path: str) -> bool:
    import os

    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _check_name(what: str, name: Any) -> None:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"{what}: {name!r} is not a Python name; give the name the engines will use")


def engines_by_node(client: ipp.Client, targets: list[int] | None = None) -> dict[str, list[int]]:
    """The engines of each node, asked of the engines themselves (one round trip)."""
    ids = list(client.ids) if targets is None else list(targets)
    view = client[ids]
    view.block = True
    nodes: dict[str, list[int]] = defaultdict(list)
    for engine_id, node in zip(ids, view.apply_sync(_node_of), strict=True):
        nodes[node].append(engine_id)
    return dict(nodes)


def broadcast(client: ipp.Client, name: str, value: Any, targets: list[int] | None = None) -> dict[str, str]:
    """Bind ``name`` to ``value`` on every engine, sending one copy per node; the path of each node's copy."""
    _check_name("broadcast", name)
    nodes = engines_by_node(client, targets)
    leads = {node: ids[0] for node, ids in nodes.items()}
    stored = {node: client[lead].apply_async(_store, name, value, node) for node, lead in leads.items()}
    paths = {node: ar.get() for node, ar in stored.items()}
    attached = [client[ids].apply_async(_attach, name, paths[node]) for node, ids in nodes.items()]
    for ar in attached:
        ar.get()
    return paths


def forget(client: ipp.Client, name: str, paths: dict[str, str]) -> None:
    """Remove a broadcast's copies from the nodes and the name from every engine."""
    nodes = engines_by_node(client)
    for node, path in paths.items():
        if node in nodes:
            client[nodes[node][0]].apply_sync(_forget, path)
    view = client[:]
    view.block = True
    view.execute(f"globals().pop({name!r}, None)")


def scatter(client: ipp.Client, name: str, array: Any, targets: list[int] | None = None) -> tuple[dict, dict]:
    """Split ``array`` along its first axis across the engines, one message per node; its rows per engine
    (``{engine: (start, stop)}``, in the order ``gather`` joins them) and the path of each node's copy."""
    import numpy

    _check_name("scatter", name)
    if not isinstance(array, numpy.ndarray) or array.dtype.hasobject or array.ndim == 0:
        raise TypeError(f"scatter: a numpy array of numbers, not {type(array).__name__}; use push for other objects")
    nodes = engines_by_node(client, targets)
    order = [engine for ids in nodes.values() for engine in ids]  # a node's engines get neighbouring rows
    edges = [len(array) * i // len(order) for i in range(len(order) + 1)]
    rows = {engine: (edges[i], edges[i + 1]) for i, engine in enumerate(order)}
    stored = {}
    for node, ids in nodes.items():
        first, last = rows[ids[0]][0], rows[ids[-1]][1]
        block = numpy.ascontiguousarray(array[first:last])  # a view when the array is C-contiguous
        stored[node] = (first, client[ids[0]].apply_async(_store, name, block, node))
    paths = {node: ar.get() for node, (_, ar) in stored.items()}
    attached = []
    for node, ids in nodes.items():
        first = stored[node][0]
        for engine in ids:
            start, stop = rows[engine]
            attached.append(client[engine].apply_async(_attach_rows, name, paths[node], start - first, stop - first))
    for ar in attached:
        ar.get()
    return rows, paths


def gather(client: ipp.Client, name: str, rows: dict[int, tuple[int, int]]) -> Any:
    """The engines' arrays called ``name``, joined along the first axis in the order ``scatter`` gave them."""
    import numpy

    order = sorted(rows, key=lambda engine: rows[engine][0])
    parts = [client[engine].pull(name, block=False) for engine in order]
    return numpy.concatenate([numpy.asarray(ar.get()) for ar in parts])
