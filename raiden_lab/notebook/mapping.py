"""A map that is fast without a chunk size and loses nothing when engines or nodes are lost.

ipyparallel's ``LoadBalancedView.map`` sends one task per item unless told a
chunk size; with 100k tiny items the messages cost far more than the work.
Here chunks are sized from the work itself, the way joblib sizes its batches:
each chunk reports how long its items took on the engine, and the next chunks
aim at about half a second. A chunk whose engine dies, or whose node is lost,
is sent again by the map itself (``retries`` times at most), and only such a chunk:
ipyparallel's own retries also repeat a chunk whose function raised, and once it
has failed on every engine the scheduler holds it forever, so a map of a function
that raises would never end. Here it raises the function's error at once. Every second the map looks
at the cluster: engines that joined get work, engines whose node is draining or
powered off get none.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from typing import Any, NoReturn

import ipyparallel as ipp

from ..errors import RaidenError
from .progressbar import Progress
from .stopping import MapInterrupted, MapTimeout, interrupt, settle
from .tasklog import TaskLog, chunk_records, function_name, pack, run_chunk, unpack

__all__ = ["ChunkedMap", "run_chunk"]

ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the colours of a traceback formatted on the engine
SAID_SHOWN = 200  # characters of what a task printed that its record carries to the stream
TARGET_CHUNK_S = 0.5  # joblib aims its batches at 0.2-2 s
BALANCE_ABOVE_S = 0.05
PROBE_ITEMS = 8  # chunks shorter than this are not split further for balance


WATCH_AFTER_S = 3.0  # no result for this long: ask whether results can still come
LOOK_EVERY_S = 1.0  # how often a map looks for engines that joined, or that are draining


class ChunkedMap:
    def __init__(
        self,
        client: ipp.Client,
        fn: Callable,
        iterables: tuple[Iterable, ...],
        *,
        chunksize: int | None = None,
        ordered: bool = True,
        retries: int | None = None,
        progress: bool | None = None,
        targets: list[int] | None = None,
        watch: Callable[[], str | None] | None = None,
        reattach: Callable[[], ipp.Client | None] | None = None,
        avoid: Callable[[], set[int]] | None = None,
        timeout: float | None = None,
        log: TaskLog | None = None,
        node_of: Callable[[int | None], str | None] | None = None,
    ) -> None:
        if chunksize is not None and chunksize < 1:
            raise ValueError(f"chunksize must be at least 1, not {chunksize}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a number of seconds above 0, not {timeout!r}")
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        self.starts: dict[int, int] = {}  # chunk index -> position of its first item
        self.collected: dict[int, list] = {}  # chunk index -> its results, for a map that is stopped
        self._sent = 0  # items sent so far
        self.client = client
        self.uuids: dict[str, int] = {}  # each engine's uuid, seen while the map ran: who died, when one did
        self._engines_seen: dict = {}
        self.fn = fn
        self.engines = max(1, len(targets) if targets is not None else len(client.ids))
        self.total = _common_length(iterables)
        self.star = len(iterables) != 1
        # A range or list is cut into slices (a slice of a range pickles in a few bytes);
        # anything else is consumed as it goes.
        self.sequence = iterables[0] if not self.star and isinstance(iterables[0], (range, list, tuple)) else None
        self.items = iter(
            zip(*iterables, strict=False)
        )  # as map(): the shortest ends it if self.star else iter(iterables[0])
        self.offset = 0
        self.fixed = chunksize
        self.ordered = ordered
        self.view = client.load_balanced_view(targets=targets)
        self.view.retries = 0  # chunks of a lost engine are sent again here (``_retry``), not by the scheduler
        self.progress = progress
        self.per_item_s: float | None = None
        # The first chunks only measure: a few items each, so timer noise does not swamp them.
        self.size = chunksize or (min(PROBE_ITEMS, max(1, self.total // (self.engines * 8))) if self.total else 1)
        self.done = 0
        self.submitted = 0
        # one record per chunk, for plots.timeline: engine, when it started and finished, how many items
        self.records: list[dict[str, Any]] = []
        # asked when no result came for a while: a sentence when none can come any more
        self.watch = watch
        # asked then for a client of a restarted controller; the chunks in flight are sent again
        self.reattach = reattach
        self.retries = retries
        self.targets = targets
        self.resent = 0  # chunks sent again: their engine was lost, or the controller restarted
        # asked every second: engines to send nothing more (their node is draining or powered off)
        self.avoid = avoid
        self._targets_now: list[int] | None = None
        self._tries: dict[int, int] = {}  # chunk index -> times sent again after its engine was lost
        self._looked = time.monotonic()
        # the record of every task (tasklog): this map's number in the cluster's log, what each item printed
        self.log = log if log is not None else TaskLog()
        self.map_id = self.log.new_map()
        self.function = function_name(fn)
        self.node_of = node_of or (lambda engine: None)
        self.said: dict[int, list[tuple[str, str]]] = {}
        self.tasks: list[dict[str, Any]] = []  # this map's records in the log

    def _send(self, index: int, chunk: Any) -> ipp.AsyncResult:
        engines = self.client._engines
        if engines != self._engines_seen:  # one joined, or came back under its id with a new uuid
            self._engines_seen = dict(engines)
            self.uuids.update({(u.decode() if isinstance(u, bytes) else str(u)): e for e, u in engines.items()})
        return self.view.apply_async(run_chunk, self.fn, pack(chunk), self.star, self.starts[index])

    def _record(
        self, index: int, count: int, outcome: str, ar: ipp.AsyncResult | None = None, got: Any = None,
        engine: int | None = None,
    ) -> None:  # fmt: skip
        """Put a chunk (and its items, where timed) in the task log."""
        md = ar.metadata if ar is not None else {}
        engine = md.get("engine_id") if engine is None else engine
        started, completed = md.get("started"), md.get("completed")
        info, seconds = (got[2], got[1]) if got is not None else (None, None)
        records = chunk_records(
            map_id=self.map_id, function=self.function, chunk=index, first=self.starts[index], items=count,
            engine=engine, node=self.node_of(engine), info=info, seconds=seconds, outcome=outcome,
            started=started.timestamp() if started else None, ended=completed.timestamp() if completed else None,
            msg_id=ar.msg_ids[0] if ar is not None else None,
        )  # fmt: skip
        for record in records:
            if record["kind"] == "task" and record["item"] in self.said:  # what it printed, for the stream's tooltip
                record["said"] = "".join(text for _, text in self.said[record["item"]])[:SAID_SHOWN]
            self.log.add(record)
        self.tasks.extend(records)

    def _next_size(self) -> int:
        if self.fixed:
            return self.fixed
        if self.per_item_s is None:
            return self.size
        per_item = max(self.per_item_s, 1e-9)
        wanted = int(TARGET_CHUNK_S / per_item)
        if self.total is not None:
            remaining = max(1, self.total - self.done)
            # every engine gets a share; and, where chunks are long enough for it to matter,
            # about four each, so the last ones balance out
            balance = max(-(-self.total // (self.engines * 4)), int(BALANCE_ABOVE_S / per_item))
            wanted = min(wanted, balance, -(-remaining // self.engines))
        return max(1, wanted)

    def _submit(self, inflight: dict) -> bool:
        size = self._next_size()
        if self.sequence is not None:
            chunk = self.sequence[self.offset : self.offset + size]
            self.offset += len(chunk)
        else:
            chunk = list(itertools.islice(self.items, size))
        if not len(chunk):
            return False
        self.size = size
        self.starts[self.submitted] = self._sent
        self._sent += len(chunk)
        ar = self._send(self.submitted, chunk)
        inflight[ar] = (self.submitted, chunk)
        self.submitted += 1
        return True

    def _view(self, client: ipp.Client) -> ipp.LoadBalancedView:
        self._targets_now = None
        view = client.load_balanced_view(targets=self.targets)
        self.engines = max(1, len(self.targets) if self.targets is not None else len(client.ids))
        view.retries = 0
        return view

    def _look(self) -> None:
        """Use engines that joined since the map began, and stop sending to those being taken away."""
        self._looked = time.monotonic()
        if self.targets is not None:
            return
        try:
            ids = set(self.client.ids)
            avoided = (self.avoid() if self.avoid is not None else set()) & ids
        except Exception:  # the controller or the state file is away for a moment: look again later
            return
        usable = ids - avoided
        if not usable:
            return  # never stop sending altogether: the scheduler waits for an engine
        targets = sorted(usable) if avoided else None
        if targets != self._targets_now:
            self._targets_now = targets
            self.view = self.client.load_balanced_view(targets=targets)
            self.view.retries = 0
        self.engines = len(usable)

    def _lost(self, inflight: dict, finished: dict) -> None:
        """No result for a while: go on with a restarted controller (sending the chunks in flight
        again; a result that comes twice is kept once), or say why none can come."""
        problem = self.watch() if self.watch is not None else None
        if problem is None:
            return
        client = self.reattach() if self.reattach is not None else None
        if client is None:
            of = f" of {self.total}" if self.total is not None else ""
            raise RaidenError(f"{problem}; {self.done}{of} items had finished, run the map again")
        self.client, self.view = client, self._view(client)
        pending = [(ar, index, chunk) for ar, (index, chunk) in inflight.items() if index not in finished]
        inflight.clear()
        for ar, index, chunk in pending:
            self._record(index, len(chunk), "retried", ar)
            inflight[self._send(index, chunk)] = (index, chunk)
            self.resent += 1

    def _retry(
        self, error: ipp.RemoteError, index: int, chunk: Any, inflight: dict, ar: ipp.AsyncResult | None = None
    ) -> None:
        """Send a chunk again when its engine was lost; raise the function's own error (and a chunk lost too often)."""
        allowed = max(3, self.engines) if self.retries is None else self.retries
        if error.ename != "EngineError" or self._tries.get(index, 0) >= allowed:
            self._record(index, len(chunk), "error", ar)
            named = re.search(r"raised by the map's item \d+: .*", error.traceback or "")
            if named:  # the engine's note, where a plain traceback on the head shows it too
                error.add_note(ANSI.sub("", named.group(0)))
            raise error
        self._record(index, len(chunk), "retried", ar, engine=self._dead_engine(error))
        self._tries[index] = self._tries.get(index, 0) + 1
        inflight[self._send(index, chunk)] = (index, chunk)
        self.resent += 1

    def _dead_engine(self, error: ipp.RemoteError) -> int | None:
        """The engine an EngineError says died: ipyparallel names it by id or by its uuid."""
        said = re.search(r"Engine (?:(\d+)|b?'([^']+)') died", str(error.evalue))
        if said is None:
            return None
        if said.group(1):
            return int(said.group(1))
        return self.uuids.get(said.group(2))

    def _stop(self, inflight: dict, why: str) -> NoReturn:
        """Abort what has not started, interrupt what runs, and raise with the results that finished."""
        pending = list(inflight)
        engines = interrupt(self.client, [m for ar in pending for m in ar.msg_ids])
        settle(pending)
        outcome = "interrupted" if why == "was interrupted" else "timed out"
        for ar in pending:
            index, chunk = inflight[ar]
            try:
                if ar.done() and ar.successful():  # finished before the signal came
                    got = ar.get()
                    self.collected[index] = unpack(got[0])
                    self._record(index, len(chunk), "ok", ar, got)
                    continue
            except Exception:
                pass
            self._record(index, len(chunk), outcome, ar)
        results = {
            self.starts[index] + k: value for index, chunk in self.collected.items() for k, value in enumerate(chunk)
        }
        of = f" of {self.total}" if self.total is not None else ""
        stopped = f"; engines {', '.join(map(str, engines))} were interrupted" if engines else ""
        message = f"map {why}: {len(results)}{of} items had finished{stopped} (their results: this error's .results)"
        inflight.clear()
        raise (MapInterrupted if why == "was interrupted" else MapTimeout)(message, results)

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self.chunks())

    def chunks(self) -> Iterator[list]:
        """The results chunk by chunk (in order unless ``ordered=False``)."""
        inflight: dict[ipp.AsyncResult, tuple[int, Any]] = {}
        finished: dict[int, list] = {}
        next_index = 0
        exhausted = False
        bar = Progress(self.total, self.progress)
        quiet_since = time.monotonic()
        try:
            while True:
                if self.deadline is not None and time.monotonic() > self.deadline:
                    self._stop(inflight, f"timed out after {self.timeout:g} s")
                if time.monotonic() - self._looked > LOOK_EVERY_S:
                    self._look()
                depth = self.engines if self.per_item_s is None and not self.fixed else 2 * self.engines
                while not exhausted and len(inflight) < depth:
                    exhausted = not self._submit(inflight)
                if not inflight:
                    break
                done, _ = futures.wait(list(inflight), timeout=0.5, return_when=futures.FIRST_COMPLETED)
                if done:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > WATCH_AFTER_S:
                    quiet_since = time.monotonic()
                    self._lost(inflight, finished)
                    continue
                for ar in done:
                    index, chunk = inflight.pop(ar)
                    count = len(chunk)
                    try:
                        got = ar.get()
                    except ipp.RemoteError as e:
                        self._retry(e, index, chunk, inflight, ar)
                        continue
                    payload, seconds, info = got
                    results = unpack(payload)
                    first = self.starts[index]
                    for k, kind, text in info.get("said") or ():
                        self.said.setdefault(first + k, []).append((kind, text))
                    self._record(index, count, "ok", ar, got)
                    md = ar.metadata
                    self.records.append(
                        {
                            "engine_id": md.get("engine_id"),
                            "started": md.get("started"),
                            "completed": md.get("completed"),
                            "items": count,
                            "chunk": index,
                        }
                    )
                    item_s = seconds / max(1, count)
                    self.per_item_s = item_s if self.per_item_s is None else 0.5 * (self.per_item_s + item_s)
                    self.done += count
                    self.collected[index] = results
                    if self.ordered:
                        finished[index] = results
                    else:
                        yield results
                bar.update(self.done)
                while self.ordered and next_index in finished:
                    yield finished.pop(next_index)
                    next_index += 1
        except KeyboardInterrupt as e:
            if isinstance(e, MapInterrupted):
                raise
            self._stop(inflight, "was interrupted")
        finally:
            for ar in inflight:
                if not ar.done():
                    # sent, not waited for: AsyncResult.abort() waits for the reply without end, and with
                    # the controller gone (its supervisor killed) no reply comes; the map must still answer
                    with contextlib.suppress(Exception):  # its client may be gone with its controller
                        ar._client.abort(jobs=ar.msg_ids, targets=ar._targets, block=False)
            bar.close(self.done)


def _common_length(iterables: tuple[Iterable, ...]) -> int | None:
    try:
        return min(len(it) for it in iterables)  # type: ignore[arg-type]
    except TypeError:
        return None
