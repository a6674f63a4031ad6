"""Reading a cluster's state from its store, for anyone: CLI, notebook, server extension."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from ..config.inventory import DEFAULT_PATH, INVENTORY_ENV, Inventory, embedded_default, load
from ..config.paths import ClusterPaths, raiden_home
from ..daemon import control
from ..daemon.store import Store, unreadable
from ..errors import RaidenError
from .models import make_cluster_model, make_event_model


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
    except sqlite3.DatabaseError as e:
        raise unreadable(paths.store, e) from None
    finally:
        store.close()


def engine_ids_on(paths: ClusterPaths, states: tuple[str, ...]) -> set[int]:
    """Engines whose node is in one of ``states`` (as the supervisor last stored them); none without a store."""
    store = Store.open_existing(paths.store)
    if store is None:
        return set()
    try:
        return store.engine_ids_on(states)
    except sqlite3.OperationalError:
        return set()
    except sqlite3.DatabaseError as e:
        raise unreadable(paths.store, e) from None
    finally:
        store.close()


def cluster_events(paths: ClusterPaths, limit: int = 50, host: str | None = None) -> list[dict[str, Any]]:
    store = Store.open_existing(paths.store)
    if store is None:
        return []
    try:
        return [make_event_model(e) for e in store.events(limit=limit, host=host)]
    except sqlite3.DatabaseError as e:
        raise unreadable(paths.store, e) from None
    finally:
        store.close()


def find_inventory(name: str | None, inventory: str | os.PathLike[str] | None) -> Inventory:
    """The cluster a notebook means: ``inventory``, else ``./raiden.toml``, else ``$RAIDEN_INVENTORY`` (set by
    ``raiden lab -i FILE``), else the one running by ``name``."""
    if inventory is not None:
        inv = load(inventory)
        if name is not None and inv.name != name:
            raise RaidenError(f"{inventory} describes cluster '{inv.name}', not '{name}'")
        return inv
    for candidate in (DEFAULT_PATH, os.environ.get(INVENTORY_ENV)):  # the folder's, then `raiden lab -i`'s
        if candidate and Path(candidate).is_file():
            inv = load(candidate)
            if name is None or inv.name == name:
                return inv
    running = running_inventories()
    if name is not None:
        if name in running:
            return running[name]
        if name == embedded_default().name:
            return embedded_default()
        raise RaidenError(f"no running cluster named '{name}'; running: {', '.join(running) or 'none'}")
    if len(running) == 1:
        return next(iter(running.values()))
    return embedded_default()


def running_inventories() -> dict[str, Inventory]:
    """Running clusters by name, with the inventory each was started from."""
    found: dict[str, Inventory] = {}
    home = raiden_home()
    if not home.is_dir():
        return found
    for entry in sorted(home.iterdir()):
        paths = ClusterPaths(entry.name, home)
        if not (entry / "supervisor.lock").exists() or not control.is_running(paths):
            continue
        try:
            store = Store.open_existing(paths.store)
            if store is None:
                continue
            try:
                row = store.cluster() or {}
            finally:
                store.close()
        except (RaidenError, sqlite3.DatabaseError):
            continue
        source = row.get("inventory")
        try:
            found[entry.name] = load(source) if source and source != "(embedded default)" else embedded_default()
        except RaidenError:
            continue
    return found
