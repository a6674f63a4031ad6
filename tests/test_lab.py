"""`raiden lab` (what `make lab` runs, with --workshop): JupyterLab with the local cluster up, and down after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from conftest import Raiden
from raiden_lab.operations.lessons import catalog


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_serves_jupyterlab_with_the_cluster_up_and_stops_it_after(raiden: Raiden) -> None:
    port = _free_port()
    env = dict(raiden.env, JUPYTER_RUNTIME_DIR=str(raiden.cwd / "runtime"), JUPYTER_CONFIG_DIR=str(raiden.cwd / "cfg"))
    lab = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "raiden_lab",
            "lab",
            "--workshop",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.token=t0k",
        ],
        cwd=raiden.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        body = ""
        while time.monotonic() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=t0k", timeout=5) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert "JupyterLab" in body, lab.stdout.read() if lab.poll() is not None else "no answer"
        # what `make lab` opens: the first lesson, in the folder of the workshop's lessons
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(f"http://127.0.0.1:{port}/?token=t0k", timeout=10)
            raise AssertionError("the server's front page did not redirect")
        except urllib.error.HTTPError as e:
            assert e.code == 302 and e.headers["Location"].split("?")[0].endswith(
                "/lab/tree/raiden-workshop/00-tour.ipynb"
            )
        copied = sorted(p.name for p in (raiden.cwd / "raiden-workshop").iterdir())
        assert copied == sorted([x.file for x in catalog()] + ["README.md"])
        status = raiden("status", "--json").json()
        assert status["state"] == "running"
        assert status["engines"]["alive"] == os.cpu_count()
    finally:
        os.killpg(lab.pid, signal.SIGINT)
        out, _ = lab.communicate(timeout=60)
    assert "cluster 'local' is up" in out
    assert "cluster 'local' stopped" in out
    assert raiden("status", "--json").json()["state"] == "stopped"
