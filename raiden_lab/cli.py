"""The ``raiden`` command: init, doctor, up, status, down, restart, events, lab.

Exit codes: 0 success; 1 the cluster runs but some node failed (named);
2 bad input, as one line naming the file, node or value.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Sequence

import psutil

from . import control, doctor
from .aio import run_sync
from .errors import InputError, RaidenError
from .inventory import Inventory, example, resolve
from .engineset import sweep_nodes
from .models import job_text
from .paths import ClusterPaths
from .status import cluster_events, cluster_status
from .workshop import LESSONS, WORKSHOP_DIR, copy_lesson, lessons_dir

UP_TIMEOUT_S = 60.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="raiden", description="Run a Raiden Lab cluster: IPython Parallel engines on every node.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    def command(name: str, help: str, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("-i", "--inventory", metavar="PATH",
                       help="inventory file (default: ./raiden.toml, else one local node)")
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON for programs")
        return p

    p = sub.add_parser("init", help="write a commented example raiden.toml", description="Write a commented example inventory.")
    p.add_argument("path", nargs="?", default="raiden.toml")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    command("doctor", "check every node before engines fail on it", json_flag=True)
    p = command("up", "start the cluster (preflight, controller, engines on every node)")
    p.add_argument("--timeout", type=float, default=UP_TIMEOUT_S, help="seconds to wait for engines (default 60)")
    command("status", "show every node and engine", json_flag=True)
    command("down", "stop every engine, the controller and the supervisor")
    p = command("provision", "give nodes the head's Python packages (creating their environment if missing)")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="hosts to provision (default: every node)")
    p.add_argument("--wheelhouse", metavar="DIR", help="install from these wheels, copied over SSH (nodes without internet)")
    p = command("restart", "restart the engines of one node")
    p.add_argument("node", help="host of the node, as in the inventory")
    p.add_argument("--timeout", type=float, default=UP_TIMEOUT_S)
    p = command("events", "list what happened to the cluster", json_flag=True)
    p.add_argument("-n", "--limit", type=int, default=50, help="how many of the latest events (default 50)")
    p.add_argument("--node", help="only this node's events")
    p = command("lab", "start JupyterLab with the cluster up (other arguments go to jupyter lab)")
    p.add_argument("--workshop", action="store_true",
                   help=f"copy the workshop's lessons into ./{WORKSHOP_DIR}/ (keeping any copy there) and open it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code; expected failures print one line, no traceback."""
    try:
        parser = _parser()
        args, extra = parser.parse_known_args(argv)
        if args.command == "lab":
            args.lab_args = extra  # everything raiden does not know goes to jupyter lab
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return COMMANDS[args.command](args)
    except InputError as e:
        print(str(e), file=sys.stderr)
        return e.exit_code
    except RaidenError as e:
        print(f"raiden: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


def run() -> NoReturn:
    sys.exit(main())


def _inventory(args: argparse.Namespace) -> tuple[Inventory, ClusterPaths]:
    inventory = resolve(args.inventory)
    return inventory, ClusterPaths(inventory.name).ensure()


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        raise InputError(f"{path}: already exists; pass --force to overwrite it")
    path.write_text(example())
    print(f"wrote {path}; edit the hosts, then run `raiden doctor -i {path}`")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    if problem := doctor.check_controller_ip(inventory):
        raise InputError(problem)
    if warning := inventory.plaintext_warning:
        print(f"warning: {warning}", file=sys.stderr)
    reports = _preflight(inventory, paths)
    if args.json:
        print(json.dumps({"name": inventory.name, "head": {"python": sys.version.split()[0],
                          "packages": doctor.head_versions()}, "nodes": [r.to_dict() for r in reports]}, indent=2))
    else:
        print(doctor.format_table(reports))
    return 0 if all(r.ok for r in reports) else 1


def cmd_up(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    if control.is_running(paths):
        status = cluster_status(inventory, paths)
        print(f"cluster '{inventory.name}' is already running (supervisor pid {status['supervisor_pid']}, "
              f"{status['engines']['alive']} engines); nothing changed")
        return 0
    if problem := doctor.check_controller_ip(inventory):
        raise InputError(problem)
    if warning := inventory.plaintext_warning:
        print(f"warning: {warning}", file=sys.stderr)
    reports = _preflight(inventory, paths)
    if inventory.launcher == "slurm":
        if problems := [p for r in reports for p in r.problems if r.host == "(slurm)"]:
            raise RaidenError(problems[0])
        daemon = _spawn_supervisor(paths, {"inventory": str(inventory.path.resolve()), "nodes": {}, "skipped": {}})
        return _wait_until_up(inventory, paths, daemon, args.timeout, skipped=[])
    passed = [r for r in reports if r.ok]
    for report in reports:
        for problem in report.problems:
            print(f"skipping {report.host}: {problem.removeprefix(report.host + ': ')}", file=sys.stderr)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if not passed:
        print(f"raiden: no node of '{inventory.name}' passed the preflight; nothing was started", file=sys.stderr)
        return 1
    plan = {
        "inventory": str(inventory.path.resolve()) if inventory.path else None,
        "nodes": {r.host: {"engines": inventory.engines_for(inventory.node(r.host), r.cores),
                           "arch": r.arch, "cores": r.cores, "boot_id": r.boot_id} for r in passed},
        "skipped": {r.host: "; ".join(r.problems) for r in reports if not r.ok},
    }
    daemon = _spawn_supervisor(paths, plan)
    return _wait_until_up(inventory, paths, daemon, args.timeout, skipped=sorted(plan["skipped"]))


def _preflight(inventory: Inventory, paths: ClusterPaths) -> list[doctor.NodeReport]:
    """Every node's check: over SSH, or (Slurm) the partition's nodes as Slurm reports them."""
    if inventory.launcher == "slurm":
        from .slurm import check_partition
        return check_partition(inventory)
    if problem := doctor.check_mpiexec(inventory):
        raise RaidenError(problem)
    return doctor.check_sync(inventory, paths)


def _spawn_supervisor(paths: ClusterPaths, plan: dict[str, Any]) -> subprocess.Popen:
    env = dict(os.environ, RAIDEN_HOME=str(paths.root.parent.resolve()))
    with os.fdopen(os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "raiden_lab.supervisor"],
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=paths.root, start_new_session=True,
        )
    assert daemon.stdin is not None
    daemon.stdin.write(json.dumps(plan).encode())
    daemon.stdin.close()
    return daemon


def _wait_until_up(inventory: Inventory, paths: ClusterPaths, daemon: subprocess.Popen | None,
                   timeout: float, skipped: list[str], hosts: list[str] | None = None) -> int:
    deadline = time.monotonic() + timeout
    while True:
        if daemon is not None and daemon.poll() is not None:
            raise RaidenError(f"cluster '{inventory.name}': the supervisor exited (code {daemon.returncode}); "
                              f"see {paths.log}:\n{_tail(paths.log)}")
        status = cluster_status(inventory, paths)
        nodes = [n for n in status["nodes"] if hosts is None or n["host"] in hosts]
        waiting = [n for n in nodes if n["state"] == "starting" or
                   (n["state"] == "up" and any(e["state"] == "starting" for e in n["engines"]))]
        if job_problem := _job_problem(status):
            print(f"raiden: {job_problem}; fix [slurm] in {inventory.source} if it asked for too much, then "
                  "`raiden down` and `raiden up` (`raiden events` tells what happened)", file=sys.stderr)
            return 1
        if inventory.launcher == "slurm" and status["engines"]["alive"] < inventory.slurm.engines:
            waiting = waiting or [{"host": f"Slurm job {_job_ids(status)}", "engines": []}]
        if not waiting and status["state"] != "stopped" and nodes:
            break
        if time.monotonic() > deadline:
            names = ", ".join(
                f"{n['host']} (engines {', '.join(str(e['id']) for e in n['engines'] if e['state'] == 'starting')})"
                for n in waiting)
            print(f"raiden: engines did not register within {timeout:g} s: {names}; see {paths.log} "
                  f"and the logs in each node's work folder", file=sys.stderr)
            return 1
        time.sleep(0.2)
    failed = [n for n in nodes if n["state"] in ("failed", "down") and n["host"] not in skipped]
    for n in failed:
        print(f"raiden: {n['problem'] or n['host'] + ' failed'}", file=sys.stderr)
    alive = [n for n in nodes if n["state"] == "up"]
    per_node = ", ".join(f"{n['host']}: {len(n['engines'])}" for n in alive)
    engines = sum(len(n["engines"]) for n in alive)
    print(f"cluster '{inventory.name}' is up: {engines} engines on {len(alive)} "
          f"node{'s' if len(alive) != 1 else ''} ({per_node})")
    if skipped or failed:
        print(f"raiden: not started on {', '.join(skipped + [n['host'] for n in failed])}", file=sys.stderr)
        return 1
    if hosts is None:
        print(f"attach with raiden_lab.connect({inventory.name!r})")
    return 0


def _job_ids(status: dict[str, Any]) -> str:
    return ", ".join(str(j.get("id")) for j in status["jobs"]) or "(not submitted yet)"


def _job_problem(status: dict[str, Any]) -> str | None:
    """A Slurm job that failed or ended before its engines came up."""
    for job in status["jobs"]:
        if job["kind"] == "slurm" and job["state"] not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING"):
            reason = f": {job['reason']}" if job.get("reason") else ""
            return f"Slurm job {job.get('id') or '(refused)'} is {job['state']}{reason}"
    return None


def cmd_status(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    status = cluster_status(inventory, paths)
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(_format_status(status))
    bad = [n for n in status["nodes"] if n["state"] in ("failed", "down")]
    return 1 if status["state"] != "stopped" and (bad or _job_problem(status)) else 0


def _format_status(status: dict[str, Any]) -> str:
    ctl = status["controller"]
    lines = [f"cluster '{status['name']}': {status['state']}"]
    if status["state"] == "stopped":
        lines.append(f"  start it with `raiden up`{'' if status['inventory'].startswith('(') else ' -i ' + status['inventory']}")
        return "\n".join(lines)
    security = "CurveZMQ" if ctl.get("encrypted") else "not encrypted"
    span = f", ports {ctl['port_range']}" if ctl.get("port_range") else ""
    lines.append(f"  controller {ctl['ip']} (pid {ctl['pid']}, {security}{span}), "
                 f"engines {status['engines']['alive']}/{status['engines']['total']} alive")
    lines += [f"  {job_text(job)}" for job in status["jobs"]]
    rows = [("NODE", "STATE", "ARCH", "TEMP", "THROTTLING", "CPU", "MEMORY", "ENGINES", "IDS")]
    for n in status["nodes"]:
        alive = sum(1 for e in n["engines"] if e["state"] in ("idle", "busy"))
        ids = " ".join(f"{e['id']}:{e['state']}" for e in n["engines"]) or "-"
        rows.append((n["host"], n["state"], n["arch"] or "-", *_sample_cells(n["sample"]),
                     f"{alive}/{len(n['engines'])}", ids))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += [f"  problem: {n['problem']}" for n in status["nodes"] if n["problem"]]
    return "\n".join(lines)


def _sample_cells(sample: dict[str, Any] | None) -> tuple[str, str, str, str]:
    """Temperature, throttling, CPU and memory of a node's latest sample, as table cells."""
    if not sample:
        return ("-", "-", "-", "-")
    temp = f"{sample['temperature']:.0f}°C" if sample.get("temperature") is not None else "-"
    flags = sample.get("throttled")
    if flags is None:
        throttling = "-"
    else:
        now = [k.replace("_", " ") for k in ("under_voltage", "freq_capped", "throttled", "soft_temp_limit") if flags.get(k)]
        throttling = ", ".join(now) or "none"
    cpu = f"{sample['cpu_total']:.0f}%" if sample.get("cpu_total") is not None else "-"
    memory = f"{sample['memory']['percent']:.0f}%" if sample.get("memory") else "-"
    return (temp, throttling, cpu, memory)


def cmd_down(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    if not control.is_running(paths):
        # A supervisor that was killed cannot clean up: do it here.
        left = run_sync(sweep_nodes(inventory, paths, kill=True, close=True))
        print(f"cluster '{inventory.name}' is not running")
        if control.kill_stray_controllers(paths):
            print("killed the controller left behind by a supervisor that died")
        for host, procs in left.items():
            print(f"killed {len(procs)} leftover engine processes on {host}")
        return 0
    status = cluster_status(inventory, paths)
    pid = status["supervisor_pid"]
    last_event = max((e["id"] for e in cluster_events(paths, limit=1)), default=0)
    control.request(paths, {"op": "stop"})
    deadline = time.monotonic() + 60
    while control.is_running(paths) or _alive(pid):
        if time.monotonic() > deadline:
            raise RaidenError(f"cluster '{inventory.name}': supervisor pid {pid} did not stop within 60 s; see {paths.log}")
        time.sleep(0.1)
    killed = [e for e in cluster_events(paths, limit=200) if e["id"] > last_event and e["kind"] == "leftovers-killed"]
    for event in killed:
        print(f"{event['host']}: {event['message']}")
    nodes = [n for n in status["nodes"] if n["state"] != "failed"]
    print(f"cluster '{inventory.name}' stopped; no engine left on {len(nodes)} node{'s' if len(nodes) != 1 else ''}")
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from .provision import provision

    inventory, paths = _inventory(args)
    for host in args.nodes:
        inventory.node(host)
    wheelhouse = Path(args.wheelhouse) if args.wheelhouse else None
    if wheelhouse is not None and not wheelhouse.is_dir():
        raise InputError(f"{wheelhouse}: no such folder; fill one with `pip download -d {wheelhouse} ...`")
    reports = run_sync(provision(inventory, paths, args.nodes, wheelhouse, lambda m: print(m, flush=True)))
    if reports:
        print(doctor.format_table(reports))
    return 0 if all(r.ok for r in reports) else 1


def cmd_restart(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    if inventory.launcher == "slurm":
        raise RaidenError(f"cluster '{inventory.name}': Slurm's nodes belong to its job; run `raiden down` then "
                          "`raiden up` for a new job")
    inventory.node(args.node)
    if not control.is_running(paths):
        raise RaidenError(f"cluster '{inventory.name}' is not running; start it with `raiden up`")
    reply = control.request(paths, {"op": "restart", "host": args.node})
    if not reply.get("ok"):
        raise RaidenError(reply.get("error", "restart failed"))
    return _wait_until_up(inventory, paths, None, args.timeout, skipped=[], hosts=[args.node])


def cmd_events(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    if args.node and inventory.launcher != "slurm":  # Slurm's nodes are whichever the job landed on
        inventory.node(args.node)
    events = cluster_events(paths, limit=args.limit, host=args.node)
    if args.json:
        print(json.dumps({"name": inventory.name, "events": events}, indent=2))
        return 0
    for e in events:
        when = datetime.fromtimestamp(e["time"]).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{when}  {(e['host'] or '-'):<16}  {e['kind']:<18}  {e['message']}")
    if not events:
        print(f"no events for cluster '{inventory.name}' yet")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    inventory, paths = _inventory(args)
    started = False
    if not control.is_running(paths):
        up = argparse.Namespace(inventory=args.inventory, timeout=UP_TIMEOUT_S)
        code = cmd_up(up)
        if code == 0 or control.is_running(paths):
            started = True
        else:
            return code
    lab_args = [a for a in args.lab_args if a != "--"]
    if args.workshop:
        for name, _ in LESSONS:
            copy_lesson(name, WORKSHOP_DIR)
        guide = Path(WORKSHOP_DIR) / "README.md"
        if not guide.exists():
            shutil.copyfile(lessons_dir() / "README.md", guide)
        print(f"the workshop's lessons are in ./{WORKSHOP_DIR}/", flush=True)
        if not any(a.startswith(("--ServerApp.default_url", "--LabApp.default_url")) for a in lab_args):
            lab_args.append(f"--LabApp.default_url=/lab/tree/{WORKSHOP_DIR}/{LESSONS[0][0]}")
    if os.geteuid() == 0 and "--allow-root" not in lab_args:
        lab_args.append("--allow-root")  # CI machines and fresh Pi images often run as root
    print("starting JupyterLab; the cluster stops when JupyterLab does" if started else
          f"starting JupyterLab on the running cluster '{inventory.name}'", flush=True)
    try:
        return subprocess.call([sys.executable, "-m", "jupyterlab", *lab_args])
    except KeyboardInterrupt:
        return 0
    finally:
        if started:
            cmd_down(argparse.Namespace(inventory=args.inventory))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


COMMANDS = {
    "init": cmd_init,
    "doctor": cmd_doctor,
    "up": cmd_up,
    "status": cmd_status,
    "down": cmd_down,
    "provision": cmd_provision,
    "restart": cmd_restart,
    "events": cmd_events,
    "lab": cmd_lab,
}

if __name__ == "__main__":
    run()
