"""The state store: one SQLite file per cluster, written by its supervisor, read by everyone.

WAL mode lets the CLI, the server extension and notebooks read while the
supervisor writes, and the file outlives every process, so ``raiden status``
and ``raiden events`` work from any shell.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    controller_ip TEXT,
    controller_ports TEXT,
    controller_pid INTEGER,
    supervisor_pid INTEGER,
    inventory TEXT,
    tasks TEXT,
    jobs TEXT,
    started REAL,
    updated REAL
);
CREATE TABLE IF NOT EXISTS nodes (
    host TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'starting',
    arch TEXT,
    cores INTEGER,
    engines_wanted INTEGER NOT NULL DEFAULT 0,
    work_dir TEXT,
    problem TEXT,
    updated REAL
);
CREATE TABLE IF NOT EXISTS engines (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER,
    state TEXT NOT NULL,
    updated REAL
);
CREATE TABLE IF NOT EXISTS samples (
    time REAL NOT NULL,
    host TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_host_time ON samples (host, time);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    host TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
"""


class Store:
    """A connection to one cluster's state file. Use one per thread."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        # Readers skip the schema and mode set-up; SQLite's own read-only mode is not
        # used because it cannot open a WAL file whose writer has checkpointed and gone.
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        if not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._migrate()
        self.db.row_factory = sqlite3.Row

    def _migrate(self) -> None:
        """Add the columns later versions brought to a state file an older version made."""
        for table, column, kind in (("cluster", "tasks", "TEXT"), ("cluster", "jobs", "TEXT")):
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @classmethod
    def open_existing(cls, path: Path) -> Store | None:
        """A reader for ``path``, or None when no cluster of that name was ever started."""
        if not Path(path).exists():
            return None
        try:
            store = cls(path, readonly=True)
            # The supervisor may have created the file and not yet its tables.
            if store.db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events'").fetchone()[0] == 0:
                store.close()
                return None
            return store
        except sqlite3.OperationalError:
            return None

    def close(self) -> None:
        self.db.close()

    # -- the supervisor writes -------------------------------------------------

    def reset(self, name: str, inventory: str, supervisor_pid: int) -> None:
        """Forget the previous run's nodes and engines (events stay: they are history)."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM nodes")
            self.db.execute("DELETE FROM engines")
            self.db.execute("DELETE FROM cluster")
            self.db.execute(
                "INSERT INTO cluster (id, name, state, inventory, supervisor_pid, started, updated) "
                "VALUES (1, ?, 'starting', ?, ?, ?, ?)",
                (name, inventory, supervisor_pid, now, now),
            )

    def set_cluster(self, **fields: Any) -> None:
        for key in ("controller_ports", "tasks", "jobs"):
            if key in fields:
                fields[key] = json.dumps(fields[key])
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE cluster SET {cols} WHERE id = 1", tuple(fields.values()))

    def set_node(self, host: str, **fields: Any) -> None:
        fields["updated"] = time.time()
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        updates = ", ".join(f"{k} = excluded.{k}" for k in fields)
        if "position" not in fields:
            fields = {"position": self._next_position(), **fields}
            cols, marks = "position, " + cols, "?, " + marks
        self.db.execute(
            f"INSERT INTO nodes (host, {cols}) VALUES (?, {marks}) ON CONFLICT(host) DO UPDATE SET {updates}",
            (host, *fields.values()),
        )

    def _next_position(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM nodes").fetchone()[0]

    def set_engine(self, engine_id: int, host: str, state: str, pid: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO engines (id, host, pid, state, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET host = excluded.host, state = excluded.state, "
            "pid = COALESCE(excluded.pid, engines.pid), updated = excluded.updated",
            (engine_id, host, pid, state, time.time()),
        )

    def drop_engines(self, host: str) -> None:
        self.db.execute("DELETE FROM engines WHERE host = ?", (host,))

    def add_sample(self, host: str, sample: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO samples (time, host, data) VALUES (?, ?, ?)",
            (sample.get("time", time.time()), host, json.dumps(sample)),
        )

    def compact(
        self, now: float | None = None, full_s: float = 600, bucket_s: float = 60, keep_s: float = 7 * 86400
    ) -> int:
        """Keep every sample of the last ``full_s``, one a ``bucket_s`` before that, none past ``keep_s``.

        At one sample a second a node writes 86,400 rows a day; this keeps about 2,000.
        """
        now = time.time() if now is None else now
        with self.db:
            self.db.execute("BEGIN")
            old = self.db.execute("DELETE FROM samples WHERE time < ?", (now - keep_s,)).rowcount
            thinned = self.db.execute(
                "DELETE FROM samples WHERE time < ? AND rowid NOT IN ("
                " SELECT MIN(rowid) FROM samples WHERE time < ? GROUP BY host, CAST(time / ? AS INTEGER))",
                (now - full_s, now - full_s, bucket_s),
            ).rowcount
        return old + thinned

    def samples(self, host: str, since: float = 0.0) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT data FROM samples WHERE host = ? AND time >= ? ORDER BY time", (host, since))
        return [json.loads(r["data"]) for r in rows]

    def add_event(self, kind: str, message: str, host: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO events (time, host, kind, message) VALUES (?, ?, ?, ?)",
            (time.time(), host, kind, message),
        )

    # -- everyone reads --------------------------------------------------------

    def cluster(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM cluster WHERE id = 1").fetchone()
        if row is None:
            return None
        out = dict(row)
        for key in ("controller_ports", "tasks", "jobs"):
            out[key] = json.loads(out[key]) if out.get(key) else None
        return out

    def nodes(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM nodes ORDER BY position")]

    def engines(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM engines ORDER BY id")]

    def latest_sample(self, host: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM samples WHERE host = ? ORDER BY time DESC LIMIT 1", (host,)).fetchone()
        return None if row is None else json.loads(row["data"])

    def events(self, limit: int = 50, host: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM events"
        args: tuple = ()
        if host is not None:
            query += " WHERE host = ?"
            args = (host,)
        query += " ORDER BY id DESC LIMIT ?"
        rows = [dict(r) for r in self.db.execute(query, (*args, limit))]
        return rows[::-1]
