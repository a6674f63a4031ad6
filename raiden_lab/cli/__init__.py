"""The ``raiden`` command: init, doctor, up, status, down, add, reload, remove, power, provision, restart, events,
class, lab.

Exit codes: 0 success; 1 the cluster runs but some node failed (named);
2 bad input, as one line naming the file, node or value; 3 the cluster (or class) is not running.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import InputError, RaidenError
from ..operations.lessons import WORKSHOP_DIR
from ..operations.lifecycle import UP_TIMEOUT_S


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def command_parser() -> argparse.ArgumentParser:
    from .. import code_version

    parser = _Parser(
        prog="raiden",
        description="Run a Raiden Lab cluster: IPython Parallel engines on every node.",
        epilog=(
            "State (the clusters' state files, logs, keys) lives under $RAIDEN_HOME (default ~/.raiden). "
            "Exit codes: 0 success; 1 the cluster runs but some node failed (named); 2 bad input (inventory, "
            "arguments: one line naming the file, node or value); 3 the cluster (or class) is not running."
        ),
    )
    parser.add_argument("--version", action="version", version=f"raiden {code_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    def command(name: str, help: str, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument(
            "-i", "--inventory", metavar="PATH", help="inventory file (default: ./raiden.toml, else one local node)"
        )
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON for programs")
        return p

    p = sub.add_parser(
        "init", help="write a commented example raiden.toml", description="Write a commented example inventory."
    )
    p.add_argument("path", nargs="?", help="where to write it (default ./raiden.toml)")
    p.add_argument("-i", "--inventory", metavar="PATH", help="the same as PATH, as every other command takes it")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    command("doctor", "check every node before engines fail on it", json_flag=True)
    p = command("up", "start the cluster (preflight, controller, engines on every node)")
    p.add_argument(
        "--timeout",
        type=float,
        help=f"seconds to wait for engines (default {UP_TIMEOUT_S:g}, or $RAIDEN_UP_TIMEOUT)",
    )
    p.add_argument(
        "--service", action="store_true", help="also start it at every boot (a user systemd unit, where systemd runs)"
    )
    command("status", "show every node and engine", json_flag=True)
    p = command("down", "stop every engine, the controller and the supervisor")
    p.add_argument("--service", action="store_true", help="also remove the unit of `raiden up --service`")
    p = command("provision", "give nodes the head's Python packages (creating their environment if missing)")
    p.add_argument("nodes", nargs="*", metavar="NODE", help="hosts to provision (default: every node)")
    p.add_argument(
        "--wheelhouse", metavar="DIR", help="install from these wheels, copied over SSH (nodes without internet)"
    )
    p = command("add", "make a Pi that accepts only its password a node: key, host key, inventory, packages")
    p.add_argument("host", help="the Pi's host name or address")
    p.add_argument("--user", default="pi", help="its user (default pi)")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--engines", type=int, help="engines on it (default: the cluster's engines_per_node)")
    p.add_argument("--labels", default="", help="comma-separated labels, e.g. pi4,rack1")
    p.add_argument("--python", default=None, help="its Python (default ~/raiden/venv/bin/python, made by provisioning)")
    p.add_argument("--password-file", metavar="FILE", help="read the password from FILE (for scripts); else asked")
    p.add_argument(
        "--fingerprint",
        metavar="SHA256:...",
        help="the Pi's host key fingerprint, read on the Pi (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); "
        "else asked at a terminal",
    )
    p.add_argument("--wheelhouse", metavar="DIR", help="download its wheels on the head into DIR and install from them")
    p.add_argument("--timeout", type=float, default=UP_TIMEOUT_S, help="a running cluster: seconds to wait for it")
    p = command("reload", "apply raiden.toml's [[nodes]] to the running cluster: new nodes join, removed ones leave")
    p.add_argument(
        "--timeout",
        type=float,
        default=UP_TIMEOUT_S,
        help=f"seconds to wait for new engines (default {UP_TIMEOUT_S:g})",
    )
    p = command("remove", "take a node out of the cluster and of raiden.toml (live when the cluster runs)")
    p.add_argument("host", help="host of the node, as in the inventory")
    p.add_argument("--drain", action="store_true", help="let the tasks on its engines finish first, send it none")
    p.add_argument(
        "--timeout", type=float, default=60.0, help="--drain: seconds before running tasks move elsewhere (default 60)"
    )
    p = command("power", "switch nodes with their power hooks: on, off, cycle, or read their status")
    p.add_argument("action", choices=("on", "off", "cycle", "status"))
    p.add_argument("node", help="host of the node, or all (every node with the hooks)")
    p.add_argument("--timeout", type=float, default=180.0, help="on, cycle: seconds to wait for engines (default 180)")
    command("interrupt", "stop the tasks running on every engine now (the engines stay up and usable)")
    p = command("wheelhouse", "download on the head the wheels every node needs, for nodes without internet")
    p.add_argument("folder", nargs="?", default="wheelhouse", help="where to put them (default ./wheelhouse)")
    p = command("restart", "restart the engines of one node")
    p.add_argument("node", help="host of the node, as in the inventory")
    p.add_argument("--timeout", type=float, default=UP_TIMEOUT_S)
    p = command("events", "list what happened to the cluster", json_flag=True)
    p.add_argument("-n", "--limit", type=int, default=50, help="how many of the latest events (default 50)")
    p.add_argument("--node", help="only this node's events")
    p = command("class", "run a class on this head: a seat of engines per student, their check results, live")
    p.add_argument(
        "action",
        choices=("start", "status", "stop", "end", "code", "hub"),
        help="start, status or stop the class; end USER's seat; code USER: a seat code for a laptop; "
        "hub: the room's JupyterHub (as root)",
    )
    p.add_argument("user", nargs="?", help="end, code: the student (end: their seat's engines stop)")
    p.add_argument(
        "--seats", type=int, metavar="N", help="start: hand out at most N seats (default: [class] seats, 20)"
    )
    p.add_argument("--users", metavar="FILE", help="start, hub: the students, one user name a line")
    p.add_argument("--group", metavar="GROUP", help="start, hub: the students are the Unix group GROUP's members")
    p.add_argument("--open", action="store_true", help="start: any account of this machine may take part (no roster)")
    p.add_argument("--socket", metavar="PATH", help="start: where students reach the class (set RAIDEN_CLASS to it)")
    p.add_argument("--teacher", metavar="USER", help="hub: the teacher's account (the hub's admin)")
    p.add_argument("--ip", default="0.0.0.0", help="hub: the address to listen on (default: every address)")
    p.add_argument("--port", type=int, default=8000, help="hub: the port (default 8000)")
    p.add_argument("--proxy", metavar="PATH", help="hub: configurable-http-proxy, if not on PATH")
    p.add_argument("--ssl-cert", metavar="FILE", help="hub: its TLS certificate (with --ssl-key)")
    p.add_argument("--ssl-key", metavar="FILE", help="hub: the certificate's private key")
    p.add_argument(
        "--self-signed",
        action="store_true",
        help="hub: a certificate of its own, made once; its fingerprint is printed for the room to compare",
    )
    p.add_argument("--json", action="store_true", help="status: the progress as JSON")
    p.add_argument("--csv", action="store_true", help="status: the progress grid as CSV")
    p = command("lab", "start JupyterLab with the cluster up (other arguments go to jupyter lab)")
    p.add_argument(
        "--workshop",
        action="store_true",
        help=f"copy the workshop's lessons into ./{WORKSHOP_DIR}/ (keeping any copy there) and open it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code; expected failures print one line, no traceback."""
    try:
        parser = command_parser()
        args, extra = parser.parse_known_args(argv)
        if args.command == "lab":
            args.lab_args = extra  # everything raiden does not know goes to jupyter lab
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        from .commands import COMMANDS

        return COMMANDS[args.command](args)
    except RaidenError as e:
        said = str(e) if isinstance(e, InputError) else f"raiden: {e}"
        if "--json" in (sys.argv[1:] if argv is None else argv):  # a program asked: it gets JSON, errors too
            print(json.dumps({"error": said, "exit_code": e.exit_code}))
        print(said, file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `raiden status | head`: the reader left; nothing to tell
        sys.stderr.close()
        return 0


def run() -> NoReturn:
    sys.exit(main())
