"""Record lesson 05's scaling run on a 16-engine virtual Pi cluster: the dataset shipped with the package.

Four virtual nodes (network namespaces, real sshd, real SSH) of four engines each, all on
this machine. The label written into the file says how many cores that machine had, so
nobody mistakes it for sixteen boards. Needs root:

    sudo .venv/bin/python benchmarks/record_scaling.py [--nodes 4] [--engines 4] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
SHIPPED = Path(__file__).resolve().parent.parent / "raiden_lab" / "workshop" / "data" / "scaling-16-engines.json"


def main() -> int:
    import vcluster
    from _cluster import inventory_up

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--engines", type=int, default=4)
    parser.add_argument("--out", default=str(SHIPPED))
    args = parser.parse_args()
    if problem := vcluster.missing_requirements():
        raise SystemExit(f"record_scaling: {problem}")
    base = Path(tempfile.mkdtemp(prefix="raiden-record-"))
    farm = vcluster.build(base, [f"pi{i + 1}" for i in range(args.nodes)], subnet="10.84.0")
    env = dict(os.environ, RAIDEN_HOME=str(base / "home"))
    total = args.nodes * args.engines
    label = (
        f"Recorded on Raiden's virtual Pi cluster: {args.nodes} virtual nodes x {args.engines} engines = {total} "
        f"engines, every node a network namespace on ONE {os.cpu_count()}-core {platform.machine()} machine "
        f"(real SSH, real engines; not {total} cores)"
    )
    try:
        inventory = farm.inventory("record", farm.nodes, engines=args.engines)
        with inventory_up(inventory, env):
            subprocess.run([sys.executable, "-m", "raiden_lab.workshop.recorded", args.out, "-i", str(inventory),
                            "--label", label], env=env, cwd=base, check=True)  # fmt: skip
    finally:
        vcluster.teardown(farm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
