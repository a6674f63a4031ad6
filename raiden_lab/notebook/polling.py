"""A widget that keeps itself current: the dashboard's and the class view's common part.

It draws once when made, then again every ``interval`` seconds in a thread of
its own until ``close()``; a refresh that fails is shown (``failed``) and tried
again at the next tick.
"""

from __future__ import annotations

import threading

import ipywidgets as widgets


class PollingView(widgets.VBox):
    thread_name = "raiden-view"

    def __init__(self, children: list[widgets.Widget], interval: float, start: bool = True) -> None:
        self.interval = interval
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__(children)
        self.refresh()
        if start:
            self.start()

    def refresh(self) -> None:
        """Read what the view shows, once, and redraw."""
        raise NotImplementedError

    def failed(self, error: Exception) -> None:
        """Show that a refresh failed; the next is tried at the next tick."""
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception as e:  # a store rewritten under us, a class that does not answer: shown, tried again
                self.failed(e)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 5)
        super().close()
