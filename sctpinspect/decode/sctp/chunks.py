"""SCTP chunks (RFC 9260 3.3 and extensions): CHUNK_TYPES, the chunk walker
:func:`dissect_chunks` and :func:`chunk_summary`.

Adding a chunk type: write ``decode_x(c, ch, off, end)`` (value bytes are
``c.buf[off:end]``, append fields to ``ch.children``, set ``ch.show``) and a
``summary_x(ch) -> str``, then add one CHUNK_TYPES row.
"""
from __future__ import annotations

import struct

from . import causes as _causes
from . import params as _params
from ._base import (CHAT, ERROR, NOTE, WARN, ChunkType, Field, CHUNK_HDR, SilentCtx, U16,
                    U32, U32x2, plural)
from .names import CAUSE_NAMES, CHUNK_ACTIONS, CHUNK_NAMES, HMAC_IDS, PPIDS
from ...model import (LAZY_COLLECTORS, Chunk, _get_children, _get_show, _set_children,  # noqa: F811
                      _set_show, apply_annotations)

_DATA = struct.Struct("!IHHI")
_IDATA = struct.Struct("!IHHII")
_INIT = struct.Struct("!IIHHI")
_SACK = struct.Struct("!IIHH")
_NRSACK = struct.Struct("!IIHHHH")
_GAP = struct.Struct("!HH")
_PKTDROP = struct.Struct("!IIHH")
_BAD = "sctp.chunk_length.bad"
_SEGMENT = ("middle", "last", "first", "complete")   # index = flags & 3 (B=2, E=1)


# --- DATA / I-DATA ----------------------------------------------------------
# v: (tsn, sid, ssn, ppid, user data length)

_DATA_NAMES = ("sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_ssn", "sctp.data_payload_proto_id",
               None)


def decode_data(c, ch, off, end):
    buf = c.buf
    tsn, sid, ssn, ppid = _DATA.unpack_from(buf, off)
    n = end - off - 12
    ch.v = (tsn, sid, ssn, ppid, n if n > 0 else 0)
    kids = ch.children
    if ch.rel is not None:      # tshark's relative TSN, beside the absolute one
        kids.append(Field("sctp.data_tsn", (tsn - ch.rel) & 0xFFFFFFFF, off, 4))
    kids.append(Field("sctp.data_tsn_raw", tsn, off, 4))
    kids.append(Field("sctp.data_sid", sid, off + 4, 2))
    kids.append(Field("sctp.data_ssn", ssn, off + 6, 2))
    kids.append(Field("sctp.data_payload_proto_id", ppid, off + 8, 4))
    if n > 0:
        kids.append(Field("sctpinspect.payload", buf[off + 12:end], off + 12, n))
    elif not c.quiet:
        c.note(ERROR, "Protocol", "DATA chunk without user data (the receiver answers with ABORT, No User Data)",
               ch.offset, 4, "RFC 9260 6.2", "sctpinspect.data_no_user_data")
    # Deferred show text (see LazyField): formatted only if a tree shows it.
    ch.show = (_show_data, tsn, sid, ssn, ppid, n)


def _show_data(ch, t):
    f = ch.flags
    return "DATA chunk (%s, %s segment, TSN: %d, SID: %d, SSN: %d, PPID: %d, payload length: %s)" % (
        "unordered" if f & 4 else "ordered", _SEGMENT[f & 3], t[1], t[2], t[3], t[4], plural(t[5]))


def fast_data(buf, off, end, flags):
    """DATA with user data: decode_data adds no note (see ChunkType.fast)."""
    if end - off <= 12:
        return None
    return _DATA.unpack_from(buf, off) + (end - off - 12,)


def summary_data(ch):
    v = ch.v
    if v is not None:
        tsn, sid, ssn, ppid, _n = v
    else:
        tsn = sid = ssn = ppid = None
    n = ch.clen - 16
    p = _PPID_TEXT.get(ppid)
    return _DATA_SUMMARY[ch.flags & 15] % (tsn, sid, ssn, p if p is not None else _ppid(ppid),
                                           n if n > 0 else 0)


def _data_summary_format(f):
    if f & 15 == 3:
        flags = ""
    else:
        flags = " " + ("U" if f & 4 else "") + ("B" if f & 2 else "") + ("E" if f & 1 else "") + ("I" if f & 8 else "")
    return "DATA(tsn=%s sid=%s ssn=%s ppid=%s len=%d" + flags + ")"


# summary_data's format for each value of the flag bits (U, B, E, I): the
# summary line is the hot path of ``read``.
_DATA_SUMMARY = tuple(_data_summary_format(f) for f in range(16))


def _ppid(p):
    if p is None:
        return "?"
    n = PPIDS.get(p)
    return "%d(%s)" % (p, n) if n and p else str(p)


_PPID_TEXT = {p: _ppid(p) for p in PPIDS}


def _collect_data(ch, buf, off, end):
    """decode_data's fields for a chunk fast_data accepted (user data present)."""
    return _DATA_VALUE_NAMES, ch.v[:4] + (buf[off + 12:end],)


_DATA_VALUE_NAMES = _DATA_NAMES[:4] + ("sctpinspect.payload",)

# I-DATA v: (tsn, sid, reserved, mid, ppid, fsn, user data length); RFC 8260
# 2.1: the last word is the PPID on the first fragment (B bit), else the FSN,
# so one of ppid/fsn is None.
_IDATA_NAMES = ("sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_reserved", "sctp.data_mid",
                "sctp.data_payload_proto_id", "sctp.data_fsn", None)


def _idata_v(buf, off, end, flags):
    tsn, sid, res, mid, x = _IDATA.unpack_from(buf, off)
    n = end - off - 16
    if flags & 2:
        return (tsn, sid, res, mid, x, None, n if n > 0 else 0)
    return (tsn, sid, res, mid, None, x, n if n > 0 else 0)


def decode_idata(c, ch, off, end):
    buf = c.buf
    ch.v = v = _idata_v(buf, off, end, ch.flags)
    tsn, sid, res, mid, ppid, fsn, _n = v
    kids = ch.children
    f = ch.flags
    if ch.rel is not None:
        kids.append(Field("sctp.data_tsn", (tsn - ch.rel) & 0xFFFFFFFF, off, 4))
    kids.append(Field("sctp.data_tsn_raw", tsn, off, 4))
    kids.append(Field("sctp.data_sid", sid, off + 4, 2))
    kids.append(Field("sctp.data_reserved", res, off + 6, 2))
    kids.append(Field("sctp.data_mid", mid, off + 8, 4))
    first = f & 2
    kids.append(Field("sctp.data_payload_proto_id" if first else "sctp.data_fsn",
                      ppid if first else fsn, off + 12, 4))
    n = end - off - 16
    if n > 0:
        kids.append(Field("sctpinspect.payload", buf[off + 16:end], off + 16, n))
    elif not c.quiet:
        c.note(ERROR, "Protocol", "I-DATA chunk without user data", ch.offset, 4, "RFC 8260 2.1",
               "sctpinspect.data_no_user_data")
    ch.show = "I_DATA chunk (%s, %s segment, TSN: %d, SID: %d, MID: %d, %spayload length: %s)" % (
        "unordered" if f & 4 else "ordered", _SEGMENT[f & 3], tsn, sid, mid,
        "" if first else "FSN: %d, " % fsn, plural(n))


def fast_idata(buf, off, end, flags):
    """I-DATA with user data: decode_idata adds no note."""
    if end - off <= 16:
        return None
    return _idata_v(buf, off, end, flags)


def summary_idata(ch):
    f = ch.flags
    v = ch.v or (None,) * 7
    fsn = v[5]
    return "I_DATA(tsn=%s sid=%s mid=%s %s len=%d%s)" % (
        v[0], v[1], v[3], "fsn=%d" % fsn if fsn is not None else "ppid=%s" % _ppid(v[4]),
        max(ch.clen - 20, 0), " " + ("U" if f & 4 else "") + ("B" if f & 2 else "") + ("E" if f & 1 else "")
        if f & 7 != 3 else "")


_IDATA_VALUE_NAMES_B = _IDATA_NAMES[:5] + ("sctpinspect.payload",)
_IDATA_VALUE_NAMES = _IDATA_NAMES[:4] + ("sctp.data_fsn", "sctpinspect.payload")


def _collect_idata(ch, buf, off, end):
    """decode_idata's fields for a chunk fast_idata accepted (user data present)."""
    v = ch.v
    if ch.flags & 2:
        return _IDATA_VALUE_NAMES_B, v[:5] + (buf[off + 16:end],)
    return _IDATA_VALUE_NAMES, v[:4] + (v[5], buf[off + 16:end])


# --- INIT / INIT ACK ---------------------------------------------------------
# v: (initiate tag, a_rwnd, outbound streams, inbound streams, initial TSN,
#     parameters as (type, value) pairs: see params.compact_params)

def _decode_init(prefix, label):
    def decode(c, ch, off, end):
        buf = c.buf
        itag, cred, os_, mis, tsn = _INIT.unpack_from(buf, off)
        kids = ch.children
        kids.append(Field(prefix + "_initiate_tag", itag, off, 4))
        kids.append(Field("sctp.initiate_tag", itag, off, 4))      # hidden in Wireshark
        kids.append(Field(prefix + "_credit", cred, off + 4, 4))
        kids.append(Field(prefix + "_nr_out_streams", os_, off + 8, 2))
        kids.append(Field(prefix + "_nr_in_streams", mis, off + 10, 2))
        kids.append(Field(prefix + "_initial_tsn", tsn, off + 12, 4))
        if not c.quiet:
            if itag == 0:
                c.note(ERROR, "Protocol", "%s with Initiate Tag 0 (the receiver MUST treat it as an error and "
                       "close the association with ABORT)" % label, off, 4, "RFC 9260 3.3.2",
                       "sctpinspect.init_tag_zero")
            if os_ == 0 or mis == 0:
                c.note(ERROR, "Protocol", "%s with zero %s streams (MUST be answered by ABORT)"
                       % (label, "outbound" if os_ == 0 else "inbound"), off + 8, 4, "RFC 9260 3.3.2",
                       "sctpinspect.init_zero_streams")
        used = _params.dissect_params(c, ch, off + 16, end, ch.offset + ch.length)
        ch.v = (itag, cred, os_, mis, tsn, _params.compact_params(ch))
        ch.show = "%s chunk (Outbound streams: %d, inbound streams: %d)" % (label, os_, mis)
        return used
    return decode


decode_init = _decode_init("sctp.init", "INIT")
decode_init_ack = _decode_init("sctp.initack", "INIT_ACK")


def _init_names(prefix):
    return (prefix + "_initiate_tag", prefix + "_credit", prefix + "_nr_out_streams",
            prefix + "_nr_in_streams", prefix + "_initial_tsn", None)


def summary_init(ch, label=None):
    v = ch.v
    label = label or CHUNK_NAMES.get(ch.type, "INIT")
    if v is None:
        return "%s(itag=? os=None mis=None tsn=None a_rwnd=None)" % label
    itag, cred, os_, mis, tsn, params = v
    return "%s(itag=0x%08x os=%s mis=%s tsn=%s a_rwnd=%s%s)" % (
        label, itag, os_, mis, tsn, cred, _param_list(params))


def _param_list(params):
    names = []
    for t, value in params:
        if t == 5 or t == 6:
            names.append(str(value))
        else:
            spec = _params.PARAMETER_TYPES.get(t)
            names.append(spec.name.replace(" ", "-").lower() if spec else "0x%04x" % t)
    return " params=" + ",".join(names) if names else ""


# --- SACK / NR-SACK ----------------------------------------------------------
# SACK v: (cumulative TSN ack, a_rwnd, number of gap blocks, number of duplicate
#          TSNs, gap blocks as (start, end) offsets, duplicate TSNs)

def _gap_blocks(c, ch, off, n, cum, prefix, label, end, gaps):
    buf = c.buf
    kids = ch.children
    total = 0
    last_end = 0
    o = off
    rel = ch.rel
    base = cum if rel is None else (cum - rel) & 0xFFFFFFFF   # gap TSNs as the tree shows them
    for i in range(n):
        if o + 4 > end:
            if not c.quiet:
                c.note(ERROR, "Malformed", "%s announces %d gap blocks but the chunk ends after %d" % (label, n, i),
                       o, end - o, "RFC 9260 3.3.4", _BAD)
            return o, total, False
        s, e = _GAP.unpack_from(buf, o)
        gaps.append((s, e))
        st, et = (base + s) & 0xFFFFFFFF, (base + e) & 0xFFFFFFFF
        g = Field(prefix + "gap_block", i, o, 4, "%sGap Acknowledgement for TSN %d to %d" % (
            "NR-" if "nr_gap" in prefix else "", st, et), [
            Field(prefix + "gap_block_start", s, o, 2, None, [Field(prefix + "gap_block_start_tsn", st, o, 2)]),
            Field(prefix + "gap_block_end", e, o + 2, 2, None, [Field(prefix + "gap_block_end_tsn", et, o + 2, 2)])])
        kids.append(g)
        if s > e:
            c.note(ERROR, "Protocol", "Malformed gap block (start %d > end %d)" % (s, e), o, 4,
                   "RFC 9260 3.3.4", "sctp.sack_gap_block_malformed")
        elif s <= last_end and i:
            c.note(WARN, "Protocol", "Gap blocks not in strict order.", o, 4, "RFC 9260 3.3.4",
                   "sctp.sack_gap_block_out_of_order")
        if s == 0 and not c.quiet:
            c.note(ERROR, "Protocol", "Gap block starts at offset 0 (the cumulative TSN itself)", o, 2,
                   "RFC 9260 3.3.4", "sctpinspect.sack_gap_block_zero")
        total = (total + e - s + 1) & 0xFFFFFFFF
        last_end = e
        o += 4
    return o, total, True


def _dups(c, ch, o, n, name, end, dups):
    buf = c.buf
    kids = ch.children
    for i in range(n):
        if o + 4 > end:
            if not c.quiet:
                c.note(ERROR, "Malformed", "SACK announces %d duplicate TSNs but the chunk ends after %d" % (n, i),
                       o, end - o, "RFC 9260 3.3.4", _BAD)
            return o
        d = U32.unpack_from(buf, o)[0]
        dups.append(d)
        kids.append(Field(name, d, o, 4))
        o += 4
    return o


def decode_sack(c, ch, off, end):
    buf = c.buf
    cum, rwnd, ngaps, ndups = _SACK.unpack_from(buf, off)
    kids = ch.children
    if ch.rel is not None:
        kids.append(Field("sctp.sack_cumulative_tsn_ack", (cum - ch.rel) & 0xFFFFFFFF, off, 4))
    kids.append(Field("sctp.sack_cumulative_tsn_ack_raw", cum, off, 4))
    kids.append(Field("sctp.sack_a_rwnd", rwnd, off + 4, 4))
    if rwnd == 0:
        c.note(NOTE, "Sequence", "Zero Advertised Receiver Window Credit", off + 4, 4, "RFC 9260 6.2",
               "sctp.sack_a_rwnd.expert")
    kids.append(Field("sctp.sack_number_of_gap_blocks", ngaps, off + 8, 2))
    kids.append(Field("sctp.sack_number_of_duplicated_tsns", ndups, off + 10, 2))
    gaps: list = []
    dups: list = []
    o, total, ok = _gap_blocks(c, ch, off + 12, ngaps, cum, "sctp.sack_", "SACK", end, gaps)
    if ngaps:
        kids.append(Field("sctp.sack_number_of_tsns_gap_acked", total, off + 12, 0))
        if total > 100:
            c.note(WARN, "Sequence", "More than 100 TSNs were gap-acknowledged in this SACK.", off + 12, 0,
                   "RFC 9260 3.3.4", "sctp.sack_number_of_tsns_gap_acked.100")
    if ok:
        o = _dups(c, ch, o, ndups, "sctp.sack_duplicate_tsn", end, dups)
    if ok and o < end and not c.quiet:
        c.note(WARN, "Malformed", "SACK chunk has %s after its gap blocks and duplicate TSNs" % plural(end - o),
               o, end - o, "RFC 9260 3.3.4", _BAD)
    ch.v = (cum, rwnd, ngaps, ndups, tuple(gaps), tuple(dups))
    ch.show = (_show_sack, cum, rwnd, ngaps, ndups)


def _show_sack(ch, t):
    return "SACK chunk (Cumulative TSN: %d, a_rwnd: %d, gaps: %d, duplicate TSNs: %d)" % t[1:]


_SACK_NAMES = ("sctp.sack_cumulative_tsn_ack_raw", "sctp.sack_a_rwnd", "sctp.sack_number_of_gap_blocks",
               "sctp.sack_number_of_duplicated_tsns", None, None)
_NO_GAPS = ()


def fast_sack(buf, off, end, flags):
    """A SACK that decode_sack adds no note to: a non-zero a_rwnd, gap blocks
    well formed and in strict order, at most 100 TSNs gap-acked, and nothing
    after the duplicate TSNs (the chunk is exactly as long as its lists)."""
    cum, rwnd, ngaps, ndups = _SACK.unpack_from(buf, off)
    if rwnd == 0 or end - off != 12 + 4 * (ngaps + ndups):
        return None
    if ngaps:
        gaps = []
        last = 0
        total = 0
        o = off + 12
        for _ in range(ngaps):
            s, e = _GAP.unpack_from(buf, o)
            if s == 0 or s > e or s <= last:
                return None
            total += e - s + 1
            last = e
            gaps.append((s, e))
            o += 4
        if total > 100:
            return None
        gaps = tuple(gaps)
    else:
        gaps = _NO_GAPS
        o = off + 12
    dups = _NO_GAPS if not ndups else struct.unpack_from("!%dI" % ndups, buf, o)
    return (cum, rwnd, ngaps, ndups, gaps, dups)


def summary_sack(ch):
    v = ch.v
    if v is None:
        return "SACK(cum=None a_rwnd=None gaps=None dups=None)"
    cum, rwnd, ngaps, ndups, gaps, _d = v
    return "SACK(cum=%d a_rwnd=%d gaps=%s dups=%d)" % (
        cum, rwnd, ",".join(["%d-%d" % g for g in gaps]) if gaps else ngaps, ndups)


_GAP_NAMES = ("sctp.sack_gap_block", "sctp.sack_gap_block_start", "sctp.sack_gap_block_start_tsn",
              "sctp.sack_gap_block_end", "sctp.sack_gap_block_end_tsn")
_GAP_SHAPES: dict = {}      # (gap blocks, dups) -> value names of such a SACK, in tree order


def _collect_sack(ch, buf, off, end):
    """decode_sack's fields for a SACK fast_sack accepted, in tree order: the
    four fixed fields, each gap block's five, the gap-acked count, the
    duplicate TSNs."""
    cum, rwnd, ngaps, ndups, gaps, dups = ch.v
    if not ngaps and not ndups:
        return _SACK_NAMES[:4], (cum, rwnd, ngaps, ndups)
    key = (ngaps, ndups)
    names = _GAP_SHAPES.get(key)
    if names is None:
        names = _SACK_NAMES[:4] + _GAP_NAMES * ngaps + (
            ("sctp.sack_number_of_tsns_gap_acked",) if ngaps else ()) + ("sctp.sack_duplicate_tsn",) * ndups
        if len(_GAP_SHAPES) < 256:
            _GAP_SHAPES[key] = names
    values = [cum, rwnd, ngaps, ndups]
    total = 0
    for i, (s, e) in enumerate(gaps):
        values += (i, s, (cum + s) & 0xFFFFFFFF, e, (cum + e) & 0xFFFFFFFF)
        total += e - s + 1
    if ngaps:
        values.append(total)
    values += dups
    return names, values


def decode_nr_sack(c, ch, off, end):
    buf = c.buf
    cum, rwnd, ngaps, nnr, ndups, res = _NRSACK.unpack_from(buf, off)
    kids = ch.children
    kids.append(Field("sctp.nr_sack_cumulative_tsn_ack", cum, off, 4))
    kids.append(Field("sctp.nr_sack_a_rwnd", rwnd, off + 4, 4))
    if rwnd == 0:
        c.note(NOTE, "Sequence", "Zero Advertised Receiver Window Credit", off + 4, 4, "RFC 9260 6.2",
               "sctp.sack_a_rwnd.expert")
    kids.append(Field("sctp.nr_sack_number_of_gap_blocks", ngaps, off + 8, 2))
    kids.append(Field("sctp.nr_sack_number_of_nr_gap_blocks", nnr, off + 10, 2))
    kids.append(Field("sctp.nr_sack_number_of_duplicated_tsns", ndups, off + 12, 2))
    kids.append(Field("sctp.nr_sack_reserved", res, off + 14, 2))
    gaps: list = []
    nrgaps: list = []
    dups: list = []
    o, total, ok = _gap_blocks(c, ch, off + 16, ngaps, cum, "sctp.nr_sack_", "NR-SACK", end, gaps)
    if ngaps:
        kids.append(Field("sctp.nr_sack_number_of_tsns_gap_acked", total, off + 16, 0))
        if total > 100:
            c.note(WARN, "Sequence", "More than 100 TSNs were gap-acknowledged in this NR-SACK.", off + 16, 0,
                   "NR-SACK", "sctp.nr_sack_number_of_tsns_gap_acked.100")
    if ok:
        start = o
        o, total, ok = _gap_blocks(c, ch, o, nnr, cum, "sctp.nr_sack_nr_", "NR-SACK", end, nrgaps)
        if nnr:
            kids.append(Field("sctp.nr_sack_number_of_tsns_nr_gap_acked", total, start, 0))
            if total > 100:
                c.note(WARN, "Sequence", "More than 100 TSNs were nr-gap-acknowledged in this NR-SACK.", start, 0,
                       "NR-SACK", "sctp.nr_sack_number_of_tsns_nr_gap_acked.100")
    if ok:
        _dups(c, ch, o, ndups, "sctp.nr_sack_duplicate_tsn", end, dups)
    ch.v = (cum, rwnd, ngaps, nnr, ndups, tuple(gaps), tuple(nrgaps), tuple(dups))
    ch.show = "NR_SACK chunk (Cumulative TSN: %d, a_rwnd: %d, gaps: %d, nr-gaps: %d, duplicate TSNs: %d)" % (
        cum, rwnd, ngaps, nnr, ndups)


_NR_SACK_NAMES = ("sctp.nr_sack_cumulative_tsn_ack", "sctp.nr_sack_a_rwnd", "sctp.nr_sack_number_of_gap_blocks",
                  "sctp.nr_sack_number_of_nr_gap_blocks", "sctp.nr_sack_number_of_duplicated_tsns",
                  None, None, None)


def summary_nr_sack(ch):
    v = ch.v
    if v is None:
        return "NR_SACK(cum=None a_rwnd=None gaps=None nr_gaps=None dups=None)"
    cum, rwnd, ngaps, nnr, ndups, gaps, nrgaps, _d = v
    return "NR_SACK(cum=%s a_rwnd=%s gaps=%s nr_gaps=%s dups=%s)" % (
        cum, rwnd, ",".join(["%d-%d" % g for g in gaps]) if gaps else ngaps,
        ",".join(["%d-%d" % g for g in nrgaps]) if nrgaps else nnr, ndups)


# --- chunks made of parameters / causes / opaque bytes -----------------------

def decode_heartbeat(c, ch, off, end):
    used = _params.dissect_params(c, ch, off, end, ch.offset + ch.length)
    ch.v = (_hb_info(ch),)
    ch.show = "%s chunk (Information: %s)" % (CHUNK_NAMES[ch.type], plural(end - off))
    return used


def _hb_info(ch):
    """The Heartbeat Information bytes of a decoded HEARTBEAT (ACK)."""
    for p in ch.children:
        if p.name == "sctp.parameter" and p.value == 1:
            return p.get("sctp.parameter_heartbeat_information", b"")
    return None


def fast_heartbeat(buf, off, end, flags):
    """One Heartbeat Info parameter filling the chunk, a multiple of 4 bytes
    (so no parameter padding): dissect_params adds no note.  v: (info,)"""
    ptype, plen = _params.HDR.unpack_from(buf, off)
    if ptype != 1 or plen != end - off or plen & 3 or plen < _params.PARAMETER_TYPES[1].min_len:
        return None
    return (buf[off + 4:end],)


_PARAM_HEAD = ("sctp.parameter", "sctp.parameter_type", "sctp.parameter_bit_1", "sctp.parameter_bit_2",
               "sctp.parameter_length", "sctp.parameter_heartbeat_information")


def _collect_heartbeat(ch, buf, off, end):
    """The Heartbeat Info parameter subtree of a chunk fast_heartbeat accepted."""
    return _PARAM_HEAD, (1, 1, False, False, end - off, ch.v[0])


def summary_heartbeat(ch):
    return "%s(info=%d)" % (CHUNK_NAMES[ch.type], max(ch.clen - 4, 0))


def decode_abort(c, ch, off, end):
    used = _causes.dissect_causes(c, ch, off, end, ch.offset + ch.length)
    ch.v = (_causes.compact_causes(ch),)
    ch.show = "%s chunk" % CHUNK_NAMES[ch.type]
    return used


def fast_abort(buf, off, end, flags):
    """An ABORT without causes.  v: (causes,)"""
    return _NO_CAUSES if end == off else None


_NO_CAUSES = ((),)


def _cause_list(ch):
    v = ch.v
    return ",".join(CAUSE_NAMES.get(code, str(code)) for code, _i, _t in v[0]) if v else ""


def summary_abort(ch):
    causes = _cause_list(ch)
    return "ABORT(T=%d%s)" % (ch.flags & 1, " causes=" + causes if causes else "")


def summary_error(ch):
    return "ERROR(causes=%s)" % _cause_list(ch)


def decode_shutdown(c, ch, off, end):
    v = U32.unpack_from(c.buf, off)[0]
    ch.v = (v,)
    ch.children.append(Field("sctp.shutdown_cumulative_tsn_ack", v, off, 4))
    ch.show = "SHUTDOWN chunk (Cumulative TSN ack: %d)" % v


def fast_shutdown(buf, off, end, flags):
    """v: (cumulative TSN ack,)"""
    return U32.unpack_from(buf, off) if end - off == 4 else None


def _collect_values(ch, buf, off, end):
    """Chunks whose tree is exactly their compact values, named by the row."""
    return ch.row.names, ch.v


def summary_shutdown(ch):
    v = ch.v
    return "SHUTDOWN(cum=%s)" % (v[0] if v else None)


def decode_empty(c, ch, off, end):
    ch.v = ()
    if end > off:
        ch.children.append(Field("sctp.chunk_value", c.buf[off:end], off, end - off))
        if not c.quiet:
            c.note(WARN, "Malformed", "%s chunk carries %s of unexpected value" % (CHUNK_NAMES[ch.type], plural(end - off)),
                   off, end - off, "RFC 9260 3.3", _BAD)
    ch.show = "%s chunk" % CHUNK_NAMES[ch.type]


def fast_empty(buf, off, end, flags):
    """A chunk with no value (SHUTDOWN ACK, COOKIE ACK, SHUTDOWN COMPLETE)."""
    return () if end == off else None


def summary_plain(ch):
    return CHUNK_NAMES.get(ch.type, str(ch.type))


def summary_t_bit(ch):
    return "%s(T=%d)" % (CHUNK_NAMES[ch.type], ch.flags & 1)


def decode_cookie_echo(c, ch, off, end):
    cookie = c.buf[off:end]
    ch.v = (cookie,)
    ch.children.append(Field("sctp.cookie", cookie, off, end - off))
    ch.show = "COOKIE_ECHO chunk (Cookie length: %s)" % plural(end - off)


def fast_cookie_echo(buf, off, end, flags):
    """v: (State Cookie bytes,); decode_cookie_echo never notes."""
    return (buf[off:end],)


def summary_cookie_echo(ch):
    return "COOKIE_ECHO(len=%d)" % max(ch.clen - 4, 0)


def _decode_lowest_tsn(name, label):
    def decode(c, ch, off, end):
        v = U32.unpack_from(c.buf, off)[0]
        ch.v = (v,)
        ch.children.append(Field(name, v, off, 4))
        ch.show = "%s chunk (Lowest TSN: %d)" % (label, v)
    return decode


decode_ecne = _decode_lowest_tsn("sctp.ecne_lowest_tsn", "ECNE")
decode_cwr = _decode_lowest_tsn("sctp.cwr_lowest_tsn", "CWR")


def summary_ecne(ch):
    return "ECNE(tsn=%s)" % (ch.v[0] if ch.v else None)


def summary_cwr(ch):
    return "CWR(tsn=%s)" % (ch.v[0] if ch.v else None)


def decode_auth(c, ch, off, end):
    buf = c.buf
    key, hmac = U16.unpack_from(buf, off)[0], U16.unpack_from(buf, off + 2)[0]
    ch.v = (key, hmac, buf[off + 4:end])
    ch.children.append(Field("sctp.shared_key_id", key, off, 2))
    ch.children.append(Field("sctp.hmac_id", hmac, off + 2, 2))
    ch.children.append(Field("sctp.hmac", buf[off + 4:end], off + 4, end - off - 4))
    ch.show = "AUTH chunk (Shared key: %d, HMAC: %s)" % (key, HMAC_IDS.get(hmac, str(hmac)))


def summary_auth(ch):
    v = ch.v or (None, None, None)
    return "AUTH(key=%s hmac=%s)" % (v[0], HMAC_IDS.get(v[1], v[1]))


def decode_asconf_ack(c, ch, off, end):
    seq = U32.unpack_from(c.buf, off)[0]
    ch.children.append(Field("sctp.asconf_ack_seq_nr_number", seq, off, 4))
    used = _params.dissect_params(c, ch, off + 4, end, ch.offset + ch.length)
    ch.v = (seq, _params.compact_params(ch))
    ch.show = "ASCONF_ACK chunk (Serial number: %d)" % seq
    return used


def summary_asconf_ack(ch):
    v = ch.v or (None, ())
    return "ASCONF_ACK(seq=%s%s)" % (v[0], _param_list(v[1]))


def decode_asconf(c, ch, off, end):
    seq = U32.unpack_from(c.buf, off)[0]
    ch.children.append(Field("sctp.asconf_seq_nr_number", seq, off, 4))
    used = _params.dissect_params(c, ch, off + 4, end, ch.offset + ch.length)
    ch.v = (seq, _params.compact_params(ch))
    ch.show = "ASCONF chunk (Serial number: %d)" % seq
    return used


def summary_asconf(ch):
    v = ch.v or (None, ())
    return "ASCONF(seq=%s%s)" % (v[0], _param_list(v[1]))


def decode_pktdrop(c, ch, off, end):
    buf = c.buf
    bw, qs, tl, res = _PKTDROP.unpack_from(buf, off)
    ch.v = (bw, qs, tl, res)
    kids = ch.children
    kids.append(Field("sctp.pktdrop_bandwidth", bw, off, 4))
    kids.append(Field("sctp.pktdrop_queuesize", qs, off + 4, 4))
    kids.append(Field("sctp.pktdrop_truncated_length", tl, off + 8, 2))
    kids.append(Field("sctp.pktdrop_reserved", res, off + 10, 2))
    o = off + 12
    if o < end:
        if c.depth < 4 and end - o >= 12:
            from .packet import _dissect
            c.depth += 1
            try:
                _dissect(c, o, end, ch.children, embedded=True)
            finally:
                c.depth -= 1
        else:
            kids.append(Field("sctp.pktdrop_datafield", buf[o:end], o, end - o))
    ch.show = "PKTDROP chunk (Dropped packet: %s)" % plural(end - o)


def summary_pktdrop(ch):
    v = ch.v or (None, None)
    return "PKTDROP(bw=%s qs=%s len=%d)" % (v[0], v[1], max(ch.clen - 16, 0))


def decode_reconfig(c, ch, off, end):
    used = _params.dissect_params(c, ch, off, end, ch.offset + ch.length)
    ch.v = (_params.compact_params(ch),)
    ch.show = "RE_CONFIG chunk"
    return used


def summary_reconfig(ch):
    return "RE_CONFIG(%s)" % _param_list(ch.v[0] if ch.v else ()).replace(" params=", "")


def decode_pad(c, ch, off, end):
    ch.v = ()
    ch.children.append(Field("sctp.padding_data", c.buf[off:end], off, end - off))
    ch.show = "PAD chunk (Padding data length: %s)" % plural(end - off)


def summary_pad(ch):
    return "PAD(len=%d)" % max(ch.clen - 4, 0)


# FORWARD TSN v: (new cumulative TSN, ((sid, ssn), ...))
def _forward_tsn_v(buf, off, end):
    n = (end - off - 4) >> 2
    w = struct.unpack_from("!%dH" % (2 * n), buf, off + 4) if n else ()
    return (U32.unpack_from(buf, off)[0], tuple(zip(w[0::2], w[1::2])))


def decode_forward_tsn(c, ch, off, end):
    buf = c.buf
    ch.v = v = _forward_tsn_v(buf, off, end)
    kids = ch.children
    kids.append(Field("sctp.forward_tsn_tsn", v[0], off, 4))
    o = off + 4
    for sid, ssn in v[1]:
        kids.append(Field("sctp.forward_tsn_sid", sid, o, 2))
        kids.append(Field("sctp.forward_tsn_ssn", ssn, o + 2, 2))
        o += 4
    if o < end and not c.quiet:
        c.note(ERROR, "Malformed", "FORWARD_TSN chunk ends with a partial stream entry (%s)" % plural(end - o),
               o, end - o, "RFC 3758 3.2", _BAD)
    ch.show = "FORWARD_TSN chunk (Cumulative TSN: %d)" % v[0]


def fast_forward_tsn(buf, off, end, flags):
    return _forward_tsn_v(buf, off, end) if not (end - off) & 3 else None


def summary_forward_tsn(ch):
    v = ch.v or (None, ())
    return "FORWARD_TSN(tsn=%s streams=%d)" % (v[0], len(v[1]))


# I-FORWARD TSN v: (new cumulative TSN, ((sid, flags, mid), ...)); U = flags & 1
def _i_forward_tsn_v(buf, off, end):
    n = (end - off - 4) >> 3
    w = struct.unpack_from("!" + "HHI" * n, buf, off + 4) if n else ()
    return (U32.unpack_from(buf, off)[0], tuple(zip(w[0::3], w[1::3], w[2::3])))


def decode_i_forward_tsn(c, ch, off, end):
    ch.v = v = _i_forward_tsn_v(c.buf, off, end)
    kids = ch.children
    kids.append(Field("sctp.i_forward_tsn_tsn", v[0], off, 4))
    o = off + 4
    for sid, fl, mid in v[1]:
        kids.append(Field("sctp.i_forward_tsn_sid", sid, o, 2))
        kids.append(Field("sctp.i_forward_tsn_flags", fl, o + 2, 2, None, [
            Field("sctp.i_forward_tsn_res", fl >> 1, o + 2, 2),
            Field("sctp.i_forward_tsn_u_bit", bool(fl & 1), o + 2, 2)]))
        kids.append(Field("sctp.forward_tsn_mid", mid, o + 4, 4))
        o += 8
    if o < end and not c.quiet:
        c.note(ERROR, "Malformed", "I_FORWARD_TSN chunk ends with a partial stream entry (%s)" % plural(end - o),
               o, end - o, "RFC 8260 3.3", _BAD)
    ch.show = "I_FORWARD_TSN chunk (Cumulative TSN: %d)" % v[0]


def summary_i_forward_tsn(ch):
    v = ch.v or (None, ())
    return "I_FORWARD_TSN(tsn=%s streams=%d)" % (v[0], len(v[1]))


def decode_unknown(c, ch, off, end):
    ch.v = ()
    if end > off:
        ch.children.append(Field("sctp.chunk_value", c.buf[off:end], off, end - off))
    ch.show = "%s chunk (Type: %d, value length: %s)" % (
        CHUNK_NAMES.get(ch.type, "Unknown"), ch.type, plural(end - off))


def summary_unknown(ch):
    return "%s(type=%d len=%d)" % (CHUNK_NAMES.get(ch.type, "UNKNOWN"), ch.type, max(ch.clen - 4, 0))


_DATA_FLAGS = (("sctp.data_i_bit", 8, True), ("sctp.data_u_bit", 4, True),
               ("sctp.data_b_bit", 2, True), ("sctp.data_e_bit", 1, True))
_CT = ChunkType

# One row per chunk type: its name, full decode, summary, minimum length, RFC,
# flag bits, bundling rule, and where it has them the fast check, the names of
# its compact values and the -T fields collector (see _base.ChunkType).
CHUNK_TYPES = {
    0: _CT("DATA", decode_data, summary_data, 16, "RFC 9260 3.3.1", _DATA_FLAGS, fast=fast_data,
           names=_DATA_NAMES, collect=_collect_data),
    1: _CT("INIT", decode_init, summary_init, 20, "RFC 9260 3.3.2", (), True,
           names=_init_names("sctp.init"), aliases={"sctp.initiate_tag": 0}),
    2: _CT("INIT_ACK", decode_init_ack, summary_init, 20, "RFC 9260 3.3.3", (), True,
           names=_init_names("sctp.initack"), aliases={"sctp.initiate_tag": 0}),
    3: _CT("SACK", decode_sack, summary_sack, 16, "RFC 9260 3.3.4", (("sctp.sack_nounce_sum", 1, False),),
           fast=fast_sack, names=_SACK_NAMES, collect=_collect_sack),
    4: _CT("HEARTBEAT", decode_heartbeat, summary_heartbeat, 8, "RFC 9260 3.3.5", fast=fast_heartbeat,
           names=(None,), collect=_collect_heartbeat),
    5: _CT("HEARTBEAT_ACK", decode_heartbeat, summary_heartbeat, 8, "RFC 9260 3.3.6", fast=fast_heartbeat,
           names=(None,), collect=_collect_heartbeat),
    6: _CT("ABORT", decode_abort, summary_abort, 4, "RFC 9260 3.3.7", (("sctp.abort_t_bit", 1, True),),
           fast=fast_abort, names=(None,), collect=lambda ch, buf, off, end: ((), ())),
    7: _CT("SHUTDOWN", decode_shutdown, summary_shutdown, 8, "RFC 9260 3.3.8", fast=fast_shutdown,
           names=("sctp.shutdown_cumulative_tsn_ack",), collect=_collect_values),
    8: _CT("SHUTDOWN_ACK", decode_empty, summary_plain, 4, "RFC 9260 3.3.9", fast=fast_empty,
           collect=_collect_values),
    9: _CT("ERROR", decode_abort, summary_error, 4, "RFC 9260 3.3.10", names=(None,)),
    10: _CT("COOKIE_ECHO", decode_cookie_echo, summary_cookie_echo, 4, "RFC 9260 3.3.11",
            fast=fast_cookie_echo, names=("sctp.cookie",), collect=_collect_values),
    11: _CT("COOKIE_ACK", decode_empty, summary_plain, 4, "RFC 9260 3.3.12", fast=fast_empty,
            collect=_collect_values),
    12: _CT("ECNE", decode_ecne, summary_ecne, 8, "RFC 9260 Appendix A", names=("sctp.ecne_lowest_tsn",)),
    13: _CT("CWR", decode_cwr, summary_cwr, 8, "RFC 9260 Appendix A", names=("sctp.cwr_lowest_tsn",)),
    14: _CT("SHUTDOWN_COMPLETE", decode_empty, summary_t_bit, 4, "RFC 9260 3.3.13",
            (("sctp.shutdown_complete_t_bit", 1, True),), True, fast=fast_empty, collect=_collect_values),
    15: _CT("AUTH", decode_auth, summary_auth, 8, "RFC 4895 4.2",
            names=("sctp.shared_key_id", "sctp.hmac_id", "sctp.hmac")),
    16: _CT("NR_SACK", decode_nr_sack, summary_nr_sack, 20, "draft-tuexen-tsvwg-sctp-multipath 4.1",
            (("sctp.nr_sack_nounce_sum", 1, False),), names=_NR_SACK_NAMES),
    64: _CT("I_DATA", decode_idata, summary_idata, 20, "RFC 8260 2.1", _DATA_FLAGS, fast=fast_idata,
            names=_IDATA_NAMES, collect=_collect_idata),
    0x80: _CT("ASCONF_ACK", decode_asconf_ack, summary_asconf_ack, 8, "RFC 5061 3.1.2",
              names=("sctp.asconf_ack_seq_nr_number", None)),
    0x81: _CT("PKTDROP", decode_pktdrop, summary_pktdrop, 16, "draft-stewart-sctp-pktdrprep 3.1",
              (("sctp.pckdrop_m_bit", 1, True), ("sctp.pckdrop_b_bit", 2, True),
               ("sctp.pckdrop_t_bit", 4, True)),
              names=("sctp.pktdrop_bandwidth", "sctp.pktdrop_queuesize", "sctp.pktdrop_truncated_length",
                     "sctp.pktdrop_reserved")),
    0x82: _CT("RE_CONFIG", decode_reconfig, summary_reconfig, 4, "RFC 6525 3.1", names=(None,)),
    0x84: _CT("PAD", decode_pad, summary_pad, 4, "RFC 4820 3"),
    0xC0: _CT("FORWARD_TSN", decode_forward_tsn, summary_forward_tsn, 8, "RFC 3758 3.2",
              fast=fast_forward_tsn, names=("sctp.forward_tsn_tsn", None)),
    0xC1: _CT("ASCONF", decode_asconf, summary_asconf, 8, "RFC 5061 3.1.1",
              names=("sctp.asconf_seq_nr_number", None)),
    0xC2: _CT("I_FORWARD_TSN", decode_i_forward_tsn, summary_i_forward_tsn, 8, "RFC 8260 3.3",
              names=("sctp.i_forward_tsn_tsn", None)),
}
_UNKNOWN = ChunkType("UNKNOWN", decode_unknown, summary_unknown, 4, "RFC 9260 3.2")


def chunk_summary(chunk) -> str:
    """Compact one-line form of a decoded chunk: ``INIT(itag=0x1234abcd os=10 ...)``."""
    spec = CHUNK_TYPES.get(chunk.type, _UNKNOWN)
    try:
        return spec.summary(chunk)
    except Exception:  # summaries of malformed chunks must not raise
        return "%s(malformed)" % spec.name


def _header_fields(ctype, flags, clen, off, spec):
    """The chunk header subtree: type (+ its two action bits), flags (+ the
    type's flag bits), length."""
    ff = Field("sctp.chunk_flags", flags, off + 1, 1)
    if spec is not None and spec.flag_fields:
        ff.children = [Field(n, (flags & m != 0) if b else flags & m, off + 1, 1)
                       for n, m, b in spec.flag_fields]
    return [
        Field("sctp.chunk_type", ctype, off, 1, None, [
            Field("sctp.chunk_bit_1", ctype >= 0x80, off, 1),
            Field("sctp.chunk_bit_2", (ctype & 0x40) != 0, off, 1)]),
        ff,
        Field("sctp.chunk_length", clen, off + 2, 2)]


def _build_chunk(ch, b):
    """LazyField builder of a chunk: what the eager path of dissect_chunks makes
    for a well-formed chunk (header fields, decoded value, padding), then the
    analysis' generated fields (``ch.ann``).  ``b`` is ``(None, _build_chunk,
    frame bytes, decode options, truncated)``, one tuple for every chunk of a
    packet: the chunk's own offsets say where it is."""
    buf, opts, truncated = b[2], b[3], b[4]
    spec = ch.row
    off = ch.offset
    cend = off + ch.clen
    pad_end = off + ch.length
    kids = _header_fields(ch.type, ch.flags, ch.clen, off, spec)
    _set_children(ch, kids)
    p0 = cend
    try:
        used = spec.decode(SilentCtx(None, buf, opts, False, 0, truncated), ch, off + 4, cend)
        if used is not None and used > p0:
            p0 = used
    except Exception:  # cannot happen for what ``fast`` accepted; never raise anyway
        if _get_show(ch) is None:
            _set_show(ch, "%s chunk" % spec.name)
    if pad_end > p0:
        kids.append(Field("sctp.chunk_padding", buf[p0:pad_end], p0, pad_end - p0))
    if ch.ann:
        apply_annotations(ch)


def _collect_chunk(ch, b, want):
    """What _build_chunk makes, as names and values (see model.LAZY_COLLECTORS),
    for the chunk types whose row has a ``collect``; None for the others, and
    for chunks carrying analysis fields or relative TSNs (the reader builds
    them)."""
    spec = ch.row
    vc = spec.collect
    if vc is None or ch.ann or ch.rel is not None:
        return None
    t = ch.type
    flags = ch.flags
    k = t << 8 | flags
    head = _HEAD_VALUES.get(k)
    if head is None:                     # as _header_fields: type, its bits, flags, flag bits
        head = _HEAD_VALUES[k] = (t, t >= 0x80, (t & 0x40) != 0, flags) + tuple(
            (flags & m != 0) if isbool else flags & m for _n, m, isbool in spec.flag_fields)
    buf = b[2]
    off = ch.offset
    cend = off + ch.clen
    pad_end = off + ch.length
    value_names, values = vc(ch, buf, off + 4, cend)
    padded = pad_end > cend                # the collected types' decode takes no padding
    k = (t, id(value_names), padded)
    names = _SHAPES.get(k)
    if names is None or names[0] is not value_names:
        names = (value_names, ("sctp.chunk_type", "sctp.chunk_bit_1", "sctp.chunk_bit_2",
                               "sctp.chunk_flags") + tuple(n for n, _m, _b in spec.flag_fields)
                 + ("sctp.chunk_length",) + tuple(value_names)
                 + (("sctp.chunk_padding",) if padded else ()))
        if len(_SHAPES) < 1024:          # value names are module constants, or cached shapes
            _SHAPES[k] = names
    values = head + (ch.clen,) + tuple(values)
    if padded:
        values += (buf[cend:pad_end],)
    return names[1], values, None


_HEAD_VALUES: dict = {}    # type << 8 | flags -> chunk header values before the length
_SHAPES: dict = {}         # (type, id(value names), padded) -> (value names, all names)
LAZY_COLLECTORS[_build_chunk] = _collect_chunk


def set_relative(ch, base: int) -> None:
    """Show tshark's relative TSNs in chunk ``ch`` (DATA, I-DATA: TSN - base;
    SACK: cumulative TSN ack and gap block TSNs - base): on an unbuilt chunk
    the decode adds them when the tree is built, on a built one they are
    added now."""
    if ch._build is not None:
        ch.rel = base
        return
    t = ch.type
    ch.rel = base
    kids = ch.children
    if t == 0 or t == 64:
        for i, f in enumerate(kids):
            if f.name == "sctp.data_tsn_raw":
                kids.insert(i, Field("sctp.data_tsn", (f.value - base) & 0xFFFFFFFF, f.offset, f.length))
                return
    elif t == 3:
        for i, f in enumerate(kids):
            if f.name == "sctp.sack_cumulative_tsn_ack_raw":
                kids.insert(i, Field("sctp.sack_cumulative_tsn_ack", (f.value - base) & 0xFFFFFFFF,
                                     f.offset, f.length))
                break
        for f in ch.walk():
            if f.name in ("sctp.sack_gap_block_start_tsn", "sctp.sack_gap_block_end_tsn"):
                f.value = (f.value - base) & 0xFFFFFFFF


def dissect_chunks(c, parent, off, end, out, nested=False):
    """Decode the chunks in ``buf[off:end]`` as Chunk children of ``parent``;
    append each to ``out`` (the packet's chunk list) when not None.

    ``nested`` is for a chunk quoted inside an error cause (often truncated on
    purpose): no bundling rules, no notes about its length.  Never raises.
    """
    buf = c.buf
    # The raw slot: a lazy sctp layer keeps its header fields unbuilt, and the
    # chunks go after them when they are built.
    kids = _get_children(parent)
    if kids is None:
        kids = parent.children = []
    quiet = c.quiet or nested
    outer = out is not None and not quiet and c.depth == 0
    first = True
    stopped_by = None
    count = 0
    build = None            # the build tuple the lazy chunks share
    while off < end:
        rem = end - off
        if rem < 4:
            if not quiet:
                c.note(ERROR, "Malformed", "%s after the last chunk: too short for a chunk header (4 bytes)"
                       % plural(rem), off, rem, "RFC 9260 3.2", _BAD)
            kids.append(Field("sctpinspect.chunk_truncated", buf[off:end], off, rem))
            break
        ctype, flags, clen = CHUNK_HDR.unpack_from(buf, off)
        spec = CHUNK_TYPES.get(ctype)
        if (outer and stopped_by is None and spec is not None and spec.fast is not None
                and spec.min_len <= clen <= rem):
            # Hot path: a common chunk, whole in the capture.  Same checks as
            # below, in the same order, for a chunk that ``fast`` finds clean.
            cend = off + clen
            pad = (-clen) & 3
            pad_end = cend + pad
            if pad_end > end:
                pad_end = end
            q = spec.fast(buf, off + 4, cend, flags)
            if q is not None:
                ch = Chunk(ctype, flags, clen, off, pad_end - off, None, spec, q)
                if build is None:
                    build = (None, _build_chunk, buf, c.opts, c.truncated)
                ch._build = build
                kids.append(ch)
                out.append(ch)
                count += 1
                if pad_end > cend and buf[cend:pad_end].count(0) != pad_end - cend:
                    c.note(WARN, "Malformed", "Chunk padding is not all zero bytes", cend, pad_end - cend,
                           "RFC 9260 3.2", "sctpinspect.chunk_padding_nonzero")
                if cend + pad > end and not c.truncated:
                    c.note(WARN, "Malformed", "Chunk padding missing at the end of the packet (%s expected)"
                           % plural(pad), cend, 0, "RFC 9260 3.2", "sctpinspect.chunk_padding_missing")
                if not first:
                    if spec.alone:
                        c.note(ERROR, "Protocol", "%s chunk bundled with other chunks (it MUST be the only "
                               "chunk in its packet)" % spec.name, off, 1, "RFC 9260 6.10", "sctpinspect.bundling")
                    elif out[0].type in (1, 2, 14) and len(out) == 2:
                        c.note(ERROR, "Protocol", "%s chunk bundled with other chunks (it MUST be the only "
                               "chunk in its packet)" % CHUNK_NAMES[out[0].type], out[0].offset, 1,
                               "RFC 9260 6.10", "sctpinspect.bundling")
                first = False
                off = pad_end
                continue
        # General path: every other chunk gets its fields now.
        ch = Chunk(ctype, flags, clen, off, clen, None, spec if spec is not None else _UNKNOWN)
        _set_children(ch, _header_fields(ctype, flags, clen, off, spec))
        kids.append(ch)
        if out is not None:
            out.append(ch)
        count += 1
        if stopped_by is not None and not quiet:
            c.note(WARN, "Protocol", "Chunk follows an unrecognized chunk (type %d) whose type bits say to stop "
                   "processing: a receiver discards it" % stopped_by, off, 1, "RFC 9260 3.2",
                   "sctpinspect.chunk_after_stop")
        name = spec.name if spec is not None else CHUNK_NAMES.get(ctype, "Unknown")
        if clen < 4:
            c.note(ERROR, "Malformed", "Bogus chunk length %d < 4" % clen, off + 2, 2, "RFC 9260 3.2", _BAD)
            ch.length = rem
            ch.show = "%s chunk (bogus length %d)" % (name, clen)
            if rem > 4:
                ch.children.append(Field("sctp.chunk_value", buf[off + 4:end], off + 4, rem - 4))
            break
        cend = off + clen
        clipped = clen > rem
        if clipped:
            if not quiet:
                if c.truncated:
                    c.note(WARN, "Malformed", "Capture ends inside the chunk (chunk length %d, %d captured)"
                           % (clen, rem), off + 2, 2, "RFC 9260 3.2", _BAD)
                else:
                    c.note(ERROR, "Malformed", "Chunk length (%d) is longer than remaining data (%d)" % (clen, rem),
                           off + 2, 2, "RFC 9260 3.2", _BAD)
            cend = end
            ch.length = rem
        pad = (-clen) & 3
        pad_end = cend if clipped else min(cend + pad, end)
        ch.length = pad_end - off
        if spec is None:
            spec = _UNKNOWN
            action, what = CHUNK_ACTIONS[ctype >> 6]
            if not nested and ctype != 0xFF:
                c.note(NOTE if ctype & 0x40 else CHAT, "Protocol",
                       "Unknown chunk type %d: its upper bits tell the receiver to %s" % (ctype, what),
                       off, 1, "RFC 9260 3.2", "sctpinspect.chunk_unknown")
            if action == "stop" and stopped_by is None:
                stopped_by = ctype
        p0 = cend
        if cend - off < spec.min_len:
            if not quiet or (nested and clipped is False):
                c.note(ERROR, "Malformed", "%s chunk length (%d) is shorter than its minimum (%d)"
                       % (name, cend - off, spec.min_len), off + 2, 2, spec.rfc, _BAD)
            if cend > off + 4:
                ch.children.append(Field("sctp.chunk_value", buf[off + 4:cend], off + 4, cend - off - 4))
            ch.show = "%s chunk (too short)" % name
        else:
            try:
                used = spec.decode(c, ch, off + 4, cend)
                if used is not None and used > p0:
                    p0 = used
            except Exception as exc:  # a decoder bug must not kill decoding
                c.note(ERROR, "Malformed", "%s chunk could not be decoded: %s" % (name, exc),
                       off, cend - off, spec.rfc, "sctpinspect.decode_error")
                if ch.show is None:
                    ch.show = "%s chunk" % name
        # padding (what the chunk's last parameter did not already take)
        if pad_end > p0:
            pb = buf[p0:pad_end]
            ch.children.append(Field("sctp.chunk_padding", pb, p0, pad_end - p0))
            if pb.count(0) != pad_end - p0 and not quiet:
                c.note(WARN, "Malformed", "Chunk padding is not all zero bytes", p0, pad_end - p0,
                       "RFC 9260 3.2", "sctpinspect.chunk_padding_nonzero")
        if not clipped and cend + pad > end and not quiet and not c.truncated:
            c.note(WARN, "Malformed", "Chunk padding missing at the end of the packet (%s expected)" % plural(pad),
                   cend, 0, "RFC 9260 3.2", "sctpinspect.chunk_padding_missing")
        if spec.alone and not nested and out is not None and not first:
            c.note(ERROR, "Protocol", "%s chunk bundled with other chunks (it MUST be the only chunk in its packet)"
                   % name, off, 1, "RFC 9260 6.10", "sctpinspect.bundling")
        elif not first and not nested and out is not None and out[0].type in (1, 2, 14) and len(out) == 2:
            c.note(ERROR, "Protocol", "%s chunk bundled with other chunks (it MUST be the only chunk in its packet)"
                   % CHUNK_NAMES[out[0].type], out[0].offset, 1, "RFC 9260 6.10", "sctpinspect.bundling")
        first = False
        if clipped:
            break
        off = pad_end if pad_end > cend else cend
    return count
