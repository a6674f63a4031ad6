"""``raiden up --service``: a user systemd unit, so the cluster comes back after the head restarts.

The unit runs the same ``raiden up`` and ``raiden down`` a user types (``Type=oneshot``
with ``RemainAfterExit``: the supervisor that ``up`` starts lives in the unit's cgroup,
and ``systemctl --user stop`` runs ``raiden down`` before anything is killed). Where
systemd does not run, the unit is not written and the sentence says what to use instead.
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..config.inventory import Inventory
from ..config.paths import ClusterPaths
from ..errors import RaidenError


def unit_name(inventory: Inventory) -> str:
    return f"raiden-{inventory.name}.service"


def unit_path(inventory: Inventory) -> Path:
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "systemd" / "user" / unit_name(inventory)


def unit_text(inventory: Inventory, paths: ClusterPaths) -> str:
    """The unit: ``raiden up`` at start, ``raiden down`` at stop, with this head's Python and RAIDEN_HOME."""
    raiden = [sys.executable, "-m", "raiden_lab"]
    where = ["-i", str(inventory.path.resolve())] if inventory.path else []
    folder = inventory.path.resolve().parent if inventory.path else paths.root.parent

    def command(verb: str) -> str:
        # systemd's own quoting is close to the shell's for plain words and "double quotes"
        return " ".join(_systemd_quote(word) for word in [*raiden, verb, *where])

    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
    return f"""# Written by `raiden up --service`; remove with `raiden down --service`.
[Unit]
Description=Raiden Lab cluster {inventory.name}
Documentation=file://{folder}

[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory={_systemd_quote(str(folder))}
Environment={_systemd_quote("RAIDEN_HOME=" + str(paths.root.parent))}
Environment={_systemd_quote("PATH=" + path)}
ExecStart={command("up")}
ExecStop={command("down")}
TimeoutStartSec=300
TimeoutStopSec=120

[Install]
WantedBy=default.target
"""


def _systemd_quote(word: str) -> str:
    if any(c in word for c in '"\\\n'):
        raise RaidenError(f"{word!r}: a path for the systemd unit cannot hold quotes, backslashes or newlines")
    word = word.replace("%", "%%").replace("$", "$$")
    return f'"{word}"' if any(c.isspace() for c in word) or not word else word


def systemd_problem() -> str | None:
    """Why a user unit cannot be used here, or None where systemd runs this machine."""
    if not Path("/run/systemd/system").is_dir():
        return "this head does not run systemd"
    if shutil.which("systemctl") is None:
        return "systemctl is not installed"
    probe = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, text=True, check=False)
    if probe.returncode != 0 and not probe.stdout.strip():
        return f"there is no systemd user manager for {getpass.getuser()} ({probe.stderr.strip() or 'no answer'})"
    return None


def install(inventory: Inventory, paths: ClusterPaths) -> tuple[bool, list[str]]:
    """Write and enable the unit and start it; (False, what to do instead) where systemd does not run."""
    if problem := systemd_problem():
        return False, [
            f"{problem}, so `--service` cannot make cluster '{inventory.name}' start at boot; "
            f"use cron instead: `@reboot {shlex.join(_up_command(inventory))}` in `crontab -e`"
        ]
    path = unit_path(inventory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(inventory, paths))
    said = [f"wrote {path}"]
    for argv in (["daemon-reload"], ["enable", "--now", unit_name(inventory)]):
        done = subprocess.run(["systemctl", "--user", *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RaidenError(f"systemctl --user {' '.join(argv)} failed: {done.stderr.strip()}")
    said.append(f"enabled {unit_name(inventory)}: the cluster starts with your user session")
    user = getpass.getuser()
    if not Path("/var/lib/systemd/linger", user).exists():
        said.append(f"to start it at boot before anyone logs in, run once: `loginctl enable-linger {user}`")
    return True, said


def uninstall(inventory: Inventory) -> list[str]:
    """Disable and remove the unit (``raiden down --service``); nothing when there is none."""
    path = unit_path(inventory)
    if not path.exists():
        return []
    if systemd_problem() is None:
        subprocess.run(
            ["systemctl", "--user", "disable", "--now", unit_name(inventory)], capture_output=True, check=False
        )
    path.unlink()
    return [f"removed {path}; the cluster no longer starts at boot"]


def _up_command(inventory: Inventory) -> list[str]:
    where = ["-i", str(inventory.path.resolve())] if inventory.path else []
    return [sys.executable, "-m", "raiden_lab", "up", *where]
