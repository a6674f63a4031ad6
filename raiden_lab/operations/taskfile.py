"""The task records where a cluster's owner reads them: ``tasks.sqlite`` in the cluster's folder.

A kernel's task log (``notebook/tasklog.py``) writes there; the Jupyter server's route
``clusters/NAME/tasks`` and the dashboards read the last minute of it, with each node's
temperature and throttling from the state store, as the live task stream. Standard library and
the store only: the server imports no ipyparallel.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..daemon.store import Store

TASK_FILE = "tasks.sqlite"  # in the cluster's folder
FILE_KEEP = 50_000  # records the task file keeps (the stream shows the last minutes)
FILE_KEEP_S = 3600.0
STREAM_LIMIT = 5_000  # the newest tasks the stream draws: more than 48 nodes x 4 engines show in a minute
# what the stream needs of a record (the report reads the kernel's own, whole)
STREAMED = (
    "kind",
    "map",
    "function",
    "engine",
    "node",
    "chunk",
    "start",
    "end",
    "outcome",
    "items",
    "item",
    "first",
    "said",
)


class TaskFile:
    """The records of a cluster's tasks where its owner's other processes read them (the sidebar's and the
    dashboards' task stream): ``tasks.sqlite`` in the cluster's folder, the owner's alone (0600), bounded.
    Every kernel of the owner adds to it; a seat's is in the student's own folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        self.db = sqlite3.connect(self.path, timeout=5, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")  # what a crash may lose is the stream's last second, never a result
        self.db.execute("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, start REAL, end REAL, data TEXT)")
        self.db.execute("CREATE INDEX IF NOT EXISTS tasks_end ON tasks (end)")

    def add(self, records: list[dict[str, Any]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO tasks (start, end, data) VALUES (?, ?, ?)",
                [
                    (r["start"], r.get("end"), json.dumps({k: r[k] for k in STREAMED if k in r}, default=str))
                    for r in records
                ],
            )
            self.db.execute("DELETE FROM tasks WHERE end < ?", (time.time() - FILE_KEEP_S,))
            self.db.execute("DELETE FROM tasks WHERE id <= (SELECT MAX(id) FROM tasks) - ?", (FILE_KEEP,))

    @staticmethod
    def rows(path: Path, since: float, limit: int = STREAM_LIMIT) -> list[tuple[int, float, float, str]]:
        """The tasks that ended after ``since`` (the newest ``limit``), each as its row: ``(id, start, end, JSON)``;
        none where none ran."""
        if not Path(path).exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(
                "SELECT id, start, end, data FROM (SELECT id, start, end, data FROM tasks WHERE end >= ? "
                "ORDER BY id DESC LIMIT ?) ORDER BY id",
                (since, limit),
            ).fetchall()
        except sqlite3.Error:
            return []
        finally:
            db.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()


STREAM_S = 60.0  # the stream shows the last minute


def stream_model(
    root: Path, store_path: Path | None, seconds: float = STREAM_S, now: float | None = None, nodes: list | None = None
) -> dict[str, Any]:
    """What the task stream draws: the tasks that ended in the last ``seconds`` (one lane per engine, grouped
    by node) and each node's temperature and throttling over the same time. The sidebar's route and the
    dashboard both read it (standard library and the state store only: the server imports no ipyparallel)."""
    now = time.time() if now is None else now
    since = now - seconds
    tasks = _stream_tasks(root / TASK_FILE, since)
    timed = {(t["map"], t["chunk"]) for t in tasks if t["kind"] == "task"}
    tasks = [t for t in tasks if t["kind"] == "task" or (t["map"], t["chunk"]) not in timed]
    if nodes is not None:  # a seat: its nodes as the class tells them (the student cannot read its store)
        return {"now": now, "since": since, "tasks": tasks, "nodes": nodes}
    nodes = []
    store = Store.open_existing(store_path) if store_path is not None and store_path.exists() else None
    if store is not None:
        try:
            engines: dict[str, list[int]] = {}
            for e in store.engines():
                engines.setdefault(e["host"], []).append(e["id"])
            for n in store.nodes():
                samples = [
                    {
                        "time": s["time"],
                        "temperature": s.get("temperature"),
                        "throttled": throttled_now(s),
                        "mhz": s.get("mhz"),
                    }
                    for s in store.samples(n["host"], since=since)
                    if s.get("time") is not None
                ]
                nodes.append({"host": n["host"], "state": n["state"], "engines": sorted(engines.get(n["host"], [])),
                              "samples": samples})  # fmt: skip
        finally:
            store.close()
    return {"now": now, "since": since, "tasks": tasks, "nodes": nodes}


# Each task file's last answer, by row: a poll once a second finds the same few thousand tasks it drew a
# second ago, and decoding them again was most of its cost (60 ms for 5,000 on the 2-core test machine).
_DRAWN: dict[str, dict[tuple[int, float, float], dict[str, Any]]] = {}
DRAWN_KEYS = ("kind", "map", "function", "engine", "node", "chunk", "start", "end", "outcome")


def _stream_tasks(path: Path, since: float) -> list[dict[str, Any]]:
    """The stream's tasks from the task file, each row decoded once while it stays in the stream (a row is
    known by its id, start and end: an id of a pruned file may come again, with another task's times)."""
    drawn = _DRAWN.get(str(path), {})
    kept: dict[tuple[int, float, float], dict[str, Any]] = {}
    tasks = []
    for row_id, start, end, data in TaskFile.rows(path, since):
        key = (row_id, start, end)
        task = drawn.get(key)
        if task is None:
            r = json.loads(data)
            task = {k: r.get(k) for k in DRAWN_KEYS} | {
                "first": r["item"] if r.get("item") is not None else r.get("first"),
                "items": 1 if r["kind"] == "task" else r.get("items"),
                "said": r.get("said"),
            }
        kept[key] = task
        tasks.append(dict(task))  # the caller's own: what it changes stays out of the next answer
    _DRAWN[str(path)] = kept  # the last answer only: as many rows as the stream draws, at most
    return tasks


def throttled_now(sample: dict[str, Any]) -> bool:
    flags = sample.get("throttled") or {}
    return bool(flags.get("throttled") or flags.get("freq_capped") or flags.get("soft_temp_limit"))
