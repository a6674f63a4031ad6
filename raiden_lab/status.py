"""Reading a cluster's state from its store, for anyone: CLI, notebook, server extension."""

from __future__ import annotations

import sqlite3
from typing import Any

from . import control
from .inventory import Inventory
from .models import make_cluster_model, make_event_model
from .paths import ClusterPaths
from .store import Store


def cluster_status(inventory: Inventory, paths: ClusterPaths | None = None) -> dict[str, Any]:
    paths = paths or ClusterPaths(inventory.name)
    running = control.is_running(paths)
    store = Store.open_existing(paths.store)
    if store is None:
        return make_cluster_model(inventory, None, [], [], {}, False)
    try:
        nodes = store.nodes()
        samples = {n["host"]: store.latest_sample(n["host"]) for n in nodes}
        return make_cluster_model(inventory, store.cluster(), nodes, store.engines(), samples, running)
    except sqlite3.OperationalError:  # a schema being created or migrated under us: nothing to show yet
        return make_cluster_model(inventory, None, [], [], {}, False)
    finally:
        store.close()


def cluster_events(paths: ClusterPaths, limit: int = 50, host: str | None = None) -> list[dict[str, Any]]:
    store = Store.open_existing(paths.store)
    if store is None:
        return []
    try:
        return [make_event_model(e) for e in store.events(limit=limit, host=host)]
    finally:
        store.close()
