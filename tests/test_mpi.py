"""launcher = "mpi": engines under one mpiexec, so %%px cells can use mpi4py across them.

Debian's Open MPI and the mpi4py wheel; on the local machine and across the
virtual Pi cluster (Open MPI's daemons travel over the nodes' SSH).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import psutil
import pytest

from conftest import _make_raiden, dashboard_html, need, wait_for

ALLREDUCE = (
    "import raiden_lab\n"
    "c = raiden_lab.connect(inventory={inventory!r})\n"
    "def ranks():\n"
    "    import os\n"
    "    from mpi4py import MPI\n"
    "    comm = MPI.COMM_WORLD\n"
    "    return comm.rank, comm.size, comm.allreduce(comm.rank + 1), os.environ['RAIDEN_NODE']\n"
    "print(json.dumps({{'ids': c.client.ids, 'ranks': c.client[:].apply_sync(ranks)}}))\n"
)


def need_mpi() -> None:
    missing = [
        what
        for what, ok in (("mpiexec (Debian: openmpi-bin)", shutil.which("mpiexec")), ("mpi4py", _has_mpi4py()))
        if not ok
    ]
    need(f"the MPI tests need {', '.join(missing)}" if missing else None)


def _has_mpi4py() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _evidence(raiden, inventory: Path) -> str:
    """What a user would read when a job does not come up: the status, the last events, the job's output."""
    logs = sorted((raiden.home / "mpi-vpi" / "jobs").glob("mpiexec-*.log"))
    tail = logs[-1].read_text()[-3000:] if logs else "(no mpiexec log)"
    supervisor = raiden.home / "mpi-vpi" / "supervisor.log"
    return "\n".join(
        [
            raiden("status", "-i", str(inventory)).out,
            raiden("events", "-i", str(inventory), "-n", "15").out,
            f"{logs[-1] if logs else ''}:\n{tail}",
            "supervisor.log: " + (supervisor.read_text()[-3000:] if supervisor.exists() else "(none)"),
        ]
    )


def _allreduce(raiden, inventory: Path) -> dict:
    ran = raiden.python("import json\n" + ALLREDUCE.format(inventory=str(inventory)), timeout=120)
    assert ran.code == 0, ran.err
    return json.loads(ran.out.strip().splitlines()[-1])


def _job_processes(profile_marker: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or ())
        if profile_marker in line and ("mpiexec" in line or "jobengine" in line or "ipyparallel.engine" in line):
            found.append(line)
    return found


def test_mpi_on_this_machine(raiden):
    need_mpi()
    inventory = raiden.cwd / "raiden.toml"
    inventory.write_text(
        '[cluster]\nname = "mpi-here"\nlauncher = "mpi"\nengines_per_node = 3\n\n[[nodes]]\nhost = "localhost"\n'
    )
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 0, ran.err
    try:
        assert "3 engines on 1 node" in ran.out
        result = _allreduce(raiden, inventory)
        # COMM_WORLD spans the engines, engine id = MPI rank, and the sum is over all of them
        assert sorted(result["ids"]) == [0, 1, 2]
        assert sorted(r[0] for r in result["ranks"]) == [0, 1, 2]
        assert {r[1] for r in result["ranks"]} == {3}
        assert {r[2] for r in result["ranks"]} == {1 + 2 + 3}
        status = raiden("status", "-i", str(inventory), "--json").json()
        assert status["launcher"] == "mpi"
        assert status["state"] == "running"
        [job] = status["jobs"]
        assert job["kind"] == "mpi" and job["state"] == "RUNNING" and job["nodes"] == ["localhost"]
        assert psutil.Process(int(job["id"])).name().startswith(("mpiexec", "mpirun", "orterun"))
        text = raiden("status", "-i", str(inventory)).out
        assert f"mpiexec pid {job['id']}: RUNNING · localhost" in text
        board = dashboard_html(raiden, inventory)
        assert f"<span class='raiden-job'>mpiexec pid {job['id']}: RUNNING · localhost</span>" in board

        # a %%px cell in a notebook kernel's shell uses mpi4py on every engine
        px = raiden.python(
            "from IPython.testing.globalipapp import start_ipython\n"
            "ip = start_ipython()\n"
            "ip.run_line_magic('load_ext', 'raiden_lab')\n"
            f"ip.run_line_magic('raiden', 'connect -i {inventory}')\n"
            "ip.run_cell_magic('px', '', 'from mpi4py import MPI\\ntotal = MPI.COMM_WORLD.allreduce(10)')\n"
            "print('TOTALS', ip.user_ns['raiden_lab'].connect(inventory=%r).client[:]['total'])\n" % str(inventory)
        )
        assert px.code == 0, px.err
        assert "TOTALS [30, 30, 30]" in px.out, px.out + px.err
    finally:
        down = raiden("down", "-i", str(inventory))
    assert down.code == 0, down.err
    assert not _job_processes(str(raiden.home)), "mpiexec or engines outlived `raiden down`"


def test_mpi_inventory_mistakes(raiden):
    inventory = raiden.cwd / "bad.toml"
    inventory.write_text(
        '[cluster]\nname = "m"\nlauncher = "mpi"\ncontroller_ip = "10.1.0.1"\n\n'
        '[[nodes]]\nhost = "10.1.0.2"\npython = "/opt/a/python"\n\n'
        '[[nodes]]\nhost = "10.1.0.3"\npython = "/opt/b/python"\n'
    )
    ran = raiden("doctor", "-i", str(inventory))
    assert ran.code == 2
    assert ran.err.strip() == (
        f"{inventory}:12: launcher = \"mpi\" runs one program on every node, but '10.1.0.3' "
        "has python '/opt/b/python' and '10.1.0.2' '/opt/a/python'; install it at the same "
        "path on every node and set python in [cluster]"
    )
    inventory.write_text('[cluster]\nname = "m"\nlauncher = "mpj"\n\n[[nodes]]\nhost = "localhost"\n')
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 2 and "Traceback" not in ran.err
    assert ran.err.strip() == f"{inventory}:3: launcher 'mpj' is not one of 'ssh', 'mpi', 'slurm'; did you mean 'mpi'?"
    inventory.write_text(
        '[cluster]\nname = "m"\nlauncher = "mpi"\n\n[mpi]\nmpiexec = "/nowhere/mpiexec"\n\n'
        '[[nodes]]\nhost = "localhost"\n'
    )
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 1 and "Traceback" not in ran.err
    assert f"{inventory}:6: '/nowhere/mpiexec' not found on this machine" in ran.err
    assert raiden("status", "-i", str(inventory), "--json").json()["state"] == "stopped"


@pytest.mark.vcluster
def test_mpi_across_the_virtual_cluster(vpi, tmp_path_factory):
    need_mpi()
    raiden = _make_raiden(tmp_path_factory.mktemp("mpi-vpi"))
    nodes = [vpi.node("pi1"), vpi.node("pi2"), vpi.node("pi3")]
    inventory = vpi.inventory("mpi-vpi", nodes, engines=2, extra='launcher = "mpi"')
    ran = raiden("up", "-i", str(inventory), "--timeout", "120")
    assert ran.code == 0, ran.err
    try:
        assert "6 engines on 3 nodes" in ran.out
        result = _allreduce(raiden, inventory)
        by_rank = sorted(result["ranks"])
        assert [r[0] for r in by_rank] == [0, 1, 2, 3, 4, 5]
        assert {r[2] for r in by_rank} == {21}
        # ranks fill the hosts file in order: two per node, each engine knows its node
        assert [r[3] for r in by_rank] == [n.address for n in nodes for _ in range(2)]
        for node in nodes:
            assert any("ipyparallel.engine" in p for p in vpi.processes(node)), node.name
            # the key reached each node over SSH, in a file only its owner reads
            conn = Path(node.work_dir) / "engine-connection.json"
            assert stat.S_IMODE(conn.stat().st_mode) == 0o600
        key = json.loads((Path(nodes[0].work_dir) / "engine-connection.json").read_text())["key"]
        status = raiden("status", "-i", str(inventory), "--json").json()
        mpiexec = psutil.Process(int(status["jobs"][0]["id"]))
        assert key not in " ".join(mpiexec.cmdline()) and key not in json.dumps(mpiexec.environ())
        assert [n["state"] for n in status["nodes"]] == ["up", "up", "up"]
        assert [[e["id"] for e in n["engines"]] for n in status["nodes"]] == [[0, 1], [2, 3], [4, 5]]

        # an MPI job cannot lose one rank: kill one engine and the whole job comes back
        victim = next(e["pid"] for e in status["nodes"][1]["engines"] if e["id"] == 2)
        os.kill(victim, 9)

        def restarted():
            s = raiden("status", "-i", str(inventory), "--json").json()
            return s if s["engines"]["alive"] == 6 and s["jobs"][0]["id"] != status["jobs"][0]["id"] else None

        after = wait_for(restarted, 120)
        assert after is not None and after["state"] == "running", raiden("status", "-i", str(inventory)).out
        kinds = [e["kind"] for e in raiden("events", "-i", str(inventory), "--json").json()["events"]]
        assert "job-ended" in kinds and "job-restarted" in kinds, kinds
        assert {r[2] for r in _allreduce(raiden, inventory)["ranks"]} == {21}

        # a node cut off: the job goes on over the two nodes left, and takes the third back when it answers
        vpi.set_link(nodes[2], up=False)
        try:

            def on_two():
                s = raiden("status", "-i", str(inventory), "--json").json()
                two = s["jobs"][0]["nodes"] == [nodes[0].address, nodes[1].address]
                return s if two and s["nodes"][2]["state"] == "down" and s["engines"]["alive"] == 4 else None

            degraded = wait_for(on_two, 60)
            assert degraded is not None, raiden("status", "-i", str(inventory)).out
            assert degraded["state"] == "degraded"
            result = _allreduce(raiden, inventory)
            assert sorted(r[0] for r in result["ranks"]) == [0, 1, 2, 3] and {r[2] for r in result["ranks"]} == {10}
        finally:
            vpi.set_link(nodes[2], up=True)

        def on_three():
            s = raiden("status", "-i", str(inventory), "--json").json()
            return (
                s
                if s["engines"]["alive"] == 6 and s["state"] == "running" and len(s["jobs"][0]["nodes"]) == 3
                else None
            )

        # a new job over three nodes: every rank starts again (generous: on a loaded machine six engines
        # importing numba and Open MPI's wire-up through three daemons take minutes)
        assert wait_for(on_three, 300) is not None, _evidence(raiden, inventory)
        assert {r[2] for r in _allreduce(raiden, inventory)["ranks"]} == {21}
        assert len([p for p in vpi.processes(nodes[2]) if "ipyparallel.engine" in p and "nanny" not in p]) == 2
    finally:
        down = raiden("down", "-i", str(inventory))
    assert down.code == 0, down.err
    for node in nodes:
        assert not vpi.processes(node), f"{node.name}: {vpi.processes(node)}"
