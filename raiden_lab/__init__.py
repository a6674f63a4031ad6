"""Raiden Lab: a personal supercomputer of small Linux boxes, programmed from JupyterLab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "MapInterrupted",
    "MapTimeout",
    "RaidenCluster",
    "RaidenError",
    "__version__",
    "class_view",
    "connect",
    "dashboard",
    "jit",
    "load_ipython_extension",
    "plots",
    "scaling",
]

if TYPE_CHECKING:
    from .errors import RaidenError
    from .notebook.client import RaidenCluster, connect


def __getattr__(name: str) -> Any:
    # ipyparallel is heavy to import; `raiden --help` and the node probes should not pay for it.
    import importlib

    if name in ("connect", "RaidenCluster"):
        return getattr(importlib.import_module(".notebook.client", __name__), name)
    if name == "dashboard":
        return importlib.import_module(".notebook.dashboard", __name__).dashboard
    if name == "class_view":
        return importlib.import_module(".notebook.classview", __name__).class_view
    if name in ("jit", "plots", "scaling"):
        # jit is a callable module: `@raiden_lab.jit` and `raiden_lab.jit.warmup` both work
        return importlib.import_module(f".notebook.{name}", __name__)
    if name in ("MapInterrupted", "MapTimeout"):
        return getattr(importlib.import_module(".notebook.stopping", __name__), name)
    if name == "RaidenError":
        from .errors import RaidenError

        return RaidenError
    raise AttributeError(f"module 'raiden_lab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext raiden_lab``: the ``%raiden`` and ``%%raiden_jit`` magics."""
    from .notebook.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "raiden_lab.server"}]
