"""Programs that run on the nodes, sent as source over SSH so a node needs no Raiden install.

Each module here uses the standard library only and runs as ``python -``.
"""

from importlib.resources import files


def source(name: str) -> bytes:
    """The source text of the node-side program ``name`` (e.g. ``"probe"``)."""
    return files(__name__).joinpath(f"{name}.py").read_bytes()
