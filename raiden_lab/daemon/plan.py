"""The plan a supervisor starts from: which nodes passed the preflight, how many engines each, who was left out.

``raiden up`` (``operations/lifecycle.py``) writes it as JSON on the new supervisor's stdin; the
supervisor keeps it as the cluster changes (``membership.py``: nodes join, leave, are skipped), and
launchers read each node's engines and cores from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PlannedNode:
    """One node that passed the preflight: its engines, and what the probe found."""

    engines: int
    arch: str | None = None
    cores: int | None = None
    boot_id: str | None = None


@dataclass
class Plan:
    inventory: str | None = None  # the inventory file (absolute), None for the embedded default
    seat: int | None = None  # this cluster is seat N of the inventory's class
    nodes: dict[str, PlannedNode] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # node -> why the preflight left it out

    @property
    def engines(self) -> int:
        return sum(n.engines for n in self.nodes.values())

    def plan_node(self, host: str, node: PlannedNode) -> None:
        """``host`` is in the plan now (it joined, or was started again): no longer skipped."""
        self.skipped.pop(host, None)
        self.nodes[host] = node

    def skip(self, host: str, problem: str) -> None:
        self.nodes.pop(host, None)
        self.skipped[host] = problem

    def forget(self, host: str) -> None:
        """``host`` left the cluster (or its inventory): neither planned nor skipped."""
        self.nodes.pop(host, None)
        self.skipped.pop(host, None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """The plan as ``to_dict`` wrote it; a ValueError naming the key that is wrong."""
        try:
            return cls(
                inventory=data.get("inventory"),
                seat=data.get("seat"),
                nodes={host: PlannedNode(**node) for host, node in data.get("nodes", {}).items()},
                skipped={str(host): str(why) for host, why in data.get("skipped", {}).items()},
            )
        except (TypeError, AttributeError) as e:
            raise ValueError(f"not a supervisor's plan: {e}") from None
