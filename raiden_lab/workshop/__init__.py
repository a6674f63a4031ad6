"""The workshop: lessons in ``notebooks/NN-name/`` and the checks their exercises call.

``workshop.check("02.estimate", estimate_pi)`` says right or wrong, and when
wrong gives a hint, never the solution. Checks that need the cluster use the
one the notebook made with ``%raiden up`` (its ``cluster`` variable), or
connect to the running one.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..operations.lessons import WORKSHOP_DIR, catalog, copy_lesson, copy_workshop, lessons_dir, solution
from .reference import corpus

__all__ = [
    "WORKSHOP_DIR",
    "catalog",
    "Result",
    "check",
    "compare",
    "copy_lesson",
    "copy_workshop",
    "corpus",
    "hint",
    "kill_engine",
    "lessons_dir",
    "recorded",
    "solution",
]


@dataclass(frozen=True)
class Result:
    """What a check found; shows as one green or red line in a notebook."""

    exercise: str
    ok: bool
    message: str
    mark: str | None = None  # a comparison (prediction against measurement) is neither right nor wrong

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        mark = self.mark or ("✔" if self.ok else "✘")
        return f"{mark} {self.exercise}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "var(--jp-success-color1, #2e7d32)" if self.ok else "var(--jp-error-color1, #c62828)"
        colour = "var(--jp-brand-color1, #1565c0)" if self.mark else colour
        mark = self.mark or ("✔" if self.ok else "✘")
        return (
            f"<div class='raiden-check' style='color:{colour};font-weight:600'>{mark} "
            f"{html.escape(self.exercise)}: <span style='font-weight:400'>{html.escape(self.message)}</span></div>"
        )


def _exercise(exercise: str) -> Any:
    """The exercise of that name; an unknown name is one sentence listing the known ones."""
    from .exercises import every_exercise

    checks = every_exercise()
    if exercise not in checks:
        raise InputError(f"no exercise named {exercise!r}; the exercises are {', '.join(sorted(checks))}")
    return checks[exercise]


def check(exercise: str, answer: Any = None, cluster: Any = None) -> Result:
    """Check one exercise's answer: right, or wrong with a hint."""
    ex = _exercise(exercise)
    first = f"Hint: {ex.hints[0]}"
    if len(ex.hints) > 1:
        first += f" (another: workshop.hint({exercise!r}))"
    if answer is None or answer is Ellipsis or _empty(answer):  # hints come after a first try
        return Result(exercise, False, "no answer yet: write yours in place of the ... and run the cell again")
    from .checks import StudentError
    from .report import report

    try:
        ok, message = ex.check(answer, _cluster(cluster) if ex.needs_cluster else None)
    except StudentError as e:  # the student's own function raised inside the check: a try that failed
        report(exercise, False)
        return Result(exercise, False, f"{e}. {first}")
    if not ok:
        message = f"{message} {first}" if message else f"not yet. {first}"
    report(exercise, ok)  # the teacher's progress grid, when this user is in a class
    return Result(exercise, ok, message)


def _empty(answer: Any) -> bool:
    """A function whose body is still the lesson's ``...`` (or ``pass``): nothing tried yet."""
    code = getattr(answer, "__code__", None)
    return code is not None and code.co_code == _EMPTY.co_code and code.co_consts[:1] == (None,)


_EMPTY = (lambda: None).__code__


def compare(what: str, predicted: Any, measured: float) -> Result:
    """Put a learner's prediction (written before the measurement ran) beside what the cluster measured."""
    if predicted is None or predicted is Ellipsis:
        return Result(
            what, False, f"measured {measured:.3g}; no prediction was written: write one before you measure", "◆"
        )
    try:
        guess = float(predicted)
    except (TypeError, ValueError):
        return Result(what, False, f"measured {measured:.3g}; the prediction {predicted!r} is not a number", "◆")
    if guess <= 0 or measured <= 0:
        return Result(what, False, f"predicted {guess:.3g}, measured {measured:.3g}: both should be above zero", "◆")
    ratio = measured / guess
    near = 0.5 <= ratio <= 2
    if near:
        how = "within a factor of two"
    elif ratio > 1:
        how = f"{ratio:.1f} times what you thought"
    else:
        how = f"{1 / ratio:.1f} times less than you thought"
    return Result(what, near, f"predicted {guess:.3g}, measured {measured:.3g}: {how}", "◆")


_shown: dict[str, int] = {}  # exercise -> how many of its hints were asked for


def hint(exercise: str) -> Result:
    """The exercise's next hint, one tier nearer each time it is asked for; never the answer."""
    hints = _exercise(exercise).hints
    n = min(_shown.get(exercise, 0) + 1, len(hints) - 1) if len(hints) > 1 else 0
    _shown[exercise] = n
    more = "" if n == len(hints) - 1 else f" (another: workshop.hint({exercise!r}))"
    return Result(exercise, False, f"Hint {n + 1} of {len(hints)}: {hints[n]}{more}")


def __getattr__(name: str) -> Any:
    if name == "recorded":  # imported on first use, so `python -m raiden_lab.workshop.recorded` runs it once
        import importlib

        return importlib.import_module(".recorded", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _cluster(cluster: Any) -> Any:
    if cluster is not None:
        return cluster
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    from .. import RaidenCluster, connect  # the public API, as a lesson uses it

    if shell is not None and isinstance(shell.user_ns.get("cluster"), RaidenCluster):
        return shell.user_ns["cluster"]
    return connect()


def _die_in(seconds: float) -> int:
    """On an engine: SIGKILL this very process ``seconds`` from now, from a thread of its own; its pid."""
    import os
    import signal
    import threading

    pid = os.getpid()
    timer = threading.Timer(seconds, os.kill, (pid, signal.SIGKILL))
    timer.daemon = True
    timer.start()
    return pid


def kill_engine(cluster: Any, engine_id: int, after: float = 0.0) -> dict[str, Any]:
    """SIGKILL one engine, wherever it runs: the engine is told to kill itself ``after`` seconds from now.

    The kill comes from a thread inside the engine, so it lands while a map keeps the engine busy, on a
    laptop, on a Pi, or in a student's seat (where nobody but the seat's own account may signal it).
    This is a real crash: no goodbye to the controller; the supervisor notices and starts a new engine.
    Returns the engine's node and pid.
    """
    if engine_id not in cluster.ids:
        raise InputError(f"engine {engine_id} is not registered; the engines are {cluster.ids}")
    host = next((n["host"] for n in cluster.nodes if any(e["id"] == engine_id for e in n["engines"])), None)
    pid = cluster.client[engine_id].apply_sync(_die_in, max(after, 0.05))  # its reply leaves before the kill
    if after <= 0:
        time.sleep(0.2)
    return {"engine": engine_id, "node": host, "pid": pid}
