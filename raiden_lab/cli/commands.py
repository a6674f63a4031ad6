"""The ``raiden`` command's verbs: each parses nothing, calls the lifecycle API or a tool, prints."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from ..aio import run_sync
from ..classroom.seatinventory import seat_problem
from ..config.inventory import DEFAULT_PATH, INVENTORY_ENV, example
from ..config.paths import ClusterPaths
from ..config.syntax import is_host
from ..errors import InputError, NotRunning, RaidenError
from ..operations import doctor
from ..operations.clusters import Cluster, Clusters, Outcome
from ..operations.lessons import WORKSHOP_DIR, catalog, copy_workshop, exercise_names
from ..operations.texts import format_events, format_progress, format_seats, format_status


def _cluster(args: argparse.Namespace) -> Cluster:
    """The cluster of ``-i FILE``, else ``./raiden.toml``, else the local default; its folder made."""
    cluster = Clusters().resolve(args.inventory)
    cluster.paths.ensure()
    return cluster


def cmd_init(args: argparse.Namespace) -> int:
    if args.path and args.inventory and args.path != args.inventory:
        raise InputError(f"raiden init: give the file once, as PATH or -i (not {args.path} and {args.inventory})")
    path = Path(args.path or args.inventory or "raiden.toml")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the file to write, e.g. {path / 'raiden.toml'}")
    if path.exists() and not args.force:
        raise InputError(f"{path}: already exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist; create it first or choose another path")
    try:
        path.write_text(example())
    except OSError as e:
        raise InputError(f"{path}: cannot write it ({e.strerror}); choose a folder you can write to") from None
    print(f"wrote {path}; edit the hosts, then run `raiden doctor -i {path}`")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    inventory = cluster.inventory
    if warning := inventory.plaintext_warning:
        print(f"warning: {warning}", file=sys.stderr)
    reports = run_sync(cluster.preflight())
    if args.json:
        print(
            json.dumps(
                {
                    "name": inventory.name,
                    "head": {"python": sys.version.split()[0], "packages": doctor.head_versions()},
                    "nodes": [r.to_dict() for r in reports],
                },
                indent=2,
            )
        )
    else:
        print(doctor.format_table(reports))
    return 0 if all(r.ok for r in reports) else 1


def _tell(outcome: Outcome) -> int:
    """Print what a lifecycle call did, as the command's output; its exit code."""
    for line in outcome.said:
        print(line, flush=True)
    for line in outcome.messages():
        print(line, file=sys.stderr)
    return outcome.exit_code


def cmd_up(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    if args.service:
        from ..operations import service

        installed, said = service.install(cluster.inventory, cluster.paths)
        if installed:  # systemd ran `raiden up` itself (its supervisor belongs to the unit); this reports it
            print("\n".join(said), flush=True)
        outcome = run_sync(cluster.up(args.timeout))
        outcome.warnings += [] if installed else said
        return _tell(outcome)
    return _tell(run_sync(cluster.up(args.timeout)))


def cmd_status(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    status = run_sync(cluster.status())
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 1 if cluster.status_problem(status) else 0


def cmd_down(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    said = []
    if args.service:
        from ..operations import service

        said = service.uninstall(cluster.inventory)  # stops the unit first, which runs `raiden down`
    outcome = run_sync(cluster.down())
    outcome.said = said + outcome.said
    return _tell(outcome)


def cmd_add(args: argparse.Namespace) -> int:
    import getpass

    from ..operations import adding, wheelhouse
    from ..operations.provision import provision

    if not is_host(args.host):
        raise InputError(f"{args.host!r} is not a hostname or IP address")
    path = Path(args.inventory or DEFAULT_PATH)
    inventory = adding.inventory_for(path, args.host, args.port, lambda m: print(m, flush=True))
    cluster = Cluster(inventory, ClusterPaths(inventory.name).ensure())
    paths = cluster.paths
    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    adding.check_request(inventory, args.host, args.user, labels)

    def ask(question: str) -> bool:
        return input(question).strip().lower() in ("y", "yes")

    interactive = sys.stdin.isatty() and not args.password_file
    adding.confirm_host_key(args.host, args.port, paths, args.fingerprint, ask if interactive else None)
    if args.password_file:
        try:
            password = Path(args.password_file).read_text().rstrip("\n")
        except OSError as e:
            raise InputError(f"{args.password_file}: {e.strerror}; give a readable file with the password") from None
    else:
        password = getpass.getpass(f"password of {args.user}@{args.host} (asked once, not kept): ")
    key = adding.cluster_key(paths)
    print(f"[1/4] the cluster's key: {key}", flush=True)
    adding.install_key(args.host, args.user, args.port, password, paths, key)
    print(f"[2/4] {args.host}: key installed for {args.user}; its host key {adding.fingerprint(args.host, paths)}")
    if problem := adding.python_problem(args.host, args.user, args.port, paths, key, args.python):
        raise RaidenError(problem)  # nothing written: the inventory stays as it was
    inventory = adding.append_node(
        inventory, args.host, args.user, args.port, key, args.engines, labels, args.python or adding.DEFAULT_PYTHON
    )
    print(f"[3/4] {args.host}: added to {inventory.path}", flush=True)
    print(f"[3/4] {run_sync(adding.fix_clock(inventory, args.host, paths))}", flush=True)
    folder = Path(args.wheelhouse) if args.wheelhouse else None
    if folder is not None:
        reports = run_sync(Cluster(inventory, paths).preflight())
        mine = [r for r in reports if r.host == args.host]
        _, problems = run_sync(wheelhouse.build(inventory, paths, folder, mine, lambda m: print(m, flush=True)))
        if problems:
            raise RaidenError(problems[0])
    reports = run_sync(provision(inventory, paths, [args.host], folder, lambda m: print(m, flush=True)))
    if reports and reports[0].ok and cluster.is_running():
        print(f"[4/4] {args.host}: provisioned; joining the running cluster", flush=True)
        return _tell(run_sync(Cluster(inventory, paths).reload(args.timeout)))
    if reports and reports[0].ok:
        print(f"[4/4] {args.host}: provisioned; `raiden up` starts engines there")
        return 0
    for problem in reports[0].problems if reports else []:
        print(f"raiden: {problem}", file=sys.stderr)
    return 1


def cmd_reload(args: argparse.Namespace) -> int:
    return _tell(run_sync(_cluster(args).reload(args.timeout)))


def cmd_remove(args: argparse.Namespace) -> int:
    return _tell(run_sync(_cluster(args).remove(args.host, args.drain, args.timeout)))


def cmd_power(args: argparse.Namespace) -> int:
    return _tell(run_sync(_cluster(args).power(args.action, args.node, args.timeout)))


def cmd_interrupt(args: argparse.Namespace) -> int:
    return _tell(run_sync(_cluster(args).interrupt()))


def cmd_wheelhouse(args: argparse.Namespace) -> int:
    from ..operations import wheelhouse

    cluster = _cluster(args)
    inventory, paths = cluster.inventory, cluster.paths
    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: not a folder; name a folder for the wheels")
    reports = run_sync(cluster.preflight())
    manifest, problems = run_sync(wheelhouse.build(inventory, paths, folder, reports, lambda m: print(m, flush=True)))
    for entry in manifest["platforms"]:
        print(f"{entry['arch']}, Python {entry['python']}: {', '.join(entry['nodes'])}")
    print(f"{len(manifest['files'])} wheels in {folder}; next: `raiden provision --wheelhouse {folder}`")
    for problem in problems:
        print(f"raiden: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_provision(args: argparse.Namespace) -> int:
    from ..operations.provision import provision

    cluster = _cluster(args)
    inventory, paths = cluster.inventory, cluster.paths
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
    return _tell(run_sync(_cluster(args).restart(args.node, args.timeout)))


def cmd_events(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    events = cluster.events(limit=args.limit, host=args.node)
    if args.json:
        print(json.dumps({"name": cluster.name, "events": events}, indent=2))
        return 0
    for line in format_events(events):
        print(line)
    if not events:
        print(f"no events for cluster '{cluster.name}' yet")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    started = False
    if not cluster.is_running():
        code = _tell(run_sync(cluster.up()))
        if code == 0 or cluster.is_running():
            started = True
        else:
            return code
    lab_args = [a for a in args.lab_args if a != "--"]
    if args.workshop:
        copy_workshop(WORKSHOP_DIR)
        print(f"the workshop's lessons are in ./{WORKSHOP_DIR}/", flush=True)
        if not any(a.startswith(("--ServerApp.default_url", "--LabApp.default_url")) for a in lab_args):
            lab_args.append(f"--LabApp.default_url=/lab/tree/{WORKSHOP_DIR}/{catalog()[0].file}")
    if os.geteuid() == 0 and "--allow-root" not in lab_args:
        lab_args.append("--allow-root")  # CI machines and fresh Pi images often run as root
    print(
        "starting JupyterLab; the cluster stops when JupyterLab does"
        if started
        else f"starting JupyterLab on the running cluster '{cluster.name}'",
        flush=True,
    )
    try:
        env = dict(os.environ)
        if cluster.inventory.path is not None:  # every kernel JupyterLab starts uses this cluster, whatever its folder
            env[INVENTORY_ENV] = str(cluster.inventory.path.resolve())
        return subprocess.call([sys.executable, "-m", "jupyterlab", *lab_args], env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        if started:
            _tell(run_sync(cluster.down()))


def _roster(args: argparse.Namespace) -> list[str]:
    """The students of ``--users FILE`` or ``--group GROUP``; none when neither is given."""
    from ..classroom.roster import group_members, read_roster

    if args.users and args.group:
        raise InputError("--users and --group: give one of them")
    if args.users:
        return read_roster(Path(args.users))
    return group_members(args.group) if args.group else []


def cmd_class(args: argparse.Namespace) -> int:
    from .. import classroom
    from ..classroom import rendezvous
    from ..classroom.roster import NO_ROSTER

    cluster = _cluster(args)
    inventory, paths = cluster.inventory, cluster.paths
    if args.action == "start":
        if args.seats is not None and not 1 <= args.seats <= inventory.classroom.seats:
            raise InputError(
                f"--seats {args.seats}: give 1 to {inventory.classroom.seats} (the inventory's [class] seats)"
            )
        roster = _roster(args)
        if not roster and not args.open:
            raise InputError(NO_ROSTER)
        where = Path(args.socket).absolute() if args.socket else rendezvous.default_socket()
        info = classroom.start_class(inventory.name, paths, where, roster, exercise_names(), inventory.path, args.seats)
        who = f"{len(roster)} students" if roster else "any user of this machine"
        print(
            f"class '{inventory.name}' started for {who}; students set {classroom.CLASS_ENV}={info['socket']} "
            f"and {rendezvous.TEACHER_ENV}={rendezvous.user_name(os.getuid())} "
            "(a JupyterHub on this head: in c.Spawner.environment) and their workshop.check results appear in "
            "`raiden class status`"
        )
        if problem := seat_problem(inventory):
            print(f"warning: {problem}", file=sys.stderr)
        else:
            seats = args.seats or inventory.classroom.seats
            print(
                f"seats: up to {seats}, {inventory.classroom.engines_per_seat} engine(s) per node each; "
                "a student's raiden_lab.connect() takes one"
            )
        return 0
    if args.action == "hub":
        from ..classroom.jupyterhub import hub_tls, run_hub

        if not args.teacher:
            raise InputError("raiden class hub: name the teacher's account with --teacher USER")
        roster = _roster(args)
        where = Path(args.socket).absolute() if args.socket else None
        tls = hub_tls(paths, args.ip, args.ssl_cert, args.ssl_key, args.self_signed)
        return run_hub(paths, args.teacher, roster, where, args.ip, args.port, args.proxy, tls)
    if args.action in ("end", "code"):
        if not args.user:
            raise InputError(f"raiden class {args.action}: name the student, e.g. `raiden class {args.action} alice`")
        info = classroom.running_class(paths)
        if info is None:
            raise NotRunning(f"class '{inventory.name}' is not running; start it with `raiden class start`")
        if args.action == "code":
            reply = classroom.ask(info["socket"], {"op": "code", "user": args.user})
            if not reply.get("ok"):
                raise InputError(reply.get("error", "the class did not answer"))
            print(reply["code"])
            print(
                f'{args.user}: raiden_lab.connect(seat="<the line above>") on a machine that reaches the head',
                file=sys.stderr,
            )
            return 0
        reply = classroom.ask(info["socket"], {"op": "end", "user": args.user})
        if not reply.get("ok"):
            raise InputError(reply.get("error", "the class did not answer"))
        print(f"{args.user}'s seat ended; their engines stopped")
        return 0
    if args.action == "stop":
        stopped = classroom.stop_class(inventory.name, paths)
        print(f"class '{inventory.name}' stopped" if stopped else f"class '{inventory.name}' is not running")
        return 0
    info = classroom.running_class(paths)
    if info is None:
        raise NotRunning(f"class '{inventory.name}' is not running; start it with `raiden class start`")
    reply = classroom.ask(info["socket"], {"op": "progress"})
    if not reply.get("ok"):
        raise RaidenError(reply.get("error", "the class did not answer"))
    progress = reply["progress"]
    if args.json:
        print(json.dumps({**progress, "seats": reply.get("seats", [])}, indent=2))
    elif args.csv:
        print(classroom.progress_csv(progress), end="")
    else:
        print(format_progress(progress, info["socket"]))
        if reply.get("seats"):
            print(format_seats(reply["seats"]))
    return 0


COMMANDS = {
    "init": cmd_init,
    "doctor": cmd_doctor,
    "up": cmd_up,
    "status": cmd_status,
    "down": cmd_down,
    "provision": cmd_provision,
    "wheelhouse": cmd_wheelhouse,
    "add": cmd_add,
    "reload": cmd_reload,
    "remove": cmd_remove,
    "power": cmd_power,
    "interrupt": cmd_interrupt,
    "restart": cmd_restart,
    "events": cmd_events,
    "class": cmd_class,
    "lab": cmd_lab,
}
