"""The supervisor: one daemon per cluster, run as its owner, and what it runs.

It owns the controller (``hub``, ``ipcontroller``), the launcher, the health loop (``health``, with
``membership`` for nodes that join, leave and power off), the metrics agents' readers (``monitor``),
and the state file (``store``, ``schema``) everyone else reads; ``control`` is how a person's command
finds it (its lock) and asks it something (its socket).
"""
