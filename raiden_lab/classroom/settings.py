"""The ``[class]`` table of ``raiden.toml``: the seats a class hands out, and what each may hold.

The cluster each seat is comes from these settings and the class's inventory
(``classroom/seatinventory.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..config.syntax import port_range

# Measured (benchmarks/bench_engine_memory.py): an idle engine costs a node about 80 MiB of its own
# memory (USS), 130 MiB with its share of the libraries. 20 seats of one engine fit a 4 GiB Pi 4.
DEFAULT_SEATS = 20
DEFAULT_ENGINES_PER_SEAT = 1
PORTS_PER_SEAT = 20  # what one controller listens on (MIN_CONTROLLER_PORTS)
_SEAT_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,24}\{n\}[A-Za-z0-9_.-]{0,6}$")

CLASS_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "seats": ((int,), "an integer"),
    "engines_per_seat": ((int,), "an integer"),
    "seat_user": ((str,), 'a user name with {n} for the seat\'s number, e.g. "raiden-seat{n}"'),
    "ports": ((str,), 'a port range like "10200-10599"'),
    "memory_per_seat": ((str,), 'a size like "512M" or "1G"'),
    "processes_per_seat": ((int,), "an integer"),
}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([MG])i?B?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ClassSettings:
    seats: int = DEFAULT_SEATS
    engines_per_seat: int = DEFAULT_ENGINES_PER_SEAT
    seat_user: str | None = None  # without it the class hands out no seats (only the progress grid)
    ports: tuple[int, int] | None = None
    memory_per_seat: int | None = None  # bytes a seat's processes may hold on one node (shared memory too)
    processes_per_seat: int | None = None  # processes a seat's account may run on one node

    def limits(self) -> dict[str, int]:
        """What each node's runner of a seat enforces (node/seatguard.py)."""
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
    """The ``[class]`` table, its keys already type-checked; ``fail(key, what)`` raises."""
    seats = table.get("seats", DEFAULT_SEATS)
    engines = table.get("engines_per_seat", DEFAULT_ENGINES_PER_SEAT)
    if not 1 <= seats <= 500:
        fail("seats", f"seats must be from 1 to 500, not {seats}")
    if not 1 <= engines <= 64:
        fail("engines_per_seat", f"engines_per_seat must be from 1 to 64, not {engines}")
    user = table.get("seat_user")
    if user is not None and not _SEAT_USER_RE.fullmatch(user):
        fail("seat_user", f'seat_user {user!r} must be a plain user name holding {{n}}, e.g. "raiden-seat{{n}}"')
    ports = None
    if "ports" in table:
        ports = port_range(table["ports"])
        if ports is None or not 1024 <= ports[0] <= ports[1] <= 65535:
            fail("ports", f'ports {table["ports"]!r} is not a range from 1024 to 65535; write it as "FIRST-LAST"')
        assert ports is not None
        if ports[1] - ports[0] + 1 < seats * PORTS_PER_SEAT:
            fail(
                "ports",
                f"ports {table['ports']!r} gives {ports[1] - ports[0] + 1} ports; {seats} seats need "
                f'{seats * PORTS_PER_SEAT} ({PORTS_PER_SEAT} each), e.g. "{ports[0]}-{ports[0] + seats * PORTS_PER_SEAT - 1}"',
            )
    memory = None
    if "memory_per_seat" in table:
        size = _SIZE_RE.match(table["memory_per_seat"])
        memory = int(size.group(1)) << (20 if size.group(2).upper() == "M" else 30) if size else 0
        if memory < 64 << 20:
            fail(
                "memory_per_seat",
                f'memory_per_seat {table["memory_per_seat"]!r} is not a size of 64M or more, like "512M"',
            )
    processes = table.get("processes_per_seat")
    if processes is not None and not 16 <= processes <= 100_000:
        fail("processes_per_seat", f"processes_per_seat must be from 16 to 100000, not {processes}")
    return ClassSettings(
        seats=seats,
        engines_per_seat=engines,
        seat_user=user,
        ports=ports,
        memory_per_seat=memory,
        processes_per_seat=processes,
    )
