"""The chaos soak (benchmarks/chaos_soak.py) on the virtual Pi cluster: 100,000 tasks, nothing lost."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import _make_raiden

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from chaos_soak import soak


def test_a_map_of_100000_tasks_loses_and_duplicates_nothing_under_chaos(vpi, tmp_path) -> None:
    raiden = _make_raiden(tmp_path)
    nodes = [vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3")]
    inventory = vpi.inventory("chaos", nodes, engines=2, filename="chaos.toml")
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 0, ran
    try:
        figures = soak(vpi, inventory, raiden.env, items=100_000, seed=7)
    finally:
        raiden("down", "-i", str(inventory))
    assert figures["results returned"] == 100_000
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["out of order"] == 0
    assert figures["faults injected"] >= 5
    assert figures.get("  controller killed", 0) >= 1 and figures.get("  engine killed", 0) >= 1
