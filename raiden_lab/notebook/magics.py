"""``%raiden`` and ``%%raiden_jit``: the cluster from inside a notebook.

``%load_ext raiden_lab`` registers them. ``%raiden up`` (or ``connect``) also
makes the client that ipyparallel's ``%px`` and ``%%px`` run through.
"""

from __future__ import annotations

import os
import shlex
import types
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..errors import RaidenError

LIFECYCLE_COMMANDS = ("up", "down", "restart")
LOOK_COMMANDS = ("status", "doctor", "events")


@magics_class
class RaidenMagics(Magics):
    cluster: Any = None

    @magic_arguments()
    @argument(
        "command", help="up, down, status, doctor, events, restart, connect, dashboard, scaling, report or solution"
    )
    @argument(
        "args",
        nargs="*",
        help="a node for restart; a name for connect; FUNC ARGS... for scaling; FILE.html for report; "
        "an exercise for solution",
    )
    @argument("-i", "--inventory", help="inventory file (default ./raiden.toml, else the local default)")
    @argument("--engines", default="1,2,4", help="scaling: engine counts to measure, e.g. 1,2,4,8")
    @line_magic
    def raiden(self, line: str) -> Any:
        """Run the cluster from a notebook: ``%raiden up``, ``%raiden dashboard``, ``%raiden scaling f xs``."""
        args = parse_argstring(self.raiden, line)
        try:
            if args.command in LIFECYCLE_COMMANDS:
                return self._lifecycle(args)
            if args.command in LOOK_COMMANDS:
                return self._look(args)
            if args.command == "connect":
                return self._connect(args.args[0] if args.args else None, args.inventory)
            if args.command == "dashboard":
                from .dashboard import dashboard

                return dashboard(args.args[0] if args.args else None, inventory=args.inventory)
            if args.command == "scaling":
                return self._scaling(args)
            if args.command == "solution":
                return self._solution(args.args)
            if args.command == "report":
                return self._report(args.args)
        except RaidenError as e:
            print(f"raiden: {e}")
            return None
        print(
            f"raiden: unknown command {args.command!r}; use one of {', '.join(LIFECYCLE_COMMANDS + LOOK_COMMANDS)}, connect, dashboard, scaling, report, solution"
        )
        return None

    def _in_class(self, args: Any) -> bool:
        """A student of a class (``RAIDEN_CLASS``, as the class's JupyterHub sets it) works in their seat,
        unless the magic names an inventory."""
        from .. import classroom

        return not args.inventory and bool(os.environ.get(classroom.CLASS_ENV))

    def _seat(self) -> Any:
        from .client import SeatCluster

        if isinstance(self.cluster, SeatCluster) and self.cluster.lost_problem() is None:
            return self.cluster
        return self._connect(None, None)

    def _seat_lifecycle(self, args: Any) -> Any:
        """In a class: ``up`` takes (or finds) this student's seat, ``restart NODE`` restarts its engines
        there through the class, ``down`` gives the seat back."""
        if args.command == "down":
            if self.cluster is not None:
                seat = self.cluster.seat
                self.cluster.end()
                self.cluster = None
                print(f"gave seat {seat} back to the class")
            else:
                print("no seat taken in this notebook")
            return None
        seat = self._seat()
        if args.command == "restart":
            if len(args.args) != 1:
                raise RaidenError("usage: %raiden restart NODE")
            print("\n".join(seat.restart(args.args[0])))
            return None
        hosts = ", ".join(n.host for n in seat.inventory.nodes)
        print(f"your seat {seat.seat} in the class ({seat.name}): {len(seat.ids)} engines of your own on {hosts}")
        return seat

    def _lifecycle(self, args: Any) -> Any:
        """``up``, ``down`` and ``restart NODE`` through the same front door as the CLI and the sidebar."""
        from ..aio import run_sync
        from ..operations.clusters import Clusters

        if self._in_class(args):
            return self._seat_lifecycle(args)
        cluster = Clusters().resolve(args.inventory)
        if args.command == "up":
            print(f"cluster '{cluster.name}' ({cluster.inventory.source})")
            outcome = run_sync(cluster.up())
        elif args.command == "down":
            outcome = run_sync(cluster.down())
        else:
            if len(args.args) != 1:
                raise RaidenError("usage: %raiden restart NODE")
            outcome = run_sync(cluster.restart(args.args[0]))
        print("\n".join(outcome.said + outcome.messages()))
        if args.command == "up" and outcome.status and outcome.status["engines"]["alive"]:
            return self._connect(None, args.inventory)
        if args.command == "down" and self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        return None

    def _look(self, args: Any) -> None:
        """``status``, ``doctor`` and ``events [NODE]``: the same words as ``raiden status|doctor|events``."""
        from ..aio import run_sync
        from ..operations.clusters import Clusters
        from ..operations.doctor import format_table
        from ..operations.texts import format_events, format_status

        if self._in_class(args):
            return self._seat_look(args)
        cluster = Clusters().resolve(args.inventory)
        cluster.paths.ensure()
        if args.command == "status":
            print(format_status(run_sync(cluster.status())))
        elif args.command == "doctor":
            print(format_table(run_sync(cluster.preflight())))
        else:
            events = cluster.events(limit=50, host=args.args[0] if args.args else None)
            print("\n".join(format_events(events)) or f"no events for cluster '{cluster.name}' yet")

    def _seat_look(self, args: Any) -> None:
        """In a class: this student's seat, as the class sees it (the nodes' doctor is the teacher's)."""
        from ..operations.texts import format_events, format_status

        if args.command == "doctor":
            print(
                "raiden: in a class the teacher runs the doctor for the class's nodes; %raiden status shows your seat"
            )
            return
        model = self._seat().model()
        if args.command == "status":
            print(format_status(model))
            return
        host = args.args[0] if args.args else None
        events = [e for e in model.get("events") or [] if host is None or e.get("host") == host][:50]
        print("\n".join(format_events(events)) or f"no events for your seat {self.cluster.seat} yet")

    def _report(self, words: list[str]) -> Any:
        """``%raiden report FILE.html``: what this notebook's cluster ran since it connected, as a report."""
        from .runreport import Report

        if self.cluster is None:
            raise RaidenError("no cluster yet; run %raiden up or %raiden connect first")
        if len(words) > 1 or (words and not words[0].endswith((".html", ".htm"))):
            raise RaidenError(f"usage: %raiden report [FILE.html] (not {' '.join(words)!r})")
        made = Report(Path(words[0] if words else "raiden-report.html"), self.cluster, None)
        made.began = self.cluster.tasks.began
        data = made.write()
        eff = data["efficiency"]["value"]
        print(
            f"wrote {made.path} (and its .json, .trace.json): {len(data['tasks'])} tasks, efficiency "
            f"{'-' if eff is None else f'{100 * eff:.0f}%'}, {len(data['stragglers'])} straggler(s)"
        )
        return None

    def _connect(self, name: str | None, inventory: str | None) -> Any:
        from .attach import connect

        self.cluster = connect(name, inventory=inventory)
        self.cluster.wait_for_engines(timeout=60)
        self.cluster.activate()
        self.shell.user_ns["cluster"] = self.cluster
        return self.cluster

    def _scaling(self, args: Any) -> Any:
        from IPython.display import display

        from . import plots
        from .scaling import measure

        if self.cluster is None:
            raise RaidenError("no cluster yet; run %raiden up or %raiden connect first")
        if not args.args:
            raise RaidenError("usage: %raiden scaling FUNC ARGS... [--engines 1,2,4]")
        fn = self._value(args.args[0])
        if not callable(fn):
            raise RaidenError(f"scaling: {args.args[0]} is {type(fn).__name__}, not a function; give FUNC first")
        iterables = self._iterables(args.args[1:])
        try:
            engines = [int(n) for n in args.engines.split(",")]
        except ValueError:
            raise RaidenError(f"--engines {args.engines!r}: give whole numbers like 1,2,4") from None
        try:
            table = measure(self.cluster, fn, *iterables, engines=engines)
        except ValueError as e:
            raise RaidenError(f"scaling: {e}") from None
        print(table)
        display(plots.scaling(table, title=f"scaling of {args.args[0]}"))
        return table

    def _solution(self, words: list[str]) -> None:
        """Replace this cell with the exercise's solution, to read before running it (as ``%load`` does)."""
        from ..operations.lessons import solution

        if len(words) != 1:
            raise RaidenError("usage: %raiden solution EXERCISE (e.g. %raiden solution 01.totals)")
        self.shell.set_next_input(solution(words[0]), replace=True)

    def _value(self, expr: str) -> Any:
        try:
            return self.shell.ev(expr)
        except Exception as e:  # the user's expression: say which and why, no traceback
            raise RaidenError(f"scaling: cannot evaluate {expr!r}: {e.__class__.__name__}: {e}") from None

    def _evaluates(self, expr: str) -> bool:
        try:
            self.shell.ev(expr)
        except Exception:
            return False
        return True

    def _iterables(self, exprs: list[str]) -> list[Any]:
        """One iterable per word, or the words together as one expression (``[1] * 4``, ``range(10), xs``)."""
        if not exprs:
            raise RaidenError("usage: %raiden scaling FUNC ITEMS... (e.g. %raiden scaling spin range(1000))")
        try:
            values = [self.shell.ev(expr) for expr in exprs]
        except Exception as word_error:
            whole = " ".join(exprs)
            try:
                values = list(self.shell.ev(f"({whole},)"))
            except Exception:
                bad = next(e for e in exprs if not self._evaluates(e))
                raise RaidenError(
                    f"scaling: cannot evaluate {bad!r}: {word_error.__class__.__name__}: {word_error}"
                ) from None
            exprs = [whole] * len(values)
        for expr, value in zip(exprs, values, strict=True):
            try:
                iter(value)
            except TypeError:
                hint = f"range({value})" if isinstance(value, int) else f"[{expr}]"
                raise RaidenError(
                    f"scaling: {expr} is {type(value).__name__}, not items to map over; did you mean {hint}?"
                ) from None
        return values

    @cell_magic
    def raiden_jit(self, line: str, cell: str) -> None:
        """Run the cell, make each function it defines a ``raiden_lab.jit`` function, and send it to every engine.

        The line takes numba's options: ``%%raiden_jit parallel=True fastmath=True``.
        """
        from .jit import jit

        options = {}
        for item in shlex.split(line):
            key, _, value = item.partition("=")
            options[key] = self.shell.ev(value) if value else True
        ns = self.shell.user_ns
        before = {k: v for k, v in ns.items() if isinstance(v, types.FunctionType)}
        result = self.shell.run_cell(cell)
        if not result.success:
            return
        made = {}
        for name, value in list(ns.items()):
            if isinstance(value, types.FunctionType) and before.get(name) is not value and not name.startswith("_"):
                made[name] = ns[name] = jit(value, **options)
        if not made:
            print("raiden_jit: the cell defined no function")
            return
        where = "here"
        if self.cluster is not None:
            self.cluster.direct.push(made, block=True)
            where = f"here and on {len(self.cluster.ids)} engines"
        print(f"jit functions {where}: {', '.join(made)}")


def load_ipython_extension(ipython: Any) -> None:
    import raiden_lab

    ipython.register_magics(RaidenMagics)
    ipython.user_ns.setdefault("raiden_lab", raiden_lab)  # so `raiden_lab.dashboard()` works right after
