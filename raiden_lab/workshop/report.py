"""A student's side of the class: tell the teacher's class what ``workshop.check`` found.

The class listens on a Unix socket (``RAIDEN_CLASS`` names it); who reports is what the kernel
says of the connecting process, never what the message claims, so a student can report only as
themselves. Reporting never gets in the way of the lesson: without a class, or when it does not
answer, nothing happens.
"""

from __future__ import annotations

import os
import sys

from ..classroom import CLASS_ENV, ask
from ..errors import RaidenError


def report(exercise: str, passed: bool) -> bool:
    """Tell the class (if ``RAIDEN_CLASS`` names one) that this user passed or failed ``exercise``."""
    path = os.environ.get(CLASS_ENV)
    if not path:
        return False
    try:
        return bool(ask(path, {"op": "report", "exercise": exercise, "passed": bool(passed)}).get("ok"))
    except (OSError, ValueError):
        return False
    except RaidenError as e:  # the socket is not the teacher's: nothing was sent, and the student is told why
        print(f"not reported to the class: {e}", file=sys.stderr)
        return False
