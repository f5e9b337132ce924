"""Key ``m`` on a DATA / I-DATA packet: that stream's messages in delivery order.

The rows come from :class:`sctpinspect.analysis.messages.MessageCollector`
(the ``messages`` command's model: reassembly, delivery order, gaps) run over
the file through the one :class:`~sctpinspect.pipeline.Pipeline`, on a
thread; no second reassembler here.  The table shows each message's size,
PPID, SSN/MID, status and frames; the pane below the hex/ASCII of the
selected message's bytes.
"""
from __future__ import annotations

import threading

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from ..widgets import hex_text

COLUMNS = ("#", "SSN/MID", "size", "PPID", "U", "status", "frames", "done in")


def stream_of(pkt, store, i: int):
    """(association, sender 1/2, sid, I-DATA?) of the first DATA / I-DATA chunk of
    frame ``i``, or a sentence saying why there is none."""
    chunk = next((c for c in pkt.chunks if c.type in (0, 64)), None)
    if chunk is None:
        return "no DATA or I-DATA chunk in this packet"
    a = store.assoc[i] if i < len(store.assoc) else -1
    side = store.senders[i] if i < len(store.senders) else 0
    if a < 0 or not side:
        return "the analysis has not reached this packet yet: try again in a moment"
    return a, side, chunk.get("sctp.data_sid"), chunk.type == 64


def collect(path: str, assoc: int, side: int, sid: int, stop: threading.Event,
            progress=None) -> tuple[list, str | None]:
    """The messages of one stream and direction, in delivery order (payloads kept)."""
    from ...analysis.core import AnalysisOptions, Analyzer
    from ...analysis.messages import MessageCollector
    from ...errors import CaptureFileError
    from ...pipeline import Pipeline, open_records
    rows: list = []

    def emit(row):
        if row.side == side - 1:
            rows.append(row)

    an = Analyzer(AnalysisOptions(annotate=False, keep_messages=False, keep_payload=True))
    col = MessageCollector(an, emit, keep=lambda a, s: a == assoc and s == sid,
                           keep_payload=True)
    err = None
    n = 0
    try:
        for _ in Pipeline(open_records(path), analyse=col.feed):
            n += 1
            if progress is not None and n % 1000 == 0:
                progress(n)
            if stop.is_set():
                return rows, "stopped"
    except CaptureFileError as e:
        err = str(e)
    col.finish()
    return rows, err


class StreamMessagesScreen(ModalScreen):
    """The messages of one stream (one direction) in delivery order."""

    BINDINGS = [Binding("escape,q,m", "close", "Close")]
    DEFAULT_CSS = """
    StreamMessagesScreen { align: center middle; }
    StreamMessagesScreen > Vertical { width: 96%; height: 90%; border: thick $accent;
                                      background: $panel; }
    StreamMessagesScreen #sm-title { height: auto; padding: 0 1; }
    StreamMessagesScreen #sm-table { height: 1fr; }
    StreamMessagesScreen #sm-hex-scroll { height: 45%; border-top: solid $accent; }
    """

    def __init__(self, path: str, assoc: int, side: int, sid: int, idata: bool):
        super().__init__()
        self.path, self.assoc, self.side, self.sid, self.idata = path, assoc, side, sid, idata
        self.rows: list = []
        self.error: str | None = None
        self.done = False
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title("reassembling…")), id="sm-title")
            yield DataTable(id="sm-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="sm-hex-scroll"):
                yield Static("", id="sm-hex")

    def _title(self, what: str) -> str:
        kind = "I-DATA MID" if self.idata else "DATA SSN"
        return (f"association {self.assoc}, stream {self.sid} from ep{self.side} "
                f"({kind} order): {what}   Esc closes")

    def on_mount(self) -> None:
        t = self.query_one("#sm-table", DataTable)
        for c in COLUMNS:
            t.add_column(c)
        t.focus()
        threading.Thread(target=self._work, name="tui-stream-messages", daemon=True).start()

    def _work(self) -> None:
        def progress(n):
            self.app.call_from_thread(self._progress, n)
        try:
            rows, err = collect(self.path, self.assoc, self.side, self.sid, self._stop, progress)
        except Exception as e:  # noqa: BLE001 - shown, never a traceback
            rows, err = [], f"{type(e).__name__}: {e}"
        try:
            self.app.call_from_thread(self._show, rows, err)
        except Exception:  # noqa: BLE001 - closed meanwhile
            pass

    def _progress(self, n: int) -> None:
        if not self.done:
            self.query_one("#sm-title", Label).update(Text(self._title(f"reading… {n} frames")))

    def _show(self, rows, err) -> None:
        from ...decode.sctp.names import PPIDS
        self.rows, self.error, self.done = rows, err, True
        t = self.query_one("#sm-table", DataTable)
        for k, r in enumerate(rows):
            ppid = "-" if r.ppid is None else f"{r.ppid} {PPIDS.get(r.ppid, '')}".strip()
            frames = ",".join(map(str, r.frames[:8])) + ("…" if len(r.frames) > 8 else "")
            t.add_row(*[Text(str(x)) for x in (k + 1, r.seq, r.size, ppid,
                                              "U" if r.unordered else "", r.status, frames,
                                              r.frame or "-")], key=str(k))
        what = f"{len(rows)} messages" + (f" ({err})" if err else "")
        self.query_one("#sm-title", Label).update(Text(self._title(what)))
        if rows:
            self._show_hex(0)

    @on(DataTable.RowHighlighted, "#sm-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self._show_hex(int(event.row_key.value))

    def _show_hex(self, k: int) -> None:
        r = self.rows[k]
        data = r.data or b""
        note = "" if r.data is not None else " (no bytes: not complete, or cut by the snap length)"
        self.query_one("#sm-hex", Static).update(hex_text(
            data, 0, 0, f"message {k + 1}: SSN/MID {r.seq}, {r.size} bytes, PPID {r.ppid}{note}"))

    def action_close(self) -> None:
        self._stop.set()
        self.app.pop_screen()
