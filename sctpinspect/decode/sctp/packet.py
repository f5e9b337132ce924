"""The SCTP packet: common header, checksum, then the chunks (RFC 9260 3.1).

:func:`dissect_sctp` is the entry point the frame decoder calls.
"""
from __future__ import annotations

import struct
import zlib

import crc32c as _crc32c

from ._base import CHAT, ERROR, NOTE, Ctx, Field, Note, COMMON, U16, U16x2, U32, plural
from .chunks import dissect_chunks
from ...model import LAZY_COLLECTORS, LazyField, _get_children, _set_children

_crc = _crc32c.crc32c
_adler = zlib.adler32
_ZERO4 = b"\0\0\0\0"
_U32LE = struct.Struct("<I").unpack_from
_CSUM = Field  # alias for readability below


def dissect_sctp(pkt, buf, offset, end, options, parent, quoted=False):
    """Decode the SCTP packet in ``buf[offset:end]``; append the ``sctp`` layer
    Field to ``parent`` and return it.

    Outer packets (``quoted`` False) also fill ``pkt``'s quick attributes
    (ports, vtag, checksum and its status, chunks, sctp, sctp_offset).  A
    header quoted in an ICMP error (``quoted`` True, often only 8 bytes) is
    decoded as far as it goes: no checksum verification, no truncation notes.
    Never raises on bad bytes.
    """
    rec = pkt.record
    truncated = rec is not None and len(rec.data) < rec.wirelen
    c = Ctx(pkt, buf, options, quoted, 0, truncated)
    return _dissect(c, offset, end, parent, quoted=quoted)


def _checksum(c, buf, offset, end, stored):
    """Return (status, expected) for the packet ``buf[offset:end]``."""
    opts = c.opts
    if opts is not None and not getattr(opts, "verify_checksum", True):
        return "unverified", None
    if c.truncated:
        return "unverified", None
    return checksum_of(buf, offset, end, stored)


def checksum_of(buf, offset, end, stored):
    """(status, expected) of the whole SCTP packet ``buf[offset:end]`` whose
    stored checksum is ``stored``: "good", "bad", "zero" or "adler32"."""
    # The CRC over the header with a zero checksum field and the chunks; one
    # call over a joined copy is cheaper than three over views.  crc32c
    # returns the CRC as an integer; on the wire it is little-endian: compare
    # with the stored bytes read little-endian (no byte swap when good).
    crc = _crc(buf[offset:offset + 8] + _ZERO4 + buf[offset + 12:end])
    if crc == _U32LE(buf, offset + 8)[0]:
        return "good", stored
    expected = int.from_bytes(crc.to_bytes(4, "little"), "big")
    if stored == expected:
        return "good", expected
    if stored == 0:
        return "zero", expected
    mv = memoryview(buf)
    adler = _adler(mv[offset + 12:end], _adler(_ZERO4, _adler(mv[offset:offset + 8])))
    if adler == stored:
        return "adler32", expected
    return "bad", expected


def checksum_note(status, csum, expected, offset):
    """The expert note a checksum outcome gets (None for good/unverified)."""
    if status == "bad":
        return Note(ERROR, "Checksum", "Bad SCTP checksum: 0x%08x, CRC32c should be 0x%08x" % (csum, expected),
                    offset + 8, 4, "RFC 9260 6.8", "sctp.checksum_bad.expert")
    if status == "adler32":
        return Note(NOTE, "Checksum", "Legacy Adler-32 checksum (RFC 2960); RFC 9260 receivers require CRC32c "
                    "and discard this packet", offset + 8, 4, "RFC 9260 6.8", "sctpinspect.checksum_adler32")
    if status == "zero":
        return Note(CHAT, "Checksum", "Zero checksum: not verified (transmit checksum offload, or RFC 9653 "
                    "zero checksum)", offset + 8, 4, "RFC 9653", "sctpinspect.checksum_zero")
    return None


def _build_header(layer, b):
    """Common-header fields and show text of an ``sctp`` layer (also the
    LazyField builder of the outer one); fields already in the children slot
    (the chunks) stay after them."""
    buf, offset, status, expected, quoted = b[2:]
    sport, dport, vtag, csum = COMMON.unpack_from(buf, offset)
    if status == "good":
        cshow = "Checksum (CRC32C): 0x%08x [correct]" % csum
        sval = 1
    elif status == "bad":
        cshow = "Checksum (CRC32C): 0x%08x [incorrect, should be 0x%08x]" % (csum, expected)
        sval = 0
    elif status == "adler32":
        cshow = "Checksum (Adler32): 0x%08x [correct]" % csum
        sval = 1
    elif status == "zero":
        cshow = "Checksum: 0x00000000 [unverified: zero, checksum offload or RFC 9653 zero checksum]"
        sval = 2
    else:
        cshow = "Checksum: 0x%08x [unverified]" % csum
        sval = 2
    kids = [Field("sctp.srcport", sport, offset, 2),
            Field("sctp.dstport", dport, offset + 2, 2),
            Field("sctp.verification_tag", vtag, offset + 4, 4),
            Field("sctp.port", sport, offset, 2),
            Field("sctp.port", dport, offset + 2, 2),
            Field("sctp.checksum", csum, offset + 8, 4, cshow),
            Field("sctp.checksum.status", sval, offset + 8, 0)]
    old = _get_children(layer)
    if old:
        kids += old
    _set_children(layer, kids)


_CSUM_STATUS = {"good": 1, "bad": 0, "adler32": 1}


_HEADER_NAMES = ("sctp.srcport", "sctp.dstport", "sctp.verification_tag", "sctp.port", "sctp.port",
                 "sctp.checksum", "sctp.checksum.status")


def _collect_header(layer, b, want):
    """What _build_header makes, as names and values (see model.LAZY_COLLECTORS)."""
    sport, dport, vtag, csum = COMMON.unpack_from(b[2], b[3])
    return (_HEADER_NAMES, header_values(sport, dport, vtag, csum, b[4]), _get_children(layer))


def header_values(sport, dport, vtag, csum, status):
    """The values of the common-header fields (_HEADER_NAMES) in tree order."""
    return (sport, dport, vtag, sport, dport, csum, _CSUM_STATUS.get(status, 2))


HEADER_NAMES = _HEADER_NAMES


LAZY_COLLECTORS[_build_header] = _collect_header


def _sctp_show(layer, b):
    sport, dport = U16x2.unpack_from(b[2], b[3])
    if b[6]:
        return "Stream Control Transmission Protocol (quoted), Src Port: %d, Dst Port: %d" % (sport, dport)
    return "Stream Control Transmission Protocol, Src Port: %d, Dst Port: %d" % (sport, dport)


def _dissect(c, offset, end, parent, quoted=False, embedded=False):
    buf = c.buf
    pkt = c.pkt
    outer = not quoted and not embedded
    n = end - offset
    if n < 12:
        layer = Field("sctp", None, offset, n, None, [])
        parent.append(layer)
        kids = layer.children
        # Short common header: decode what is there.
        sport = dport = vtag = None
        if n >= 2:
            sport = U16.unpack_from(buf, offset)[0]
            kids.append(Field("sctp.srcport", sport, offset, 2))
        if n >= 4:
            dport = U16.unpack_from(buf, offset + 2)[0]
            kids.append(Field("sctp.dstport", dport, offset + 2, 2))
        if n >= 8:
            vtag = U32.unpack_from(buf, offset + 4)[0]
            kids.append(Field("sctp.verification_tag", vtag, offset + 4, 4))
        if n >= 4:
            kids.append(Field("sctp.port", sport, offset, 2))
            kids.append(Field("sctp.port", dport, offset + 2, 2))
        rest = offset + (8 if n >= 8 else 4 if n >= 4 else 0)
        if rest < end:
            kids.append(Field("sctpinspect.header_truncated", buf[rest:end], rest, end - rest))
        if quoted:
            layer.show = "Stream Control Transmission Protocol (quoted%s)" % (
                ", Src Port: %d, Dst Port: %d" % (sport, dport) if dport is not None else "")
        else:
            c.note(ERROR, "Malformed", "SCTP common header truncated: %s, the header needs 12" % plural(n),
                   offset, n, "RFC 9260 3.1", "sctpinspect.header_truncated")
            layer.show = "Stream Control Transmission Protocol (truncated header%s)" % (
                ", Src Port: %d, Dst Port: %d" % (sport, dport) if dport is not None else "")
        if outer:
            pkt.sctp = layer
            pkt.sctp_offset = offset
            pkt.sport = sport or 0
            pkt.dport = dport or 0
            pkt.vtag = vtag or 0
            pkt.checksum_status = "unverified"
        return layer
    sport, dport, vtag, csum = COMMON.unpack_from(buf, offset)
    reuse = pkt._reuse if outer else None
    if quoted:
        status, expected = "unverified", None
    elif reuse is not None:         # the tree of a packet decoded compactly: known already
        status, expected = pkt.checksum_status, pkt.checksum_expected
    else:
        status, expected = _checksum(c, buf, offset, end, csum)
        note = checksum_note(status, csum, expected, offset)
        if note is not None:
            c.note(note.severity, note.group, note.message, note.offset, note.length, note.rfc, note.key)
    if outer:
        # The common-header fields and texts are made only if something reads
        # them: the layer is a LazyField; its children slot holds the chunks.
        layer = LazyField("sctp", None, offset, n,
                          (_sctp_show, _build_header, buf, offset, status, expected, quoted), [])
    else:
        layer = Field("sctp", None, offset, n, None, [])
        b = (_sctp_show, _build_header, buf, offset, status, expected, quoted)
        _build_header(layer, b)
        layer.show = _sctp_show(layer, b)
    parent.append(layer)
    chunks = pkt.chunks if outer else ([] if embedded else None)
    if outer:
        pkt.sport = sport
        pkt.dport = dport
        pkt.vtag = vtag
        pkt.checksum = csum
        pkt.checksum_status = status
        pkt.checksum_expected = expected
        pkt.sctp = layer
        pkt.sctp_offset = offset
    if reuse is not None:           # its chunks were decoded with the compact record
        layer_kids = _get_children(layer)
        layer_kids.extend(reuse)
        chunks.extend(reuse)
        return layer
    if end - offset == 12:
        if not quoted:
            c.note(ERROR, "Malformed", "SCTP packet without chunks (a packet carries one or more chunks)",
                   offset, 12, "RFC 9260 3", "sctpinspect.no_chunks")
        return layer
    dissect_chunks(c, layer, offset + 12, end, chunks)
    return layer
