"""Summary lines straight from the bytes, for the frames that need no tree.

``sctpinspect read FILE`` (summary, no ``-Y``, no analysis, no payload) is
the command people run on multi-gigabyte captures.  Building a
:class:`~sctpinspect.model.Packet` per frame -- layers, chunk objects,
notes -- costs more than the line it feeds, so this module reads the few
header words a summary line shows directly from the frame and formats them.

Hand-written on purpose (the brief allows it for what is hot): no library
formats SCTP summary lines, and the general decoder is the reference.  The
rule that keeps the two equal is strict:

* A frame takes this path only when it is *provably clean*: Ethernet II,
  Linux cooked (SLL/SLL2) or raw IPv4, an IPv4 header without options, not
  a fragment, the whole packet captured, a CRC32c that verifies (or
  ``--no-checksum``), and only chunks from :data:`_CHUNKS` in exactly the
  shape for which the decoder adds no expert note (the same conditions as
  the ``fast`` checks of ``decode/sctp/chunks.py``: user data present, no
  padding bytes missing or non-zero, a SACK whose gap blocks are in order
  and well formed, ...).
* Anything else -- ICMP, IPv6, an INIT, a malformed chunk, a bad checksum,
  an unknown chunk type -- returns ``None`` and the caller decodes the
  frame with the full decoder, which adds the notes and marks.

The chunk texts use the dissector's own format tables (``_DATA_SUMMARY``,
``_PPID_TEXT``, ``CHUNK_NAMES``), and ``tests/test_fastsummary.py`` checks,
frame by frame, that both paths print the same line on every public and
project capture, on the benchmark capture and on mutated frames.
"""
from __future__ import annotations

import os
import socket
import struct
from typing import Callable

import crc32c as _crc32c

from ..decode.sctp.chunks import CHUNK_TYPES, _DATA_SUMMARY, _PPID_TEXT, _ppid
from ..decode.sctp.names import CHUNK_NAMES

_crc = _crc32c.crc32c
_ntoa = socket.inet_ntoa
_U16 = struct.Struct("!H").unpack_from
_U32 = struct.Struct("!I").unpack_from
_U32LE = struct.Struct("<I").unpack_from
_HDR = struct.Struct("!BBH").unpack_from
_IPV4 = struct.Struct("!BxHxxHxB").unpack_from   # version/IHL, total length, flags/offset, protocol
_DATA = struct.Struct("!IHHI").unpack_from
_SACK = struct.Struct("!IIHH").unpack_from
_GAP = struct.Struct("!HH").unpack_from
_ZERO4 = b"\0\0\0\0"
_PORTS_VTAG = struct.Struct("!HHI").unpack_from

# link type -> (offset of the EtherType-like protocol word or None, offset of the IP header)
_LINKS = {
    1: (12, 14),      # Ethernet II
    113: (14, 16),    # Linux cooked SLL
    276: (0, 20),     # Linux cooked SLL2
    101: (None, 0),   # raw IP
    228: (None, 0),   # raw IPv4
}


def _sack(buf, off, clen, flags):
    cum, rwnd, ngaps, ndups = _SACK(buf, off + 4)
    # decode_sack's notes: zero a_rwnd, bytes after the lists, a list longer
    # than the chunk, a bad or unordered gap block, > 100 TSNs gap-acked.
    if rwnd == 0 or clen != 16 + 4 * (ngaps + ndups):
        return None
    if not ngaps:
        return "SACK(cum=%d a_rwnd=%d gaps=0 dups=%d)" % (cum, rwnd, ndups)
    parts = []
    last = 0
    total = 0
    o = off + 16
    for _ in range(ngaps):
        s, e = _GAP(buf, o)
        if s == 0 or s > e or s <= last:
            return None
        total += e - s + 1
        last = e
        parts.append("%d-%d" % (s, e))
        o += 4
    if total > 100:
        return None
    return "SACK(cum=%d a_rwnd=%d gaps=%s dups=%d)" % (cum, rwnd, ",".join(parts), ndups)


def _heartbeat(buf, off, clen, flags):
    # one Heartbeat Info parameter filling the chunk (see chunks.fast_heartbeat)
    ptype, plen = _U16(buf, off + 4)[0], _U16(buf, off + 6)[0]
    if ptype != 1 or plen != clen - 4 or plen & 3 or plen < 4:
        return None
    return "%s(info=%d)" % (CHUNK_NAMES[buf[off]], clen - 4)


def _shutdown(buf, off, clen, flags):
    if clen != 8:
        return None
    return "SHUTDOWN(cum=%d)" % _U32(buf, off + 4)[0]


def _empty(buf, off, clen, flags):
    if clen != 4:                       # bytes in an empty chunk: a note (RFC 9260 3.3)
        return None
    return CHUNK_NAMES[buf[off]]


def _cookie_echo(buf, off, clen, flags):
    return "COOKIE_ECHO(len=%d)" % (clen - 4)


def _abort(buf, off, clen, flags):
    if clen != 4:                       # causes: the general path lists them
        return None
    return "ABORT(T=%d)" % (flags & 1)


# chunk type -> summary text of a clean chunk, or None to take the general path.
# DATA (most chunks) is inline in clean_frame, and SHUTDOWN COMPLETE too (it
# must be the only chunk).
_CHUNKS: dict[int, Callable] = {
    3: _sack, 4: _heartbeat, 5: _heartbeat, 6: _abort, 7: _shutdown,
    8: _empty, 10: _cookie_echo, 11: _empty,
}


CLEAN_CHUNKS = frozenset(_CHUNKS) | {0, 14}   # every chunk type clean_frame accepts
# a chunk shorter than its type's minimum is malformed (the decoder notes it)
_MIN_LEN = {t: CHUNK_TYPES[t].min_len for t in CHUNK_TYPES}
_HEAD_MAX = 4096      # cached line heads (address, port and vtag texts)
_PPID_MAX = 4096      # cached PPID texts beyond the IANA ones


def clean_frame(rec, verify_checksum: bool = True, ppids=None, layout: list | None = None,
                header_only: bool = False):
    """``(ip, pend, texts)`` for a clean SCTP frame, else None.

    ``ip`` is the offset of the IPv4 header (the SCTP header follows it at
    ``ip + 20``), ``pend`` the end of the SCTP packet, ``texts`` the summary
    text of each chunk; ``layout``, when given, receives ``(offset, type,
    flags, length, padded end)`` per chunk.  Clean: a whole SCTP packet in
    IPv4 without options, not a fragment, at least one chunk header, a
    CRC32c that verifies (unless ``verify_checksum`` is false), and only
    chunks the decoder would add no note to.  ``header_only`` stops after
    the frame and common-header checks (``texts`` is None).  One function,
    not two, on purpose: it is the per-frame cost of ``read``.
    """
    buf = rec.data
    lt = rec.linktype
    if lt == 1:                          # Ethernet II, the common case, without a lookup
        if buf[12] != 8 or buf[13]:
            return None
        ip = 14
    else:
        link = _LINKS.get(lt)
        if link is None:
            return None
        at, ip = link
        if at is not None and (buf[at] != 8 or buf[at + 1]):
            return None
    end = len(buf)
    if end < rec.wirelen or end < ip + 32:
        return None
    vhl, tlen, frag, proto = _IPV4(buf, ip)
    pend = ip + tlen
    if vhl != 0x45 or proto != 132 or frag & 0x3FFF or pend > end:
        return None                      # options, another protocol, a fragment, cut short
    s = ip + 20                          # SCTP common header
    if pend - s < 16:                    # no chunk header after it: the decoder notes that
        return None
    # The CRC over the header with a zero checksum field and the chunks;
    # one call over a joined copy is cheaper than three over views.
    if verify_checksum and _crc(buf[s:s + 8] + _ZERO4 + buf[s + 12:pend]) != _U32LE(buf, s + 8)[0]:
        return None                      # bad, zero or Adler-32: the general path marks it
    if header_only:
        return ip, pend, None
    if ppids is None:
        ppids = _PPID_TEXT
    out = []
    off = s + 12
    while True:
        ctype, flags, clen = _HDR(buf, off)
        cend = off + clen
        pad_end = off + ((clen + 3) & ~3)
        if pad_end > pend:
            return None
        if pad_end > cend and buf[cend:pad_end].count(0) != pad_end - cend:
            return None                  # non-zero padding: a note
        if ctype == 0:                   # DATA, inline: most chunks are
            if clen <= 16:
                return None
            tsn, sid, ssn, ppid = _DATA(buf, off + 4)
            p = ppids.get(ppid)
            if p is None:
                p = _ppid(ppid)
                if len(ppids) < _PPID_MAX and ppids is not _PPID_TEXT:
                    ppids[ppid] = p
            text = _DATA_SUMMARY[flags & 15] % (tsn, sid, ssn, p, clen - 16)
        else:
            fn = _CHUNKS.get(ctype)
            if fn is None or clen < _MIN_LEN[ctype]:
                if ctype != 14 or off != s + 12:
                    return None
                text = _shutdown_complete(buf, off, pend)
            else:
                text = fn(buf, off, clen, flags)
            if text is None:
                return None
        out.append(text)
        if layout is not None:
            layout.append((off, ctype, flags, clen, pad_end))
        off = pad_end
        if off >= pend:
            return ip, pend, out
        if pend - off < 4:
            return None                  # bytes after the last chunk: a note


def fast_line(printer, verify_checksum: bool = True) -> Callable:
    """``line(record)`` -> the summary line of a clean SCTP frame, or None.

    Shares ``printer``'s time formatter (the caller keeps its ``first`` and
    ``prev`` up to date).  A closure: the names the hot path uses are local
    or free variables, not attribute lookups.
    """
    tm = printer.time
    relative = tm.mode == "r"
    heads: dict[bytes, str] = {}
    ppids = dict(_PPID_TEXT)

    def line(rec):
        r = clean_frame(rec, verify_checksum, ppids)
        if r is None:
            return None
        ip, _pend, chunks = r
        buf = rec.data
        if len(chunks) == 1:
            text = chunks[0]
        else:                            # runs of identical texts fold as SummaryPrinter._chunks
            parts = []
            prev = None
            run = 0
            for t in chunks:
                if t == prev:
                    run += 1
                    continue
                if prev is not None:
                    parts.append(prev if run == 1 else "%s x%d" % (prev, run))
                prev = t
                run = 1
            parts.append(prev if run == 1 else "%s x%d" % (prev, run))
            text = " ".join(parts)
        key = buf[ip + 12:ip + 28]       # addresses, ports, vtag
        head = heads.get(key)
        if head is None:
            sport, dport, vtag = _PORTS_VTAG(key, 8)
            head = "%s:%d -> %s:%d vtag=0x%08x" % (_ntoa(key[:4]), sport, _ntoa(key[4:8]), dport, vtag)
            if len(heads) >= _HEAD_MAX:
                heads.clear()
            heads[key] = head
        ns = rec.ts_ns - tm.first
        if ns >= 0 and relative:
            sec, frac = divmod(ns, 1_000_000_000)
            return "%5d %4d.%06d %s %s" % (rec.number, sec, frac // 1000, head, text)
        return "%5d %11s %s %s" % (rec.number, tm.format(rec.ts_ns), head, text)

    return line


def clean_sctp(rec, verify_checksum: bool = True):
    """``(buf, s, pend, layout)`` of a clean SCTP frame (see
    :func:`clean_frame`), else None."""
    layout: list = []
    r = clean_frame(rec, verify_checksum, None, layout)
    return None if r is None else (rec.data, r[0] + 20, r[1], layout)


def _shutdown_complete(buf, off, pend) -> str | None:
    """SHUTDOWN COMPLETE: clean only as the one, empty chunk of its packet."""
    _t, flags, clen = _HDR(buf, off)
    if clen != 4 or off + 4 != pend:
        return None
    return "SHUTDOWN_COMPLETE(T=%d)" % (flags & 1)


class _Counts:
    """What ``write_summary`` has done so far (shared with the workers' part)."""
    __slots__ = ("frames", "sctp", "icmp", "shown", "stopped")

    def __init__(self):
        self.frames = self.sctp = self.icmp = self.shown = 0
        self.stopped = False


def write_summary(pipe, printer, out, limit: int | None, shown: list,
                  verify_checksum: bool = True, workers: int = 0, path: str | None = None) -> None:
    """Write the summary lines of ``pipe``'s records (SCTP frames and ICMP
    errors quoting SCTP) to ``out``, counting frames in ``pipe`` like
    :meth:`~sctpinspect.pipeline.Pipeline.__iter__` and lines in
    ``shown[0]``; stop after ``limit`` lines.

    Only for a pipeline without analysis hook and display filter (the caller
    checks).  Clean frames take :func:`fast_line`; the others are decoded by
    ``pipe.decoder`` and printed by ``printer`` as usual.  With ``workers``
    and the capture's ``path`` (relative time column only), worker
    processes make the clean frames' lines (:mod:`~sctpinspect.output.workers`);
    if they stop early this loop goes on alone from where they were.
    """
    fast = fast_line(printer, verify_checksum)
    decode = pipe.decoder.decode
    on_record = pipe.on_record
    general = printer.line
    tm = printer.time
    c = _Counts()
    records = pipe.records
    buf: list[str] = []
    try:
        # a pipe or FIFO can be read once, by this process: workers need a file
        if workers and path and tm.mode == "r" and os.path.isfile(path):
            from .workers import write_with_workers
            if write_with_workers(path, workers, verify_checksum, c, decode, general, tm, out,
                                  limit, on_record) or c.stopped:
                return
            if c.frames:                     # go on alone after what the workers printed
                from itertools import islice
                records = islice(records, c.frames, None)
        _write_local(records, c, fast, decode, general, tm, on_record, out, buf, limit)
    finally:                             # also when the file turns out damaged
        if buf:
            out.write("\n".join(buf) + "\n")
        pipe.frames += c.frames
        pipe.sctp += c.sctp
        pipe.icmp += c.icmp
        shown[0] = c.shown


def _write_local(records, c, fast, decode, general, tm, on_record, out, buf, limit) -> None:
    """The one-process loop: counters are locals, written back to ``c`` at the end."""
    append = buf.append
    frames, sctp, icmp, n = c.frames, c.sctp, c.icmp, c.shown
    delta = tm.mode == "d"                # the only mode that reads the previous frame's time
    try:
        for rec in records:
            if on_record is not None:
                on_record(rec)
            if tm.first is None:         # fast_line reads the time origin
                tm.first = rec.ts_ns
            frames += 1
            try:
                text = fast(rec)
            except Exception:            # never: but the decoder is the safe way out
                text = None
            if text is None:
                pkt = decode(rec)
                if pkt.sctp is not None:
                    sctp += 1
                elif pkt.icmp is not None:
                    icmp += 1
                else:
                    tm.prev = rec.ts_ns
                    continue
                text = general(pkt)
            else:
                sctp += 1
            if delta:
                tm.prev = rec.ts_ns
            append(text)
            n += 1
            if n & 2047 == 0:
                out.write("\n".join(buf) + "\n")
                buf.clear()
            if limit is not None and n >= limit:
                break
    finally:
        c.frames, c.sctp, c.icmp, c.shown = frames, sctp, icmp, n
