"""A launch mode from another package: every engine a local child process, through ipyparallel's own
``LocalEngineLauncher``. The whole of what a new launcher needs: this module and one entry point
(``toy_launcher-0.1.dist-info/entry_points.txt`` beside it); nothing of Raiden is edited."""

from __future__ import annotations

import asyncio
from typing import Any

from ipyparallel.cluster.launcher import LocalEngineLauncher

from raiden_lab.config.tables import Kind, Setting, Table
from raiden_lab.launchers.base import Launcher


class ToyLauncher(Launcher):
    name = "toy"

    settings_table = Table(
        "toy", (Setting("delay", Kind((float, int), "seconds"), "seconds before each engine starts", "0"),)
    )

    @classmethod
    def validate(cls, v: Any, data: dict[str, Any], cluster: dict[str, Any], nodes: list) -> float:
        for i, node in enumerate(nodes):
            if not node.is_local:
                v.fail(("nodes", i, "host"), f'launcher = "toy" starts engines on this machine only, not {node.host}')
        return float(data.get("toy", {}).get("delay", 0.0))

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.engines: dict[str, list[LocalEngineLauncher]] = {}

    async def start_node(self, host: str) -> None:
        node = self.ctx.nodes[host]
        node.reset_engines()
        self.engines[host] = []
        for engine_id in node.engine_ids:  # each asks the hub for its planned id, so a restart keeps them
            engine = LocalEngineLauncher(
                profile_dir=str(self.ctx.paths.profile_dir), cluster_id="", engine_args=[f"--IPEngine.id={engine_id}"]
            )
            engine.start()
            self.engines[host].append(engine)
            await asyncio.sleep(self.ctx.inventory.settings)
        if node.monitor is not None:
            await node.monitor.start()

    async def stop_node(self, host: str, reachable: bool = True) -> None:
        node = self.ctx.nodes[host]
        for engine in self.engines.pop(host, []):
            if engine.state == "running":
                await engine.stop()  # TERM, then KILL if it lingers
        if node.monitor is not None:
            await node.monitor.stop()
