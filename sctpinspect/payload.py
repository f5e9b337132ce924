"""Hand complete user messages of DATA/I-DATA chunks to the payload dissectors.

The dissectors in ``dissectors/`` (M3UA, Diameter, WebRTC DCEP, third-party
plugins) are chosen by PPID or port, or forced with ``--decode-as``; their
tree becomes a top-level layer after ``sctp``, as in Wireshark's tree.  Only
unfragmented messages (B and E bits both set, RFC 9260 3.3.1) are decoded
here; fragmented ones are reassembled by the analysis stage (``streams``,
TUI).  The hook runs only when the output needs it, so plain reads stay fast.
"""
from __future__ import annotations

from typing import Callable, Iterable

from .analysis.hook import filter_names

DATA, I_DATA = 0, 64


def payload_protocols() -> set[str]:
    """Top-level field prefixes of the installed payload dissectors (loads them,
    which registers their fields for ``-e`` and ``-Y``)."""
    from dissectors.registry import registry
    registry.names()
    return {d.protocol for d in registry.by_name.values() if d.protocol}


def needs_payload(fields: Iterable[str] | None = None, display_filter: str | None = None,
                  verbose: bool = False, decode_as=None) -> bool:
    if verbose or decode_as:
        return True
    names = [*(fields or ()), *filter_names(display_filter)]
    prefixes = {n.split(".")[0] for n in names if "." in n}
    prefixes -= {"frame", "eth", "vlan", "sll", "ip", "ipv6", "udp", "icmp", "icmpv6", "sctp",
                 "sctpinspect"}
    return bool(prefixes & payload_protocols()) if prefixes else False


def payload_hook(decode_as=None) -> Callable:
    """A pipeline hook that appends the payload dissector's tree of every
    complete message in the packet to ``pkt.layers`` (notes to ``pkt.notes``)."""
    from dissectors import dissect_payload
    payload_protocols()

    def hook(pkt) -> None:
        if pkt.sctp is None:
            return
        for c in pkt.chunks:
            if (c.type != DATA and c.type != I_DATA) or c.flags & 3 != 3:
                continue
            ppid, data = None, None
            for f in c.children or ():
                if f.name == "sctp.data_payload_proto_id":
                    ppid = f.value
                elif f.name == "sctpinspect.payload":
                    data = f
            if data is None or not data.length:
                continue
            tree = dissect_payload(bytes(data.value), data.offset, ppid, pkt.sport, pkt.dport,
                                   decode_as, pkt.notes)
            if tree is not None:
                pkt.layers.append(tree)
    return hook
