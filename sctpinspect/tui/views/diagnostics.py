"""6 Diagnostics: the ``diagnose`` report of the file, from one pass on a thread."""
from __future__ import annotations

import threading
import time

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from .base import DeferredView
from .content import diagnostics_text


class DiagnosticsView(DeferredView):
    view_id, key, tab_title, short = "diag", "6", "Diagnostics", "Diag"
    main = "#diag-scroll"
    palette = "Diagnostics view"
    help = ""

    running = False
    done = False
    progress = 0
    _stop = None

    def build(self) -> list:
        return [VerticalScroll(Static("", id="diag-text"), id="diag-scroll")]

    def refresh_view(self) -> None:
        """Run the diagnostics on a thread (one pass over the whole file, like the
        ``diagnose`` command) and show the report; meanwhile a progress bar with
        the frame count and an ETA."""
        if self.running or self.done:
            return
        store = self.app.store
        if store.live or not store.path:
            self.query_one("#diag-text", Static).update(Text(
                "diagnostics read a file: save the capture (Ctrl+S), then run "
                "`sctpinspect diagnose FILE` or open that file"))
            return
        self.running = True
        self.progress = 0
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self.show_progress()
        app = self.app

        def progress(n):
            self.progress = n

        def work():
            try:
                text = diagnostics_text(store, progress, self._stop)
            except Exception as e:  # noqa: BLE001 - shown in the view, never a traceback
                text = f"diagnostics stopped: {type(e).__name__}: {e}"

            def show():
                self.running = False
                self.done = True
                try:
                    self.query_one("#diag-text", Static).update(Text(text))
                except Exception:  # noqa: BLE001 - the app is closing
                    pass
            try:
                app.call_from_thread(show)
            except RuntimeError:
                pass
        threading.Thread(target=work, name="tui-diagnostics", daemon=True).start()

    def tick(self) -> None:
        if self.running:
            self.show_progress()

    def show_progress(self) -> None:
        from ..app import progress_text
        st = self.app.store
        total = len(st) if st.indexed_done else None
        self.query_one("#diag-text", Static).update(Text(
            "running diagnostics… " + progress_text(self.progress, total,
                                                     self._started, "frames")))

    def shutdown(self) -> None:
        if self._stop is not None:
            self._stop.set()
