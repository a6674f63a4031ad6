"""The controller process: ipyparallel's own, with one gap filled for ``ipc://`` sockets.

ipyparallel's controller names an ipc socket ``PREFIX-PORT`` while its Client
and its engines connect to ``PREFIX:PORT`` (ipyparallel 9), so a controller on
ipc sockets cannot be reached. Here the controller names them ``PREFIX:PORT``
too, and plain ``ipp.Client(url_file=...)`` and stock engines reach it. Raiden
puts a cluster whose nodes are all this machine on ipc sockets in the
cluster's 0700 folder: on TCP, even on loopback, any user of the machine could
connect and read every engine's output on the iopub broadcast.
"""

from __future__ import annotations

from typing import Any

from ipyparallel.controller.app import IPController, main

_construct_url = IPController.construct_url


def construct_url(self: IPController, kind: str, channel: str, index: Any = None) -> str:
    url = _construct_url(self, kind, channel, index)
    if url.startswith("ipc://"):
        prefix, _, port = url.rpartition("-")
        return f"{prefix}:{port}"
    return url


IPController.construct_url = construct_url  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
