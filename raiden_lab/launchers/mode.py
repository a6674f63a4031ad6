"""A launch mode as the inventory knows it: its ``[NAME]`` table, its checks, what the preflight needs.

The CLI, ``raiden doctor``, ``provision``, ``wheelhouse`` and ``up`` ask these before any engine runs,
through ``Inventory.mode`` (the registered class of ``launcher = "NAME"``, looked up once); the
running side (``base.Launcher``, in the supervisor) extends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..config.tables import Table
from ..operations import doctor

if TYPE_CHECKING:
    from ..config.inventory import Inventory, Node, Validator
    from ..config.paths import ClusterPaths
    from ..transport.nodes import NodeReport


class LaunchMode:
    """What a launch mode is, from the inventory alone: all class-side, asked before anything runs."""

    name: ClassVar[str] = ""
    # True: the inventory lists no nodes; the launcher learns them as engines land (Slurm)
    finds_nodes: ClassVar[bool] = False
    # True: a node can join or leave the running cluster (one engine set per node)
    grows_live: ClassVar[bool] = False
    # its own ``[NAME]`` table (``config/tables.py``), declared beside the class; None: no table
    settings_table: ClassVar[Table | None] = None

    # -- the inventory ---------------------------------------------------------------

    @classmethod
    def validate(cls, v: Validator, data: dict[str, Any], cluster: dict[str, Any], nodes: list[Node]) -> Any:
        """Check what only this launcher knows (``v.fail`` names the line); return its settings."""
        return None

    # -- before anything runs (CLI, doctor, provision) ------------------------------------

    @classmethod
    def check_head(cls, inventory: Inventory) -> str | None:
        """A sentence when the head lacks what the launcher runs (a missing ``mpiexec``)."""
        return None

    @classmethod
    def node_packages(cls, inventory: Inventory) -> tuple[str, ...]:
        """Python packages every node needs beyond the engines' own (checked and provisioned)."""
        return ()

    @classmethod
    def judge(cls, report: NodeReport, found: dict[str, Any], node: Node) -> None:
        """Add the launcher's problems to a node's preflight report."""

    @classmethod
    async def preflight(cls, inventory: Inventory, paths: ClusterPaths) -> list[NodeReport]:
        """Every node's check (``raiden doctor``, ``raiden up``)."""
        return await doctor.check(inventory, paths)

    @classmethod
    def blocking_problem(cls, reports: list[NodeReport]) -> str | None:
        """For launchers that find their nodes: a problem that stops ``up`` before anything starts."""
        return None

    @classmethod
    def engines_wanted(cls, inventory: Inventory) -> int | None:
        """Engines ``raiden up`` waits for when the inventory cannot tell (None: the nodes' engines)."""
        return None

    @classmethod
    def restart_refusal(cls, inventory: Inventory, host: str) -> str | None:
        """Why one node cannot be restarted alone, or None when it can."""
        return None

    @classmethod
    def job_text(cls, job: dict[str, Any]) -> str:
        """One line for a job this launcher runs (``status``, the sidebar, the dashboard)."""
        return f"{cls.name} job {job.get('id')}: {job.get('state')}"

    @classmethod
    def clean_up_after(cls, inventory: Inventory, paths: ClusterPaths) -> list[str]:
        """A supervisor of this cluster was killed: end what it left outside the head (sentences of what was done)."""
        return []

    @classmethod
    def job_problem(cls, job: dict[str, Any]) -> str | None:
        """A job that ended or was refused before its engines came up: ``raiden up`` stops waiting."""
        return None
