"""Custom widgets: the virtual packet list, the hex pane, the braille TSN plot."""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static, TabbedContent, TabPane

from .store import (K_ABORT, K_BAD, K_CONTROL, K_DATA, K_HANDSHAKE, K_HEARTBEAT, K_OTHER, K_SACK,
                    K_SHUTDOWN)

KIND_STYLES = {
    K_OTHER: Style(color="grey50"),
    K_HANDSHAKE: Style(color="green3"),
    K_DATA: Style(color="white"),
    K_SACK: Style(color="cyan"),
    K_SHUTDOWN: Style(color="magenta"),
    K_ABORT: Style(color="red1", bold=True),
    K_HEARTBEAT: Style(color="grey70"),
    K_CONTROL: Style(color="yellow"),
    K_BAD: Style(color="red1", bgcolor="grey15"),
}
KIND_NAMES = {K_OTHER: "not SCTP", K_HANDSHAKE: "handshake", K_DATA: "data", K_SACK: "SACK",
              K_SHUTDOWN: "shutdown", K_ABORT: "abort/error", K_HEARTBEAT: "heartbeat",
              K_CONTROL: "other control", K_BAD: "bad checksum/malformed"}

COLUMNS = [("No.", 7), ("Time", 12), ("Source", 22), ("Destination", 22), ("Assoc", 5),
           ("Chunks", 22), ("Info", 0)]


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return text
    if len(text) > width:
        return text[:width - 1] + "…"
    return text.ljust(width)


# On a narrow terminal (80 columns) the full widths leave no room for Info:
# the columns shrink (addresses cut with an ellipsis) so Info keeps >= 14.
NARROW_WIDTHS = (5, 9, 15, 15, 2, 14)
_FULL = sum(w for _, w in COLUMNS[:-1]) + len(COLUMNS) - 1


def column_widths(width: int) -> list[int]:
    """The packet list's column widths for a row ``width`` cells wide."""
    if width >= _FULL + 20:
        return [w for _, w in COLUMNS]
    return list(NARROW_WIDTHS) + [0]


def format_row(cells, width: int) -> str:
    parts = []
    for w, c in zip(column_widths(width), cells):
        parts.append(_fit(str(c), w))
    return " ".join(parts)[:max(width, 0)].ljust(max(width, 0))


class ViewTabs(TabbedContent):
    """The views' tabs. Textual's TabbedContent makes a pane active when a
    widget in it takes focus, by a message that bubbles up from the pane; a
    view key pressed before that message arrives (7 then 6, quickly, on a
    loaded machine) would be undone by it and land back on the old view. A
    pane's message counts only while the focus is still inside that pane."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        # Textual calls this handler of each class up the MRO in turn;
        # prevent_default() keeps TabbedContent's own from running.
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors_with_self:
            event.stop()            # stale: the focus has moved on since
            event.prevent_default()


class PacketList(ScrollView, can_focus=True):
    """A virtual list: only the visible rows are asked from the store and rendered.

    ``view`` is None (every frame) or an array of 0-based frame indexes (the
    display filter's matches).  Rows come from ``store.row(i)`` (LRU cached).
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "home", "First", show=False),
        Binding("end,G", "end", "Last/follow", show=False),
    ]

    # no horizontal scrolling (rows are cut to the width): a horizontal
    # scrollbar would cover the last visible row, where the cursor goes
    DEFAULT_CSS = """
    PacketList { height: 1fr; overflow-x: hidden; }
    """

    cursor = reactive(0)

    class Selected(Message):
        def __init__(self, frame_index: int) -> None:
            super().__init__()
            self.frame_index = frame_index

    def __init__(self, store, **kw):
        super().__init__(**kw)
        self.store = store
        self.view = None
        self.follow = False          # live: keep the last row visible
        self._count = 0
        self._last_sent = None

    # -- size ------------------------------------------------------------
    def count(self) -> int:
        return len(self.view) if self.view is not None else len(self.store)

    def frame_at(self, row: int) -> int:
        return self.view[row] if self.view is not None else row

    def row_of_frame(self, frame_index: int) -> int | None:
        if self.view is None:
            return frame_index if frame_index < len(self.store) else None
        import bisect
        k = bisect.bisect_left(self.view, frame_index)
        if k < len(self.view) and self.view[k] == frame_index:
            return k
        return None

    def refresh_count(self) -> None:
        n = self.count()
        if n != self._count:
            self._count = n
            self.virtual_size = Size(self.rows_width(), n)
            if self.follow and n:
                self.cursor = n - 1
                self.scroll_to(y=max(0, n - self.rows_height()), animate=False)
            if self.cursor >= n and n:
                self.cursor = n - 1
            self.refresh()
            if self._last_sent is None and n:
                self._notify()

    def set_view(self, view) -> None:
        self.view = view
        self._count = -1
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        self._last_sent = None
        self.refresh_count()
        self.refresh()

    def rows_height(self) -> int:
        """Rows the user sees: the content height without any scrollbar."""
        return max(1, self.scrollable_content_region.height)

    def rows_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    # -- rendering ---------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_y = int(self.scroll_offset.y)
        row = scroll_y + y
        width = self.rows_width()
        if row >= self.count():
            return Strip([Segment(" " * width)])
        i = self.frame_at(row)
        r = self.store.row(i)
        style = KIND_STYLES.get(r[7], Style())
        if row == self.cursor:
            style = style + Style(reverse=True)
        return Strip([Segment(format_row(r[:7], width), style)])

    # -- movement ------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_visible()
        self.refresh()
        self._notify()

    def _notify(self) -> None:
        n = self.count()
        if not n:
            return
        c = min(self.cursor, n - 1)
        fi = self.frame_at(c)
        if fi != self._last_sent:
            self._last_sent = fi
            self.post_message(self.Selected(fi))

    def _scroll_cursor_visible(self) -> None:
        h = self.rows_height()
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + h:
            self.scroll_to(y=self.cursor - h + 1, animate=False)

    def move_to(self, row: int) -> None:
        n = self.count()
        if not n:
            return
        row = max(0, min(n - 1, row))
        self.follow = self.follow and row == n - 1
        self.cursor = row

    def action_cursor(self, delta: int) -> None:
        if delta < 0:
            self.follow = False
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        if direction < 0:
            self.follow = False
        self.move_to(self.cursor + direction * max(1, self.rows_height() - 1))

    def action_home(self) -> None:
        self.follow = False
        self.move_to(0)

    def action_end(self) -> None:
        self.move_to(self.count() - 1)
        self.follow = bool(getattr(self.store, "live", False))

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y
        if 0 <= row < self.count():
            self.follow = False
            self.cursor = row

    def on_mouse_scroll_up(self, event) -> None:
        self.follow = False

    def on_resize(self, event) -> None:
        self.virtual_size = Size(self.rows_width(), self.count())
        self.call_after_refresh(self._scroll_cursor_visible)


class ColumnHeader(Static):
    rows_width = 0      # the width it was last drawn for

    DEFAULT_CSS = """
    ColumnHeader { height: 1; background: $boost; text-style: bold; }
    """

    def render(self):
        names = [c for c, _ in COLUMNS]
        width = self.size.width or 200
        try:        # the list's rows are narrower by its scrollbar: same widths as them
            width = min(width, self.parent.query_one(PacketList).rows_width())
        except Exception:  # noqa: BLE001 - not beside a list (tests)
            pass
        self.rows_width = width
        if column_widths(width)[4] < len("Assoc"):
            names[4] = "As"
        return format_row(names, width)


class HexPane(Static):
    """Hex/ASCII dump of a byte buffer with the selected field's bytes highlighted."""

    DEFAULT_CSS = """
    HexPane { height: auto; }
    """

    def __init__(self, **kw):
        super().__init__("", **kw)
        self.data = b""
        self.highlight = (0, 0)

    def show_bytes(self, data: bytes, offset: int = 0, length: int = 0, title: str = "") -> None:
        self.data = bytes(data)
        self.highlight = (offset, length)
        self.update(hex_text(self.data, offset, length, title))


HIGHLIGHT = Style(bgcolor="dark_blue", color="bright_white", bold=True)


def hex_text(data: bytes, offset: int = 0, length: int = 0, title: str = "") -> Text:
    t = Text()
    if title:
        t.append(title + "\n", style="bold")
    lo, hi = offset, offset + length
    for base in range(0, len(data), 16):
        line = data[base:base + 16]
        t.append("%04x  " % base, style="grey50")
        for k in range(16):
            if k == 8:
                t.append(" ")
            if k < len(line):
                pos = base + k
                st = HIGHLIGHT if lo <= pos < hi else None
                t.append("%02x" % line[k], style=st)
                t.append(" ", style=HIGHLIGHT if lo <= pos < hi - 1 and k != 15 else None)
            else:
                t.append("   ")
        t.append(" ")
        for k, b in enumerate(line):
            pos = base + k
            ch = chr(b) if 32 <= b < 127 else "."
            t.append(ch, style=HIGHLIGHT if lo <= pos < hi else None)
        t.append("\n")
    return t


def highlighted_hex(data: bytes, offset: int, length: int) -> list[str]:
    """The hex bytes of the highlighted range as the pane shows them (for tests)."""
    return ["%02x" % b for b in data[offset:offset + length]]


# --------------------------------------------------------------------------- braille plot

_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def braille_plot(series: list, width: int, height: int, x_range=None, y_range=None,
                 styles=None) -> Text:
    """Draw ``series`` (lists of (x, y)) on a width x height braille canvas.

    Each character cell holds 2x4 dots; a cell takes the colour of the last
    series that set a dot in it.  Returns a Rich Text (height lines).
    """
    width = max(4, width)
    height = max(2, height)
    xs = [x for s in series for x, _ in s]
    ys = [y for s in series for _, y in s]
    if not xs:
        return Text("(no points)")
    x0, x1 = x_range or (min(xs), max(xs))
    y0, y1 = y_range or (min(ys), max(ys))
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    W, H = width * 2, height * 4
    cells = [[0] * width for _ in range(height)]
    colour = [[None] * width for _ in range(height)]
    for si, s in enumerate(series):
        st = styles[si] if styles else None
        for x, y in s:
            px = int((x - x0) * (W - 1) / (x1 - x0))
            py = H - 1 - int((y - y0) * (H - 1) / (y1 - y0))
            if not (0 <= px < W and 0 <= py < H):
                continue
            cx, cy = px >> 1, py >> 2
            cells[cy][cx] |= _BRAILLE_BITS[py & 3][px & 1]
            colour[cy][cx] = st
    t = Text()
    for r in range(height):
        for c in range(width):
            v = cells[r][c]
            t.append(chr(0x2800 + v) if v else " ", style=colour[r][c])
        if r != height - 1:
            t.append("\n")
    return t


class ThreadPosting:
    """For a widget fed by a worker thread (a socket session, a crafted
    packet's reply wait): ``_post_from_thread(kind, obj)``, given to the
    thread, runs the widget's ``_on_post(kind, obj)`` on the app's thread."""

    def _post_from_thread(self, kind: str, obj) -> None:
        try:
            self.app.call_from_thread(self._on_post, kind, obj)
        except Exception:  # noqa: BLE001 - the app is closing
            pass
