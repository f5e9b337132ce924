"""3 Streams: per stream and sender, the reassembled messages, a message's payload."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static, Tree

from ..widgets import hex_text
from .base import DeferredView, Table, add_field
from .content import message_payload, message_rows, ppids_text, stream_rows

STREAM_COLUMNS = ("from ep", "streams out", "sid", "msgs", "bytes", "ordered", "unordered",
                  "PPID ×msgs", "next SSN/MID", "missing", "late", "frames")
MESSAGE_COLUMNS = ("from ep", "sid", "SSN/MID", "ppid", "U", "length", "frames", "TSNs",
                   "complete in")


class StreamsView(DeferredView):
    view_id, key, tab_title, short = "streams", "3", "Streams", "Streams"
    main = "#msg-table"
    palette = "Streams view"
    help = "[b]Streams[/b]        Enter on a message: payload preview, hex and dissector tree\n"

    messages: list = []

    def build(self) -> list:
        return [Label("", id="streams-title"),
                Vertical(Table([(None, c) for c in STREAM_COLUMNS], id="stream-table",
                               cursor_type="row"), id="streams-top"),
                Table([(None, c) for c in MESSAGE_COLUMNS], id="msg-table", cursor_type="row"),
                Horizontal(Tree("message", id="msg-tree"),
                           VerticalScroll(Static("", id="msg-hex"), id="msg-hex-scroll"),
                           id="streams-bottom")]

    def refresh_view(self) -> None:
        app = self.app
        a = app.assoc_for_views()
        st = app.store
        title = self.query_one("#streams-title", Label)
        t = self.query_one("#stream-table", DataTable)
        mt = self.query_one("#msg-table", DataTable)
        t.clear()
        mt.clear()
        if a is None:
            title.update("no association (yet); choose one in the Associations view")
            return
        with st.lock:
            rows = stream_rows(st.analyzer, a)
            self.messages = message_rows(st.analyzer, a)
        title.update(Text(f"association {a}: {len(rows)} stream rows, "
                          f"{len(self.messages)} messages"
                     " (Enter on a message shows its payload)"))
        for r in rows:
            t.add_row(str(r["sender"]), "?" if r["streams_out"] is None else str(r["streams_out"]),
                      str(r["sid"]), str(r["messages"]), str(r["bytes"]), str(r["ordered"]),
                      str(r["unordered"]),
                      ppids_text(r["ppids"]),
                      "?" if r["next_seq"] is None else str(r["next_seq"]), str(r["missing"]),
                      str(r["reordered"]), f"{r['first_frame']}-{r['last_frame']}")
        for k, m in enumerate(self.messages):
            mt.add_row(str(m.sender), str(m.sid), str(m.seq), str(m.ppid), "U" if m.unordered
                       else "", str(m.length), ",".join(map(str, m.frames[:8])) +
                       ("…" if len(m.frames) > 8 else ""), f"{m.first_tsn}-{m.last_tsn}",
                       str(m.frame), key=str(k))

    @on(DataTable.RowSelected, "#msg-table")
    def _message_selected(self, event: DataTable.RowSelected) -> None:
        self.show_message(self.messages[int(event.row_key.value)])

    def show_message(self, m) -> None:
        store = self.app.store
        payload = message_payload(store, m)
        self.query_one("#msg-hex", Static).update(
            hex_text(payload, 0, 0, f"message sid={m.sid} seq={m.seq} ppid={m.ppid}: "
                     f"{len(payload)} of {m.length} bytes"))
        tree = self.query_one("#msg-tree", Tree)
        tree.clear()
        preview = payload[:64].decode("ascii", "replace")
        preview = "".join(ch if ch.isprintable() else "." for ch in preview)
        tree.root.set_label(Text(f"Payload preview: {preview}"))
        try:
            from dissectors import dissect_payload
            p = store.packet(m.frame - 1)
            notes: list = []
            d = dissect_payload(payload, 0, m.ppid, p.sport, p.dport, notes=notes)
        except Exception as e:  # noqa: BLE001 - shown, never fatal
            d = None
            tree.root.add_leaf(Text(f"(payload dissector failed: {e})"))
        if d is not None:
            add_field(tree.root, d, None, self.app.field_names, expand=True)
        else:
            tree.root.add_leaf("no payload dissector for this PPID/port")
        tree.root.expand()
