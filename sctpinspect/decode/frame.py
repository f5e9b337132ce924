"""Frame decoder: Record -> Packet with the ``frame`` layer, then link -> IP -> ...

:class:`FrameDecoder` keeps the per-capture state: the first timestamp (for
``frame.time_relative``) and the IP fragment reassembler.  Link types are
dispatched through :data:`sctpinspect.decode.link.LINKTYPES`.

Timestamps are exact: ``frame.time_epoch``/``frame.time_relative`` values are
:class:`decimal.Decimal` seconds built from the integer nanoseconds, so they
print with nine exact decimals as tshark does (a float would round them).
"""
from __future__ import annotations

import struct
from decimal import Decimal

import crc32c as _crc32c

from .. import model as _model
from ..model import (LAZY_COLLECTORS, NOTE, Chunk as _Chunk, Field, LazyField, Packet, Record,
                     _get_children, _set_children, _set_show)
from ..registry import (BASE_DEC, FT_FRAMENUM, FT_PROTOCOL, FT_RELATIVE_TIME, FT_STRING,
                        FT_UINT32, register_table)
from . import ip as _ip
from . import link as _link
from .link import LINKTYPES
from .reassembly import Reassembler
from .sctp.chunks import CHUNK_TYPES as _CHUNK_TYPES, _build_chunk
from .sctp.packet import checksum_note as _checksum_note, checksum_of as _checksum_of

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
    """What _build_frame makes, as names and values (see model.LAZY_COLLECTORS)."""
    names, values = frame_values(b[2], b[3], want)
    return names, values, _get_children(layer)


def frame_values(record, first_ns, want):
    """(names, values) of the ``frame`` layer's fields in tree order; the
    Decimal times only when asked for."""
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
    return names, values


LAZY_COLLECTORS[_build_frame] = _collect_frame


class FrameDecoder:
    """Decode Records into Packets; one instance per capture (it keeps state).

    Every frame first goes through :func:`compact_frame`, which reads a
    whole SCTP packet over IPv4/IPv6 straight into the compact record when
    it can vouch that the full decode would add nothing but the checksum's
    note; the tree of such a packet is built from its bytes only if
    something asks for it (:func:`build_layers`).  Every other frame (ICMP,
    fragments, IP options, extension headers, truncated or malformed chunks,
    INIT, ABORT with causes...) takes the full decoder, as the reference.
    """

    def __init__(self, options):
        self.options = options
        self.first_ns: int | None = None
        self.reassembler = Reassembler(options.max_reassembly_bytes)
        self.verify = getattr(options, "verify_checksum", True)
        self.compact = getattr(options, "compact", True)

    def decode(self, record: Record) -> Packet:
        first = self.first_ns
        if first is None:
            first = self.first_ns = record.ts_ns
        if self.compact:
            try:
                pkt = compact_frame(record, first, self.verify, self.options)
            except Exception:    # never: the full decoder is the safe way out
                pkt = None
            if pkt is not None:
                return pkt
        pkt = Packet(record)
        pkt.first_ns = first
        decode_layers(self, pkt, record, first)
        return pkt


def decode_layers(dec, pkt, record, first) -> None:
    """The full decoder: every layer of ``record`` into ``pkt.layers``, notes
    for whatever is wrong."""
    data = record.data
    caplen = len(data)
    layers = pkt._layers
    # The frame layer's fields are built only if something reads them.
    layers.append(LazyField("frame", None, 0, caplen, (_frame_show, _build_frame, record, first)))
    linktype = record.linktype
    if (linktype == 1 and caplen >= 34 and data[14] == 0x45 and data[12] == 8
            and data[13] == 0):
        # Hot path: Ethernet II + IPv4 without options (see _eth_ipv4).
        try:
            if _eth_ipv4(dec, pkt, data, caplen, layers):
                return
        except Exception as e:  # as below: a decoder bug must not stop a capture
            pkt.note("error", "malformed", f"internal decoding error: {type(e).__name__}: {e}",
                     0, caplen, None, "sctpinspect.decode.exception")
            return
    fn = LINKTYPES.get(linktype)
    if fn is None:
        pkt.note(NOTE, "undecoded", f"link type {record.linktype} is not decoded", 0, caplen,
                 None, "sctpinspect.frame.unknown_linktype")
        return
    try:
        fn(dec, pkt, data, 0, caplen, layers)
    except Exception as e:  # a decoder bug must not stop a whole capture
        pkt.note("error", "malformed", f"internal decoding error: {type(e).__name__}: {e}",
                 0, caplen, None, "sctpinspect.decode.exception")


_TREE_DECODER = None


def build_layers(pkt) -> list:
    """The layers of a packet :func:`compact_frame` decoded: the full decoder
    run over its bytes, adopting the packet's chunks (their subtrees stay
    lazy) and its checksum outcome.  Installed as ``model.LAYER_BUILDER``."""
    global _TREE_DECODER
    if _TREE_DECODER is None:
        from . import DecodeOptions
        _TREE_DECODER = FrameDecoder(DecodeOptions())
    rec = pkt.record
    scratch = Packet(rec)
    scratch.checksum_status = pkt.checksum_status
    scratch.checksum_expected = pkt.checksum_expected
    scratch._reuse = pkt.chunks
    decode_layers(_TREE_DECODER, scratch, rec, pkt.first_ns)
    pkt._sctp = scratch._sctp
    return scratch._layers


_model.LAYER_BUILDER = build_layers

_ipv4_hdr = _ip._ipv4_hdr
_addr4 = _ip._addr4
_addr6 = _ip._addr6
_eth_show, _build_eth = _link._eth_show, _link._build_eth
_ipv4_show, _build_ipv4 = _ip._ipv4_show, _ip._build_ipv4

# --------------------------------------------------------------------------- compact path

_IPV4 = struct.Struct("!BxHxxHxB").unpack_from   # version/IHL, total length, flags/offset, protocol
_U16 = struct.Struct("!H").unpack_from
_U32LE = struct.Struct("<I").unpack_from
_LE32 = struct.Struct("<I").unpack_from
_BE32 = struct.Struct(">I").unpack_from
_COMMON = struct.Struct("!HHII").unpack_from
_CHUNK_HDR = struct.Struct("!BBH").unpack_from
_ZERO4 = b"\0\0\0\0"
_crc = _crc32c.crc32c
_NULL_V4 = frozenset({2})
_NULL_V6 = frozenset({10, 24, 28, 30})


def _ip_offset(buf, lt, caplen):
    """(offset, IP version) of the IP header of a frame of link type ``lt``,
    or None when the link layer is one the compact path does not read."""
    if lt == 1:                                 # Ethernet II
        if buf[12] == 8 and buf[13] == 0:
            return 14, 4
        if buf[12] == 0x86 and buf[13] == 0xDD:
            return 14, 6
        return None
    if lt == 113:                               # Linux cooked v1: EtherType at 14
        if caplen < 16:
            return None
        et = buf[14] << 8 | buf[15]
        return (16, 4) if et == 0x0800 else (16, 6) if et == 0x86DD else None
    if lt == 276:                               # Linux cooked v2: EtherType first
        if caplen < 20:
            return None
        et = buf[0] << 8 | buf[1]
        return (20, 4) if et == 0x0800 else (20, 6) if et == 0x86DD else None
    if lt == 101 or lt == 12 or lt == 14:       # raw IP: the version nibble
        v = buf[0] >> 4 if caplen else 0
        return (0, v) if v == 4 or v == 6 else None
    if lt == 228:
        return 0, 4
    if lt == 229:
        return 0, 6
    if lt == 0 or lt == 108:                    # BSD loopback / OpenBSD loop: address family
        if caplen < 4:
            return None
        if lt == 0:
            fam = _LE32(buf, 0)[0]
            if fam > 0xFFFF:
                fam = _BE32(buf, 0)[0]
        else:
            fam = _BE32(buf, 0)[0]
        return (4, 4) if fam in _NULL_V4 else (4, 6) if fam in _NULL_V6 else None
    return None


def _sctp_in(buf, rec):
    """(IP version, IP offset, SCTP offset, end of the IP payload) of a frame
    whose link and IP layers the compact path reads (see :func:`compact_frame`),
    else None."""
    caplen = len(buf)
    if caplen < rec.wirelen or caplen < 32:
        return None
    if rec.linktype == 1 and buf[12] == 8 and buf[13] == 0:     # Ethernet II + IPv4: most frames
        ip, version = 14, 4
    else:
        where = _ip_offset(buf, rec.linktype, caplen)
        if where is None:
            return None
        ip, version = where
    if version == 4:
        if caplen < ip + 32:
            return None
        vhl, tlen, frag, proto = _IPV4(buf, ip)
        pend = ip + tlen
        if vhl != 0x45 or proto != 132 or frag & 0x3FFF or pend > caplen or tlen < 36:
            return None
        return 4, ip, ip + 20, pend
    if caplen < ip + 56 or buf[ip] >> 4 != 6 or buf[ip + 6] != 132:
        return None
    plen = _U16(buf, ip + 4)[0]
    pend = ip + 40 + plen
    if plen < 16 or pend > caplen:
        return None
    return 6, ip, ip + 40, pend


def sctp_ports(rec: Record) -> tuple | None:
    """(source port, destination port) of a frame holding one whole SCTP
    packet in plain IPv4/IPv6 (what :func:`compact_frame` reads), without
    decoding it; None for every other frame (fragments, tunnels, ICMP, ...).
    The analysis shards associations by their ports with it."""
    buf = rec.data
    where = _sctp_in(buf, rec)
    if where is None:
        return None
    s = where[2]
    return buf[s] << 8 | buf[s + 1], buf[s + 2] << 8 | buf[s + 3]


def compact_frame(rec: Record, first_ns: int, verify: bool = True, options=None) -> Packet | None:
    """The compact record of a frame holding one whole SCTP packet, or None.

    Vouched for: a link layer of LINKTYPES that adds no note (Ethernet II,
    Linux cooked v1/v2, raw IP, BSD loopback), IPv4 without options and not
    a fragment, or IPv6 without extension headers, the whole packet
    captured, at least one chunk, and every chunk's row ``fast`` check
    passing with its padding present and zero and the bundling rules kept
    (RFC 9260 6.10).  The checksum may have any outcome: its note is the one
    the full decoder makes.  Such a packet is exactly what the full decoder
    would give (tests/test_compact.py checks every field and note of every
    capture), only without its tree until asked.
    """
    buf = rec.data
    where = _sctp_in(buf, rec)
    if where is None:
        return None
    version, ip, s, pend = where
    if version == 4:
        pair = buf[ip + 12:ip + 20]
        addrs = _PAIRS.get(pair)
        if addrs is None:
            addrs = _pair(pair, _addr4, 4)
    else:
        pair = buf[ip + 8:ip + 40]
        addrs = _PAIRS.get(pair)
        if addrs is None:
            addrs = _pair(pair, _addr6, 16)
    src, dst = addrs
    sport, dport, vtag, csum = _COMMON(buf, s)
    if not verify:
        status, expected = "unverified", None
    elif _crc(buf[s:s + 8] + _ZERO4 + buf[s + 12:pend]) == _U32LE(buf, s + 8)[0]:
        status, expected = "good", csum
    else:
        status, expected = _checksum_of(buf, s, pend, csum)
    # the chunks (dissect_chunks' rules for a chunk that adds no note)
    chunks = []
    off = s + 12
    types = _CHUNK_TYPES
    build = None
    while True:
        ctype, flags, clen = _CHUNK_HDR(buf, off)
        row = types.get(ctype)
        if row is None:
            return None
        fast = row.fast
        if fast is None or clen < row.min_len:
            return None
        cend = off + clen
        pad_end = off + ((clen + 3) & ~3)
        if pad_end > pend:
            return None                     # cut short, or padding missing at the end
        if pad_end > cend and buf[cend:pad_end].count(0) != pad_end - cend:
            return None                     # non-zero padding: a note
        if row.alone and (off != s + 12 or pad_end != pend):
            return None                     # must be the only chunk of its packet
        v = fast(buf, off + 4, cend, flags)
        if v is None:
            return None
        # the compact record of the chunk; its tree is made only if asked for
        ch = _new(_Chunk)
        ch.name = "sctp.chunk"
        ch.value = ctype
        ch.offset = off
        ch.length = pad_end - off
        _set_show(ch, None)
        _set_children(ch, None)
        if build is None:
            build = (None, _build_chunk, buf, options, False)
        ch._build = build
        ch.type = ctype
        ch.flags = flags
        ch.clen = clen
        ch.v = v
        ch.row = row
        ch.ann = None
        ch.rel = None
        chunks.append(ch)
        off = pad_end
        if off >= pend:
            break
        if pend - off < 4:
            return None                     # bytes after the last chunk: a note
    pkt = _new_packet(Packet)
    pkt.record = rec
    pkt._layers = None
    pkt.notes = [] if status == "good" or status == "unverified" else [_checksum_note(status, csum, expected, s)]
    pkt.ip_version = version
    pkt.src = src
    pkt.dst = dst
    pkt.sport = sport
    pkt.dport = dport
    pkt.vtag = vtag
    pkt.checksum = csum
    pkt.checksum_expected = expected
    pkt.checksum_status = status
    pkt.chunks = chunks
    pkt._sctp = None
    pkt.sctp_offset = s
    pkt.encap = None
    pkt.icmp = None
    pkt.analysis = None
    pkt.buffers = None
    pkt.first_ns = first_ns
    pkt.assoc_index = None
    pkt._extra = None
    pkt._reuse = None
    return pkt


_new_packet = _new = object.__new__

# (source, destination) address texts by their bytes: a capture repeats a few
# pairs millions of times, and one dict hit costs less than two conversions.
_PAIRS: dict = {}


def _pair(b, conv, n):
    if len(_PAIRS) >= 4096:
        _PAIRS.clear()
    p = _PAIRS[b] = (conv(b[:n]), conv(b[n:]))
    return p


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
