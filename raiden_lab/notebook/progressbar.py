"""The progress bar of a long map: a widget in notebooks, a line on a terminal; none for short maps."""

from __future__ import annotations

import sys
import time
from typing import Any

PROGRESS_AFTER_S = 2.0  # maps shorter than this never show a progress bar


class Progress:
    """A progress bar that appears only for long maps: a widget in notebooks, a line in terminals."""

    def __init__(self, total: int | None, enabled: bool | None) -> None:
        self.total = total
        self.enabled = enabled
        self.start = time.monotonic()
        self.widget: Any = None
        self.shown = False

    def update(self, done: int) -> None:
        if self.enabled is False:
            return
        if not self.shown and (self.enabled or time.monotonic() - self.start > PROGRESS_AFTER_S):
            self._show()
        if self.shown:
            self._draw(done)

    def _show(self) -> None:
        self.shown = True
        if _in_notebook():
            import ipywidgets
            from IPython.display import display

            self.widget = ipywidgets.IntProgress(min=0, max=self.total or 1, description="map")
            display(self.widget)

    def _draw(self, done: int) -> None:
        elapsed = time.monotonic() - self.start
        if self.widget is not None:
            self.widget.value = done
            self.widget.description = f"{done}/{self.total}" if self.total else str(done)
        elif self.total:
            sys.stderr.write(f"\rmap: {100 * done / self.total:5.1f}% ({done}/{self.total}) {elapsed:.1f} s")
            sys.stderr.flush()
        else:
            sys.stderr.write(f"\rmap: {done} done {elapsed:.1f} s")
            sys.stderr.flush()

    def close(self, done: int) -> None:
        if self.shown:
            self._draw(done)
            if self.widget is not None:
                self.widget.bar_style = "success" if done == self.total else ""
            else:
                sys.stderr.write("\n")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
