"""The ``[class]`` table of ``raiden.toml``: the seats a class hands out, and what each may hold.

The cluster each seat is comes from these settings and the class's inventory
(``classroom/seatinventory.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..config.syntax import port_range, size
from ..config.tables import INTEGER, Kind, Setting, Table

# Measured (benchmarks/bench_engine_memory.py): an idle engine costs a node about 80 MiB of its own
# memory (USS), 130 MiB with its share of the libraries. 20 seats of one engine fit a 4 GiB Pi 4.
DEFAULT_SEATS = 20
DEFAULT_ENGINES_PER_SEAT = 1
PORTS_PER_SEAT = 20  # what one controller listens on (MIN_CONTROLLER_PORTS)
_SEAT_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,24}\{n\}[A-Za-z0-9_.-]{0,6}$")


CLASS = Table(
    "class",
    (
        Setting(
            "seat_user",
            Kind((str,), 'a user name with {n} for the seat\'s number, e.g. "raiden-seat{n}"'),
            'the node account of seat N, with `{n}`, e.g. `"raiden-seat{n}"`; without it, no seats (only the progress grid)',
            "none",
            lambda v: (
                None
                if _SEAT_USER_RE.fullmatch(v)
                else f'seat_user {v!r} must be a plain user name holding {{n}}, e.g. "raiden-seat{{n}}"'
            ),
        ),
        Setting(
            "seats",
            INTEGER,
            "seats handed out at most",
            str(DEFAULT_SEATS),
            lambda v: None if 1 <= v <= 500 else f"seats must be from 1 to 500, not {v}",
        ),
        Setting(
            "engines_per_seat",
            INTEGER,
            "engines per seat on every node",
            str(DEFAULT_ENGINES_PER_SEAT),
            lambda v: None if 1 <= v <= 64 else f"engines_per_seat must be from 1 to 64, not {v}",
        ),
        Setting(
            "ports",
            Kind((str,), 'a port range like "10200-10599"'),
            f'the seats\' controller ports, e.g. `"10200-10599"` ({PORTS_PER_SEAT} per seat)',
            "any free port",
            lambda v: (
                None
                if (span := port_range(v)) is not None and 1024 <= span[0] <= span[1] <= 65535
                else f'ports {v!r} is not a range from 1024 to 65535; write it as "FIRST-LAST"'
            ),
        ),
        Setting(
            "memory_per_seat",
            Kind((str,), 'a size like "512M" or "1G"'),
            "what one seat's account may hold on a node, e.g. `\"512M\"`: its processes' resident memory and its "
            "files in `/dev/shm`; past it, the seat's largest engine there is killed and restarted, and the seat's "
            'events say why ("engine 3 on pi2 used 610 MB of this seat\'s 512 MB and was restarted")',
            "no limit",
            lambda v: (
                None
                if (size(v) or 0) >= 64 << 20
                else f'memory_per_seat {v!r} is not a size of 64M or more, like "512M"'
            ),
        ),
        Setting(
            "processes_per_seat",
            INTEGER,
            "processes (threads count too) one seat's account may run; past it, starting one fails with "
            "`BlockingIOError`",
            "no limit",
            lambda v: None if 16 <= v <= 100_000 else f"processes_per_seat must be from 16 to 100000, not {v}",
        ),
    ),
)


@dataclass(frozen=True)
class ClassSettings:
    seats: int = DEFAULT_SEATS
    engines_per_seat: int = DEFAULT_ENGINES_PER_SEAT
    seat_user: str | None = None  # without it the class hands out no seats (only the progress grid)
    ports: tuple[int, int] | None = None
    memory_per_seat: int | None = None  # bytes a seat's processes may hold on one node (shared memory too)
    processes_per_seat: int | None = None  # processes a seat's account may run on one node

    def limits(self) -> dict[str, int]:
        """What each node's runner of a seat enforces (``node/runner.py``'s MemoryGuard)."""
        limits = {"memory": self.memory_per_seat, "processes": self.processes_per_seat}
        return {k: v for k, v in limits.items() if v is not None}

    def user(self, number: int) -> str:
        assert self.seat_user is not None
        return self.seat_user.replace("{n}", str(number))

    def seat_ports(self, number: int) -> tuple[int, int] | None:
        if self.ports is None:
            return None
        first = self.ports[0] + (number - 1) * PORTS_PER_SEAT
        return first, first + PORTS_PER_SEAT - 1


def validate(table: dict[str, Any], fail: Any) -> ClassSettings:
    """The ``[class]`` table, each key already checked (``CLASS``); ``fail(key, what)`` raises."""
    seats = table.get("seats", DEFAULT_SEATS)
    ports = port_range(table["ports"]) if "ports" in table else None
    if ports is not None and ports[1] - ports[0] + 1 < seats * PORTS_PER_SEAT:
        fail(
            "ports",
            f"ports {table['ports']!r} gives {ports[1] - ports[0] + 1} ports; {seats} seats need "
            f'{seats * PORTS_PER_SEAT} ({PORTS_PER_SEAT} each), e.g. "{ports[0]}-{ports[0] + seats * PORTS_PER_SEAT - 1}"',
        )
    return ClassSettings(
        seats=seats,
        engines_per_seat=table.get("engines_per_seat", DEFAULT_ENGINES_PER_SEAT),
        seat_user=table.get("seat_user"),
        ports=ports,
        memory_per_seat=size(table["memory_per_seat"]) if "memory_per_seat" in table else None,
        processes_per_seat=table.get("processes_per_seat"),
    )
