"""Find (and with --kill, end) this user's processes of one engine set. Standard library only.

Usage on the node: ``python - MARKER [--kill]`` with this file on stdin. Engines
and their nannies carry ``RAIDEN_ENGINE_SET=MARKER`` in their environment, so
nothing else on the node is touched. Prints a JSON list of what was found
(with --kill: what was still alive after a grace period, and was killed).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

GRACE_S = 4.0


def find(marker: str) -> list[dict]:
    needle = f"RAIDEN_ENGINE_SET={marker}".encode()
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != os.getuid():
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            if needle not in env:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append({"pid": int(entry), "cmdline": cmdline})
    return found


def main(argv: list[str]) -> None:
    procs = find(argv[0])
    if "--kill" in argv[1:]:
        # An engine's nanny outlives it by a moment while it tells the controller; let it finish.
        deadline = time.monotonic() + GRACE_S
        while procs and time.monotonic() < deadline:
            time.sleep(0.1)
            procs = find(argv[0])
        for p in procs:
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass
    sys.stdout.write(json.dumps(procs) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
