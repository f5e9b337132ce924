"""What every view shares: the tab pane a view is, deferred mounting, tables.

A view is a :class:`View` subclass in its own module of this package; its
class attributes are its row in the table of views (``VIEWS`` in
``__init__``): the tab id, the number key, the tab title, the main widget
(focused by the key, by Esc from a text field and after a dialog closes),
the command-palette entry and its section of the help screen.  ``build()``
returns its widgets; ``refresh_view()`` fills them when the tab opens,
``tick()`` every 0.2 s while it is shown, ``shutdown()`` stops its threads.
"""
from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable, Static, TabPane

from ...registry import is_hidden, tree_line


class View(TabPane):
    """One tab of the UI; the class attributes are the view's row in ``VIEWS``."""

    view_id: ClassVar[str] = ""      # tab pane id ("packets"): tab('...') and CSS
    key: ClassVar[str] = ""          # the number key
    tab_title: ClassVar[str] = ""    # tab label without the key ("Packets")
    short: ClassVar[str] = ""        # the binding's description ("Packets")
    main: ClassVar[str] = ""         # selector of the main widget
    palette: ClassVar[str] = ""      # command palette entry
    help: ClassVar[str] = ""         # lines of the help screen

    def __init__(self):
        super().__init__(f"{self.key} {self.tab_title}", id=self.view_id)

    def build(self) -> list:
        """The view's widgets."""
        return []

    def refresh_view(self) -> None:
        """Fill the view (the tab was opened, or its data changed)."""

    def tick(self) -> None:
        """Called every 0.2 s while the view is shown."""

    def shutdown(self) -> None:
        """Stop what the view runs in the background."""


class DeferredPane(View):
    """A tab pane whose widgets are mounted after the first screen, or when it opens.

    Mounting every view up front (about a hundred widgets, half of them the
    send panel's form) costs more CPU than the packet list itself: the first
    screen is painted with the Packets view only, then these panes are
    mounted (``mount_held``), at once if their tab is opened first.
    """

    def __init__(self):
        super().__init__()
        self._held: list = []
        self._mounting = None

    def compose_add_child(self, widget) -> None:
        self._held.append(widget)

    def mount_held(self):
        """Mount the held widgets (once); await the result to use them."""
        if self._mounting is None:
            held, self._held = self._held + list(self.build()), []
            self._mounting = self.mount_all(held)
        return self._mounting


# a view mounted after the first screen (every view but Packets); one chain of
# bases: Textual's type selectors (``query(DeferredPane)``) follow the first base
DeferredView = DeferredPane


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


# ---------------------------------------------------------------- field trees
def field_label(field, names: bool) -> Text:
    label = tree_line(field)
    if names:
        label = f"{label}  [{field.name}]"
    return Text(label)


def note_label(note, names: bool) -> Text:
    rule = f" ({note.rfc})" if note.rfc else ""
    key = f"  [{note.key}]" if names and note.key else ""
    return Text(f"[{note.severity.capitalize()}/{note.group}] {note.message}{rule}{key}")


def add_field(parent, field, buf, names: bool, expand=False) -> None:
    """Add ``field`` and its shown children (as ``read -V``) under tree node ``parent``."""
    text = field_label(field, names)
    if field.children:
        node = parent.add(text, data=(field, buf), expand=expand)
        for c in field.children:
            if is_hidden(c.name):       # as read -V: filter-only fields (sctp.port)
                continue
            add_field(node, c, buf, names, expand=expand and c.name == "sctp.chunk")
    else:
        parent.add_leaf(text, data=(field, buf))
