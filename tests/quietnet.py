"""Chromium in a network namespace of its own, where the machine's network never changes.

Chromium drops what it is loading whenever the machine's interfaces change (``net::ERR_NETWORK_CHANGED``),
and the suite's other modules make and remove virtual networks all the time: in full runs the hub's test
lost a login, a notebook's toolbar settings and a theme's stylesheet that way. In a namespace of its own
Chromium sees one loopback that never changes; each port it needs is forwarded to this machine's
``127.0.0.1`` by a thread of the test that listens inside the namespace (``setns``) and connects outside.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _listen_inside(namespace: str, port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:PORT of NAMESPACE (setns changes the calling thread's only)."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _setns(there)
        try:
            listener = socket.create_server(("127.0.0.1", port))
        finally:
            _setns(here)
    finally:
        os.close(here)
        os.close(there)
    listener.settimeout(0.5)
    return listener


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _forward(listener: socket.socket, port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            inside, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        inside.settimeout(None)
        try:
            outside = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            inside.close()
            continue
        outside.settimeout(None)
        for source, sink in ((inside, outside), (outside, inside)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


class Apart:
    """A network namespace for Chromium: ``executable`` runs Chromium in it; ``forward(port)`` makes its
    127.0.0.1:PORT reach this machine's."""

    def __init__(self, namespace: str, folder: Path) -> None:
        self.namespace = namespace
        self.executable = str(folder / "chromium-apart")
        self._stop = threading.Event()
        self._listeners: list[socket.socket] = []
        Path(self.executable).write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
        Path(self.executable).chmod(0o755)

    def forward(self, port: int) -> None:
        self._listeners.append(_listen_inside(self.namespace, port))
        threading.Thread(target=_forward, args=(self._listeners[-1], port, self._stop), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        for listener in self._listeners:
            listener.close()


@contextlib.contextmanager
def chromium_apart(namespace: str, folder: Path, ports: list[int] = ()) -> Iterator[Apart]:
    """An ``Apart`` in NAMESPACE (its launcher written in FOLDER), PORTS forwarded already. Needs root
    (``ip netns``), as the tests that use it do."""
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True)  # a killed run's leftover
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    apart = None
    try:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        apart = Apart(namespace, folder)
        for port in ports:
            apart.forward(port)
        yield apart
    finally:
        if apart is not None:
            apart.close()
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
