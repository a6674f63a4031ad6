"""The engine's half of ``@raiden_lab.jit``: write a function's source into the node's cache and compile it.

Runs on every engine (standard library here; numba imported when used).
Compiled code belongs to one CPU, so what arrives is source, written as a small
module in the node's cache folder and compiled there with
``numba.njit(cache=True)``: numba keys its cache on that file and on the CPU,
and the module's name is a hash of everything in it, so a changed function gets
a new module and never loads a stale entry. numba reloads a cached function by
importing its module by name, which works because the cache folder is on
``sys.path`` (at its end: a file there never hides an installed module).
"""

from __future__ import annotations

import importlib
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """The node's cache: its work folder on an engine, ``$RAIDEN_HOME/jit`` on the head."""
    work = os.environ.get("RAIDEN_WORK_DIR")
    if work:
        return Path(work) / "jit"
    return Path(os.environ.get("RAIDEN_HOME") or "~/.raiden").expanduser().resolve() / "jit"


def _private_dir(folder: Path) -> None:
    """Create ``folder`` and any missing parent 0700 (``~/.raiden`` may not exist yet on the head)."""
    missing = []
    at = folder
    while not at.exists():
        missing.append(at)
        at = at.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def materialize(spec: dict[str, Any], folder: Path) -> Any:
    """Write the function's module into ``folder`` (once) and import it; return the dispatcher."""
    _private_dir(folder)
    for dep in spec["deps"]:
        materialize(dep, folder)
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    path = folder / f"{spec['module']}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(f"# written by raiden_lab.jit for {spec['name']}; do not edit\n{spec['text']}")
        os.replace(tmp, path)
    module = importlib.import_module(spec["module"])
    return getattr(module, spec["name"])


def warm_runtime() -> None:
    """Run once as each engine starts: take its work folder off ``sys.path`` and warm numba.

    IPython puts ``''`` (the cwd, here the node's work folder) in front of ``sys.path``;
    a file there would hide an installed module. Then pay numba's first-use cost
    (about 0.1 s) before the first real call does.
    """
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]
    import numba

    numba.njit(lambda: 0)()


def compile_here(spec: dict[str, Any], signatures: list[str]) -> dict[str, Any]:
    """On an engine: compile (or load from the node's cache) and say how long it took."""
    row: dict[str, Any] = {
        "node": os.environ.get("RAIDEN_NODE", socket.gethostname()),
        "arch": platform.machine(),
        "error": None,
    }
    start = time.perf_counter()
    try:
        dispatcher = materialize(spec, cache_dir())
        misses = sum(dispatcher.stats.cache_misses.values())
        from numba.core import sigutils

        for sig in signatures:
            # by argument types only: the same cache entry as a call with those arguments
            args, _ = sigutils.normalize_signature(sig)
            dispatcher.compile(tuple(args))
        # a hit: nothing had to be compiled (it came from the node's cache, or was loaded already)
        row["cache_hit"] = sum(dispatcher.stats.cache_misses.values()) == misses
    except Exception as e:  # reported once for the whole cluster by warmup()
        row["error"] = f"{type(e).__name__}: {e}"
        row["cache_hit"] = False
    row["seconds"] = time.perf_counter() - start
    return row
