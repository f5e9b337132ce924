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
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static, TabbedContent

from ..errors import UserError
from .store import Indexer, PacketStore
from .views import VIEWS, DeferredPane, FocusStatic, Table, View  # noqa: F401
from .views.packets import PacketsView
from .widgets import ColumnHeader, PacketList, ViewTabs

HELP_GENERAL = """\
[b]sctpinspect — keys[/b]

[b]Everywhere[/b]
  1..{last}        {titles}
  /           edit the display filter (Enter applies, Up/Down history)
  Esc         leave a text field (filter bar, Send form) back to the view
  Ctrl+L      clear the filter
  Ctrl+S      save the capture (or the filtered packets) as pcapng
  Ctrl+P      command palette
  ?  F1       this help
  q           quit (a live capture file is flushed and closed first)
"""
HELP_COLOURS = """\
Colours: [green3]handshake[/] [white]data[/] [cyan]SACK[/] [magenta]shutdown[/] \
[red1]abort/error[/] [grey70]heartbeat[/] [yellow]other control[/] [grey50]not SCTP[/]
"""


def help_text() -> str:
    """The help screen: the keys everywhere, then each view's section (from VIEWS)."""
    general = HELP_GENERAL.format(last=VIEWS[-1].key,
                                  titles=", ".join(v.tab_title for v in VIEWS))
    first, rest = VIEWS[0].help, "".join(v.help for v in VIEWS[1:])
    return general + "\n" + first + "\n" + rest + "\n" + HELP_COLOURS


HELP_TEXT = help_text()


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


class GotoScreen(ModalScreen):
    """Ctrl+G: ask for a frame number and select that packet."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Cancel")]

    def __init__(self, frames: int):
        super().__init__()
        self.frames = frames

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Go to packet (frame number, 1-{self.frames}):"))
            yield Input("", id="goto-number")
            yield Label("", id="goto-error")

    @on(Input.Submitted, "#goto-number")
    def _done(self, event: Input.Submitted) -> None:
        t = event.value.strip()
        if not t.isdigit() or not 1 <= int(t) <= self.frames:
            self.query_one("#goto-error", Label).update(
                Text(f"{t!r} is not a frame number: give one from 1 to {self.frames}"))
            return
        self.dismiss(int(t))


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


class SctpCommands(Provider):
    """Command palette entries for the views and actions."""

    COMMANDS = [(v.palette, f"tab('{v.view_id}')") for v in VIEWS] + [
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
    CSS_PATH = "app.tcss"
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
        Binding("ctrl+g", "goto", "Go to packet", show=False),
        Binding("b", "mark", "Mark", show=False),
        Binding("right_square_bracket", "next_mark(1)", "Next mark", show=False),
        Binding("left_square_bracket", "next_mark(-1)", "Previous mark", show=False),
    ] + [Binding(v.key, f"tab('{v.view_id}')", v.short, show=False) for v in VIEWS]

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
        self.marks: set[int] = set()    # marked frames (0-based indexes)
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
        with ViewTabs(initial=VIEWS[0].view_id, id="tabs"):
            for cls in VIEWS:           # the table of views: one tab each, in order
                pane = cls()
                with pane:
                    if not isinstance(pane, DeferredPane):
                        yield from pane.build()     # the first screen's view
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
        self.view(self.query_one(TabbedContent).active).tick()

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
        if self.marks:
            parts.append(f"marked {len(self.marks)}")
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
    def view(self, view_id: str) -> View:
        """The pane of a view (a row of VIEWS) by its id."""
        return self.query_one(f"#{view_id}", View)

    def show_packet(self, i: int) -> None:
        self.view("packets").show_packet(i)

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
        self.view("packets").relabel()

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
        self.view(active).refresh_view()
        self.focus_view(active)

    def focus_view(self, view: str | None = None) -> None:
        """Focus the main widget of ``view`` (the active one by default): each
        view's number key lands on a widget that takes that view's keys, never
        on a text field (where the next keys would be typed)."""
        from textual.css.query import NoMatches
        view = view or self.query_one(TabbedContent).active
        try:
            self.query_one(self.view(view).main).focus()
        except NoMatches:       # not mounted yet (the tab switch mounts it)
            pass

    def action_leave_field(self) -> None:
        """Esc: out of a text field (the filter bar, a form field) to the view."""
        from textual.widgets import TextArea
        if isinstance(self.focused, (Input, TextArea)):
            self.focus_view()

    # ------------------------------------------------------------------ associations
    def select_association(self, a: int, show_packets: bool = True) -> None:
        self.current_assoc = a
        text = f"sctp.assoc_index == {a}"
        self.query_one("#filter", FilterInput).value = text
        self.apply_filter(text)
        if show_packets:
            self.action_tab("packets")

    def assoc_for_views(self) -> int | None:
        """The association of the Streams, Flow and TSN views."""
        if self.current_assoc is not None:
            return self.current_assoc
        an = self.store.analyzer
        if an is not None and an.associations:
            return 0
        return None

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

    # -------------------------------------------------- the views' own parts, by name
    def refresh_assocs(self) -> None:
        self.view("assocs").refresh_view()

    def refresh_streams(self) -> None:
        self.view("streams").refresh_view()

    def refresh_flow(self) -> None:
        self.view("flow").refresh_view()

    def refresh_tsn(self) -> None:
        self.view("tsn").refresh_view()

    def refresh_diag(self) -> None:
        self.view("diag").refresh_view()

    def show_message(self, m) -> None:
        self.view("streams").show_message(m)

    def flow_width(self, a: int) -> int:
        return self.view("flow").flow_width(a)

    @property
    def _messages(self) -> list:
        return self.view("streams").messages

    @property
    def _flow_rows(self) -> list:
        return self.view("flow").rows

    @property
    def _diag_running(self) -> bool:
        return self.view("diag").running

    # ------------------------------------------------------------------ go to / marks
    def action_goto(self) -> None:
        """Ctrl+G: go to a packet by its frame number."""
        if len(self.store):
            self.push_screen(GotoScreen(len(self.store)),
                             lambda n: self.goto_frame(n - 1) if n else None)

    def action_mark(self) -> None:
        """b: mark / unmark the selected packet (the count is in the status line)."""
        if self.current_packet is None:
            return
        i = self.current_packet.number - 1
        self.marks.symmetric_difference_update({i})
        self._update_status()

    def action_next_mark(self, step: int) -> None:
        """] / [: the next / previous marked packet after / before the selected one."""
        if not self.marks:
            self.notify("no marked packets (b marks the selected one)", severity="warning")
            return
        cur = self.current_packet.number - 1 if self.current_packet is not None else -1
        ordered = sorted(self.marks)
        after = [m for m in ordered if (m > cur if step > 0 else m < cur)]
        target = (after[0] if step > 0 else after[-1]) if after else \
            (ordered[0] if step > 0 else ordered[-1])        # wraps around
        self.goto_frame(target)

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
        try:
            views = list(self.query(View))
        except Exception:  # noqa: BLE001 - the screens are gone already
            views = []
        for v in views:
            v.shutdown()


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
