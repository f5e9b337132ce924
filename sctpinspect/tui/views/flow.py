"""4 Flow: the ladder of the association (the ``flow`` command's renderer)."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .base import DeferredView
from .content import flow_lines


class FlowView(DeferredView):
    view_id, key, tab_title, short = "flow", "4", "Flow", "Flow"
    main = "#flow-list"
    palette = "Flow view"
    help = "[b]Flow[/b]           Enter on an arrow: select its packet in the list\n"

    rows: list = []

    def build(self) -> list:
        return [Static("", id="flow-header"), OptionList(id="flow-list")]

    def refresh_view(self) -> None:
        app = self.app
        a = app.assoc_for_views()
        ol = self.query_one("#flow-list", OptionList)
        ol.clear_options()
        hdr = self.query_one("#flow-header", Static)
        if a is None:
            hdr.update("no association (yet)")
            self.rows = []
            return
        header, rows = flow_lines(app.store, a, width=self.flow_width(a))
        self.rows = rows
        hdr.update(Text("\n".join(header)))
        ol.add_options([Option(Text(t, no_wrap=True), id=str(k)) for k, (t, _) in enumerate(rows)])
        if rows:
            ol.highlighted = 0          # a cursor from the start: arrows move from row 1

    def flow_width(self, a: int) -> int:
        """Column width of the ladder so that every address column of association
        ``a`` fits on the screen with room for state changes at the right."""
        app = self.app
        with app.store.lock:
            an = app.store.analyzer
            assoc = an.associations[a] if an is not None and a < len(an.associations) else None
            ncols = sum(len(ep.addresses) for ep in assoc.ep) if assoc is not None else 2
            longest = max((len(x) for ep in assoc.ep for x in ep.addresses), default=0) \
                if assoc is not None else 0
        width_total = app.size.width
        fit = (width_total - 4 - 25 - 30) // max(1, ncols - 1)
        width = max(16, min((width_total - 60) // 2, fit))
        # the header centres each address on its column: two spaces less than an
        # address and they run together ("192.168.170.8192.168.170.56")
        room = (width_total - 4 - 25 - 12) // max(1, ncols - 1)
        return max(width, min(longest + 4, room))

    @on(OptionList.OptionSelected, "#flow-list")
    def _flow_selected(self, event: OptionList.OptionSelected) -> None:
        _, fi = self.rows[int(event.option.id)]
        self.app.goto_frame(fi)
