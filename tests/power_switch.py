"""The tests' power switch: what ClusterHAT's ``clusterctrl`` or a PDU's script is to a real cluster.

    power_switch.py CONFIG on|off|status NODE

CONFIG is a JSON file the test writes: ``{"state": PATH, "nodes": {HOST: {"namespace": NS,
"sshd": [ARGV...]}}}``. Every call is appended to ``PATH.log`` and the node's power to
``PATH`` (a JSON object). For a node of the virtual cluster (one with a namespace), off
is what pulling its plug does: every process in its namespace killed (even stopped
ones), its link down; on brings the link up and starts its sshd again, as a boot does.
A node without a namespace (this machine) only has its power recorded.
``status`` prints ``on`` or ``off``. A node named in ``PATH.broken`` makes every call fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def local_switch(folder: Path) -> tuple[list[str], Path]:
    """A switch for this machine's nodes, kept in ``folder``: its argv before ACTION NODE, and its state file."""
    state = folder / "power.json"
    config = folder / "switch.json"
    config.write_text(json.dumps({"state": str(state)}))
    return [sys.executable, str(Path(__file__).resolve()), str(config)], state


def hook_lines(argv: list[str]) -> str:
    """The inventory lines ``power_on``, ``power_off`` and ``power_status`` for a switch's argv."""
    return "\n".join(f"power_{a} = {json.dumps([*argv, a, '{node}'])}" for a in ("on", "off", "status"))


def main(config_path: str, action: str, node: str) -> int:
    config = json.loads(Path(config_path).read_text())
    state_path = Path(config["state"])
    with open(f"{state_path}.log", "a") as log:
        log.write(f"{time.time():.3f} {action} {node}\n")
    broken = Path(f"{state_path}.broken")
    if broken.exists() and node in broken.read_text().split():
        print(f"relay for {node} does not answer", file=sys.stderr)
        return 3
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    if action == "status":
        print(f"{node}: {state.get(node, 'on')}")
        return 0
    where = config.get("nodes", {}).get(node)
    if where and action == "off":
        _kill_all(where["namespace"])
        subprocess.run(["ip", "-n", where["namespace"], "link", "set", "eth0", "down"], check=True)
    elif where and action == "on":
        subprocess.run(["ip", "-n", where["namespace"], "link", "set", "eth0", "up"], check=True)
        if state.get(node) == "off" or not _sshd_runs(where["namespace"]):
            subprocess.run(["ip", "netns", "exec", where["namespace"], *where["sshd"]], check=True)
    state[node] = action
    state_path.write_text(json.dumps(state))
    return 0


def _pids(namespace: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]


def _kill_all(namespace: str) -> None:
    for _ in range(20):
        pids = _pids(namespace)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


def _sshd_runs(namespace: str) -> bool:
    for pid in _pids(namespace):
        try:
            if b"sshd" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
