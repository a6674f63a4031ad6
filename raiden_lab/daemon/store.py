"""The state store: one SQLite file per cluster, written by its supervisor, read by everyone.

WAL mode lets the CLI, the server extension and notebooks read while the
supervisor writes, and the file outlives every process, so ``raiden status``
and ``raiden events`` work from any shell.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import RaidenError
from ..vocabulary import Event
from .schema import SCHEMA

log = logging.getLogger("raiden.store")

EVENTS_KEPT = 10_000


def unreadable(path: Path, error: Exception) -> RaidenError:
    """The one sentence for a state file SQLite cannot read."""
    return RaidenError(
        f"{path}: the state file is damaged ({error}); `raiden down` still stops the cluster, "
        "and the next supervisor moves the file aside and starts a new one"
    )


SAMPLE_BATCH_S = 1.0


def _is_corrupt(error: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT and SQLITE_NOTADB, not a lock or a full disk (those are OperationalError)."""
    return isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError)


def _writes(method: Callable) -> Callable:
    """A supervisor's write that must not end the supervisor (see ``Store.survive``)."""

    @functools.wraps(method)
    def write(self: Store, *args: Any, **kwargs: Any) -> Any:
        if not self.survive:
            return method(self, *args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except sqlite3.Error as e:
            if _is_corrupt(e) and self.recover(e):
                return method(self, *args, **kwargs)
            self._lost(e)
            return None
        if self._failing_since is not None:
            self._recovered_writes()
        return result

    return write


class Store:
    """A connection to one cluster's state file. Use one per thread.

    The supervisor's store ``survive``s: a write that fails (a full disk) is counted and
    told as one event once writing works again; a file that turned into something else
    than a database is moved aside and a new one started (``on_recover`` then writes the
    cluster's state into it again).
    """

    def __init__(self, path: Path, readonly: bool = False, survive: bool = False) -> None:
        # Readers skip the schema and mode set-up; SQLite's own read-only mode is not
        # used because it cannot open a WAL file whose writer has checkpointed and gone.
        self.path = Path(path)
        self.readonly = readonly
        self.survive = survive
        self.on_recover: Callable[[], None] | None = None
        self.moved_aside: list[Path] = []
        self._failing_since: float | None = None
        self._lost_writes = 0
        self._last_complaint = 0.0
        self._samples: list[tuple[float, str, str]] = []  # written together, at most SAMPLE_BATCH_S apart
        self._samples_since = 0.0
        if survive:
            try:
                self._open()
            except sqlite3.DatabaseError as e:
                if not _is_corrupt(e):
                    raise
                self._move_aside(e)
                self._open()
        else:
            self._open()

    def _open(self) -> None:
        self.db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        if not self.readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._migrate()
        self.db.row_factory = sqlite3.Row

    def _move_aside(self, error: Exception) -> Path:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self.db.close()
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")
        self.moved_aside.append(aside)
        log.error("%s was damaged (%s); moved it to %s and started a new one", self.path, error, aside)
        return aside

    def recover(self, error: Exception) -> bool:
        """Move a damaged file aside, start a new one and have the owner write its state again."""
        try:
            aside = self._move_aside(error)
            self._open()
        except (OSError, sqlite3.Error):
            log.exception("could not replace the damaged state file %s", self.path)
            return False
        survive, self.survive = self.survive, False  # writing the state again must not recurse
        try:
            if self.on_recover is not None:
                try:
                    self.on_recover()
                except sqlite3.Error:
                    log.exception("could not write the cluster's state into the new state file")
            self.add_event(
                Event.STATE_FILE_DAMAGED,
                f"the state file was damaged ({error}); it was moved to {aside.name} and a new one started",
            )
        finally:
            self.survive = survive
        return True

    def check(self) -> None:
        """Read the file through a new connection, as other processes do; recover if it is damaged."""
        try:
            probe = sqlite3.connect(self.path, timeout=5)
            try:
                probe.execute("SELECT COUNT(*) FROM cluster").fetchone()
            finally:
                probe.close()
        except sqlite3.DatabaseError as e:
            if _is_corrupt(e) or "no such table" in str(e):  # damaged, or removed (the probe made an empty one)
                self.recover(e)

    def _lost(self, error: sqlite3.Error) -> None:
        now = time.time()
        if self._failing_since is None:
            self._failing_since = now
        self._lost_writes += 1
        if now - self._last_complaint > 60:
            self._last_complaint = now
            log.error("cannot write the state file %s (%s); the cluster keeps running", self.path, error)

    def _recovered_writes(self) -> None:
        since, lost = self._failing_since, self._lost_writes
        self._failing_since, self._lost_writes = None, 0
        assert since is not None
        self.add_event(
            Event.STATE_FILE_UNWRITABLE,
            f"the state file could not be written for {time.time() - since:.0f} s (is the head's disk full?); "
            f"{lost} updates were lost, the cluster kept running",
        )

    def _migrate(self) -> None:
        """Add the columns later versions brought to a state file an older version made."""
        for table, column, kind in (
            ("cluster", "tasks", "TEXT"),
            ("cluster", "jobs", "TEXT"),
            ("nodes", "power", "TEXT"),
        ):
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
        except sqlite3.DatabaseError as e:
            raise unreadable(path, e) from None

    def close(self) -> None:
        if self._samples and not self.readonly:
            self.flush_samples()
        self.db.close()

    # -- the supervisor writes -------------------------------------------------

    @_writes
    def reset(
        self, name: str, inventory: str, supervisor_pid: int, nodes: Sequence[tuple[str, str, str | None]] = ()
    ) -> None:
        """Forget the previous run's nodes and engines (events stay: they are history), and write this
        run's ``nodes`` (host, state, problem) in the same transaction: no reader sees the new cluster
        without its nodes (``raiden up`` would take a node it cannot see for one that failed)."""
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
            self.db.executemany(
                "INSERT INTO nodes (host, position, state, problem, updated) VALUES (?, ?, ?, ?, ?)",
                [(host, position, state, problem, now) for position, (host, state, problem) in enumerate(nodes)],
            )

    @_writes
    def set_cluster(self, **fields: Any) -> None:
        for key in ("controller_ports", "tasks", "jobs"):
            if key in fields:
                fields[key] = json.dumps(fields[key])
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE cluster SET {cols} WHERE id = 1", tuple(fields.values()))

    @_writes
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

    @_writes
    def set_engine(self, engine_id: int, host: str, state: str, pid: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO engines (id, host, pid, state, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET host = excluded.host, state = excluded.state, "
            "pid = COALESCE(excluded.pid, engines.pid), updated = excluded.updated",
            (engine_id, host, pid, state, time.time()),
        )

    @_writes
    def drop_engines(self, host: str) -> None:
        self.db.execute("DELETE FROM engines WHERE host = ?", (host,))

    @_writes
    def drop_node(self, host: str) -> None:
        """A node left the cluster (``raiden remove``): its row and engines go, its events stay."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM engines WHERE host = ?", (host,))
            self.db.execute("DELETE FROM nodes WHERE host = ?", (host,))

    def add_sample(self, host: str, sample: dict[str, Any]) -> None:
        """Kept, and written with the others in one transaction once the first is SAMPLE_BATCH_S old.

        Hundreds of nodes sampling every second would otherwise be hundreds of commits a second.
        """
        if not self._samples:
            self._samples_since = time.monotonic()
        self._samples.append((sample.get("time", time.time()), host, json.dumps(sample)))
        if time.monotonic() - self._samples_since >= SAMPLE_BATCH_S:
            self.flush_samples()

    @_writes
    def flush_samples(self) -> None:
        rows, self._samples = self._samples, []
        if rows:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT INTO samples (time, host, data) VALUES (?, ?, ?)", rows)

    @_writes
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
            self.db.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", (EVENTS_KEPT,))
        return old + thinned

    def samples(self, host: str, since: float = 0.0) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT data FROM samples WHERE host = ? AND time >= ? ORDER BY time", (host, since))
        return [json.loads(r["data"]) for r in rows]

    @_writes
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

    def engine_ids_on(self, states: tuple[str, ...]) -> set[int]:
        """Ids of the engines whose node is in one of ``states``: one query, for a map that asks every second."""
        marks = ",".join("?" * len(states))
        query = f"SELECT e.id FROM engines e JOIN nodes n ON e.host = n.host WHERE n.state IN ({marks})"
        return {row[0] for row in self.db.execute(query, states)}

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
