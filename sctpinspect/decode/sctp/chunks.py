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
                      _set_show)

_DATA = struct.Struct("!IHHI")
_IDATA = struct.Struct("!IHHII")
_INIT = struct.Struct("!IIHHI")
_SACK = struct.Struct("!IIHH")
_NRSACK = struct.Struct("!IIHHHH")
_GAP = struct.Struct("!HH")
_PKTDROP = struct.Struct("!IIHH")
_BAD = "sctp.chunk_length.bad"
_SEGMENT = ("middle", "last", "first", "complete")   # index = flags & 3 (B=2, E=1)


def _tsn_field(c):
    return "sctp.data_tsn_raw"


# --- DATA / I-DATA ----------------------------------------------------------

def decode_data(c, ch, off, end):
    buf = c.buf
    tsn, sid, ssn, ppid = _DATA.unpack_from(buf, off)
    kids = ch.children
    kids.append(Field("sctp.data_tsn_raw", tsn, off, 4))
    kids.append(Field("sctp.data_sid", sid, off + 4, 2))
    kids.append(Field("sctp.data_ssn", ssn, off + 6, 2))
    kids.append(Field("sctp.data_payload_proto_id", ppid, off + 8, 4))
    n = end - off - 12
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


_DATA_QUICK = {"sctp.data_tsn_raw": 0, "sctp.data_sid": 1, "sctp.data_ssn": 2,
               "sctp.data_payload_proto_id": 3}


def fast_data(c, ch, off, end):
    """DATA with user data: decode_data adds no note (see ChunkType.fast)."""
    if end - off <= 12:
        return None
    return _DATA_QUICK, _DATA.unpack_from(c.buf, off)


def summary_data(ch):
    q = ch._quick
    if q is not None:           # lazy chunk: the values without four get() calls
        tsn, sid, ssn, ppid = q[1]
    else:
        tsn, sid, ssn = ch.get("sctp.data_tsn_raw"), ch.get("sctp.data_sid"), ch.get("sctp.data_ssn")
        ppid = ch.get("sctp.data_payload_proto_id")
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


def decode_idata(c, ch, off, end):
    buf = c.buf
    tsn, sid, res, mid, x = _IDATA.unpack_from(buf, off)
    kids = ch.children
    f = ch.flags
    kids.append(Field("sctp.data_tsn_raw", tsn, off, 4))
    kids.append(Field("sctp.data_sid", sid, off + 4, 2))
    kids.append(Field("sctp.data_reserved", res, off + 6, 2))
    kids.append(Field("sctp.data_mid", mid, off + 8, 4))
    first = f & 2
    # RFC 8260 2.1: the last word is the PPID on the first fragment, else the FSN.
    kids.append(Field("sctp.data_payload_proto_id" if first else "sctp.data_fsn", x, off + 12, 4))
    n = end - off - 16
    if n > 0:
        kids.append(Field("sctpinspect.payload", buf[off + 16:end], off + 16, n))
    elif not c.quiet:
        c.note(ERROR, "Protocol", "I-DATA chunk without user data", ch.offset, 4, "RFC 8260 2.1",
               "sctpinspect.data_no_user_data")
    ch.show = "I_DATA chunk (%s, %s segment, TSN: %d, SID: %d, MID: %d, %spayload length: %s)" % (
        "unordered" if f & 4 else "ordered", _SEGMENT[f & 3], tsn, sid, mid,
        "" if first else "FSN: %d, " % x, plural(n))


_IDATA_QUICK_B = {"sctp.data_tsn_raw": 0, "sctp.data_sid": 1, "sctp.data_reserved": 2,
                  "sctp.data_mid": 3, "sctp.data_payload_proto_id": 4,   # first fragment: PPID
                  "sctp.data_fsn": -1}
_IDATA_QUICK = {"sctp.data_tsn_raw": 0, "sctp.data_sid": 1, "sctp.data_reserved": 2,
                "sctp.data_mid": 3, "sctp.data_fsn": 4, "sctp.data_payload_proto_id": -1}


def fast_idata(c, ch, off, end):
    """I-DATA with user data: decode_idata adds no note."""
    if end - off <= 16:
        return None
    return (_IDATA_QUICK_B if ch.flags & 2 else _IDATA_QUICK), _IDATA.unpack_from(c.buf, off)


def summary_idata(ch):
    f = ch.flags
    fsn = ch.get("sctp.data_fsn")
    return "I_DATA(tsn=%s sid=%s mid=%s %s len=%d%s)" % (
        ch.get("sctp.data_tsn_raw"), ch.get("sctp.data_sid"), ch.get("sctp.data_mid"),
        "fsn=%d" % fsn if fsn is not None else "ppid=%s" % _ppid(ch.get("sctp.data_payload_proto_id")),
        max(ch.clen - 20, 0), " " + ("U" if f & 4 else "") + ("B" if f & 2 else "") + ("E" if f & 1 else "")
        if f & 7 != 3 else "")


# --- INIT / INIT ACK ---------------------------------------------------------

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
        ch.show = "%s chunk (Outbound streams: %d, inbound streams: %d)" % (label, os_, mis)
        return used
    return decode


decode_init = _decode_init("sctp.init", "INIT")
decode_init_ack = _decode_init("sctp.initack", "INIT_ACK")


def _summary_init(prefix, label):
    def summary(ch):
        itag = ch.get(prefix + "_initiate_tag")
        return "%s(itag=%s os=%s mis=%s tsn=%s a_rwnd=%s%s)" % (
            label, "0x%08x" % itag if itag is not None else "?", ch.get(prefix + "_nr_out_streams"),
            ch.get(prefix + "_nr_in_streams"), ch.get(prefix + "_initial_tsn"), ch.get(prefix + "_credit"),
            _param_list(ch))
    return summary


def _param_list(ch):
    names = []
    for f in ch.children:
        if f.name == "sctp.parameter":
            t = f.value
            if t == 5:
                names.append(str(f.get("sctp.parameter_ipv4_address")))
            elif t == 6:
                names.append(str(f.get("sctp.parameter_ipv6_address")))
            else:
                spec = _params.PARAMETER_TYPES.get(t)
                names.append(spec.name.replace(" ", "-").lower() if spec else "0x%04x" % t)
    return " params=" + ",".join(names) if names else ""


summary_init = _summary_init("sctp.init", "INIT")
summary_init_ack = _summary_init("sctp.initack", "INIT_ACK")


# --- SACK / NR-SACK ----------------------------------------------------------

def _gap_blocks(c, ch, off, n, cum, prefix, label, end):
    buf = c.buf
    kids = ch.children
    total = 0
    last_end = 0
    o = off
    for i in range(n):
        if o + 4 > end:
            if not c.quiet:
                c.note(ERROR, "Malformed", "%s announces %d gap blocks but the chunk ends after %d" % (label, n, i),
                       o, end - o, "RFC 9260 3.3.4", _BAD)
            return o, total, False
        s, e = _GAP.unpack_from(buf, o)
        st, et = (cum + s) & 0xFFFFFFFF, (cum + e) & 0xFFFFFFFF
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


def _dups(c, ch, o, n, name, end):
    buf = c.buf
    kids = ch.children
    for i in range(n):
        if o + 4 > end:
            if not c.quiet:
                c.note(ERROR, "Malformed", "SACK announces %d duplicate TSNs but the chunk ends after %d" % (n, i),
                       o, end - o, "RFC 9260 3.3.4", _BAD)
            return o
        kids.append(Field(name, U32.unpack_from(buf, o)[0], o, 4))
        o += 4
    return o


def decode_sack(c, ch, off, end):
    buf = c.buf
    cum, rwnd, ngaps, ndups = _SACK.unpack_from(buf, off)
    kids = ch.children
    kids.append(Field("sctp.sack_cumulative_tsn_ack_raw", cum, off, 4))
    kids.append(Field("sctp.sack_a_rwnd", rwnd, off + 4, 4))
    if rwnd == 0:
        c.note(NOTE, "Sequence", "Zero Advertised Receiver Window Credit", off + 4, 4, "RFC 9260 6.2",
               "sctp.sack_a_rwnd.expert")
    kids.append(Field("sctp.sack_number_of_gap_blocks", ngaps, off + 8, 2))
    kids.append(Field("sctp.sack_number_of_duplicated_tsns", ndups, off + 10, 2))
    o, total, ok = _gap_blocks(c, ch, off + 12, ngaps, cum, "sctp.sack_", "SACK", end)
    if ngaps:
        kids.append(Field("sctp.sack_number_of_tsns_gap_acked", total, off + 12, 0))
        if total > 100:
            c.note(WARN, "Sequence", "More than 100 TSNs were gap-acknowledged in this SACK.", off + 12, 0,
                   "RFC 9260 3.3.4", "sctp.sack_number_of_tsns_gap_acked.100")
    if ok:
        o = _dups(c, ch, o, ndups, "sctp.sack_duplicate_tsn", end)
    if ok and o < end and not c.quiet:
        c.note(WARN, "Malformed", "SACK chunk has %s after its gap blocks and duplicate TSNs" % plural(end - o),
               o, end - o, "RFC 9260 3.3.4", _BAD)
    ch.show = (_show_sack, cum, rwnd, ngaps, ndups)


def _show_sack(ch, t):
    return "SACK chunk (Cumulative TSN: %d, a_rwnd: %d, gaps: %d, duplicate TSNs: %d)" % t[1:]


_SACK_QUICK = {"sctp.sack_cumulative_tsn_ack_raw": 0, "sctp.sack_a_rwnd": 1,
               "sctp.sack_number_of_gap_blocks": 2, "sctp.sack_number_of_duplicated_tsns": 3}


def fast_sack(c, ch, off, end):
    """A SACK without gap blocks and duplicate TSNs, exactly 16 bytes, with a
    non-zero a_rwnd: decode_sack adds no note."""
    v = _SACK.unpack_from(c.buf, off)
    if v[2] or v[3] or v[1] == 0 or end - off != 12:
        return None
    return _SACK_QUICK, v


def summary_sack(ch):
    # A lazy (unbuilt) SACK has no gap blocks, see fast_sack: no need to build it.
    if ch._build is not None:   # _quick holds (cum, a_rwnd, gaps, dups), see _SACK_QUICK
        return "SACK(cum=%s a_rwnd=%s gaps=%s dups=%s)" % ch._quick[1]
    return "SACK(cum=%s a_rwnd=%s gaps=%s dups=%s)" % (
        ch.get("sctp.sack_cumulative_tsn_ack_raw"), ch.get("sctp.sack_a_rwnd"),
        (ch._build is None and _gap_text(ch, "sctp.sack_gap_block"))
        or ch.get("sctp.sack_number_of_gap_blocks"),
        ch.get("sctp.sack_number_of_duplicated_tsns"))


def _gap_text(ch, name):
    out = []
    for g in ch.children:
        if g.name == name:
            out.append("%s-%s" % (g.children[0].value, g.children[1].value))
    return ",".join(out)


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
    o, total, ok = _gap_blocks(c, ch, off + 16, ngaps, cum, "sctp.nr_sack_", "NR-SACK", end)
    if ngaps:
        kids.append(Field("sctp.nr_sack_number_of_tsns_gap_acked", total, off + 16, 0))
        if total > 100:
            c.note(WARN, "Sequence", "More than 100 TSNs were gap-acknowledged in this NR-SACK.", off + 16, 0,
                   "NR-SACK", "sctp.nr_sack_number_of_tsns_gap_acked.100")
    if ok:
        start = o
        o, total, ok = _gap_blocks(c, ch, o, nnr, cum, "sctp.nr_sack_nr_", "NR-SACK", end)
        if nnr:
            kids.append(Field("sctp.nr_sack_number_of_tsns_nr_gap_acked", total, start, 0))
            if total > 100:
                c.note(WARN, "Sequence", "More than 100 TSNs were nr-gap-acknowledged in this NR-SACK.", start, 0,
                       "NR-SACK", "sctp.nr_sack_number_of_tsns_nr_gap_acked.100")
    if ok:
        _dups(c, ch, o, ndups, "sctp.nr_sack_duplicate_tsn", end)
    ch.show = "NR_SACK chunk (Cumulative TSN: %d, a_rwnd: %d, gaps: %d, nr-gaps: %d, duplicate TSNs: %d)" % (
        cum, rwnd, ngaps, nnr, ndups)


def summary_nr_sack(ch):
    return "NR_SACK(cum=%s a_rwnd=%s gaps=%s nr_gaps=%s dups=%s)" % (
        ch.get("sctp.nr_sack_cumulative_tsn_ack"), ch.get("sctp.nr_sack_a_rwnd"),
        _gap_text(ch, "sctp.nr_sack_gap_block") or ch.get("sctp.nr_sack_number_of_gap_blocks"),
        _gap_text(ch, "sctp.nr_sack_nr_gap_block") or ch.get("sctp.nr_sack_number_of_nr_gap_blocks"),
        ch.get("sctp.nr_sack_number_of_duplicated_tsns"))


# --- chunks made of parameters / causes / opaque bytes -----------------------

def decode_heartbeat(c, ch, off, end):
    used = _params.dissect_params(c, ch, off, end, ch.offset + ch.length)
    ch.show = "%s chunk (Information: %s)" % (CHUNK_NAMES[ch.type], plural(end - off))
    return used


def fast_heartbeat(c, ch, off, end):
    """One Heartbeat Info parameter filling the chunk, a multiple of 4 bytes
    (so no parameter padding): dissect_params adds no note."""
    ptype, plen = _params.HDR.unpack_from(c.buf, off)
    if ptype != 1 or plen != end - off or plen & 3 or plen < _params.PARAMETER_TYPES[1].min_len:
        return None
    return _NO_QUICK, ()


_NO_QUICK: dict = {}


def summary_heartbeat(ch):
    return "%s(info=%d)" % (CHUNK_NAMES[ch.type], max(ch.clen - 4, 0))


def decode_abort(c, ch, off, end):
    used = _causes.dissect_causes(c, ch, off, end, ch.offset + ch.length)
    ch.show = "%s chunk" % CHUNK_NAMES[ch.type]
    return used


def _cause_list(ch):
    return ",".join(CAUSE_NAMES.get(f.value, str(f.value)) for f in ch.children if f.name == "sctp.cause")


def summary_abort(ch):
    causes = _cause_list(ch)
    return "ABORT(T=%d%s)" % (ch.flags & 1, " causes=" + causes if causes else "")


def summary_error(ch):
    return "ERROR(causes=%s)" % _cause_list(ch)


def decode_shutdown(c, ch, off, end):
    v = U32.unpack_from(c.buf, off)[0]
    ch.children.append(Field("sctp.shutdown_cumulative_tsn_ack", v, off, 4))
    ch.show = "SHUTDOWN chunk (Cumulative TSN ack: %d)" % v


def summary_shutdown(ch):
    return "SHUTDOWN(cum=%s)" % ch.get("sctp.shutdown_cumulative_tsn_ack")


def decode_empty(c, ch, off, end):
    if end > off:
        ch.children.append(Field("sctp.chunk_value", c.buf[off:end], off, end - off))
        if not c.quiet:
            c.note(WARN, "Malformed", "%s chunk carries %s of unexpected value" % (CHUNK_NAMES[ch.type], plural(end - off)),
                   off, end - off, "RFC 9260 3.3", _BAD)
    ch.show = "%s chunk" % CHUNK_NAMES[ch.type]


def summary_plain(ch):
    return CHUNK_NAMES.get(ch.type, str(ch.type))


def summary_t_bit(ch):
    return "%s(T=%d)" % (CHUNK_NAMES[ch.type], ch.flags & 1)


def decode_cookie_echo(c, ch, off, end):
    ch.children.append(Field("sctp.cookie", c.buf[off:end], off, end - off))
    ch.show = "COOKIE_ECHO chunk (Cookie length: %s)" % plural(end - off)


def summary_cookie_echo(ch):
    return "COOKIE_ECHO(len=%d)" % max(ch.clen - 4, 0)


def _decode_lowest_tsn(name, label):
    def decode(c, ch, off, end):
        v = U32.unpack_from(c.buf, off)[0]
        ch.children.append(Field(name, v, off, 4))
        ch.show = "%s chunk (Lowest TSN: %d)" % (label, v)
    return decode


decode_ecne = _decode_lowest_tsn("sctp.ecne_lowest_tsn", "ECNE")
decode_cwr = _decode_lowest_tsn("sctp.cwr_lowest_tsn", "CWR")


def summary_ecne(ch):
    return "ECNE(tsn=%s)" % ch.get("sctp.ecne_lowest_tsn")


def summary_cwr(ch):
    return "CWR(tsn=%s)" % ch.get("sctp.cwr_lowest_tsn")


def decode_auth(c, ch, off, end):
    buf = c.buf
    key, hmac = U16.unpack_from(buf, off)[0], U16.unpack_from(buf, off + 2)[0]
    ch.children.append(Field("sctp.shared_key_id", key, off, 2))
    ch.children.append(Field("sctp.hmac_id", hmac, off + 2, 2))
    ch.children.append(Field("sctp.hmac", buf[off + 4:end], off + 4, end - off - 4))
    ch.show = "AUTH chunk (Shared key: %d, HMAC: %s)" % (key, HMAC_IDS.get(hmac, str(hmac)))


def summary_auth(ch):
    h = ch.get("sctp.hmac_id")
    return "AUTH(key=%s hmac=%s)" % (ch.get("sctp.shared_key_id"), HMAC_IDS.get(h, h))


def decode_asconf_ack(c, ch, off, end):
    seq = U32.unpack_from(c.buf, off)[0]
    ch.children.append(Field("sctp.asconf_ack_seq_nr_number", seq, off, 4))
    used = _params.dissect_params(c, ch, off + 4, end, ch.offset + ch.length)
    ch.show = "ASCONF_ACK chunk (Serial number: %d)" % seq
    return used


def summary_asconf_ack(ch):
    return "ASCONF_ACK(seq=%s%s)" % (ch.get("sctp.asconf_ack_seq_nr_number"), _param_list(ch))


def decode_asconf(c, ch, off, end):
    seq = U32.unpack_from(c.buf, off)[0]
    ch.children.append(Field("sctp.asconf_seq_nr_number", seq, off, 4))
    used = _params.dissect_params(c, ch, off + 4, end, ch.offset + ch.length)
    ch.show = "ASCONF chunk (Serial number: %d)" % seq
    return used


def summary_asconf(ch):
    return "ASCONF(seq=%s%s)" % (ch.get("sctp.asconf_seq_nr_number"), _param_list(ch))


def decode_pktdrop(c, ch, off, end):
    buf = c.buf
    bw, qs, tl, res = _PKTDROP.unpack_from(buf, off)
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
                inner = _dissect(c, o, end, ch.children, embedded=True)
            finally:
                c.depth -= 1
        else:
            kids.append(Field("sctp.pktdrop_datafield", buf[o:end], o, end - o))
    ch.show = "PKTDROP chunk (Dropped packet: %s)" % plural(end - o)


def summary_pktdrop(ch):
    return "PKTDROP(bw=%s qs=%s len=%d)" % (ch.get("sctp.pktdrop_bandwidth"), ch.get("sctp.pktdrop_queuesize"),
                                           max(ch.clen - 16, 0))


def decode_reconfig(c, ch, off, end):
    used = _params.dissect_params(c, ch, off, end, ch.offset + ch.length)
    ch.show = "RE_CONFIG chunk"
    return used


def summary_reconfig(ch):
    return "RE_CONFIG(%s)" % _param_list(ch).replace(" params=", "")


def decode_pad(c, ch, off, end):
    ch.children.append(Field("sctp.padding_data", c.buf[off:end], off, end - off))
    ch.show = "PAD chunk (Padding data length: %s)" % plural(end - off)


def summary_pad(ch):
    return "PAD(len=%d)" % max(ch.clen - 4, 0)


def decode_forward_tsn(c, ch, off, end):
    buf = c.buf
    tsn = U32.unpack_from(buf, off)[0]
    kids = ch.children
    kids.append(Field("sctp.forward_tsn_tsn", tsn, off, 4))
    o = off + 4
    while o + 4 <= end:
        kids.append(Field("sctp.forward_tsn_sid", U16.unpack_from(buf, o)[0], o, 2))
        kids.append(Field("sctp.forward_tsn_ssn", U16.unpack_from(buf, o + 2)[0], o + 2, 2))
        o += 4
    if o < end and not c.quiet:
        c.note(ERROR, "Malformed", "FORWARD_TSN chunk ends with a partial stream entry (%s)" % plural(end - o),
               o, end - o, "RFC 3758 3.2", _BAD)
    ch.show = "FORWARD_TSN chunk (Cumulative TSN: %d)" % tsn


def summary_forward_tsn(ch):
    return "FORWARD_TSN(tsn=%s streams=%d)" % (ch.get("sctp.forward_tsn_tsn"),
                                             sum(1 for f in ch.children if f.name == "sctp.forward_tsn_sid"))


def decode_i_forward_tsn(c, ch, off, end):
    buf = c.buf
    tsn = U32.unpack_from(buf, off)[0]
    kids = ch.children
    kids.append(Field("sctp.i_forward_tsn_tsn", tsn, off, 4))
    o = off + 4
    while o + 8 <= end:
        fl = U16.unpack_from(buf, o + 2)[0]
        kids.append(Field("sctp.i_forward_tsn_sid", U16.unpack_from(buf, o)[0], o, 2))
        kids.append(Field("sctp.i_forward_tsn_flags", fl, o + 2, 2, None, [
            Field("sctp.i_forward_tsn_res", fl >> 1, o + 2, 2),
            Field("sctp.i_forward_tsn_u_bit", bool(fl & 1), o + 2, 2)]))
        kids.append(Field("sctp.forward_tsn_mid", U32.unpack_from(buf, o + 4)[0], o + 4, 4))
        o += 8
    if o < end and not c.quiet:
        c.note(ERROR, "Malformed", "I_FORWARD_TSN chunk ends with a partial stream entry (%s)" % plural(end - o),
               o, end - o, "RFC 8260 3.3", _BAD)
    ch.show = "I_FORWARD_TSN chunk (Cumulative TSN: %d)" % tsn


def summary_i_forward_tsn(ch):
    return "I_FORWARD_TSN(tsn=%s streams=%d)" % (ch.get("sctp.i_forward_tsn_tsn"),
                                               sum(1 for f in ch.children if f.name == "sctp.i_forward_tsn_sid"))


def decode_unknown(c, ch, off, end):
    if end > off:
        ch.children.append(Field("sctp.chunk_value", c.buf[off:end], off, end - off))
    ch.show = "%s chunk (Type: %d, value length: %s)" % (
        CHUNK_NAMES.get(ch.type, "Unknown"), ch.type, plural(end - off))


def summary_unknown(ch):
    return "%s(type=%d len=%d)" % (CHUNK_NAMES.get(ch.type, "UNKNOWN"), ch.type, max(ch.clen - 4, 0))


_DATA_FLAGS = (("sctp.data_i_bit", 8, True), ("sctp.data_u_bit", 4, True),
               ("sctp.data_b_bit", 2, True), ("sctp.data_e_bit", 1, True))

CHUNK_TYPES = {
    0: ChunkType("DATA", decode_data, summary_data, 16, "RFC 9260 3.3.1", _DATA_FLAGS, fast=fast_data),
    1: ChunkType("INIT", decode_init, summary_init, 20, "RFC 9260 3.3.2", (), True),
    2: ChunkType("INIT_ACK", decode_init_ack, summary_init_ack, 20, "RFC 9260 3.3.3", (), True),
    3: ChunkType("SACK", decode_sack, summary_sack, 16, "RFC 9260 3.3.4", (("sctp.sack_nounce_sum", 1, False),),
                 fast=fast_sack),
    4: ChunkType("HEARTBEAT", decode_heartbeat, summary_heartbeat, 8, "RFC 9260 3.3.5", fast=fast_heartbeat),
    5: ChunkType("HEARTBEAT_ACK", decode_heartbeat, summary_heartbeat, 8, "RFC 9260 3.3.6", fast=fast_heartbeat),
    6: ChunkType("ABORT", decode_abort, summary_abort, 4, "RFC 9260 3.3.7", (("sctp.abort_t_bit", 1, True),)),
    7: ChunkType("SHUTDOWN", decode_shutdown, summary_shutdown, 8, "RFC 9260 3.3.8"),
    8: ChunkType("SHUTDOWN_ACK", decode_empty, summary_plain, 4, "RFC 9260 3.3.9"),
    9: ChunkType("ERROR", decode_abort, summary_error, 4, "RFC 9260 3.3.10"),
    10: ChunkType("COOKIE_ECHO", decode_cookie_echo, summary_cookie_echo, 4, "RFC 9260 3.3.11"),
    11: ChunkType("COOKIE_ACK", decode_empty, summary_plain, 4, "RFC 9260 3.3.12"),
    12: ChunkType("ECNE", decode_ecne, summary_ecne, 8, "RFC 9260 Appendix A"),
    13: ChunkType("CWR", decode_cwr, summary_cwr, 8, "RFC 9260 Appendix A"),
    14: ChunkType("SHUTDOWN_COMPLETE", decode_empty, summary_t_bit, 4, "RFC 9260 3.3.13",
                  (("sctp.shutdown_complete_t_bit", 1, True),), True),
    15: ChunkType("AUTH", decode_auth, summary_auth, 8, "RFC 4895 4.2"),
    16: ChunkType("NR_SACK", decode_nr_sack, summary_nr_sack, 20, "draft-tuexen-tsvwg-sctp-multipath 4.1",
                  (("sctp.nr_sack_nounce_sum", 1, False),)),
    64: ChunkType("I_DATA", decode_idata, summary_idata, 20, "RFC 8260 2.1", _DATA_FLAGS, fast=fast_idata),
    0x80: ChunkType("ASCONF_ACK", decode_asconf_ack, summary_asconf_ack, 8, "RFC 5061 3.1.2"),
    0x81: ChunkType("PKTDROP", decode_pktdrop, summary_pktdrop, 16, "draft-stewart-sctp-pktdrprep 3.1",
                    (("sctp.pckdrop_m_bit", 1, True), ("sctp.pckdrop_b_bit", 2, True),
                     ("sctp.pckdrop_t_bit", 4, True))),
    0x82: ChunkType("RE_CONFIG", decode_reconfig, summary_reconfig, 4, "RFC 6525 3.1"),
    0x84: ChunkType("PAD", decode_pad, summary_pad, 4, "RFC 4820 3"),
    0xC0: ChunkType("FORWARD_TSN", decode_forward_tsn, summary_forward_tsn, 8, "RFC 3758 3.2"),
    0xC1: ChunkType("ASCONF", decode_asconf, summary_asconf, 8, "RFC 5061 3.1.1"),
    0xC2: ChunkType("I_FORWARD_TSN", decode_i_forward_tsn, summary_i_forward_tsn, 8, "RFC 8260 3.3"),
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
    for a well-formed chunk (header fields, decoded value, padding)."""
    buf, opts, truncated, spec, off, cend, pad_end = b[2:]
    ch._quick = None
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


def _collect_chunk(ch, b, want):
    """What _build_chunk makes, as names and values (see model.LAZY_COLLECTORS),
    for the chunk types with a value collector in _VALUE_COLLECTORS (whose
    ``fast`` check passed: that is why the chunk is unbuilt); None for the
    others (the reader builds them)."""
    spec = b[5]
    t = ch.type
    vc = _VALUE_COLLECTORS.get(t)
    if vc is None or CHUNK_TYPES.get(t) is not spec:
        return None
    flags = ch.flags
    k = t << 8 | flags
    head = _HEAD_VALUES.get(k)
    if head is None:                     # as _header_fields: type, its bits, flags, flag bits
        head = _HEAD_VALUES[k] = (t, t >= 0x80, (t & 0x40) != 0, flags) + tuple(
            (flags & m != 0) if isbool else flags & m for _n, m, isbool in spec.flag_fields)
    buf, cend, pad_end = b[2], b[7], b[8]
    value_names, values = vc(ch, buf, b[6] + 4, cend)
    padded = pad_end > cend                # the collected types' decode takes no padding
    k = (id(value_names) << 1) | padded
    names = _SHAPES.get(k)
    if names is None or names[0] is not value_names:
        names = _SHAPES[k] = (value_names, ("sctp.chunk_type", "sctp.chunk_bit_1", "sctp.chunk_bit_2",
                                            "sctp.chunk_flags") + tuple(n for n, _m, _b in spec.flag_fields)
                              + ("sctp.chunk_length",) + value_names + (("sctp.chunk_padding",) if padded else ()))
    values = head + (ch.clen,) + values
    if padded:
        values += (buf[cend:pad_end],)
    return names[1], values, None


_HEAD_VALUES: dict = {}    # type << 8 | flags -> chunk header values before the length
_SHAPES: dict = {}         # id(value names) << 1 | padded -> (value names, all names)

_DATA_NAMES = ("sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_ssn", "sctp.data_payload_proto_id",
               "sctpinspect.payload")


def _collect_data(ch, buf, off, end):
    """decode_data's fields for a chunk fast_data accepted (user data present)."""
    return _DATA_NAMES, ch._quick[1] + (buf[off + 12:end],)


_IDATA_NAMES_B = ("sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_reserved", "sctp.data_mid",
                  "sctp.data_payload_proto_id", "sctpinspect.payload")
_IDATA_NAMES = _IDATA_NAMES_B[:4] + ("sctp.data_fsn", "sctpinspect.payload")


def _collect_idata(ch, buf, off, end):
    """decode_idata's fields for a chunk fast_idata accepted (user data present);
    the last word is the PPID on a first fragment, else the FSN."""
    return (_IDATA_NAMES_B if ch.flags & 2 else _IDATA_NAMES), ch._quick[1] + (buf[off + 16:end],)


_SACK_NAMES = ("sctp.sack_cumulative_tsn_ack_raw", "sctp.sack_a_rwnd", "sctp.sack_number_of_gap_blocks",
               "sctp.sack_number_of_duplicated_tsns")


def _collect_sack(ch, buf, off, end):
    """decode_sack's fields for a SACK fast_sack accepted (no gap blocks, no
    duplicate TSNs, nothing after them)."""
    return _SACK_NAMES, ch._quick[1]


# chunk type -> value collector, for chunks whose ``fast`` check passed
_VALUE_COLLECTORS = {0: _collect_data, 64: _collect_idata, 3: _collect_sack}
LAZY_COLLECTORS[_build_chunk] = _collect_chunk


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
            ch = Chunk(ctype, flags, clen, off, pad_end - off)
            q = spec.fast(c, ch, off + 4, cend)
            if q is not None:
                ch._quick = q
                ch._build = (None, _build_chunk, buf, c.opts, c.truncated, spec, off, cend, pad_end)
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
        ch = Chunk(ctype, flags, clen, off, clen)
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
