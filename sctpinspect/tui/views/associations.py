"""2 Associations: one row per association (the ``assoc`` command's rows), live."""
from __future__ import annotations

from textual import on
from textual.widgets import DataTable

from .base import DeferredView, Table
from .content import ASSOC_COLUMNS, assoc_rows


class AssociationsView(DeferredView):
    view_id, key, tab_title, short = "assocs", "2", "Associations", "Assocs"
    main = "#assoc-table"
    palette = "Associations view"
    help = """\
[b]Associations[/b]   Enter: show only this association's packets (sctp.assoc_index == N)
                      and make it the association of Streams / Flow / TSN graph
"""
    _sig = None

    def build(self) -> list:
        return [Table(ASSOC_COLUMNS, id="assoc-table", cursor_type="row", zebra_stripes=True)]

    def refresh_view(self, force: bool = True) -> None:
        if force:
            self._sig = None
        st = self.app.store
        with st.lock:
            rows = assoc_rows(st.analyzer)
        sig = tuple(tuple(r.values()) for r in rows)
        if sig == self._sig:
            return
        self._sig = sig
        t = self.query_one("#assoc-table", DataTable)
        cur = t.cursor_row
        t.clear()
        for r in rows:
            t.add_row(*[str(r[k]) for k, _ in ASSOC_COLUMNS], key=str(r["assoc_index"]))
        if rows:
            t.move_cursor(row=min(cur, len(rows) - 1))

    def tick(self) -> None:
        self.refresh_view(force=False)

    @on(DataTable.RowSelected, "#assoc-table")
    def _assoc_selected(self, event: DataTable.RowSelected) -> None:
        self.app.select_association(int(event.row_key.value))
