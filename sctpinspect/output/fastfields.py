"""Field values straight from the bytes, for ``read -T fields`` on clean frames.

The companion of :mod:`sctpinspect.output.fastsummary` for ``-T fields``:
when every requested field is one this module knows (:data:`FAST_NAMES`:
``frame.number``, ``frame.len``, ``frame.cap_len``, the IPv4 header, the SCTP common header,
chunk headers and the fields of DATA, SACK, HEARTBEAT (ACK), SHUTDOWN,
SHUTDOWN ACK, COOKIE ECHO, COOKIE ACK, an empty ABORT and SHUTDOWN
COMPLETE) or an SCTP field that a clean frame cannot carry (``sctp.init_*``,
``sctp.cause_code``, ...), a clean frame's values are
read from its bytes into the ``{name: [values]}`` mapping that
:meth:`FieldsPrinter.collect` builds from the decoded tree, and the
printer formats them as usual.  Hand-written because it is the hot path of
``-T fields`` (see docs/performance.md); the decoder stays the reference.

A frame is clean under the same conditions as in ``fastsummary`` (it uses
that module's :func:`~sctpinspect.output.fastsummary.clean_sctp` and chunk
checks), so the frames the decoder would annotate, and everything else,
are decoded and walked as before.  ``tests/test_fastpaths.py`` compares
both paths frame by frame for every name in :data:`FAST_NAMES` on every
public and project capture.
"""
from __future__ import annotations

import struct
from socket import inet_ntoa as _ntoa
from typing import Callable

from ..decode.sctp.chunks import CHUNK_TYPES
from .fastsummary import CLEAN_CHUNKS, clean_sctp

_HDR = struct.Struct("!BBH").unpack_from
_COMMON = struct.Struct("!HHII").unpack_from
_DATA = struct.Struct("!IHHI").unpack_from
_SACK = struct.Struct("!IIHH").unpack_from
_GAP = struct.Struct("!HH").unpack_from
_U32 = struct.Struct("!I").unpack_from

_FRAME = ("frame.number", "frame.len", "frame.cap_len")
# the ip layer of a 20-byte IPv4 header, as decode/ip.py's _build_ipv4 makes it
_IP_NAMES = ("ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags", "ip.flags.rb",
             "ip.flags.df", "ip.flags.mf", "ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum",
             "ip.checksum.status", "ip.src", "ip.addr", "ip.dst", "ip.addr")
_IPV4 = struct.Struct("!BBHHHBBH4s4s").unpack_from
_COMMON_NAMES = ("sctp.srcport", "sctp.dstport", "sctp.verification_tag", "sctp.port", "sctp.port",
                 "sctp.checksum", "sctp.checksum.status")
_CHUNK_HEAD = ("sctp.chunk", "sctp.chunk_type", "sctp.chunk_bit_1", "sctp.chunk_bit_2",
               "sctp.chunk_flags")
_PARAM = ("sctp.parameter", "sctp.parameter_type", "sctp.parameter_bit_1", "sctp.parameter_bit_2",
          "sctp.parameter_length")
_GAP_NAMES = ("sctp.sack_gap_block", "sctp.sack_gap_block_start", "sctp.sack_gap_block_start_tsn",
              "sctp.sack_gap_block_end", "sctp.sack_gap_block_end_tsn")

# chunk type -> the names its value fields have in the decoded tree, in order
# (a SACK's gap blocks, gap-acked count and duplicate TSNs are added per chunk)
_VALUE_NAMES = {
    0: ("sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_ssn", "sctp.data_payload_proto_id",
        "sctpinspect.payload"),
    3: ("sctp.sack_cumulative_tsn_ack_raw", "sctp.sack_a_rwnd", "sctp.sack_number_of_gap_blocks",
        "sctp.sack_number_of_duplicated_tsns"),
    4: _PARAM + ("sctp.parameter_heartbeat_information",),
    5: _PARAM + ("sctp.parameter_heartbeat_information",),
    6: (), 7: ("sctp.shutdown_cumulative_tsn_ack",), 8: (), 10: ("sctp.cookie",), 11: (), 14: (),
}


def _names(ctype: int, padded: bool) -> tuple:
    spec = CHUNK_TYPES[ctype]
    return (_CHUNK_HEAD + tuple(n for n, _m, _b in spec.flag_fields) + ("sctp.chunk_length",)
            + _VALUE_NAMES[ctype] + (("sctp.chunk_padding",) if padded else ()))


# (chunk type, padded) -> names of the chunk's fields, made once
_SHAPES = {(t, p): _names(t, p) for t in _VALUE_NAMES for p in (False, True)}

FAST_NAMES = frozenset(_FRAME + _IP_NAMES + _COMMON_NAMES + _GAP_NAMES + (
    "sctp.sack_number_of_tsns_gap_acked", "sctp.sack_duplicate_tsn")).union(
    *_SHAPES.values())


# Every SCTP and IP field a clean frame's tree holds is in FAST_NAMES; the
# other SCTP and IP names (INIT's, causes', IPv4 options', ...) are simply
# absent from clean frames, so asking for them still allows this path (their
# column is empty on clean frames, as in the tree).
_SCTP_PREFIXES = ("sctp.", "sctpinspect.", "ip.")


def _flag_values(ctype: int) -> Callable[[int], tuple]:
    fields = CHUNK_TYPES[ctype].flag_fields
    return lambda flags: tuple((flags & m != 0) if b else flags & m for _n, m, b in fields)


_FLAGS = {t: _flag_values(t) for t in _VALUE_NAMES}


def fast_collector(index: dict, verify_checksum: bool = True) -> Callable | None:
    """A ``collect(record) -> {name: [values]} | None`` for the requested
    names (``index``: name -> columns), or None when some name is not in
    :data:`FAST_NAMES`.  None from the collector means: not a clean frame,
    decode it."""
    if not all(n in FAST_NAMES or n.startswith(_SCTP_PREFIXES) for n in index):
        return None
    plans: dict = {}

    def plan(names: tuple) -> tuple:
        p = plans.get(id(names))
        if p is None:
            p = plans[id(names)] = tuple((i, n) for i, n in enumerate(names) if n in index)
        return p

    shapes = {k: (names, plan(names)) for k, names in _SHAPES.items()}
    frame_plan = plan(_FRAME)
    ip_plan = plan(_IP_NAMES)
    common_plan = plan(_COMMON_NAMES)
    gap_plan = plan(_GAP_NAMES)
    acked = "sctp.sack_number_of_tsns_gap_acked" in index
    dups = "sctp.sack_duplicate_tsn" in index
    heads: dict = {}       # type << 8 | flags -> the chunk header values before the length

    def collect(rec) -> dict | None:
        r = clean_sctp(rec, verify_checksum)
        if r is None:
            return None
        buf, s, pend, chunks = r
        found: dict = {}
        if frame_plan:
            _put(found, frame_plan, (rec.number, rec.wirelen, len(buf)))
        if ip_plan:
            vhl, tos, tlen, ident, frag, ttl, proto, csum, src, dst = _IPV4(buf, s - 20)
            src, dst = _ntoa(src), _ntoa(dst)
            _put(found, ip_plan, (vhl >> 4, (vhl & 15) << 2, tos, tlen, ident, frag >> 13, bool(frag & 0x8000),
                          bool(frag & 0x4000), bool(frag & 0x2000), frag & 0x1FFF, ttl, proto, csum, 2,
                          src, src, dst, dst))
        if common_plan:
            sport, dport, vtag, csum = _COMMON(buf, s)
            _put(found, common_plan, (sport, dport, vtag, sport, dport, csum,
                              1 if verify_checksum else 2))
        for off, ctype, flags, clen, pad_end in chunks:
            cend = off + clen
            names, p = shapes[ctype, pad_end > cend]
            if p:
                k = ctype << 8 | flags
                head = heads.get(k)
                if head is None:
                    head = heads[k] = (ctype, ctype, ctype >= 0x80, (ctype & 0x40) != 0,
                                       flags) + _FLAGS[ctype](flags)
                values = head + (clen,) + _values(buf, off, ctype, clen)
                if pad_end > cend:
                    values += (buf[cend:pad_end],)
                _put(found, p, values)
            if ctype == 3 and (gap_plan or acked or dups):
                _sack_lists(buf, off, found, gap_plan, acked, dups)
        return found

    return collect


def _put(found: dict, plan: tuple, values: tuple) -> None:
    """Append ``values[i]`` to ``found[name]`` for each ``(i, name)`` of ``plan``."""
    for i, name in plan:
        vals = found.get(name)
        if vals is None:
            found[name] = [values[i]]
        else:
            vals.append(values[i])


def _values(buf, off, ctype, clen) -> tuple:
    if ctype == 0:
        return _DATA(buf, off + 4) + (buf[off + 16:off + clen],)
    if ctype == 3:
        return _SACK(buf, off + 4)
    if ctype == 4 or ctype == 5:
        return (1, 1, False, False, clen - 4, buf[off + 8:off + clen])
    if ctype == 7:
        return _U32(buf, off + 4)
    if ctype == 10:
        return (buf[off + 4:off + clen],)
    return ()


def _sack_lists(buf, off, found, gap_plan, acked, dups) -> None:
    """The gap blocks, gap-acked count and duplicate TSNs of a clean SACK, in
    the order decode_sack adds them (after the four fixed fields)."""
    cum, _rwnd, ngaps, ndups = _SACK(buf, off + 4)
    o = off + 16
    total = 0
    for i in range(ngaps):
        s, e = _GAP(buf, o)
        if gap_plan:
            _put(found, gap_plan, (i, s, (cum + s) & 0xFFFFFFFF, e, (cum + e) & 0xFFFFFFFF))
        total += e - s + 1
        o += 4
    if ngaps and acked:
        _put(found, ((0, "sctp.sack_number_of_tsns_gap_acked"),), (total,))
    for _ in range(ndups):
        if dups:
            _put(found, ((0, "sctp.sack_duplicate_tsn"),), _U32(buf, o))
        o += 4


def write_fields(pipe, printer, buf: list, out, limit: int | None, shown: list,
                 verify_checksum: bool = True) -> bool:
    """``read -T fields`` over ``pipe``'s records with clean frames read from
    their bytes; False (nothing done) when a requested field is not in
    :data:`FAST_NAMES`.  Counts frames in ``pipe`` and lines in
    ``shown[0]`` like the general loop, and flushes ``buf`` to ``out``."""
    collect = fast_collector(printer.index, verify_checksum)
    if collect is None:
        return False
    decode = pipe.decoder.decode
    on_record = pipe.on_record
    line = printer.line
    fmt = printer.clean_formatter() or printer.format
    append = buf.append
    frames = sctp = icmp = n = 0
    try:
        for rec in pipe.records:
            if on_record is not None:
                on_record(rec)
            frames += 1
            try:
                found = collect(rec)
            except Exception:            # never: but the decoder is the safe way out
                found = None
            if found is None:
                pkt = decode(rec)
                if pkt.sctp is not None:
                    sctp += 1
                elif pkt.icmp is not None:
                    icmp += 1
                append(line(pkt))
            else:
                sctp += 1
                append(fmt(found, rec))
            n += 1
            if len(buf) >= 2048:
                out.write("\n".join(buf) + "\n")
                buf.clear()
            if limit is not None and n >= limit:
                break
    finally:                             # the caller flushes what is left
        pipe.frames += frames
        pipe.sctp += sctp
        pipe.icmp += icmp
        shown[0] = n
    return True


# the chunk types clean_sctp accepts must all have a field shape here
assert CLEAN_CHUNKS <= set(_VALUE_NAMES)
