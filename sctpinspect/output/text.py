"""One-line packet summaries (``sctpinspect read FILE``) and the time column.

A line is::

    12   0.000783 10.0.0.1:2905 -> 10.0.0.2:2905 vtag=0x3761a746 [CRC bad, expected 0x1c2d3e4f] DATA(tsn=.. sid=.. ssn=.. ppid=.. len=..) SACK(...) [warn: ...]

The chunk text comes from :func:`sctpinspect.decode.sctp.chunk_summary` (the
dissector owns what a chunk looks like); runs of identical chunks are folded
(``ABORT(T=0) x16143``).  This is the hot path of ``read``: one f-string per
packet, no tree walks.
"""
from __future__ import annotations

from .escape import printable

import time as _time

# checksum_status -> mark printed after the vtag (good/unverified print nothing)
_ZERO_MARK = "[CRC zero]"
_ADLER_MARK = "[Adler-32]"

TIME_MODES = ("r", "a", "ad", "u", "ud", "d", "dd", "e")
_MAX_NOTES = 4          # notes shown on one line; the rest are counted
_SKIP_NOTE_KEYS = frozenset({"sctp.checksum_bad.expert"})   # already in the CRC mark


def _load_chunk_summary():
    try:
        from ..decode.sctp import chunk_summary  # type: ignore
        return chunk_summary
    except ImportError:
        return _fallback_chunk_summary


def _fallback_chunk_summary(chunk) -> str:
    """Chunk type name only; used until/unless the dissector offers chunk_summary."""
    from .. import registry
    s = registry.spec("sctp.chunk_type")
    name = s.strings.get(chunk.type) if s is not None and s.strings else None
    return name or f"chunk{chunk.type}"


def endpoint(addr, port) -> str:
    if addr is None:
        return f"?:{port}"
    if ":" in addr:
        return f"[{addr}]:{port}"
    return f"{addr}:{port}"


class TimeFormatter:
    """The time column, as tshark's ``-t`` modes (microsecond precision).

    r  seconds since the first frame of the file   (default)
    a  absolute local time of day; ad with the date; u / ud the same in UTC
    d  delta since the previous frame in the file;  dd since the previous shown line
    e  seconds since the epoch
    """

    __slots__ = ("mode", "first", "prev", "prev_shown")

    def __init__(self, mode: str = "r"):
        if mode not in TIME_MODES:
            from ..errors import UserError
            raise UserError(f"-t {mode}: use one of {', '.join(TIME_MODES)}")
        self.mode = mode
        self.first = None
        self.prev = None
        self.prev_shown = None

    def format(self, ts_ns: int) -> str:
        m = self.mode
        if m == "r":
            return _secs(ts_ns - self.first)
        if m == "e":
            return _secs(ts_ns)
        if m == "d":
            return _secs(ts_ns - (self.prev if self.prev is not None else ts_ns))
        if m == "dd":
            out = _secs(ts_ns - (self.prev_shown if self.prev_shown is not None else ts_ns))
            self.prev_shown = ts_ns
            return out
        sec, ns = divmod(ts_ns, 1_000_000_000)
        try:
            tm = _time.gmtime(sec) if m in ("u", "ud") else _time.localtime(sec)
            fmt = "%Y-%m-%d %H:%M:%S" if m in ("ad", "ud") else "%H:%M:%S"
            return "%s.%06d" % (_time.strftime(fmt, tm), ns // 1000)
        except (OverflowError, OSError, ValueError):
            # past what the C library's time_t/struct tm holds (an extreme
            # pcapng if_tsresol, a timestamp far past 2262): the calendar
            # by arithmetic, as tshark prints it (year 33658 and beyond)
            return _far_time(sec, ns, m)


def _far_time(sec: int, ns: int, mode: str) -> str:
    if mode not in ("u", "ud"):
        try:
            sec += _time.localtime().tm_gmtoff      # today's offset: no zone rules that far
        except (AttributeError, OverflowError, OSError):
            pass
    days, rem = divmod(sec, 86400)
    # days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    mo = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (mo <= 2)
    clock = "%02d:%02d:%02d.%06d" % (rem // 3600, rem // 60 % 60, rem % 60, ns // 1000)
    return f"{y:04d}-{mo:02d}-{d:02d} {clock}" if mode in ("ad", "ud") else clock


def _secs(ns: int) -> str:
    if ns < 0:
        s, frac = divmod(-ns, 1_000_000_000)
        return "-%d.%06d" % (s, frac // 1000)
    s, frac = divmod(ns, 1_000_000_000)
    return "%d.%06d" % (s, frac // 1000)


class SummaryPrinter:
    """Makes the one-line summary of an SCTP packet.

    Hot path (``read`` on big files): the common case -- relative time, at
    least one chunk, no checksum mark, no notes -- is one ``%`` format; the
    ``src:port -> dst:port vtag=...`` text is cached per association
    direction (bounded) since a capture repeats a few of them; chunk
    summaries come from the dissector's table without a wrapper call.  Every
    other case takes the general path; both give the same text.
    """

    _HEAD_MAX = 4096

    def __init__(self, time_mode: str = "r"):
        self.time = TimeFormatter(time_mode)
        self.chunk_summary = _load_chunk_summary()
        self._heads: dict = {}
        self._table = None
        if self.chunk_summary is not _fallback_chunk_summary:
            try:
                from ..decode.sctp.chunks import CHUNK_TYPES, _UNKNOWN, chunk_summary
                if self.chunk_summary is chunk_summary:
                    self._table = (CHUNK_TYPES, _UNKNOWN, chunk_summary)
            except ImportError:   # pragma: no cover
                pass

    def seen(self, pkt) -> None:
        """Every frame read goes through here (for relative and delta times)."""
        t = self.time
        ts = pkt.record.ts_ns
        if t.first is None:
            t.first = ts

    def after(self, pkt) -> None:
        """After a frame was handled (shown or not): it becomes the delta base."""
        self.time.prev = pkt.record.ts_ns

    def line(self, pkt) -> str:
        """The summary line, non-printable characters escaped (output/escape.py)."""
        return printable(self._line_fast(pkt))

    def _line_fast(self, pkt) -> str:
        chunks = pkt.chunks
        if chunks and pkt.notes == [] and pkt.sctp_offset >= 0:
            st = pkt.checksum_status
            if st == "good" or st == "unverified":
                tm = self.time
                if tm.mode == "r":
                    rec = pkt.record
                    ns = rec.ts_ns - tm.first
                    if ns >= 0:
                        key = (pkt.src, pkt.sport, pkt.dst, pkt.dport, pkt.vtag, pkt.encap)
                        head = self._heads.get(key)
                        if head is None:
                            head = self._head(key)
                        s, frac = divmod(ns, 1_000_000_000)
                        if len(chunks) == 1:
                            return "%5d %4d.%06d %s %s" % (rec.number, s, frac // 1000, head,
                                                           self._one(chunks[0]))
                        parts = [head]
                        self._chunks(chunks, parts)
                        return "%5d %4d.%06d %s" % (rec.number, s, frac // 1000, " ".join(parts))
        return self._line(pkt)

    def _head(self, key) -> str:
        src, sport, dst, dport, vtag, encap = key
        head = f"{endpoint(src, sport)} -> {endpoint(dst, dport)} vtag=0x{vtag:08x}"
        if encap:
            head += f" [over {encap.upper()}]"
        heads = self._heads
        if len(heads) >= self._HEAD_MAX:
            heads.clear()
        heads[key] = head
        return head

    def _one(self, c) -> str:
        """chunk_summary(c), without the wrapper call when the table is known."""
        table = self._table
        if table is None or self.chunk_summary is not table[2]:   # replaced by a caller
            return self.chunk_summary(c)
        spec = table[0].get(c.type)
        if spec is None:
            spec = table[1]
        try:
            return spec.summary(c)
        except Exception:  # as chunk_summary: summaries of malformed chunks must not raise
            return "%s(malformed)" % spec.name

    def _line(self, pkt) -> str:
        """The general path (every case)."""
        rec = pkt.record
        t = self.time.format(rec.ts_ns)
        if pkt.sctp_offset < 0:
            return self._icmp_line(pkt, t)
        chunks = pkt.chunks
        if chunks or pkt.sctp.get("sctp.verification_tag") is not None:
            vtag = f"vtag=0x{pkt.vtag:08x}"
        else:                       # header truncated before the tag: do not invent one
            vtag = "vtag=?"
        parts = [f"{rec.number:5d} {t:>11} {endpoint(pkt.src, pkt.sport)} -> "
                 f"{endpoint(pkt.dst, pkt.dport)} {vtag}"]
        if pkt.encap:
            parts.append(f"[over {pkt.encap.upper()}]")
        st = pkt.checksum_status
        if st is not None and st != "good" and st != "unverified":
            if st == "bad":
                exp = pkt.checksum_expected
                parts.append(f"[CRC bad, expected 0x{exp:08x}]" if exp is not None else "[CRC bad]")
            elif st == "zero":
                parts.append(_ZERO_MARK)
            elif st == "adler32":
                parts.append(_ADLER_MARK)
            else:
                parts.append(f"[checksum {st}]")
        self._chunks(chunks, parts)
        if pkt.notes:
            self._notes(pkt.notes, parts)
        return " ".join(parts)

    def _chunks(self, chunks, parts) -> None:
        if not chunks:
            parts.append("(no chunks)")
            return
        summ = self._one
        prev = None
        run = 0
        for c in chunks:
            s = summ(c)
            if s == prev:
                run += 1
                continue
            if prev is not None:
                parts.append(prev if run == 1 else f"{prev} x{run}")
            prev, run = s, 1
        parts.append(prev if run == 1 else f"{prev} x{run}")

    @staticmethod
    def _notes(notes, parts) -> None:
        shown = 0
        hidden = 0
        for n in notes:
            if n.key in _SKIP_NOTE_KEYS:
                continue
            if shown < _MAX_NOTES:
                parts.append(f"[{n.severity}: {n.message}]")
                shown += 1
            else:
                hidden += 1
        if hidden:
            parts.append(f"[+{hidden} more notes]")

    def _icmp_line(self, pkt, t: str) -> str:
        """An ICMP error quoting an SCTP header (no outer SCTP)."""
        icmp = pkt.icmp
        head = f"{pkt.record.number:5d} {t:>11}"
        if icmp is None:
            return f"{head} (no SCTP)"
        kind = "ICMPv6" if icmp.name == "icmpv6" else "ICMP"
        if pkt.src:
            kind += " error from " + (f"[{pkt.src}]" if ":" in pkt.src else pkt.src)
        else:
            kind += " error"
        quoted = icmp.find("sctp")
        if quoted is None:
            return f"{head} {kind}"
        src = icmp.find("ip.src") or icmp.find("ipv6.src")
        dst = icmp.find("ip.dst") or icmp.find("ipv6.dst")
        sport = quoted.get("sctp.srcport", 0)
        dport = quoted.get("sctp.dstport", 0)
        vtag = quoted.get("sctp.verification_tag")
        vtag_text = f"vtag=0x{vtag:08x}" if vtag is not None else "vtag=?"
        return (f"{head} {kind} quoting SCTP {endpoint(src.value if src else None, sport)} -> "
                f"{endpoint(dst.value if dst else None, dport)} {vtag_text}")


def summary_counts(frames: int, sctp: int, icmp: int = 0, shown: int | None = None) -> str:
    """The final stderr line: ``1894 frames, 23 SCTP``."""
    s = f"{frames} frames, {sctp} SCTP"
    if icmp:
        s += f", {icmp} ICMP quoting SCTP"
    if shown is not None and shown != sctp + icmp:
        s += f", {shown} shown"
    return s
