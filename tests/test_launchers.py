"""Every launcher installed, through the same protocol (as ipyparallel's tests/test_launcher.py does for its own).

``toy`` (engines per node) and ``toybatch`` (every engine a task of one batch job) are launchers from another
package (tests/toy_launcher/): entry points and a module each, nothing of
Raiden edited. It is on the path of the commands run here, as an installed plug-in would be.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import Raiden, need
from raiden_lab import launchers
from raiden_lab.config.inventory import parse
from raiden_lab.errors import InputError
from raiden_lab.launchers.base import Launcher

TOY = Path(__file__).resolve().parent / "toy_launcher"
BUILT_IN = ("ssh", "mpi", "slurm")
SAMPLE_JOB = {"kind": "x", "id": "4412", "state": "RUNNING", "nodes": ["pi1", "pi2"], "engines": 8}
MINIMAL = {
    "ssh": '[[nodes]]\nhost = "localhost"\n',
    "mpi": '[mpi]\nmpiexec = "mpiexec"\n\n[[nodes]]\nhost = "localhost"\n',
    "slurm": "[slurm]\nengines = 4\n",
}


@pytest.fixture
def with_toy(raiden: Raiden) -> Raiden:
    raiden.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOY), os.environ.get("PYTHONPATH")]))
    return raiden


def test_the_built_in_launchers_are_found_by_name() -> None:
    assert launchers.names()[:3] == BUILT_IN
    with pytest.raises(KeyError):
        launchers.get("pbs")


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_launcher_keeps_the_protocol(name: str, tmp_path: Path) -> None:
    cls = launchers.get(name)
    assert issubclass(cls, Launcher) and cls.name == name
    text = f'[cluster]\nname = "c"\ncontroller_ip = "127.0.0.1"\nlauncher = "{name}"\n\n{MINIMAL[name]}'
    inventory = parse(text, tmp_path / "raiden.toml")
    assert inventory.launcher == name and bool(inventory.nodes) != cls.finds_nodes
    # the launcher's table is its own: a key it does not know is refused with the line, and so is its table
    # under another launcher
    if cls.settings_table is not None:
        with pytest.raises(InputError, match=rf"raiden.toml:\d+: unknown key 'nope' in \[{name}\]"):
            parse(
                f"{text}\n[{name}]\nnope = 1\n"
                if name == "ssh"
                else text.replace(f"[{name}]\n", f"[{name}]\nnope = 1\n"),
                tmp_path / "raiden.toml",
            )
    other = "slurm" if name != "slurm" else "mpi"
    with pytest.raises(InputError, match=rf"a \[{other}\] table, but launcher is '{name}'"):
        parse(f"{text}\n[{other}]\n", tmp_path / "raiden.toml")
    # what status prints of a job names its id and state
    line = cls.job_text(SAMPLE_JOB)
    assert "4412" in line and "RUNNING" in line
    assert cls.job_problem({**SAMPLE_JOB, "state": "RUNNING"}) is None
    wanted = cls.engines_wanted(inventory)
    assert wanted == (4 if name == "slurm" else None)
    assert (cls.restart_refusal(inventory, "pi1") is None) != cls.finds_nodes


def test_a_launcher_of_another_package_is_found_and_its_mistakes_named(with_toy: Raiden) -> None:
    inventory = with_toy.cwd / "raiden.toml"
    inventory.write_text(
        '[cluster]\nname = "t"\nlauncher = "toy"\ncontroller_ip = "10.9.0.1"\n\n[[nodes]]\nhost = "10.9.0.2"\n'
    )
    ran = with_toy("status", "-i", str(inventory))
    assert ran.code == 2 and ran.err.strip() == (
        f'{inventory}:7: launcher = "toy" starts engines on this machine only, not 10.9.0.2'
    ), ran.err
    inventory.write_text('[cluster]\nname = "t"\nlauncher = "tyo"\n\n[[nodes]]\nhost = "localhost"\n')
    ran = with_toy("status", "-i", str(inventory))
    assert (
        ran.code == 2
        and "launcher 'tyo' is not one of 'ssh', 'mpi', 'slurm', 'toy', 'toybatch'; did you mean 'toy'?" in ran.err
    )


def _local_launcher(name: str) -> str:
    if name == "mpi":
        need(None if shutil.which("mpiexec") else "the MPI launcher needs mpiexec (Debian: openmpi-bin)")
    return "" if name == "ssh" else f'launcher = "{name}"\n'


# toy: a per-node launcher of another package; toybatch: a batch-job one (every engine a task of one job,
# placed by raiden_lab.node.jobengine from the plan it carries), added with no line of raiden_lab changed
@pytest.mark.parametrize("name", ["ssh", "mpi", "toy", "toybatch"])
def test_each_local_launcher_starts_restarts_and_stops_a_cluster(name: str, with_toy: Raiden) -> None:
    """up, a task on every engine, status, restart of the node (or the launcher's refusal), down: nothing left."""
    raiden = with_toy
    inventory = raiden.cwd / "raiden.toml"
    inventory.write_text(
        f'[cluster]\nname = "via-{name}"\n{_local_launcher(name)}engines_per_node = 2\n\n[[nodes]]\nhost = "localhost"\n'
    )
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 0, ran.err
    try:
        assert "2 engines on 1 node (localhost: 2)" in ran.out
        task = raiden.python(
            f"import raiden_lab, os\nc = raiden_lab.connect('via-{name}')\nc.wait_for_engines(2, timeout=60)\n"
            "print(len(set(c.direct.apply_sync(os.getpid))))"
        )
        assert task.out.strip() == "2", task.err
        status = raiden("status", "-i", str(inventory), "--json").json()
        assert status["launcher"] == name and status["state"] == "running"
        # alive (the health loop may still show the task that just ran as busy)
        assert [e["state"] in ("idle", "busy") for e in status["nodes"][0]["engines"]] == [True, True]
        restarted = raiden("restart", "localhost", "-i", str(inventory))
        assert restarted.code == 0, restarted.err
        kinds = [e["kind"] for e in raiden("events", "-i", str(inventory), "--json").json()["events"]]
        assert "node-restarting" in kinds
    finally:
        down = raiden("down", "-i", str(inventory))
    assert down.code == 0 and "stopped; no engine left on 1 node" in down.out, down.err
    assert raiden("status", "-i", str(inventory), "--json").json()["state"] == "stopped"
