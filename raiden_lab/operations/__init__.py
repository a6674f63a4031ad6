"""What a person runs against a cluster, from the CLI, the Jupyter server or a notebook.

``lifecycle`` starts, waits for, stops and restarts; ``status`` and ``models`` read the state file into
what goes over the wire; ``doctor`` is the preflight; ``adding``, ``provision`` and ``wheelhouse`` bring a
node in; ``reshape`` changes a running cluster; ``service`` makes it a user unit; ``interrupting`` stops
the work that runs.
"""
