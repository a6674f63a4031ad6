"""How the head reaches its nodes, for the daemon, the operations and the launchers alike.

``ssh`` (the system OpenSSH client, one master per node), ``links`` (one long-lived session per node for
its relay), ``remote`` (the programs of ``node/`` sent as source), ``nodes`` (one node as the head sees
it) and ``powerswitch`` (a node's power hooks, run on the head).
"""
