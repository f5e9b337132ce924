"""Error causes (RFC 9260 3.3.10 and extensions), carried by ABORT, ERROR and
the ASCONF Error Cause Indication parameter: CAUSES + :func:`dissect_causes`.

Adding a cause: write ``decode_x(c, cause, off, end)`` and add a CAUSES row.
"""
from __future__ import annotations

from . import chunks as _chunks
from . import params as _params
from ._base import ERROR, WARN, Field, CauseType, HDR, U16, U32, plural
from .names import CAUSE_NAMES, CHUNK_NAMES

_BAD = "sctp.parameter_length.bad"


def _info(c, f, off, end):
    if end > off:
        f.children.append(Field("sctp.cause_information", c.buf[off:end], off, end - off))


def decode_invalid_stream(c, f, off, end):
    sid = U16.unpack_from(c.buf, off)[0]
    f.children.append(Field("sctp.cause_stream_identifier", sid, off, 2))
    f.children.append(Field("sctp.cause_reserved", U16.unpack_from(c.buf, off + 2)[0], off + 2, 2))
    return "(SID: %d)" % sid


def decode_missing_param(c, f, off, end):
    buf = c.buf
    n = U32.unpack_from(buf, off)[0]
    f.children.append(Field("sctp.cause_nr_of_missing_parameters", n, off, 4))
    o = off + 4
    i = 0
    while i < n and o + 2 <= end:
        f.children.append(Field("sctp.cause_missing_parameter_type", U16.unpack_from(buf, o)[0], o, 2))
        o += 2
        i += 1
    if i < n and not c.quiet:
        c.note(ERROR, "Malformed", "Missing mandatory parameter cause lists %d parameter types but has room for %d"
               % (n, i), off, 4, "RFC 9260 3.3.10.2", _BAD)
    return None


def decode_stale_cookie(c, f, off, end):
    v = U32.unpack_from(c.buf, off)[0]
    f.children.append(Field("sctp.cause_measure_of_staleness", v, off, 4))
    return "(Measure: %d usec)" % v


def decode_nothing(c, f, off, end):
    _info(c, f, off, end)
    return None


def _decode_address(c, f, off, end, label):
    _params.dissect_params(c, f, off, end)
    addrs = [p.get("sctp.parameter_ipv4_address") or p.get("sctp.parameter_ipv6_address")
             or p.get("sctp.parameter_hostname") for p in f.children if p.name == "sctp.parameter"]
    addrs = [a for a in addrs if a]
    return "(%s: %s)" % (label, ", ".join(addrs)) if addrs else None


def decode_unresolvable(c, f, off, end):
    return _decode_address(c, f, off, end, "Address")


def decode_new_addresses(c, f, off, end):
    return _decode_address(c, f, off, end, "New addresses")


def decode_last_address(c, f, off, end):
    return _decode_address(c, f, off, end, "Last address")


def decode_source_address(c, f, off, end):
    return _decode_address(c, f, off, end, "Source address")


def decode_unrecognized_chunk(c, f, off, end):
    ctype = c.buf[off]
    if c.depth < 4:
        c.depth += 1
        try:
            _chunks.dissect_chunks(c, f, off, end, None, nested=True)
        finally:
            c.depth -= 1
    else:
        _info(c, f, off, end)
    return "(Type: %d (%s))" % (ctype, CHUNK_NAMES.get(ctype, "unknown"))


def decode_unrecognized_params(c, f, off, end):
    _params.dissect_params(c, f, off, end)
    return None


def decode_no_user_data(c, f, off, end):
    v = U32.unpack_from(c.buf, off)[0]
    f.children.append(Field("sctp.cause_tsn", v, off, 4))
    return "(TSN: %d)" % v


def decode_unsupported_hmac(c, f, off, end):
    buf = c.buf
    for o in range(off, end - 1, 2):
        f.children.append(Field("sctp.hmac_id", U16.unpack_from(buf, o)[0], o, 2))
    return None


def decode_information(c, f, off, end):
    _info(c, f, off, end)
    return None


CAUSES = {
    1: CauseType("Invalid stream identifier", decode_invalid_stream, 8, "RFC 9260 3.3.10.1"),
    2: CauseType("Missing mandatory parameter", decode_missing_param, 8, "RFC 9260 3.3.10.2"),
    3: CauseType("Stale cookie error", decode_stale_cookie, 8, "RFC 9260 3.3.10.3"),
    4: CauseType("Out of resource", decode_nothing, 4, "RFC 9260 3.3.10.4"),
    5: CauseType("Unresolvable address", decode_unresolvable, 8, "RFC 9260 3.3.10.5"),
    6: CauseType("Unrecognized chunk type", decode_unrecognized_chunk, 8, "RFC 9260 3.3.10.6"),
    7: CauseType("Invalid mandatory parameter", decode_nothing, 4, "RFC 9260 3.3.10.7"),
    8: CauseType("Unrecognized parameters", decode_unrecognized_params, 8, "RFC 9260 3.3.10.8"),
    9: CauseType("No user data", decode_no_user_data, 8, "RFC 9260 3.3.10.9"),
    10: CauseType("Cookie received while shutting down", decode_nothing, 4, "RFC 9260 3.3.10.10"),
    11: CauseType("Restart of an association with new addresses", decode_new_addresses, 4, "RFC 9260 3.3.10.11"),
    12: CauseType("User initiated ABORT", decode_information, 4, "RFC 9260 3.3.10.12"),
    13: CauseType("Protocol violation", decode_information, 4, "RFC 9260 3.3.10.13"),
    160: CauseType("Request to delete last address", decode_last_address, 4, "RFC 5061 5.1"),
    161: CauseType("Operation refused due to resource shortage", decode_information, 4, "RFC 5061 5.1"),
    162: CauseType("Request to delete source address", decode_source_address, 4, "RFC 5061 5.1"),
    163: CauseType("Association aborted due to illegal ASCONF-ACK", decode_information, 4, "RFC 5061 5.1"),
    164: CauseType("Request refused - no authorization", decode_information, 4, "RFC 5061 5.1"),
    261: CauseType("Unsupported HMAC identifier", decode_unsupported_hmac, 6, "RFC 4895 4.1"),
}
assert all(CAUSE_NAMES.get(k) == v.name for k, v in CAUSES.items())


def dissect_causes(c, parent, off, end, pad_end=-1):
    """Decode the error causes in ``buf[off:end]`` under ``parent``; returns
    the offset where decoding stopped.  Never raises."""
    buf = c.buf
    if pad_end < end:
        pad_end = end
    kids = parent.children
    if kids is None:
        kids = parent.children = []
    while off < end:
        rem = end - off
        if rem < 4:
            if not c.quiet:
                c.note(ERROR, "Malformed", "Error cause header truncated: %s left, a cause needs 4" % plural(rem),
                       off, rem, "RFC 9260 3.3.10", _BAD)
            kids.append(Field("sctp.cause_information", buf[off:end], off, rem))
            return end
        code, clen = HDR.unpack_from(buf, off)
        spec = CAUSES.get(code)
        name = spec.name if spec is not None else "Unknown (%d)" % code
        f = Field("sctp.cause", code, off, clen, None, [
            Field("sctp.cause_code", code, off, 2),
            Field("sctp.cause_length", clen, off + 2, 2)])
        kids.append(f)
        if clen < 4:
            c.note(ERROR, "Malformed", "Cause length (%d) is shorter than the 4-byte cause header" % clen,
                   off + 2, 2, "RFC 9260 3.3.10", _BAD)
            f.length = rem
            f.show = "%s cause (bogus length %d)" % (name, clen)
            _info(c, f, off + 4, end)
            return end
        vend = off + clen
        clipped = clen > rem
        if clipped:
            if not c.quiet:
                c.note(ERROR, "Malformed", "Cause length (%d) is longer than remaining data (%d)" % (clen, rem),
                       off + 2, 2, "RFC 9260 3.3.10", _BAD)
            vend = end
            f.length = rem
        extra = None
        if spec is None:
            _info(c, f, off + 4, vend)
        elif vend - off < spec.min_len:
            c.note(ERROR, "Malformed", "%s cause length (%d) is shorter than its minimum (%d)"
                   % (name, vend - off, spec.min_len), off + 2, 2, spec.rfc, _BAD)
            _info(c, f, off + 4, vend)
        else:
            try:
                extra = spec.decode(c, f, off + 4, vend)
            except Exception as exc:  # a decoder bug must not kill decoding
                c.note(ERROR, "Malformed", "%s cause could not be decoded: %s" % (name, exc),
                       off, vend - off, spec.rfc, "sctpinspect.decode_error")
        f.show = "%s cause %s" % (name, extra) if extra else "%s cause" % name
        start = off
        off = vend
        pad = (-clen) & 3
        if pad and not clipped:
            avail = min(pad, pad_end - off)
            if avail > 0:
                pb = buf[off:off + avail]
                f.children.append(Field("sctp.cause_padding", pb, off, avail))
                if pb.count(0) != avail:
                    c.note(WARN, "Malformed", "Cause padding is not all zero bytes", off, avail,
                           "RFC 9260 3.2", "sctpinspect.cause_padding_nonzero")
                off += avail
            f.length = off - start
    return off


# --- compact values -------------------------------------------------------------
# ABORT, ERROR and the ASCONF Error Cause Indication carry their causes in
# their compact values as ``(code, info, text)``: ``info`` is what the cause
# says (the stream, the TSN, the unrecognized chunk type, the missing
# parameter types, the staleness, the addresses, or the raw cause
# information bytes: the reason text of a User Initiated Abort, the
# additional information of a Protocol Violation), ``text`` its one-line
# description as the tree shows it.

def _cause_first(f, name):
    for x in f.children or ():
        if x.name == name:
            return x.value
    return None


def _cause_addresses(f):
    return tuple(v for t, v in _params.compact_params(f) if v)


_CAUSE_COMPACT = {
    1: lambda f: _cause_first(f, "sctp.cause_stream_identifier"),
    2: lambda f: tuple(x.value for x in f.children if x.name == "sctp.cause_missing_parameter_type"),
    3: lambda f: _cause_first(f, "sctp.cause_measure_of_staleness"),
    5: _cause_addresses, 11: _cause_addresses, 160: _cause_addresses, 162: _cause_addresses,
    6: lambda f: _cause_first(f, "sctp.chunk"),          # the type of the chunk it quotes
    8: lambda f: _params.compact_params(f),
    9: lambda f: _cause_first(f, "sctp.cause_tsn"),
    261: lambda f: tuple(x.value for x in f.children if x.name == "sctp.hmac_id"),
}


def compact_causes(parent) -> tuple:
    """``((code, info, text), ...)`` of the causes decoded under ``parent``."""
    out = []
    for f in parent.children or ():
        if f.name == "sctp.cause":
            fn = _CAUSE_COMPACT.get(f.value)
            try:
                info = fn(f) if fn is not None else _cause_first(f, "sctp.cause_information")
            except Exception:
                info = None
            out.append((f.value, info, f.show))
    return tuple(out)
