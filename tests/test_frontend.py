"""The front end's unit tests (jest), run as part of the suite: `jlpm test` in extension/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import STRICT

EXTENSION = Path(__file__).resolve().parent.parent / "extension"


def test_jest_unit_tests_of_the_lab_extension() -> None:
    if shutil.which("node") is None:
        if STRICT:
            pytest.fail("RAIDEN_STRICT=1 but Node.js is missing (apt-get install nodejs)")
        pytest.skip(reason="the front end's unit tests need Node.js")
    # jlpm is JupyterLab's own yarn, installed in the same environment as this Python
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", CI="1")
    if not (EXTENSION / "node_modules" / ".bin" / "jest").exists():
        installed = subprocess.run(
            ["jlpm", "install", "--immutable"], cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=900
        )
        assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    ran = subprocess.run(["jlpm", "test", "--ci"], cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=600)
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report[-4000:]
    assert "Tests:" in report and " failed" not in report.split("Tests:")[1].splitlines()[0]
