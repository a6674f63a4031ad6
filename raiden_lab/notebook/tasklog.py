"""A record of every task: what ran where and when, what it printed, and how it ended.

On the engine, ``run_chunk`` runs one chunk of a map: each item's result, when it ended, and what
it printed (stdout, stderr and log records, told apart by item however many share the chunk); an
item that raises names its position and input in the traceback. The chunk travels pickled, both
ways, so its bytes in and out are measured, not guessed.

On the head, a cluster's ``TaskLog`` keeps one record per chunk and, where a chunk's items are few
enough to matter one by one, one per item: function, engine, node, start, end, bytes in and out,
outcome (ok, error, retried, interrupted, timed out). It is bounded (``keep`` records, none older
than ``keep_s``) and lives in the kernel that ran the map: a student's log holds only their own
tasks. ``MapResult`` is the list a map returns, with ``output(i)``: what item ``i`` printed.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import itertools
import logging
import pickle
import sqlite3
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from ..operations.taskfile import TASK_FILE, TaskFile

TIMED_ITEMS = 256  # a chunk of at most this many items keeps each item's end: tasks long enough to see
KEEP = 200_000  # records a cluster's log keeps at most
KEEP_S = 24 * 3600.0  # and none older than this
MAPS_SAID_KEPT = 50  # the maps whose items' output a log keeps for reports
SHOWN_INPUT = 200  # characters of an input a failed item's traceback shows
FLUSH_S = 0.5  # how often a kernel writes its new records where the sidebar and dashboards read them


# -- on the engine ---------------------------------------------------------------------------------


class _Said(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` while a chunk runs: each write kept with the item that made it.

    Which item writes is how many results there are so far (``list.extend`` over ``map`` grows the list one
    result at a time), so the loop itself does nothing per item that a plain ``map`` does not."""

    def __init__(self, kind: str, said: list, results: list) -> None:
        self.kind, self.said, self.results = kind, said, results

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self.said.append((len(self.results), self.kind, text))
        return len(text)


class _Logged(logging.Handler):
    def __init__(self, stream: _Said) -> None:
        super().__init__()
        self.stream = stream
        self.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.said.append((len(self.stream.results), "log", self.format(record) + "\n"))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_INPUT else text[: SHOWN_INPUT - 3] + "..."


def run_chunk(fn: Any, items: Any, star: bool, first: int = 0) -> tuple[Any, float, dict]:
    """On the engine: one chunk's results (pickled, when they pickle), the seconds its items took, and
    ``info``: when it began (the engine's clock), each item's end where the chunk is short, what each item
    printed, and the bytes in and out."""
    info: dict[str, Any] = {"bytes_in": None, "bytes_out": None}
    if isinstance(items, bytes):
        info["bytes_in"] = len(items)
        items = pickle.loads(items)
    said: list = []
    results: list = []
    out, err = _Said("stdout", said, results), _Said("stderr", said, results)
    logged = _Logged(out)
    root = logging.getLogger()
    real = sys.stdout, sys.stderr
    timed = len(items) <= TIMED_ITEMS
    ends: list[float] = []
    info["began"] = time.time()
    start = time.perf_counter()
    sys.stdout, sys.stderr = out, err
    root.addHandler(logged)
    try:
        if timed:  # few items, each long enough to see: when each one ended
            for item in items:
                results.append(fn(*item) if star else fn(item))
                ends.append(time.perf_counter() - start)
        else:  # many short items: as fast as map itself
            results.extend(itertools.starmap(fn, items) if star else map(fn, items))
    except Exception as e:
        k = len(results)
        e.add_note(f"raised by the map's item {first + k}: {_short(items[k])}")
        sys.stdout, sys.stderr = real
        for _, _, text in said:  # what the chunk printed goes with its error, where ipyparallel keeps it
            sys.stdout.write(text)
        raise
    except BaseException:
        sys.stdout, sys.stderr = real
        for _, _, text in said:  # what the chunk printed goes with its error, where ipyparallel keeps it
            sys.stdout.write(text)
        raise
    finally:
        sys.stdout, sys.stderr = real
        root.removeHandler(logged)
    seconds = time.perf_counter() - start
    info["ends"] = ends if timed else None
    info["said"] = said or None
    try:
        payload: Any = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
        info["bytes_out"] = len(payload)
    except Exception:  # results that only cloudpickle can carry (a lambda): ipyparallel sends them
        payload = results
    return payload, seconds, info


def pack(chunk: Any) -> Any:
    """A chunk as bytes for ``run_chunk`` (its size is then known); as it is when pickle cannot carry it."""
    try:
        return pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return chunk


def unpack(payload: Any) -> list:
    return pickle.loads(payload) if isinstance(payload, bytes) else payload


# -- on the head -----------------------------------------------------------------------------------


def function_name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    module = getattr(fn, "__module__", None)
    return name if module in (None, "__main__", "builtins") else f"{module}.{name}"


class TaskLog:
    """The tasks one client ran, newest last; bounded by count and age. With a ``sink`` (a ``TaskFile``),
    new records are also written there every ``FLUSH_S`` by a thread of their own, off the map's path."""

    def __init__(self, keep: int = KEEP, keep_s: float = KEEP_S, sink: TaskFile | None = None) -> None:
        self.began = time.time()
        self.said: collections.OrderedDict[int, dict] = collections.OrderedDict()  # map -> what its items printed
        self.keep_s = keep_s
        self.records: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.lock = threading.Lock()
        self.maps = 0
        self.sink = sink
        self._unsent: list[dict[str, Any]] = []
        self._wake = threading.Event()
        self._closed = False
        if sink is not None:
            threading.Thread(target=self._flush_forever, name="raiden-tasklog", daemon=True).start()
            atexit.register(self.flush)  # a script's last map reaches the file before the process ends

    @classmethod
    def in_folder(cls, root: Path) -> TaskLog:
        """A cluster's log, its records also written to ``tasks.sqlite`` in the cluster's folder ``root``."""
        try:
            sink: TaskFile | None = TaskFile(root / TASK_FILE)
        except (OSError, sqlite3.Error):  # a folder it may not write: the map runs, the stream shows nothing
            sink = None
        return cls(sink=sink)

    def keep_said(self, map_id: int, said: dict) -> None:
        """What the items of map ``map_id`` print (filled as it runs), for reports; the last maps only."""
        self.said[map_id] = said
        while len(self.said) > MAPS_SAID_KEPT:
            self.said.popitem(last=False)

    def _flush_forever(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Write what is left and stop the writer (the records stay readable here)."""
        self._closed = True
        self._wake.set()
        self.flush()

    def flush(self) -> None:
        """Write the records not yet in the task file (what a report or a test may wait for)."""
        with self.lock:
            batch, self._unsent = self._unsent, []
        if batch and self.sink is not None:
            with contextlib.suppress(sqlite3.Error):  # a full disk loses the stream's records, never the map
                self.sink.add(batch)

    def new_map(self) -> int:
        with self.lock:
            self.maps += 1
            return self.maps

    def add(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.records.append(record)
            if self.sink is not None:
                self._unsent.append(record)
            old = time.time() - self.keep_s
            while self.records and (self.records[0].get("end") or self.records[0]["start"]) < old:
                self.records.popleft()

    def between(self, start: float, end: float | None = None) -> list[dict[str, Any]]:
        """Records of tasks that ran (in part) between ``start`` and ``end`` (default: now)."""
        end = time.time() if end is None else end
        with self.lock:
            return [r for r in self.records if (r.get("end") or r["start"]) >= start and r["start"] <= end]


def chunk_records(
    *,
    map_id: int,
    function: str,
    chunk: int,
    first: int,
    items: int,
    engine: int | None,
    node: str | None,
    info: dict | None,
    seconds: float | None,
    outcome: str,
    started: float | None = None,
    ended: float | None = None,
    msg_id: str | None = None,
) -> list[dict[str, Any]]:
    """The record of one chunk and, where the engine timed them, of each of its items."""
    info = info or {}
    began = info.get("began", started)
    if began is None:
        began = ended if ended is not None else time.time()
    end = began + seconds if seconds is not None else (ended if ended is not None else time.time())
    base = {"map": map_id, "function": function, "engine": engine, "node": node}
    out = [
        dict(base, kind="chunk", chunk=chunk, first=first, items=items, start=began, end=end, outcome=outcome,
             bytes_in=info.get("bytes_in"), bytes_out=info.get("bytes_out"), msg_id=msg_id)
    ]  # fmt: skip
    ends = info.get("ends")
    if ends:
        previous = 0.0
        for k, stop in enumerate(ends):
            out.append(dict(base, kind="task", chunk=chunk, item=first + k, start=began + previous, end=began + stop,
                            outcome="ok"))  # fmt: skip
            previous = stop
    return out


class MapResult(list):
    """A map's results, in order (a list), and what each item printed: ``output(i)``."""

    def __init__(self, results: list, said: dict[int, list[tuple[str, str]]], records: list[dict[str, Any]]) -> None:
        super().__init__(results)
        self._said = said
        self.records = records

    def output(self, i: int, kind: str | None = None) -> str:
        """What item ``i`` printed (stdout, stderr and log records, in order; or only ``kind`` of them)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"item {i}: this map has {len(self)} items")
        i %= len(self)
        return "".join(text for k, text in self._said.get(i, []) if kind is None or k == kind)

    @property
    def printed(self) -> dict[int, str]:
        """Every item that printed something, and what."""
        return {i: self.output(i) for i in sorted(self._said)}


_LATEST: list[weakref.ref] = []  # the cluster this process connected last: what a report records by default


def remember(cluster: Any) -> None:
    _LATEST[:] = [weakref.ref(cluster)]


def latest() -> Any:
    """The cluster this process connected last, while it is open."""
    return _LATEST[0]() if _LATEST else None
