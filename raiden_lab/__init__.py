"""Raiden Lab: a personal supercomputer of small Linux boxes, programmed from JupyterLab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
_code_version: str | None = None


def code_version() -> str:
    """The version and a digest of this copy's Python files: ``0.1.0+3f2a9c1d7e0b``.

    The version string changes only at a release; the digest changes with any edit of the
    code, so a node that runs other code than the head is told apart (``raiden doctor``) and
    given the head's (``raiden provision``), release or not. Only ``.py`` files count, and not
    the lessons' folders (``workshop/lessons/``, their ``lesson.py`` checks run in a learner's
    kernel, never on an engine): a wheel carries them there and a checkout has them in
    ``notebooks/``, yet both run the same code.
    """
    global _code_version
    if _code_version is None:
        import hashlib
        import os

        root = os.path.dirname(os.path.abspath(__file__))
        digest = hashlib.sha256()
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            if os.path.relpath(folder, root) == "workshop":
                dirs[:] = [d for d in dirs if d != "lessons"]
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read())
        _code_version = f"{__version__}+{digest.hexdigest()[:12]}"
    return _code_version


__all__ = [
    "MapInterrupted",
    "MapTimeout",
    "RaidenCluster",
    "RaidenError",
    "__version__",
    "code_version",
    "class_view",
    "connect",
    "dashboard",
    "jit",
    "load_ipython_extension",
    "plots",
    "report",
    "scaling",
    "messages",
]

if TYPE_CHECKING:
    from .errors import RaidenError
    from .notebook.attach import connect
    from .notebook.client import RaidenCluster


def __getattr__(name: str) -> Any:
    # ipyparallel is heavy to import; `raiden --help` and the node probes should not pay for it.
    import importlib

    if name == "connect":
        return importlib.import_module(".notebook.attach", __name__).connect
    if name == "RaidenCluster":
        return importlib.import_module(".notebook.client", __name__).RaidenCluster
    if name == "dashboard":
        return importlib.import_module(".notebook.dashboard", __name__).dashboard
    if name == "class_view":
        return importlib.import_module(".notebook.classview", __name__).class_view
    if name in ("jit", "plots", "scaling", "messages"):
        # jit is a callable module: `@raiden_lab.jit` and `raiden_lab.jit.warmup` both work
        return importlib.import_module(f".notebook.{name}", __name__)
    if name == "report":
        return importlib.import_module(".notebook.runreport", __name__).report
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
