"""The Jupyter server extension: thin authenticated REST handlers over the manager."""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .handlers import setup_handlers
    from .manager import ClusterManager

    root = getattr(server_app, "root_dir", None) or "."
    setup_handlers(server_app.web_app, ClusterManager(root))
    server_app.log.info("raiden_lab: REST routes under /raiden-lab/")
