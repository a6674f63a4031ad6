"""One engine of an MPI or Slurm job: finds its node, then becomes an ipyparallel engine.

``mpiexec`` and ``srun`` run the same command line for every rank, but each
engine needs its own node's settings: its work folder (numba's cache and logs
stay on the node), its node name for the dashboard, its share of the cores, and
the connection file with the cluster's key. ipyparallel's launchers have no
per-node settings, so this small step in front of ``ipyparallel.engine`` fills
that gap: it reads its rank from the launcher's environment, picks its node
from the plan it is given, and ``exec``s the engine (same process, so MPI and
Slurm keep tracking it).

Usage: ``python -m raiden_lab.node.jobengine PLAN [engine options...]`` where PLAN
is the base64 of a JSON object made by :func:`encode_plan`. The plan says how engines map to
nodes, so this file knows no launch mode:

- ``rank_from``: the variables that hold an engine's rank, first set wins (default: Open MPI's,
  PMIx's, PMI's and Slurm's);
- ``nodes``: the nodes in rank order, each ``{host, engines, work_dir, marker, threads,
  connection_file?}`` (a hosts file: MPI); or ``each_host``: ``{work_dir, marker, connection_file,
  threads?}`` for whichever node the job picked, named by ``host_from`` (variables) or the
  machine's name (Slurm);
- ``id_is_rank``: the engine registers with its rank as its id.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
from typing import Any

RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID")


def encode_plan(plan: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(plan, separators=(",", ":")).encode()).decode()


def decode_plan(text: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(text.encode()))


def _first_set(names: list[str]) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def rank(plan: dict[str, Any]) -> int:
    """This engine's rank, from the first of the plan's ``rank_from`` variables that is set."""
    names = plan.get("rank_from") or list(RANK_VARIABLES)
    found = _first_set(names)
    if found is None or not found.isdigit():
        raise SystemExit(f"raiden jobengine: none of {', '.join(names)} is set; start it with the job's launcher")
    return int(found)


def host_of(plan: dict[str, Any]) -> str:
    """The node this runs on, as the job names it (``host_from``), else the machine's name."""
    return _first_set(plan.get("host_from", [])) or socket.gethostname()


def node_for(plan: dict[str, Any], engine_rank: int) -> dict[str, Any]:
    """This engine's node, as the plan maps engines to nodes: ``nodes`` in rank order (the ranks fill each
    node's ``engines`` in turn: a hosts file), or ``each_host``, one shape for whichever node the job
    put the engine on (the job picked the nodes)."""
    if "nodes" in plan:
        first = 0
        for node in plan["nodes"]:
            if engine_rank < first + node["engines"]:
                return node
            first += node["engines"]
        raise SystemExit(f"raiden jobengine: rank {engine_rank} is past the {first} engines of the plan")
    host, shape = host_of(plan), plan["each_host"]
    return {
        "host": host,
        "work_dir": os.path.join(shape["work_dir"], host),
        "connection_file": shape["connection_file"],
        "marker": f"{shape['marker']}@{host}",
        "threads": shape.get("threads"),
    }


def engine_argv(plan: dict[str, Any], node: dict[str, Any], engine_rank: int, options: list[str]) -> list[str]:
    work_dir = os.path.abspath(os.path.expanduser(node["work_dir"]))
    argv = [
        sys.executable,
        "-P",  # the work folder (the engine's cwd) is not put in front of sys.path
        "-m",
        "ipyparallel.engine",
        f"--file={node.get('connection_file') or os.path.join(work_dir, 'engine-connection.json')}",
        f"--profile-dir={os.path.join(work_dir, 'profile')}",
    ]
    if plan.get("id_is_rank"):  # else the engine asks for it (under MPI, ipyparallel's --mpi)
        argv.append(f"--IPEngine.id={engine_rank}")
    return argv + options


def main() -> None:
    plan = decode_plan(sys.argv[1])
    engine_rank = rank(plan)
    node = node_for(plan, engine_rank)
    work_dir = os.path.abspath(os.path.expanduser(node["work_dir"]))
    for sub in ("logs", "profile", "ipython"):
        os.makedirs(os.path.join(work_dir, sub), mode=0o700, exist_ok=True)
    os.environ.update(
        {
            "RAIDEN_NODE": node["host"],
            "RAIDEN_WORK_DIR": work_dir,
            "RAIDEN_ENGINE_SET": node["marker"],
            "RAIDEN_ENGINE_ID": str(engine_rank),
            "IPYTHONDIR": os.path.join(work_dir, "ipython"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if node.get("threads"):
        os.environ["NUMBA_NUM_THREADS"] = str(node["threads"])
    os.chdir(work_dir)
    argv = engine_argv(plan, node, engine_rank, sys.argv[2:])
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
