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

from ..model import NOTE, Field, LazyField, Packet, Record, _get_children, _set_children
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

_VALUE = Field.value          # the base class's value slot
_get_value = _VALUE.__get__
_set_value = _VALUE.__set__


def _seconds(ns: int) -> Decimal:
    return Decimal(ns).scaleb(-9)


class SecondsField(Field):
    """``frame.time_*``: holds integer nanoseconds and turns them into the
    exact Decimal seconds only when ``value`` is read (a Decimal costs more
    than the rest of the frame layer, and most outputs never read it)."""

    __slots__ = ()

    @property
    def value(self):
        v = _get_value(self)
        if v.__class__ is int:
            v = _seconds(v)
            _set_value(self, v)
        return v

    @value.setter
    def value(self, v):
        _set_value(self, v)


def _frame_show(layer, b):
    record = b[2]
    return (f"Frame {record.number}: {record.wirelen} bytes on wire, "
            f"{len(record.data)} bytes captured")


def _build_frame(layer, b):
    """Children of the ``frame`` layer (LazyField builder)."""
    record, first_ns = b[2], b[3]
    ns = record.ts_ns
    kids = []
    if record.interface is not None:
        kids.append(Field("frame.interface_id", record.interface, 0, 0))
    if record.comment is not None:
        kids.append(Field("frame.comment", record.comment, 0, 0))
    if record.direction is not None:
        kids.append(Field("frame.direction", record.direction, 0, 0))
    caplen = len(record.data)
    kids += (
        SecondsField("frame.time_epoch", ns, 0, 0),
        SecondsField("frame.time_relative", ns - first_ns, 0, 0),
        Field("frame.number", record.number, 0, 0),
        Field("frame.len", record.wirelen, 0, 0),
        Field("frame.cap_len", caplen, 0, 0),
    )
    old = _get_children(layer)
    if old:                     # fields appended before the build stay last
        kids += old
    _set_children(layer, kids)


class FrameDecoder:
    """Decode Records into Packets; one instance per capture (it keeps state)."""

    def __init__(self, options):
        self.options = options
        self.first_ns: int | None = None
        self.reassembler = Reassembler(options.max_reassembly_bytes)

    def decode(self, record: Record) -> Packet:
        pkt = Packet(record)
        data = record.data
        first = self.first_ns
        if first is None:
            first = self.first_ns = record.ts_ns
        caplen = len(data)
        layers = pkt.layers
        # The frame layer's fields are built only if something reads them.
        layers.append(LazyField("frame", None, 0, caplen, (_frame_show, _build_frame, record, first)))
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
