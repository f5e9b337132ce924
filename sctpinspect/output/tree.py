"""``read -V``: the full decode tree of a frame, indented like Wireshark's.

Every layer (frame, link, IP, UDP, SCTP, chunks, parameters, payload) is
printed with :func:`sctpinspect.registry.tree_line`; children are indented by
four spaces per level, as ``tshark -V`` does.  ``--field-names`` appends the
display-filter name of each line (``[sctp.data_tsn]``) so the tree doubles as
a reference for ``-Y`` and ``-e``.  Expert notes close the frame, each with
its offset and the rule that it cites.
"""
from __future__ import annotations

from .escape import printable

from ..registry import is_hidden, tree_line

INDENT = "    "


def tree_lines(pkt, field_names: bool = False, with_notes: bool = True,
               show_hidden: bool = False) -> list[str]:
    """Hidden fields (``sctp.port``, ``ip.addr``, ...) are left out unless
    ``show_hidden``, as in Wireshark's tree; they stay available to filters."""
    out: list[str] = []
    append = out.append
    for layer in pkt.layers:
        stack = [(layer, 0)]
        while stack:
            f, depth = stack.pop()
            if not show_hidden and is_hidden(f.name):
                continue
            text = tree_line(f)
            if field_names:
                text = f"{text}  [{f.name}]"
            append(INDENT * depth + text)
            ch = f.children
            if ch:
                d = depth + 1
                stack.extend((c, d) for c in reversed(ch))
    if with_notes and pkt.notes:
        append("Expert Info")
        for n in pkt.notes:
            where = f" at offset {n.offset}" if n.length or n.offset else ""
            rule = f" ({n.rfc})" if n.rfc else ""
            key = f"  [{n.key}]" if field_names and n.key else ""
            append(f"{INDENT}[{n.severity.capitalize()}/{n.group}] {n.message}{where}{rule}{key}")
    return out


def tree_text(pkt, field_names: bool = False) -> str:
    """The frame's tree followed by a blank line (frames are separated like tshark -V)."""
    return "\n".join(map(printable, tree_lines(pkt, field_names))) + "\n"
