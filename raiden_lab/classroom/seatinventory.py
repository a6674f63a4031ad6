"""The cluster each seat of a class is, derived from the class's inventory.

A seat is a cluster of its own: its own controller on the head (CurveZMQ keys
of its own, ports of its own from ``[class] ports``) and ``engines_per_seat``
engines on every node reached over SSH, run by that seat's own account on the
node (``seat_user``, e.g. ``"raiden-seat{n}"``), so one student's code can
neither read another seat's keys nor signal its engines. Local nodes are left
out: their engines would run as the teacher.
"""

from __future__ import annotations

import getpass
from dataclasses import replace

from ..config.inventory import Inventory


def seat_name(inventory: Inventory, number: int) -> str:
    return f"{inventory.name}-seat{number}"


def seat_problem(inventory: Inventory) -> str | None:
    """Why this inventory's class can hand out no seats, or None."""
    settings = inventory.classroom
    if settings.seat_user is None:
        return (
            f"{inventory.source}: no seat_user in [class], so the class hands out no seats (only the progress grid); "
            'add e.g. seat_user = "raiden-seat{n}" (an account per seat on every node)'
        )
    if inventory.launcher != "ssh":
        return (
            f"{inventory.where('launcher')}: seats start their engines over SSH; launcher '{inventory.launcher}' cannot"
        )
    if not any(not n.is_local for n in inventory.nodes):
        return f"{inventory.source}: seats run on nodes reached over SSH, and every node here is this machine"
    return None


def owners_python(python: str, owner: str) -> str:
    """The node's Python as a seat account finds it: ``~/x`` is in the owner's home (``~pi/x``), not the seat's."""
    return f"~{owner}/{python[2:]}" if python.startswith("~/") else python


def seat_inventory(inventory: Inventory, number: int) -> Inventory:
    """The cluster of seat ``number``: its own name, ports and node accounts; every link encrypted."""
    settings = inventory.classroom
    user = settings.user(number)
    nodes = tuple(
        replace(
            node,
            user=user,
            engines=settings.engines_per_seat,
            python=owners_python(node.python, node.user or getpass.getuser()),
            # in the seat account's home; one folder per node, as nodes may share a file system
            work_dir=f"~/.raiden/{seat_name(inventory, number)}/{node.host}",
        )
        for node in inventory.nodes
        if not node.is_local
    )
    return replace(
        inventory,
        name=seat_name(inventory, number),
        nodes=nodes,
        engines_per_node=settings.engines_per_seat,
        encrypt_setting=True,
        ports=settings.seat_ports(number),
        seat=number,
    )
