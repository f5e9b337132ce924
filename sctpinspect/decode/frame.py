"""Frame decoder: Record -> Packet with the ``frame`` layer, then link -> IP -> ...

:class:`FrameDecoder` keeps the per-capture state: the first timestamp (for
``frame.time_relative``) and the IP fragment reassembler.  Link types are
dispatched through :data:`sctpinspect.decode.link.LINKTYPES`.

Timestamps are exact: ``frame.time_epoch``/``frame.time_relative`` values are
:class:`decimal.Decimal` seconds built from the integer nanoseconds, so they
print with nine exact decimals as tshark does (a float would round them).
"""
from __future__ import annotations

from decimal import Decimal

from ..model import NOTE, Field, Packet, Record
from ..registry import (BASE_DEC, FT_FRAMENUM, FT_PROTOCOL, FT_RELATIVE_TIME, FT_STRING,
                        FT_UINT32, register_table)
from .link import LINKTYPES
from .reassembly import Reassembler

LINKTYPE_NAMES = {0: "NULL", 1: "ETHERNET", 12: "RAW", 14: "RAW", 101: "RAW", 108: "LOOP",
                  113: "LINUX_SLL", 228: "IPV4", 229: "IPV6", 276: "LINUX_SLL2"}

register_table([
    ("frame", "Frame", FT_PROTOCOL),
    ("frame.interface_id", "Interface id", FT_UINT32, BASE_DEC),
    ("frame.comment", "Comment", FT_STRING),
    ("frame.time_epoch", "Epoch Time", FT_RELATIVE_TIME),
    ("frame.time_relative", "Time since reference or first frame", FT_RELATIVE_TIME),
    ("frame.number", "Frame Number", FT_FRAMENUM),
    ("frame.len", "Frame Length", FT_UINT32, BASE_DEC),
    ("frame.cap_len", "Capture Length", FT_UINT32, BASE_DEC),
    ("frame.direction", "Direction", FT_STRING),
])

_SCALE = Decimal("1e-9")


def _seconds(ns: int) -> Decimal:
    return Decimal(ns).scaleb(-9)


class FrameDecoder:
    """Decode Records into Packets; one instance per capture (it keeps state)."""

    def __init__(self, options):
        self.options = options
        self.first_ns: int | None = None
        self.reassembler = Reassembler(options.max_reassembly_bytes)

    def decode(self, record: Record) -> Packet:
        pkt = Packet(record)
        data = record.data
        ns = record.ts_ns
        if self.first_ns is None:
            self.first_ns = ns
        caplen = len(data)
        kids = []
        if record.interface is not None:
            kids.append(Field("frame.interface_id", record.interface, 0, 0))
        if record.comment is not None:
            kids.append(Field("frame.comment", record.comment, 0, 0))
        if record.direction is not None:
            kids.append(Field("frame.direction", record.direction, 0, 0))
        kids += (
            Field("frame.time_epoch", _seconds(ns), 0, 0),
            Field("frame.time_relative", _seconds(ns - self.first_ns), 0, 0),
            Field("frame.number", record.number, 0, 0),
            Field("frame.len", record.wirelen, 0, 0),
            Field("frame.cap_len", caplen, 0, 0),
        )
        layers = pkt.layers
        layers.append(Field("frame", None, 0, caplen,
                            f"Frame {record.number}: {record.wirelen} bytes on wire, "
                            f"{caplen} bytes captured", kids))
        fn = LINKTYPES.get(record.linktype)
        if fn is None:
            pkt.note(NOTE, "undecoded", f"link type {record.linktype} is not decoded", 0, caplen,
                     None, "sctpinspect.frame.unknown_linktype")
            return pkt
        try:
            fn(self, pkt, data, 0, caplen, layers)
        except Exception as e:  # a decoder bug must not stop a whole capture
            pkt.note("error", "malformed", f"internal decoding error: {type(e).__name__}: {e}",
                     0, caplen, None, "sctpinspect.decode.exception")
        return pkt
