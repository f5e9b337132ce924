"""1 Packets: the virtual packet list, the detail tree of the selected packet, the hex pane."""
from __future__ import annotations

from textual import on
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Tree

from ..widgets import ColumnHeader, HexPane, PacketList
from .base import View, add_field, field_label, note_label


class PacketsView(View):
    view_id, key, tab_title, short = "packets", "1", "Packets", "Packets"
    main = "#list"
    palette = "Packets view"
    help = """\
[b]Packets[/b]
  Up/Down j/k PgUp/PgDn Home/End   move in the list (End follows a live capture)
  Tab         go to the detail tree, the hex pane shows the selected field's bytes
  x           hex pane: hide/show (below 120 columns: switch tree and hex pane)
  m           on a DATA/I-DATA packet: that stream's messages in delivery order
  n           show the Wireshark field names in the tree
  t           add tshark's decode of the frame's payloads no native dissector knows
              (S1AP, NGAP, SCCP/TCAP... through pyshark; needs tshark)
  p           pause/resume the live view (the capture keeps being written)
"""

    def build(self) -> list:
        store = self.app.store
        return [Vertical(ColumnHeader(id="columns"), PacketList(store, id="list"),
                       Horizontal(Tree("packet", id="detail"),
                                  VerticalScroll(HexPane(id="hex"), id="hex-scroll"),
                                  id="lower"),
                       id="packets-pane")]

    @on(PacketList.Selected)
    def _packet_selected(self, event: PacketList.Selected) -> None:
        self.show_packet(event.frame_index)

    def show_packet(self, i: int) -> None:
        app = self.app
        try:
            pkt = app.store.packet(i)
        except (OSError, ValueError) as e:
            app.notify(f"cannot re-read frame {i + 1}: {e}", severity="error")
            return
        app.current_packet = pkt
        # shown before the analysis pass reached it: shown again when it has
        app._detail_unanalysed = i >= app.store.analysed and not app.store.live
        names = app.field_names
        tree = self.query_one("#detail", Tree)
        tree.clear()
        tree.root.set_label(f"Frame {pkt.number}")
        tree.root.data = None
        for layer in pkt.layers:
            buf = None
            if pkt.buffers:
                buf = pkt.buffers.get("layer:" + layer.name)
            add_field(tree.root, layer, buf, names, expand=layer.name == "sctp")
        if pkt.notes:
            en = tree.root.add("Expert Info", expand=True)
            for note in pkt.notes:
                en.add_leaf(note_label(note, names), data=(note, None))
        tree.root.expand()
        self.show_hex(pkt, 0, 0)
        if not app._first_painted:
            app.call_after_refresh(app._first_screen_painted)

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
        if not d or self.app.current_packet is None:
            return
        f, buf = d
        self.show_hex(self.app.current_packet, f.offset, f.length, buf)

    def relabel(self) -> None:
        """Field names switched on/off: relabel the tree in place (cursor and
        expanded nodes stay where they are)."""
        names = self.app.field_names
        tree = self.query_one("#detail", Tree)

        def walk(node):
            for c in node.children:
                f = c.data[0] if c.data else None
                if f is not None and hasattr(f, "children") and hasattr(f, "name"):
                    c.set_label(field_label(f, names))
                elif f is not None and hasattr(f, "severity"):
                    c.set_label(note_label(f, names))
                walk(c)
        walk(tree.root)
