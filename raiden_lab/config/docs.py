"""The docs' tables of settings, made from the declarations: ``python -m raiden_lab.config.docs FILE...``.

Each ``<!-- settings:NAME -->`` ... ``<!-- /settings -->`` block of a page is the table of ``[NAME]``
as ``config/tables.py`` renders it; ``tests/test_docs.py`` fails when a page's block drifts.
"""

from __future__ import annotations

from .. import launchers
from ..classroom.settings import CLASS
from ..generated import rewrite
from .clustertables import CLUSTER, NODES
from .tables import Table, render_docs


def every_table() -> dict[str, Table]:
    """Every table a ``raiden.toml`` may hold, with the launchers installed."""
    tables = {
        "cluster": CLUSTER,
        "nodes": NODES,
        "class": CLASS,
    }
    for name in launchers.names():
        table = launchers.get(name).settings_table
        if table is not None:
            tables[name] = table
    return tables


def main(argv: list[str] | None = None) -> int:
    return rewrite(lambda text: render_docs(text, every_table()), "the settings' tables", argv)


if __name__ == "__main__":
    raise SystemExit(main())
