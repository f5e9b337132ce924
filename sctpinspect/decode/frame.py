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

from ..model import (LAZY_COLLECTORS, NOTE, Field, LazyField, Packet, Record, _get_children,
                     _set_children)
from ..registry import (BASE_DEC, FT_FRAMENUM, FT_PROTOCOL, FT_RELATIVE_TIME, FT_STRING,
                        FT_UINT32, register_table)
from . import ip as _ip
from . import link as _link
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


_FRAME_SHAPES: dict = {}   # which optional fields are present -> names tuple


def _collect_frame(layer, b, want):
    """What _build_frame makes, as names and values (see model.LAZY_COLLECTORS);
    the Decimal times only when asked for."""
    record, first_ns = b[2], b[3]
    ns = record.ts_ns
    values = []
    key = 0
    if record.interface is not None:
        values.append(record.interface)
        key = 1
    if record.comment is not None:
        values.append(record.comment)
        key |= 2
    if record.direction is not None:
        values.append(record.direction)
        key |= 4
    if "frame.time_epoch" in want:
        values.append(_seconds(ns))
        key |= 8
    if "frame.time_relative" in want:
        values.append(_seconds(ns - first_ns))
        key |= 16
    values += (record.number, record.wirelen, len(record.data))
    names = _FRAME_SHAPES.get(key)
    if names is None:
        names = _FRAME_SHAPES[key] = tuple(n for bit, n in (
            (1, "frame.interface_id"), (2, "frame.comment"), (4, "frame.direction"),
            (8, "frame.time_epoch"), (16, "frame.time_relative")) if key & bit) + (
            "frame.number", "frame.len", "frame.cap_len")
    return names, values, _get_children(layer)


LAZY_COLLECTORS[_build_frame] = _collect_frame


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
        linktype = record.linktype
        if (linktype == 1 and caplen >= 34 and data[14] == 0x45 and data[12] == 8
                and data[13] == 0):
            # Hot path: Ethernet II + IPv4 without options (see _eth_ipv4).
            try:
                if _eth_ipv4(self, pkt, data, caplen, layers):
                    return pkt
            except Exception as e:  # as below: a decoder bug must not stop a capture
                pkt.note("error", "malformed", f"internal decoding error: {type(e).__name__}: {e}",
                         0, caplen, None, "sctpinspect.decode.exception")
                return pkt
        fn = LINKTYPES.get(linktype)
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


_ipv4_hdr = _ip._ipv4_hdr
_addr4 = _ip._addr4
_eth_show, _build_eth = _link._eth_show, _link._build_eth
_ipv4_show, _build_ipv4 = _ip._ipv4_show, _ip._build_ipv4


def _eth_ipv4(dec, pkt, buf, end, layers) -> bool:
    """Ethernet II (EtherType 0x0800) + IPv4 with a 20-byte header, not a
    fragment, whole in the frame: the same Packet as ``link.decode_ethernet``
    -> ``ip.decode_ipv4`` -> the transport decoder make, without their
    dispatch.  The caller checked ``end >= 34``, EtherType 0x0800 and the
    version/IHL byte 0x45.  Returns False, having added nothing, for any
    other case (fragments, a total length the frame does not hold or that is
    shorter than the header), which the general path then decodes with its
    notes.
    """
    vhl, tos, tlen, ident, frag, ttl, proto, csum = _ipv4_hdr(buf, 14)
    pend = 14 + tlen
    if frag & 0x3FFF or tlen < 20 or pend > end:
        return False
    layers.append(LazyField("eth", None, 0, 14, (_eth_show, _build_eth, buf, 0, 0x0800)))
    src = _addr4(buf[26:30])
    dst = _addr4(buf[30:34])
    layers.append(LazyField("ip", None, 14, 20, (_ipv4_show, _build_ipv4, buf, 14, src, dst)))
    pkt.ip_version = 4
    pkt.src = src
    pkt.dst = dst
    if proto == 132:
        _dissect_sctp(pkt, buf, 34, pend, dec.options, layers, False)
    else:
        fn = _IP_PROTO_DECODERS.get(proto)
        if fn is not None:
            fn(dec, pkt, buf, 34, pend, layers, False)
    return True


_IP_PROTO_DECODERS = _ip.IP_PROTO_DECODERS
_dissect_sctp = _ip._dissect_sctp
