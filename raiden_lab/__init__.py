"""Raiden Lab: a personal supercomputer of small Linux boxes, programmed from JupyterLab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["RaidenCluster", "RaidenError", "connect", "dashboard", "jit", "load_ipython_extension", "__version__"]

if TYPE_CHECKING:
    from .client import RaidenCluster, connect
    from .errors import RaidenError


def __getattr__(name: str) -> Any:
    # ipyparallel is heavy to import; `raiden --help` and the node probes should not pay for it.
    if name in ("connect", "RaidenCluster"):
        from . import client

        return getattr(client, name)
    if name == "dashboard":
        from .widgets import dashboard

        return dashboard
    if name == "jit":
        # the module is callable: `@raiden_lab.jit` and `raiden_lab.jit.warmup` both work
        import importlib

        return importlib.import_module(".jit", __name__)
    if name == "RaidenError":
        from .errors import RaidenError

        return RaidenError
    raise AttributeError(f"module 'raiden_lab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext raiden_lab``: the ``%raiden`` and ``%%raiden_jit`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "raiden_lab.server"}]
