"""What a message costs: round trips of growing size, fitted to ``latency + bytes / bandwidth``.

Lesson 01 measures it twice: notebook to engine (through the controller, as every ``apply``, ``push``
and map chunk travels) and engine to engine (a TCP connection straight from one engine to another, on
another node where there is one: what MPI ranks and a shuffle use). Lessons 06 and 08 predict their
timings from it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import RaidenError

SIZES = tuple(8 * 4**k for k in range(12))  # 8 B .. 32 MiB, each four times the last
MIB = 2**20
SMALL = SIZES[:6]  # up to 8 KiB: what the latency is measured from
QUICK = (*SMALL, MIB)  # the latency, and a first look at the bandwidth, in a fraction of a second


@dataclass(frozen=True)
class MessageCost:
    """A fitted cost: ``seconds(n)`` is one round trip carrying ``n`` bytes one way."""

    where: str
    latency_s: float  # the round trip of an empty message
    bandwidth: float  # bytes per second, once messages are large
    points: tuple[tuple[int, float], ...]  # (bytes, fastest round trip in seconds) as measured

    def seconds(self, nbytes: float) -> float:
        return self.latency_s + nbytes / self.bandwidth

    def measured(self, nbytes: int) -> float:
        """The round trip measured for exactly ``nbytes`` (one of the sizes sent)."""
        for n, s in self.points:
            if n == nbytes:
                return s
        raise KeyError(f"{nbytes} bytes was not measured; the sizes were {[n for n, _ in self.points]}")

    def __repr__(self) -> str:
        return (
            f"{self.where}: latency {1000 * self.latency_s:.3f} ms + bytes / {self.bandwidth / 1e6:,.0f} MB/s "
            f"({len(self.points)} sizes, {self.points[0][0]} B to {self.points[-1][0] / MIB:g} MiB)"
        )

    def table(self) -> str:
        rows = [f"{'bytes':>12}  {'measured':>10}  {'fit':>10}"]
        for n, s in self.points:
            rows.append(f"{n:>12,}  {1000 * s:>8.3f} ms  {1000 * self.seconds(n):>7.3f} ms")
        return "\n".join(rows)


def fit(where: str, points: list[tuple[int, float]]) -> MessageCost:
    """The model through both ends of the measurement: the latency is the fastest round trip of a small
    message (8 KiB or less), the bandwidth what the largest message adds to it. Round trips are the
    fastest of a few, so a busy moment does not count as the network."""
    if len(points) < 2:
        raise RaidenError("a fit needs round trips of at least two sizes")
    points = sorted(points)
    small = [t for n, t in points if n <= 8 * 1024] or [points[0][1]]
    latency = min(small)
    n, t = points[-1]
    if n <= 8 * 1024 or t <= latency:
        raise RaidenError(f"the largest message ({n} B) took no longer than an empty one: send a larger one")
    return MessageCost(where, latency, n / (t - latency), tuple(points))


def _repeats(nbytes: int) -> int:
    return 7 if nbytes <= 64 * 1024 else 3 if nbytes <= 2 * MIB else 2


def notebook_to_engine(cluster: Any, engine: int | None = None, sizes: tuple[int, ...] = SIZES) -> MessageCost:
    """Round trips from this notebook to one engine: ``n`` bytes there, their length back."""
    target = cluster.client[cluster.ids[-1] if engine is None else engine]
    target.apply_sync(len, b"warm up")
    points = []
    for n in sizes:
        data = bytes(n)
        best = float("inf")
        for _ in range(_repeats(n)):
            start = time.perf_counter()
            target.apply_sync(len, data)
            best = min(best, time.perf_counter() - start)
        points.append((n, best))
    return fit("notebook to engine", points)


def _serve(host: str, rounds: int) -> int:
    """On an engine: accept one connection on ``host``; answer each message (8-byte length, then the bytes)
    with one byte, ``rounds`` times, from a thread; the port."""
    listener = socket.create_server((host, 0))
    listener.settimeout(60)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(60)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for _ in range(rounds):
                    (size,) = struct.unpack("!Q", _read(conn, 8))
                    left = size
                    while left:
                        left -= len(conn.recv(min(left, 1 << 20)))
                    conn.sendall(b"k")

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def _read(conn: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        more = conn.recv(n - len(got))
        if not more:
            raise ConnectionError("the other engine closed the connection")
        got += more
    return got


def _ping(host: str, port: int, sizes: list[int], repeats: list[int]) -> list[tuple[int, float]]:
    """On an engine: send each size to the other engine ``repeats`` times; the fastest round trip of each."""
    points = []
    with socket.create_connection((host, port), timeout=60) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for n, times in zip(sizes, repeats, strict=True):
            data = bytes(n)
            best = float("inf")
            for _ in range(times):
                start = time.perf_counter()
                conn.sendall(struct.pack("!Q", n) + data)
                _read(conn, 1)
                best = min(best, time.perf_counter() - start)
            points.append((n, best))
    return points


def engine_to_engine(cluster: Any, sizes: tuple[int, ...] = SIZES) -> MessageCost:
    """Round trips between two engines, on two different nodes where the cluster has them: the first
    engine sends, an engine of the last node answers."""
    nodes = [n for n in cluster.nodes if n["engines"]]
    if len(cluster.ids) < 2 or not nodes:
        raise RaidenError("engine to engine needs two engines")
    sender = nodes[0]["engines"][0]["id"]
    last = nodes[-1]
    receiver = next((e["id"] for e in last["engines"] if e["id"] != sender), None)
    if receiver is None:
        receiver = next(i for i in cluster.ids if i != sender)
    host = next(n["host"] for n in nodes if any(e["id"] == receiver for e in n["engines"]))
    repeats = [_repeats(n) + 1 for n in sizes]  # the first trip opens the path: one more each
    port = cluster.client[receiver].apply_sync(_serve, host, sum(repeats))
    points = cluster.client[sender].apply_sync(_ping, host, port, list(sizes), repeats)
    where = "engine to engine" + (" (two nodes)" if len(nodes) > 1 else " (one node)")
    return fit(where, [tuple(p) for p in points])
