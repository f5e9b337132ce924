"""The sctpinspect terminal UI (Textual).

Tabs: Packets (virtual list + detail tree + hex), Associations, Streams, Flow,
TSN graph, Diagnostics.  A display-filter bar sits on top, a status line and
the key footer at the bottom.  See docs/tui.md.
"""
from __future__ import annotations

import threading
import time
from array import array

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (DataTable, Footer, Input, Label, OptionList, Static, TabbedContent,
                             TabPane, Tree)
from textual.widgets.option_list import Option

from ..errors import UserError
from ..registry import is_hidden, tree_line
from .store import Indexer, PacketStore
from .views import (ASSOC_COLUMNS, assoc_rows, diagnostics_text, flow_lines, message_payload,
                    message_rows, ppids_text, stream_rows)
from .widgets import ColumnHeader, HexPane, PacketList, braille_plot, hex_text

STREAM_COLUMNS = ("from ep", "streams out", "sid", "msgs", "bytes", "ordered", "unordered",
                  "PPID ×msgs", "next SSN/MID", "missing", "late", "frames")
MESSAGE_COLUMNS = ("from ep", "sid", "SSN/MID", "ppid", "U", "length", "frames", "TSNs",
                   "complete in")

HELP_TEXT = """\
[b]sctpinspect — keys[/b]

[b]Everywhere[/b]
  1..7        Packets, Associations, Streams, Flow, TSN graph, Diagnostics, Send
  /           edit the display filter (Enter applies, Up/Down history)
  Esc         leave a text field (filter bar, Send form) back to the view
  Ctrl+L      clear the filter
  Ctrl+S      save the capture (or the filtered packets) as pcapng
  Ctrl+P      command palette
  ?  F1       this help
  q           quit (a live capture file is flushed and closed first)

[b]Packets[/b]
  Up/Down j/k PgUp/PgDn Home/End   move in the list (End follows a live capture)
  Tab         go to the detail tree, the hex pane shows the selected field's bytes
  x           hex pane: hide/show (below 120 columns: switch tree and hex pane)
  m           on a DATA/I-DATA packet: that stream's messages in delivery order
  n           show the Wireshark field names in the tree
  t           add tshark's decode of the frame's payloads no native dissector knows
              (S1AP, NGAP, SCCP/TCAP... through pyshark; needs tshark)
  p           pause/resume the live view (the capture keeps being written)

[b]Associations[/b]   Enter: show only this association's packets (sctp.assoc_index == N)
                      and make it the association of Streams / Flow / TSN graph
[b]Streams[/b]        Enter on a message: payload preview, hex and dissector tree
[b]Flow[/b]           Enter on an arrow: select its packet in the list
[b]TSN graph[/b]      braille plot per direction: TSN of each DATA chunk (white) and the
                      peer's SACK cumulative TSN ack (cyan) over time
[b]Send[/b]           kernel SCTP: F5 connect/listen, F6 send, F7 shut down, F8 abort, F9 stop;
                      role "craft": F5 builds a raw probe (INIT, ABORT, DATA, any chunk), F6 sends it

Colours: [green3]handshake[/] [white]data[/] [cyan]SACK[/] [magenta]shutdown[/] \
[red1]abort/error[/] [grey70]heartbeat[/] [yellow]other control[/] [grey50]not SCTP[/]
"""


# The main widget of each view (focused by its number key, by Esc from a text
# field, and after a dialog closes) and the method that fills it when it opens.
VIEW_FOCUS = {"packets": "#list", "assocs": "#assoc-table", "streams": "#msg-table",
              "flow": "#flow-list", "tsn": "#tsn-plot", "diag": "#diag-scroll",
              "send": "#send-role"}
VIEW_REFRESH = {"assocs": "refresh_assocs", "streams": "refresh_streams", "flow": "refresh_flow",
                "tsn": "refresh_tsn", "diag": "refresh_diag"}


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: 80%; max-height: 100%;
                                  border: thick $accent; background: $panel; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP_TEXT, id="help-text")


class SaveScreen(ModalScreen):
    """Ask for a file name to save to."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Cancel")]
    DEFAULT_CSS = """
    SaveScreen { align: center middle; }
    SaveScreen #save-warning { color: $warning; }
    SaveScreen > Vertical { width: 80; max-width: 100%; height: 8; border: thick $accent;
                            background: $panel; }
    """

    def __init__(self, what: str, default: str):
        super().__init__()
        self.what = what
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Save {self.what} as pcapng to:"))
            yield Input(self.default, id="save-path")
            yield Label("", id="save-warning")

    @on(Input.Submitted, "#save-path")
    def _done(self, event: Input.Submitted) -> None:
        import os
        path = event.value.strip()
        if path and os.path.exists(path) and self._confirmed != path:
            # never overwrite silently: a second Enter on the same name does
            self._confirmed = path
            self.query_one("#save-warning", Label).update(
                Text(f"{path} exists: Enter again overwrites it, Esc cancels"))
            return
        self.dismiss(path)

    _confirmed = None


class FilterInput(Input):
    BINDINGS = [Binding("up", "history(-1)", show=False),
                Binding("down", "history(1)", show=False),
                Binding("escape", "leave", show=False)]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.history: list[str] = []
        self._pos = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._pos = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.value = self.history[self._pos] if self._pos < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_leave(self) -> None:
        self.app.action_leave_field()


class DeferredPane(TabPane):
    """A tab pane whose widgets are mounted after the first screen, or when it opens.

    Mounting every view up front (about a hundred widgets, half of them the
    send panel's form) costs more CPU than the packet list itself: the first
    screen is painted with the Packets view only, then these panes are
    mounted (``mount_held``), at once if their tab is opened first.
    """

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._held: list = []
        self._mounting = None

    def compose_add_child(self, widget) -> None:
        self._held.append(widget)

    def mount_held(self):
        """Mount the held widgets (once); await the result to use them."""
        if self._mounting is None:
            held, self._held = self._held, []
            self._mounting = self.mount_all(held)
        return self._mounting


class Table(DataTable):
    """A DataTable that adds its ``columns`` ((key, label) pairs) when mounted."""

    def __init__(self, columns, **kw):
        super().__init__(**kw)
        self._column_spec = list(columns)

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    def add_row(self, *cells, **kw):
        """Cells are plain text (addresses, PPIDs, names from the capture): a
        ``str`` cell would be read as Rich markup by DataTable."""
        return super().add_row(*[Text(c) if isinstance(c, str) else c for c in cells], **kw)


class FocusStatic(Static, can_focus=True):
    """A Static that takes focus (the TSN graph): the view's keys go to it, not
    to a text field of another view."""


class SctpCommands(Provider):
    """Command palette entries for the views and actions."""

    COMMANDS = [("Packets view", "tab('packets')"), ("Associations view", "tab('assocs')"),
                ("Streams view", "tab('streams')"), ("Flow view", "tab('flow')"),
                ("TSN graph", "tab('tsn')"), ("Diagnostics view", "tab('diag')"),
                ("Send panel (kernel SCTP)", "tab('send')"),
                ("Edit display filter", "focus_filter"), ("Clear display filter", "clear_filter"),
                ("Save as pcapng", "save"), ("Toggle field names", "toggle_names"),
                ("Pause/resume live view", "pause"), ("Help", "help")]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action in self.COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name),
                          lambda a=action: self.app.run_action(a))


class FilterPass:
    """Runs a compiled display filter over the store on a thread; matches grow in ``view``."""

    def __init__(self, store: PacketStore, text: str, predicate, needs_analysis: bool):
        self.store = store
        self.text = text
        self.predicate = predicate
        self.needs_analysis = needs_analysis
        self.view = array("l")
        self.started = time.perf_counter()
        self.done_upto = 0
        self.done = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tui-filter", daemon=True)

    def start(self) -> "FilterPass":
        self.thread.start()
        return self

    def _run(self) -> None:
        from ..analysis import Analyzer
        from ..decode import Decoder
        st = self.store
        dec = Decoder(st.decode_options)
        an = Analyzer() if self.needs_analysis else None
        pred = self.predicate
        i = 0
        while not self.stop.is_set():
            n = len(st)
            if i >= n:
                if st.indexed_done and not (st.live and not st.analysis_done):
                    if i >= len(st):
                        break
                time.sleep(0.1)
                continue
            try:
                rec = st.record(i)
            except (OSError, ValueError):
                i += 1
                continue
            p = dec.decode(rec)
            if an is not None:
                an.feed(p)
            try:
                ok = pred(p)
            except Exception:  # noqa: BLE001 - a filter that fails on a packet does not match
                ok = False
            if ok:
                self.view.append(i)
            i += 1
            self.done_upto = i
            if i % 500 == 0:
                time.sleep(0)
        self.done = True


class SctpInspectApp(App):
    """``sctpinspect FILE`` / ``sctpinspect -i IFACE``."""

    TITLE = "sctpinspect"
    COMMANDS = App.COMMANDS | {SctpCommands}
    CSS = """
    #filter-bar { height: auto; }
    #tabs { height: 1fr; }
    TabPane { height: 1fr; }
    #filter { width: 1fr; }
    #filter-error { color: $error; height: auto; padding: 0 1; display: none; }
    #filter-error.shown { display: block; }
    #filter-error.ok { color: $success; }
    #status { height: 1; background: $boost; padding: 0 1; }
    #packets-pane { height: 1fr; }
    #lower { height: 45%; }
    #detail { width: 1fr; border-top: solid $accent; }
    #hex-scroll { width: 78; border-top: solid $accent; }
    /* three stacked parts that each keep their share of the height: a long
       message table scrolls instead of pushing the payload off the screen */
    #streams-top { height: 30%; }
    #msg-table { height: 1fr; }
    #streams-bottom { height: 40%; border-top: solid $accent; }
    #msg-tree { width: 1fr; }
    #msg-hex-scroll { width: 78; }
    #flow-header { height: 2; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    #flow-list { text-wrap: nowrap; text-overflow: ellipsis; }
    #tsn-plot { height: 1fr; }
    #lower.-no-hex #hex-scroll { display: none; }
    /* narrow terminals (80x24): no border around the filter bar; the detail
       tree takes the whole width and x switches it with the hex pane */
    Screen.-narrow #filter { border: none; height: 1; padding: 0 1; }
    Screen.-narrow #filter:focus { background: $boost; }
    Screen.-narrow #hex-scroll { width: 1fr; display: none; }
    Screen.-narrow #lower.-hex #hex-scroll { display: block; }
    Screen.-narrow #lower.-hex #detail { display: none; }
    Screen.-narrow #msg-hex-scroll { width: 1fr; display: none; }
    Screen.-narrow #streams-bottom.-hex #msg-hex-scroll { display: block; }
    Screen.-narrow #streams-bottom.-hex #msg-tree { display: none; }
    Screen.-short #lower { height: 50%; }
    """
    # below 120 columns the hex pane (78 wide) does not fit beside the tree
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("ctrl+l", "clear_filter", "Clear filter"),
        Binding("ctrl+s", "save", "Save"),
        Binding("n", "toggle_names", "Field names"),
        Binding("t", "tshark_payload", "tshark decode", show=False),
        Binding("x", "toggle_hex", "Hex", show=False),
        Binding("m", "stream_messages", "Stream msgs", show=False),
        Binding("escape", "leave_field", "Leave field", show=False),
        Binding("p", "pause", "Pause", show=False),
        Binding("1", "tab('packets')", "Packets", show=False),
        Binding("2", "tab('assocs')", "Assocs", show=False),
        Binding("3", "tab('streams')", "Streams", show=False),
        Binding("4", "tab('flow')", "Flow", show=False),
        Binding("5", "tab('tsn')", "TSN", show=False),
        Binding("6", "tab('diag')", "Diag", show=False),
        Binding("7", "tab('send')", "Send", show=False),
    ]

    def __init__(self, path: str | None = None, *, live_source=None, live_path: str | None = None,
                 initial_filter: str | None = None, analyse: bool = True):
        super().__init__()
        self.store = PacketStore(path or "")
        self.indexer = None
        self.live = None
        if live_source is not None:
            from .store import LiveFeeder, default_live_path
            out = live_path or default_live_path(str(getattr(live_source, "interface", "live")))
            self.live = LiveFeeder(self.store, live_source, out)
        else:
            self.indexer = Indexer(self.store, analyse=analyse)
        self.initial_filter = initial_filter
        self.filter_pass: FilterPass | None = None
        self.filter_text = ""
        self.field_names = False
        self.paused = False
        self.current_assoc: int | None = None
        self.current_packet = None
        self._assoc_sig = None
        self._messages: list = []
        self._flow_rows: list = []
        self.started = time.perf_counter()
        self.first_screen_seconds: float | None = None
        self._first_painted = False     # the first screen (list + detail) was painted
        self._detail_unanalysed = False
        self._analysis_seen = None      # (time, frames analysed) when the status first showed it

    def notify(self, message, *, markup: bool = False, **kw) -> None:
        """Notifications carry file names, filters and errors: plain text unless asked."""
        super().notify(str(message), markup=markup, **kw)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Vertical(id="filter-bar"):
            yield FilterInput(placeholder="display filter, e.g. sctp.chunk_type == 0 && "
                              "sctp.data_sid == 1   (press / to edit, Enter to apply)",
                              id="filter")
            yield Label("", id="filter-error")
        with TabbedContent(initial="packets", id="tabs"):
            with TabPane("1 Packets", id="packets"):
                with Vertical(id="packets-pane"):
                    yield ColumnHeader(id="columns")
                    yield PacketList(self.store, id="list")
                    with Horizontal(id="lower"):
                        yield Tree("packet", id="detail")
                        with VerticalScroll(id="hex-scroll"):
                            yield HexPane(id="hex")
            with DeferredPane("2 Associations", id="assocs"):
                yield Table(ASSOC_COLUMNS, id="assoc-table", cursor_type="row",
                            zebra_stripes=True)
            with DeferredPane("3 Streams", id="streams"):
                yield Label("", id="streams-title")
                with Vertical(id="streams-top"):
                    yield Table([(None, c) for c in STREAM_COLUMNS], id="stream-table",
                                cursor_type="row")
                yield Table([(None, c) for c in MESSAGE_COLUMNS], id="msg-table",
                            cursor_type="row")
                with Horizontal(id="streams-bottom"):
                    yield Tree("message", id="msg-tree")
                    with VerticalScroll(id="msg-hex-scroll"):
                        yield Static("", id="msg-hex")
            with DeferredPane("4 Flow", id="flow"):
                yield Static("", id="flow-header")
                yield OptionList(id="flow-list")
            with DeferredPane("5 TSN graph", id="tsn"):
                yield Static("", id="tsn-title")
                yield FocusStatic("", id="tsn-plot")
            with DeferredPane("6 Diagnostics", id="diag"):
                with VerticalScroll(id="diag-scroll"):
                    yield Static("", id="diag-text")
            with DeferredPane("7 Send", id="send"):   # issue 7: kernel SCTP send panel
                from .send_panel import SendPanel
                yield SendPanel(id="send-panel")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        import asyncio
        loop = asyncio.get_running_loop()
        if self.live is not None:
            self.live.start()
            self.query_one(PacketList).follow = True
            # kill / closing the terminal quit like q: the capture file is closed
            self._signals = []
            import signal
            for sig in (signal.SIGTERM, signal.SIGHUP):
                try:
                    loop.add_signal_handler(sig, lambda: self.call_later(self.action_quit))
                    self._signals.append(sig)
                except (RuntimeError, ValueError):   # not the main thread's loop
                    pass
        else:
            # the first records are shown as soon as they are indexed, not at the next tick
            self.indexer.on_first_records = lambda: loop.call_soon_threadsafe(self._tick)
            self.indexer.start()
        # Background threads hold the GIL in pure-Python loops: switch more often
        # than the default 5 ms so that keys and repaints stay immediate.
        import sys
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.001)
        self.set_interval(0.2, self._tick)
        self.call_after_refresh(self._tick)
        self.query_one(PacketList).focus()
        if self.initial_filter:
            self.query_one("#filter", FilterInput).value = self.initial_filter
            self.apply_filter(self.initial_filter)

    # ------------------------------------------------------------------ periodic refresh
    def _tick(self) -> None:
        from textual.app import ScreenStackError
        from textual.css.query import NoMatches
        try:
            screen = self.screen
        except ScreenStackError:        # the timer fired while the app shuts down
            return
        if isinstance(screen, ModalScreen):
            return
        try:
            self._refresh_main()
        except NoMatches:       # the app is closing
            pass

    def _refresh_main(self) -> None:
        lst = self.query_one(PacketList)
        if self.filter_pass is not None and lst.view is not self.filter_pass.view:
            lst.view = self.filter_pass.view
        if not self.paused:
            lst.refresh_count()
            lst.refresh()
        hdr = self.query_one(ColumnHeader)
        if hdr.rows_width != lst.rows_width():
            hdr.refresh()           # the list's scrollbar came or went: same widths as its rows
        if self.first_screen_seconds is None and len(self.store):
            self.first_screen_seconds = time.perf_counter() - self.started
        self._update_status()
        cur = self.current_packet
        if self._detail_unanalysed and cur is not None and cur.number <= self.store.analysed:
            self.show_packet(cur.number - 1)
        if self._first_painted or time.perf_counter() - self.started > 3:
            self.mount_views(limit=1)
        active = self.query_one(TabbedContent).active
        if active == "assocs":
            self.refresh_assocs()
        elif active == "tsn":
            self.refresh_tsn()
        elif active == "diag" and getattr(self, "_diag_running", False):
            self._show_diag_progress()

    def _update_status(self) -> None:
        st = self.store
        n = len(st)
        parts = [st.path.rsplit("/", 1)[-1] if st.path else "(no file)"]
        if st.live:
            parts.append(f"live: {n} captured")
            s = st.live_stats
            if s is not None:
                parts.append(f"dropped {getattr(s, 'kernel_dropped', 0)}")
            if self.live is not None and self.live.closed:
                parts.append("capture stopped")
            if self.paused:
                parts.append("[PAUSED]")
        else:
            parts.append(f"{n} frames" + ("" if st.indexed_done else " (indexing…)"))
            if st.indexed_done and not st.analysis_done and n:
                if self._analysis_seen is None:
                    self._analysis_seen = (time.perf_counter(), st.analysed)
                t0, a0 = self._analysis_seen      # the ETA from the rate since then
                parts.append("analysing " + progress_text(st.analysed, n, t0, "frames", 10,
                                                          base=a0))
        fp = self.filter_pass
        if fp is not None:
            prog = "" if fp.done else \
                " (filtering " + progress_text(fp.done_upto, n, fp.started, "frames", 10) + ")"
            parts.append(f"shown {len(fp.view)}{prog}")
        if st.error:
            parts.append(st.error)
        # plain text: "[PAUSED]" and file names must not be read as markup
        self.query_one("#status", Static).update(Text(" | ".join(parts)))

    # ------------------------------------------------------------------ packets
    @on(PacketList.Selected)
    def _packet_selected(self, event: PacketList.Selected) -> None:
        self.show_packet(event.frame_index)

    def show_packet(self, i: int) -> None:
        try:
            pkt = self.store.packet(i)
        except (OSError, ValueError) as e:
            self.notify(f"cannot re-read frame {i + 1}: {e}", severity="error")
            return
        self.current_packet = pkt
        # shown before the analysis pass reached it: shown again when it has
        self._detail_unanalysed = i >= self.store.analysed and not self.store.live
        tree = self.query_one("#detail", Tree)
        tree.clear()
        tree.root.set_label(f"Frame {pkt.number}")
        tree.root.data = None
        for layer in pkt.layers:
            buf = None
            if pkt.buffers:
                buf = pkt.buffers.get("layer:" + layer.name)
            self._add_field(tree.root, layer, buf, expand=layer.name == "sctp")
        if pkt.notes:
            en = tree.root.add("Expert Info", expand=True)
            for note in pkt.notes:
                en.add_leaf(self._note_label(note), data=(note, None))
        tree.root.expand()
        self.show_hex(pkt, 0, 0)
        if not self._first_painted:
            self.call_after_refresh(self._first_screen_painted)

    def _first_screen_painted(self) -> None:
        self._first_painted = True
        self.store.ui_ready.set()       # the index child goes on at full speed

    def mount_views(self, limit: int | None = None) -> list:
        """Mount the other views' widgets (held back for the first screen): all of
        them, or the next ``limit`` (the tick mounts one at a time, so that a key
        pressed meanwhile waits for one view at most).  Await the results to use
        them: without ``limit`` they include the views already being mounted
        (by a tab key, say), so that awaiting them all means every view is ready."""
        waits = []
        started = 0
        for p in self.query(DeferredPane):
            if p._mounting is None:
                if limit is not None and started >= limit:
                    break
                waits.append(p.mount_held())
                started += 1
            elif limit is None:
                waits.append(p._mounting)
        return waits

    def _field_label(self, field) -> Text:
        label = tree_line(field)
        if self.field_names:
            label = f"{label}  [{field.name}]"
        return Text(label)

    def _note_label(self, note) -> Text:
        rule = f" ({note.rfc})" if note.rfc else ""
        key = f"  [{note.key}]" if self.field_names and note.key else ""
        return Text(f"[{note.severity.capitalize()}/{note.group}] {note.message}{rule}{key}")

    def _add_field(self, parent, field, buf, expand=False) -> None:
        text = self._field_label(field)
        if field.children:
            node = parent.add(text, data=(field, buf), expand=expand)
            for c in field.children:
                if is_hidden(c.name):       # as read -V: filter-only fields (sctp.port)
                    continue
                self._add_field(node, c, buf, expand=expand and c.name == "sctp.chunk")
        else:
            parent.add_leaf(text, data=(field, buf))

    def show_hex(self, pkt, offset: int, length: int, buf: str | None = None) -> None:
        data = pkt.record.data
        title = f"Frame {pkt.number}: {len(data)} bytes"
        if buf and pkt.buffers and buf in pkt.buffers:
            data = pkt.buffers[buf]
            title = f"{buf}: {len(data)} bytes"
        if length:
            title += f"  (selected: offset {offset}, {length} bytes)"
        self.query_one("#hex", HexPane).show_bytes(data, offset, length, title)

    @on(Tree.NodeHighlighted, "#detail")
    def _field_highlighted(self, event: Tree.NodeHighlighted) -> None:
        d = event.node.data
        if not d or self.current_packet is None:
            return
        f, buf = d
        self.show_hex(self.current_packet, f.offset, f.length, buf)

    def action_tshark_payload(self) -> None:
        """Add tshark's decode (through pyshark) of the selected frame's payloads
        that no native dissector knows (S1AP, NGAP, SCCP/TCAP...) to the tree."""
        pkt = self.current_packet
        if pkt is None:
            return
        if self.store.live or not self.store.path:
            self.notify("tshark decodes from a file: save the capture (Ctrl+S) and open that",
                        severity="warning")
            return
        self.notify(f"tshark is decoding frame {pkt.number}…")
        self.run_worker(lambda: self._tshark_layers(pkt), thread=True, group="tshark")

    def _tshark_layers(self, pkt) -> None:
        from dissectors.tshark_bridge import decode_frame
        try:
            layers = decode_frame(self.store.path, pkt.number)
        except UserError as e:
            self.call_from_thread(self.notify, str(e), severity="error")
            return
        self.call_from_thread(self._graft_tshark, pkt, layers)

    def _graft_tshark(self, pkt, layers) -> None:
        have = {layer.name for layer in pkt.layers}
        new = [layer for layer in layers if layer.name not in have]
        if not new:
            self.notify(f"tshark has no payload layer beyond ours in frame {pkt.number}")
            return
        pkt.layers.extend(new)
        if self.current_packet is pkt:
            self.show_packet(pkt.number - 1)

    def action_stream_messages(self) -> None:
        """m: the messages of the selected DATA/I-DATA packet's stream, in order."""
        from .messages_view import StreamMessagesScreen, stream_of
        pkt = self.current_packet
        if pkt is None:
            return
        if not self.store.path:
            self.notify("no file to read the stream from", severity="warning")
            return
        s = stream_of(pkt, self.store, pkt.number - 1)
        if isinstance(s, str):
            self.notify(s, severity="warning")
            return
        self.push_screen(StreamMessagesScreen(self.store.path, *s))

    def action_toggle_hex(self) -> None:
        """Wide: show/hide the hex pane beside the tree.  Narrow: switch between
        the tree and the hex pane (both do not fit in 80 columns)."""
        narrow = self.screen.has_class("-narrow")
        for pane in ("#lower", "#streams-bottom"):
            try:
                w = self.query_one(pane)
            except Exception:  # noqa: BLE001 - the Streams view is not mounted yet
                continue
            if narrow:
                w.toggle_class("-hex")
            else:
                w.toggle_class("-no-hex")

    def action_toggle_names(self) -> None:
        """n: field names on/off, relabelling the tree in place (cursor and
        expanded nodes stay where they are)."""
        self.field_names = not self.field_names
        tree = self.query_one("#detail", Tree)

        def walk(node):
            for c in node.children:
                f = c.data[0] if c.data else None
                if f is not None and hasattr(f, "children") and hasattr(f, "name"):
                    c.set_label(self._field_label(f))
                elif f is not None and hasattr(f, "severity"):
                    c.set_label(self._note_label(f))
                walk(c)
        walk(tree.root)

    def action_pause(self) -> None:
        self.paused = not self.paused
        lst = self.query_one(PacketList)
        if not self.paused:
            lst.refresh_count()
        self._update_status()

    # ------------------------------------------------------------------ filter
    def action_focus_filter(self) -> None:
        self.query_one("#filter", FilterInput).focus()

    def action_clear_filter(self) -> None:
        inp = self.query_one("#filter", FilterInput)
        inp.value = ""
        self.apply_filter("")

    def _filter_message(self, text: str, ok: bool | None) -> None:
        """The line under the filter bar (hidden when empty).  Plain text: the
        user's filter may hold ``[`` and ``]`` (never read as Rich markup)."""
        lab = self.query_one("#filter-error", Label)
        lab.update(Text(text))
        lab.set_class(bool(text), "shown")
        lab.set_class(bool(ok), "ok")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        from ..filter import FilterError, check_filter
        text = event.value.strip()
        if not text:
            self._filter_message("", None)
            return
        if text == self.filter_text:
            self._filter_message(f"filter applied: {text}", True)
            return
        try:
            err = check_filter(text)
        except FilterError as e:
            err = e
        except RecursionError:
            err = "filter nested too deeply"
        if err is not None:
            self._filter_message(self._filter_error_text(text, err), False)
        else:
            self._filter_message("valid filter: Enter applies", True)

    @staticmethod
    def _filter_error_text(text: str, e) -> str:
        col = getattr(e, "column", None)
        msg = getattr(e, "message", None) or str(e)
        if col is None:
            return msg
        caret = getattr(e, "caret", " " * col + "^")
        return f"{msg} (column {col + 1})\n{text}\n{caret}"

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value.strip())

    def apply_filter(self, text: str) -> bool:
        from ..analysis.hook import needs_analysis
        from ..filter import FilterError, compile_filter
        import re
        inp = self.query_one("#filter", FilterInput)
        lst = self.query_one(PacketList)
        if not text:
            if self.filter_pass is not None:
                self.filter_pass.stop.set()
                self.filter_pass = None
            self.filter_text = ""
            self._filter_message("", None)
            lst.set_view(None)
            self._update_status()
            return True
        try:
            pred = compile_filter(text)
        except (FilterError, RecursionError) as e:
            # the filter in force (if any) stays: its matches and "shown N" remain
            if isinstance(e, RecursionError):
                e = "filter nested too deeply"
            self._filter_message(self._filter_error_text(text, e), False)
            self.notify(f"bad filter: {e}", severity="error")
            return False
        if self.filter_pass is not None:
            self.filter_pass.stop.set()
            self.filter_pass = None
        inp.remember(text)
        self.filter_text = text
        self._filter_message(f"filter applied: {text}", True)
        st = self.store
        m = re.fullmatch(r"\s*sctp\.assoc_index\s*==\s*(\d+)\s*", text)
        if m and st.analysis_done and not st.live:
            # every frame's association is already known: no decoding needed
            a = int(m.group(1))
            fp = FilterPass(st, text, pred, False)
            fp.view = array("l", (i for i, x in enumerate(st.assoc) if x == a))
            fp.done = True
            fp.done_upto = len(st)
            self.filter_pass = fp
        else:
            self.filter_pass = FilterPass(st, text, pred, needs_analysis(None, text)).start()
        lst.set_view(self.filter_pass.view)
        lst.focus()
        return True

    # ------------------------------------------------------------------ tabs
    def action_tab(self, name: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active == name:
            self.focus_view(name)       # 1 in the tree: back to the list
        tabs.active = name

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event) -> None:
        active = self.query_one(TabbedContent).active
        pane = self.query_one(f"#{active}")
        if isinstance(pane, DeferredPane):
            await pane.mount_held()
            if self.query_one(TabbedContent).active != active:
                return          # another tab was chosen while this one was mounting
        if active == "assocs":
            self._assoc_sig = None
        refresh = VIEW_REFRESH.get(active)
        if refresh:
            getattr(self, refresh)()
        self.focus_view(active)

    def focus_view(self, view: str | None = None) -> None:
        """Focus the main widget of ``view`` (the active one by default): each
        view's number key lands on a widget that takes that view's keys, never
        on a text field (where the next keys would be typed)."""
        from textual.css.query import NoMatches
        view = view or self.query_one(TabbedContent).active
        try:
            self.query_one(VIEW_FOCUS[view]).focus()
        except NoMatches:       # not mounted yet (the tab switch mounts it)
            pass

    def action_leave_field(self) -> None:
        """Esc: out of a text field (the filter bar, a form field) to the view."""
        from textual.widgets import TextArea
        if isinstance(self.focused, (Input, TextArea)):
            self.focus_view()

    # ------------------------------------------------------------------ associations
    def refresh_assocs(self) -> None:
        st = self.store
        with st.lock:
            rows = assoc_rows(st.analyzer)
        sig = tuple(tuple(r.values()) for r in rows)
        if sig == self._assoc_sig:
            return
        self._assoc_sig = sig
        t = self.query_one("#assoc-table", DataTable)
        cur = t.cursor_row
        t.clear()
        for r in rows:
            t.add_row(*[str(r[k]) for k, _ in ASSOC_COLUMNS], key=str(r["assoc_index"]))
        if rows:
            t.move_cursor(row=min(cur, len(rows) - 1))

    @on(DataTable.RowSelected, "#assoc-table")
    def _assoc_selected(self, event: DataTable.RowSelected) -> None:
        a = int(event.row_key.value)
        self.select_association(a)

    def select_association(self, a: int, show_packets: bool = True) -> None:
        self.current_assoc = a
        text = f"sctp.assoc_index == {a}"
        self.query_one("#filter", FilterInput).value = text
        self.apply_filter(text)
        if show_packets:
            self.action_tab("packets")

    def _assoc_for_views(self) -> int | None:
        if self.current_assoc is not None:
            return self.current_assoc
        an = self.store.analyzer
        if an is not None and an.associations:
            return 0
        return None

    # ------------------------------------------------------------------ streams
    def refresh_streams(self) -> None:
        a = self._assoc_for_views()
        st = self.store
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
            self._messages = message_rows(st.analyzer, a)
        title.update(Text(f"association {a}: {len(rows)} stream rows, "
                          f"{len(self._messages)} messages"
                     " (Enter on a message shows its payload)"))
        for r in rows:
            t.add_row(str(r["sender"]), "?" if r["streams_out"] is None else str(r["streams_out"]),
                      str(r["sid"]), str(r["messages"]), str(r["bytes"]), str(r["ordered"]),
                      str(r["unordered"]),
                      ppids_text(r["ppids"]),
                      "?" if r["next_seq"] is None else str(r["next_seq"]), str(r["missing"]),
                      str(r["reordered"]), f"{r['first_frame']}-{r['last_frame']}")
        for k, m in enumerate(self._messages):
            mt.add_row(str(m.sender), str(m.sid), str(m.seq), str(m.ppid), "U" if m.unordered
                       else "", str(m.length), ",".join(map(str, m.frames[:8])) +
                       ("…" if len(m.frames) > 8 else ""), f"{m.first_tsn}-{m.last_tsn}",
                       str(m.frame), key=str(k))

    @on(DataTable.RowSelected, "#msg-table")
    def _message_selected(self, event: DataTable.RowSelected) -> None:
        m = self._messages[int(event.row_key.value)]
        self.show_message(m)

    def show_message(self, m) -> None:
        payload = message_payload(self.store, m)
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
            p = self.store.packet(m.frame - 1)
            notes: list = []
            d = dissect_payload(payload, 0, m.ppid, p.sport, p.dport, notes=notes)
        except Exception as e:  # noqa: BLE001 - shown, never fatal
            d = None
            tree.root.add_leaf(Text(f"(payload dissector failed: {e})"))
        if d is not None:
            self._add_field(tree.root, d, None, expand=True)
        else:
            tree.root.add_leaf("no payload dissector for this PPID/port")
        tree.root.expand()

    # ------------------------------------------------------------------ flow
    def refresh_flow(self) -> None:
        a = self._assoc_for_views()
        ol = self.query_one("#flow-list", OptionList)
        ol.clear_options()
        hdr = self.query_one("#flow-header", Static)
        if a is None:
            hdr.update("no association (yet)")
            self._flow_rows = []
            return
        header, rows = flow_lines(self.store, a, width=self.flow_width(a))
        self._flow_rows = rows
        hdr.update(Text("\n".join(header)))
        ol.add_options([Option(Text(t, no_wrap=True), id=str(k)) for k, (t, _) in enumerate(rows)])
        if rows:
            ol.highlighted = 0          # a cursor from the start: arrows move from row 1

    def flow_width(self, a: int) -> int:
        """Column width of the ladder so that every address column of association
        ``a`` fits on the screen with room for state changes at the right."""
        with self.store.lock:
            an = self.store.analyzer
            assoc = an.associations[a] if an is not None and a < len(an.associations) else None
            ncols = sum(len(ep.addresses) for ep in assoc.ep) if assoc is not None else 2
            longest = max((len(x) for ep in assoc.ep for x in ep.addresses), default=0) \
                if assoc is not None else 0
        fit = (self.size.width - 4 - 25 - 30) // max(1, ncols - 1)
        width = max(16, min((self.size.width - 60) // 2, fit))
        # the header centres each address on its column: two spaces less than an
        # address and they run together ("192.168.170.8192.168.170.56")
        room = (self.size.width - 4 - 25 - 12) // max(1, ncols - 1)
        return max(width, min(longest + 4, room))

    @on(OptionList.OptionSelected, "#flow-list")
    def _flow_selected(self, event: OptionList.OptionSelected) -> None:
        _, fi = self._flow_rows[int(event.option.id)]
        self.goto_frame(fi)

    def goto_frame(self, fi: int) -> None:
        lst = self.query_one(PacketList)
        row = lst.row_of_frame(fi)
        if row is None:
            self.action_clear_filter()
            row = fi
        self.action_tab("packets")
        lst.follow = False
        lst.move_to(row)
        self.show_packet(fi)

    # ------------------------------------------------------------------ TSN graph
    def refresh_tsn(self) -> None:
        a = self._assoc_for_views()
        title = self.query_one("#tsn-title", Static)
        plot = self.query_one("#tsn-plot", Static)
        if a is None:
            title.update("no association (yet)")
            return
        with self.store.lock:
            s = self.store.series.get(a)
            s = {k: list(v) for k, v in s.items()} if s else None
        if not s:
            title.update(f"association {a}: no DATA or SACK")
            plot.update("")
            return
        w = max(20, (plot.size.width or 100) - 12)
        h = max(4, ((plot.size.height or 20) - 4) // 2)
        out = Text()
        t0 = self.store.first_ts
        for d in (1, 2):
            data = [((t - t0) / 1e9, v) for t, v in s[f"data{d}"]]
            sack = [((t - t0) / 1e9, v) for t, v in s[f"sack{d}"]]
            out.append(f"ep{d} -> ep{3 - d}: {len(data)} DATA chunks (white), "
                       f"{len(sack)} SACK cum TSN ack from ep{3 - d} (cyan)\n", style="bold")
            pts = data + sack
            if not pts:
                out.append("(none)\n")
                continue
            ys = [v for _, v in pts]
            xs = [x for x, _ in pts]
            y0, y1 = min(ys), max(ys)
            out.append(f"TSN {y1}\n", style="grey50")
            out.append_text(braille_plot([data, sack], w, h, (min(xs), max(xs)), (y0, y1),
                                         styles=["white", "cyan"]))
            out.append(f"\nTSN {y0}    t={min(xs):.6f}s .. {max(xs):.6f}s\n", style="grey50")
        title.update(f"association {a}: TSN (DATA) and cumulative TSN ack (SACK) over time")
        plot.update(out)

    # ------------------------------------------------------------------ diagnostics
    def refresh_diag(self) -> None:
        """Run the diagnostics on a thread (one pass over the whole file, like the
        ``diagnose`` command) and show the report; meanwhile a progress bar with
        the frame count and an ETA."""
        if getattr(self, "_diag_running", False) or getattr(self, "_diag_done", False):
            return
        if self.store.live or not self.store.path:
            self.query_one("#diag-text", Static).update(Text(
                "diagnostics read a file: save the capture (Ctrl+S), then run "
                "`sctpinspect diagnose FILE` or open that file"))
            return
        self._diag_running = True
        self._diag_progress = 0
        self._diag_started = time.perf_counter()
        self._diag_stop = threading.Event()
        self._show_diag_progress()

        def progress(n):
            self._diag_progress = n

        def work():
            try:
                text = diagnostics_text(self.store, progress, self._diag_stop)
            except Exception as e:  # noqa: BLE001 - shown in the view, never a traceback
                text = f"diagnostics stopped: {type(e).__name__}: {e}"

            def show():
                self._diag_running = False
                self._diag_done = True
                try:
                    self.query_one("#diag-text", Static).update(Text(text))
                except Exception:  # noqa: BLE001 - the app is closing
                    pass
            try:
                self.call_from_thread(show)
            except RuntimeError:
                pass
        threading.Thread(target=work, name="tui-diagnostics", daemon=True).start()

    def _show_diag_progress(self) -> None:
        st = self.store
        total = len(st) if st.indexed_done else None
        self.query_one("#diag-text", Static).update(Text(
            "running diagnostics… " + progress_text(self._diag_progress, total,
                                                     self._diag_started, "frames")))

    # ------------------------------------------------------------------ save / help / quit
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_save(self) -> None:
        what = f"the {len(self.filter_pass.view)} filtered packets" if self.filter_pass \
            else f"all {len(self.store)} packets"
        import os
        base = (self.store.path.rsplit(".", 1)[0] if self.store.path else "capture")
        if not os.access(os.path.dirname(os.path.abspath(base)), os.W_OK):
            # the input's directory may be read-only (a shared capture set)
            base = os.path.join(os.getcwd() if os.access(os.getcwd(), os.W_OK) else "/tmp",
                                os.path.basename(base))
        self.push_screen(SaveScreen(what, base + ("-filtered" if self.filter_pass else "-copy")
                                    + ".pcapng"), self._save_to)

    def _save_to(self, path: str | None) -> None:
        if not path:
            return
        frames = list(self.filter_pass.view) if self.filter_pass else range(len(self.store))
        threading.Thread(target=self._save_worker, args=(path, frames), daemon=True).start()

    def _save_worker(self, path: str, frames) -> None:
        try:
            n = save_pcapng(self.store, path, frames)
        except OSError as e:
            self.call_from_thread(self.notify, f"cannot save {path}: {e.strerror or e}",
                                  severity="error")
            return
        self.call_from_thread(self.notify, f"saved {n} packets to {path}")

    async def action_quit(self) -> None:
        self.shutdown()
        self.exit()

    def shutdown(self) -> None:
        """Stop the background threads; flush and close a live capture file."""
        import sys
        sys.setswitchinterval(getattr(self, "_switch", 0.005))
        for sig in getattr(self, "_signals", ()):
            try:
                import asyncio
                asyncio.get_running_loop().remove_signal_handler(sig)
            except RuntimeError:
                pass
        self._signals = []
        if self.filter_pass is not None:
            self.filter_pass.stop.set()
        if self.indexer is not None:
            self.indexer.stop.set()
        if self.live is not None:
            self.live.close()
        if getattr(self, "_diag_stop", None) is not None:
            self._diag_stop.set()


def progress_text(done: int, total: int | None, started: float, unit: str,
                  width: int = 20, base: int = 0) -> str:
    """``[#####.....] 1200 of 5000 frames (24%), 3 s left`` (no total: count and time)."""
    el = time.perf_counter() - started
    if not total:
        return f"{done} {unit} ({el:.0f} s)"
    frac = min(1.0, done / total)
    bar = "#" * int(frac * width) + "." * (width - int(frac * width))
    # ``base``: what was already done at ``started`` (the rate counts from there)
    eta = f", {el * (total - done) / (done - base):.0f} s left" if done > base else ""
    return f"[{bar}] {done} of {total} {unit} ({100 * frac:.0f}%{eta})"


def save_pcapng(store: PacketStore, path: str, frames) -> int:
    """Write the records ``frames`` (0-based indexes) of ``store`` to a pcapng file."""
    from ..sources.pcapng_writer import PcapngWriter
    records = []
    ifmap: dict = {}
    n = 0
    # interfaces first (the IDBs precede the packets): one per (interface, link type)
    for i in frames:
        key = (store.ifaces[i], store.linktypes[i])
        if key not in ifmap:
            ifmap[key] = len(ifmap)
    ifaces = [(lt, None, 262144, 9) for (_, lt) in sorted(ifmap, key=ifmap.get)] or \
        [(1, None, 262144, 9)]
    with open(path, "wb") as fh:
        w = PcapngWriter(fh, interfaces=ifaces)
        for i in frames:
            rec = store.record(i)
            rec.interface = ifmap[(store.ifaces[i], store.linktypes[i])]
            w.write(rec)
            n += 1
        w.close()
    del records
    return n
