"""A progress bar on stderr for long reads.

Shown only when it cannot garble anything: stderr is a terminal, stdout is
not (output goes to a file or a pipe), the input is a regular file, and the
read has already taken more than a second.  Cost on the hot path: one
integer compare per packet; the clock is read every 4096 packets.
"""
from __future__ import annotations

import os
import sys
import time

_EVERY = 4096
_DELAY = 1.0


class ReadProgress:
    def __init__(self, path: str, enabled: bool | None = None):
        self.total = 0
        if enabled is None:
            enabled = _wanted(path)
        if enabled:
            try:
                self.total = os.path.getsize(path)
            except OSError:
                enabled = False
        self.enabled = bool(enabled and self.total)
        self._n = 0
        self._start = time.monotonic()
        self._bar = None
        self._task = None

    def tick(self, offset: int) -> None:
        """Call once per record with the record's byte offset in the file."""
        self._n += 1
        if self._n % _EVERY or not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self._start < _DELAY:
                return
            self._open()
        self._bar.update(self._task, completed=offset)

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)
        self._bar = Progress(TextColumn("reading"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                             TransferSpeedColumn(), TimeRemainingColumn(),
                             console=Console(file=sys.stderr), transient=True)
        self._bar.start()
        self._task = self._bar.add_task("read", total=self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _wanted(path: str) -> bool:
    if path == "-":
        return False
    try:
        return sys.stderr.isatty() and not sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
