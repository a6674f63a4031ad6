"""One SSH session per node carries every long-lived program of Raiden's there (the runner, the agent).

The head starts this over the node's SSH connection, which this session holds open
as its master: the head then needs one ``ssh`` process per node, not one per program.
Frames, one line each:

- head to relay, JSON: ``{"op": "start", "ch": N, "argv": [...], "first": LINE}`` starts a
  program on channel N and writes LINE to its stdin; ``{"op": "in", "ch": N, "d": TEXT}``
  writes to its stdin; ``{"op": "eof", "ch": N}`` closes its stdin; ``{"op": "kill", "ch": N}``
  closes its stdin and kills it if it is still running after KILL_AFTER_S.
- relay to head, bytes: ``N o LINE`` (a line of its stdout), ``N e LINE`` (stderr),
  ``N x CODE`` (it exited; after all its output). A line longer than LIMIT is cut at
  LIMIT + 1 bytes, so the head sees it as the over-long line it was and drops it.

When the head goes away (stdin ends), every program's stdin is closed, as the end of
its own SSH session would have done: the runner then stops its engines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

LIMIT = 65536
KILL_AFTER_S = 10.0
EXIT_WAIT_S = 60.0

out = sys.stdout.buffer
out_lock = threading.Lock()
children: dict[int, subprocess.Popen] = {}


def send(ch: int, kind: bytes, payload: bytes) -> None:
    frame = b"%d %s " % (ch, kind) + payload
    if not frame.endswith(b"\n"):
        frame += b"\n"
    try:
        with out_lock:
            out.write(frame)
            out.flush()
    except (OSError, ValueError):  # the head is gone: the programs hear of it when stdin ends
        pass


def pump(ch: int, stream, kind: bytes) -> None:
    while True:
        line = stream.readline(LIMIT + 1)
        if not line:
            return
        send(ch, kind, line)
        while len(line) > LIMIT and not line.endswith(b"\n"):  # the rest of an over-long line
            line = stream.readline(LIMIT + 1)


def watch(ch: int, child: subprocess.Popen, pumps: list[threading.Thread]) -> None:
    for t in pumps:
        t.join()
    send(ch, b"x", b"%d" % child.wait())


def start(ch: int, argv: list[str], first: str) -> None:
    try:
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        send(ch, b"e", f"raiden relay: cannot start {argv[0]}: {e}\n".encode())
        send(ch, b"x", b"127")
        return
    children[ch] = child
    write(ch, first)
    pumps = [
        threading.Thread(target=pump, args=(ch, s, k), daemon=True)
        for s, k in ((child.stdout, b"o"), (child.stderr, b"e"))
    ]
    for t in pumps:
        t.start()
    threading.Thread(target=watch, args=(ch, child, pumps), daemon=True).start()


def write(ch: int, text: str) -> None:
    child = children.get(ch)
    if child is None or child.stdin is None:
        return
    try:
        child.stdin.write(text.encode())
        child.stdin.flush()
    except (OSError, ValueError):
        pass


def close(ch: int) -> None:
    child = children.get(ch)
    if child is not None and child.stdin is not None:
        try:
            child.stdin.close()
        except OSError:
            pass


def kill_later(child: subprocess.Popen) -> None:
    try:
        child.wait(KILL_AFTER_S)
    except subprocess.TimeoutExpired:
        child.kill()


def main() -> None:
    for raw in sys.stdin.buffer:
        try:
            frame = json.loads(raw)
            op, ch = frame["op"], int(frame["ch"])
        except (ValueError, KeyError, TypeError):
            continue
        if op == "start":  # "~/" expands as the head's remote commands do (ssh.remote_command), nothing else
            argv = [os.path.expanduser(a) if a == "~" or a.startswith("~/") else a for a in map(str, frame["argv"])]
            start(ch, argv, str(frame.get("first", "")))
        elif op == "in":
            write(ch, str(frame.get("d", "")))
        elif op == "eof":
            close(ch)
        elif op == "kill" and ch in children:
            close(ch)
            threading.Thread(target=kill_later, args=(children[ch],), daemon=True).start()
    for ch in list(children):
        close(ch)
    deadline = time.monotonic() + EXIT_WAIT_S
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    main()
