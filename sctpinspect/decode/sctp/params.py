"""Chunk parameters (RFC 9260 3.2.1 and extensions): PARAMETER_TYPES + the
generic TLV walker :func:`dissect_params`.

Adding a parameter: write ``decode_x(c, p, off, end)`` (value bytes are
``c.buf[off:end]``; append fields to ``p.children``, set ``p.show``) and add a
``PARAMETER_TYPES`` row.
"""
from __future__ import annotations

import socket

from . import causes as _causes
from ._base import (ERROR, NOTE, WARN, CHAT, Field, ParameterType, HDR, U16, U32,
                    U32x2, ipv4_text, plural)
from .names import CHUNK_NAMES, HMAC_IDS, PARAMETER_ACTIONS, PARAMETER_NAMES

_ADDR_SHORT = {5: "IPv4", 6: "IPv6", 11: "hostname"}


def _bytes_field(p, name, c, off, end):
    p.children.append(Field(name, c.buf[off:end], off, end - off))


def decode_heartbeat_info(c, p, off, end):
    _bytes_field(p, "sctp.parameter_heartbeat_information", c, off, end)
    p.show = "Heartbeat info parameter (Information: %s)" % plural(end - off)


def decode_ipv4(c, p, off, end):
    if end - off < 4:
        _bytes_field(p, "sctp.parameter_value", c, off, end)
        p.show = "IPv4 address parameter (truncated)"
        return
    a = ipv4_text(c.buf[off:off + 4])
    p.children.append(Field("sctp.parameter_ipv4_address", a, off, 4))
    p.show = "IPv4 address parameter (Address: %s)" % a
    if end > off + 4:
        _bytes_field(p, "sctp.parameter_value", c, off + 4, end)


def decode_ipv6(c, p, off, end):
    if end - off < 16:
        _bytes_field(p, "sctp.parameter_value", c, off, end)
        p.show = "IPv6 address parameter (truncated)"
        return
    a = socket.inet_ntop(socket.AF_INET6, c.buf[off:off + 16])
    p.children.append(Field("sctp.parameter_ipv6_address", a, off, 16))
    p.show = "IPv6 address parameter (Address: %s)" % a
    if end > off + 16:
        _bytes_field(p, "sctp.parameter_value", c, off + 16, end)


def decode_state_cookie(c, p, off, end):
    _bytes_field(p, "sctp.parameter_state_cookie", c, off, end)
    p.show = "State cookie parameter (Cookie length: %s)" % plural(end - off)


def decode_unrecognized(c, p, off, end):
    dissect_params(c, p, off, end)
    p.show = "Unrecognized parameter parameter"


def decode_cookie_preservative(c, p, off, end):
    v = U32.unpack_from(c.buf, off)[0]
    p.children.append(Field("sctp.parameter_cookie_preservative_incr", v, off, 4))
    p.show = "Cookie preservative parameter (Increment: %d msec)" % v


def decode_hostname(c, p, off, end):
    raw = c.buf[off:end]
    name = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    p.children.append(Field("sctp.parameter_hostname", name, off, end - off))
    p.show = "Hostname address parameter (Hostname: %s)" % name


def decode_supported_address_types(c, p, off, end):
    buf = c.buf
    kids = p.children
    types = []
    for o in range(off, end - 1, 2):
        t = U16.unpack_from(buf, o)[0]
        kids.append(Field("sctp.parameter_supported_address_type", t, o, 2))
        types.append(_ADDR_SHORT.get(t, str(t)))
    p.show = "Supported address types parameter (Supported types: %s)" % ", ".join(types)


def _u32(c, p, name, off):
    v = U32.unpack_from(c.buf, off)[0]
    p.children.append(Field(name, v, off, 4))
    return v


def _sids(c, p, off, end):
    buf = c.buf
    for o in range(off, end - 1, 2):
        p.children.append(Field("sctp.parameter_reconfig_sid", U16.unpack_from(buf, o)[0], o, 2))


def decode_outgoing_reset(c, p, off, end):
    req = _u32(c, p, "sctp.parameter_reconfig_request_sequence_number", off)
    _u32(c, p, "sctp.parameter_reconfig_response_sequence_number", off + 4)
    _u32(c, p, "sctp.parameter_senders_last_assigned_tsn", off + 8)
    _sids(c, p, off + 12, end)
    p.show = "Outgoing SSN reset request parameter (Request: %d, streams: %d)" % (req, (end - off - 12) // 2)


def decode_incoming_reset(c, p, off, end):
    req = _u32(c, p, "sctp.parameter_reconfig_request_sequence_number", off)
    _sids(c, p, off + 4, end)
    p.show = "Incoming SSN reset request parameter (Request: %d, streams: %d)" % (req, (end - off - 4) // 2)


def decode_ssn_tsn_reset(c, p, off, end):
    req = _u32(c, p, "sctp.parameter_reconfig_request_sequence_number", off)
    p.show = "SSN/TSN reset request parameter (Request: %d)" % req


def decode_reconfig_response(c, p, off, end):
    seq = _u32(c, p, "sctp.parameter_reconfig_response_sequence_number", off)
    res = _u32(c, p, "sctp.parameter_reconfig_response_result", off + 4)
    if end - off >= 16:
        _u32(c, p, "sctp.parameter_senders_next_tsn", off + 8)
        _u32(c, p, "sctp.parameter_receivers_next_tsn", off + 12)
    elif end - off >= 12:
        _u32(c, p, "sctp.parameter_senders_next_tsn", off + 8)
    from .names import RECONFIG_RESULTS
    p.show = "Re-configuration response parameter (Response: %d, result: %s)" % (
        seq, RECONFIG_RESULTS.get(res, str(res)))


def _decode_add_streams(direction):
    def decode(c, p, off, end):
        req = _u32(c, p, "sctp.parameter_reconfig_request_sequence_number", off)
        n = U16.unpack_from(c.buf, off + 4)[0]
        p.children.append(Field("sctp.parameter_add_%s_streams_number" % direction, n, off + 4, 2))
        p.children.append(Field("sctp.parameter_add_%s_streams_reserved" % direction,
                                U16.unpack_from(c.buf, off + 6)[0], off + 6, 2))
        p.show = "Add %s streams request parameter (Request: %d, streams: %d)" % (direction, req, n)
    decode.__name__ = "decode_add_%s_streams" % direction
    return decode


decode_add_outgoing_streams = _decode_add_streams("outgoing")
decode_add_incoming_streams = _decode_add_streams("incoming")


def decode_empty(c, p, off, end):
    if end > off:
        _bytes_field(p, "sctp.parameter_value", c, off, end)


def decode_zero_checksum(c, p, off, end):
    v = _u32(c, p, "sctpinspect.edmid", off)
    from .names import EDMIDS
    p.show = "Zero checksum acceptable parameter (EDMID: %s)" % EDMIDS.get(v, str(v))


def decode_random(c, p, off, end):
    _bytes_field(p, "sctp.random_number", c, off, end)
    p.show = "Random parameter (%s)" % plural(end - off)


def decode_chunk_list(c, p, off, end):
    buf = c.buf
    names = []
    for o in range(off, end):
        t = buf[o]
        p.children.append(Field("sctp.chunk_type_to_auth", t, o, 1))
        names.append(CHUNK_NAMES.get(t, str(t)))
    p.show = "Authenticated Chunk list parameter (Chunk types to be authenticated: %s)" % ", ".join(names)


def decode_hmac_algo(c, p, off, end):
    buf = c.buf
    names = []
    for o in range(off, end - 1, 2):
        h = U16.unpack_from(buf, o)[0]
        p.children.append(Field("sctp.hmac_id", h, o, 2))
        names.append(HMAC_IDS.get(h, str(h)))
    p.show = "Requested HMAC Algorithm parameter (Supported HMACs: %s)" % ", ".join(names)


def decode_padding(c, p, off, end):
    _bytes_field(p, "sctp.parameter_value", c, off, end)
    p.show = "Padding parameter (%s)" % plural(end - off)


def decode_supported_extensions(c, p, off, end):
    buf = c.buf
    names = []
    for o in range(off, end):
        t = buf[o]
        p.children.append(Field("sctp.supported_chunk_type", t, o, 1))
        names.append(CHUNK_NAMES.get(t, str(t)))
    p.show = "Supported Extensions parameter (Supported types: %s)" % ", ".join(names)


def _decode_addr_op(label):
    def decode(c, p, off, end):
        cid = _u32(c, p, "sctp.correlation_id", off)
        dissect_params(c, p, off + 4, end)
        addr = None
        for f in p.children:
            if f.name == "sctp.parameter":
                addr = f.get("sctp.parameter_ipv4_address") or f.get("sctp.parameter_ipv6_address")
                break
        p.show = "%s parameter (Address: %s, correlation ID: %d)" % (label, addr, cid)
    return decode


decode_add_ip = _decode_addr_op("Add IP address")
decode_delete_ip = _decode_addr_op("Delete IP address")
decode_set_primary = _decode_addr_op("Set primary address")


def decode_error_cause_indication(c, p, off, end):
    cid = _u32(c, p, "sctp.correlation_id", off)
    _causes.dissect_causes(c, p, off + 4, end)
    p.show = "Error cause indication parameter (Correlation ID: %d)" % cid


def decode_success(c, p, off, end):
    cid = _u32(c, p, "sctp.correlation_id", off)
    p.show = "Success report parameter (Correlation ID: %d)" % cid


def decode_adaptation(c, p, off, end):
    v = _u32(c, p, "sctp.adaptation_layer_indication", off)
    p.show = "Adaptation Layer Indication parameter (Indication: %d)" % v


PARAMETER_TYPES = {
    1: ParameterType("Heartbeat info", decode_heartbeat_info, 4, "RFC 9260 3.3.5"),
    5: ParameterType("IPv4 address", decode_ipv4, 8, "RFC 9260 3.3.2.1"),
    6: ParameterType("IPv6 address", decode_ipv6, 20, "RFC 9260 3.3.2.1"),
    7: ParameterType("State cookie", decode_state_cookie, 4, "RFC 9260 3.3.3.1"),
    8: ParameterType("Unrecognized parameter", decode_unrecognized, 4, "RFC 9260 3.3.3.1"),
    9: ParameterType("Cookie preservative", decode_cookie_preservative, 8, "RFC 9260 3.3.2.1"),
    11: ParameterType("Hostname address", decode_hostname, 4, "RFC 9260 3.3.2.1"),
    12: ParameterType("Supported address types", decode_supported_address_types, 4, "RFC 9260 3.3.2.1"),
    13: ParameterType("Outgoing SSN reset request", decode_outgoing_reset, 16, "RFC 6525 4.1"),
    14: ParameterType("Incoming SSN reset request", decode_incoming_reset, 8, "RFC 6525 4.2"),
    15: ParameterType("SSN/TSN reset request", decode_ssn_tsn_reset, 8, "RFC 6525 4.3"),
    16: ParameterType("Re-configuration response", decode_reconfig_response, 12, "RFC 6525 4.4"),
    17: ParameterType("Add outgoing streams request", decode_add_outgoing_streams, 12, "RFC 6525 4.5"),
    18: ParameterType("Add incoming streams request", decode_add_incoming_streams, 12, "RFC 6525 4.6"),
    0x8000: ParameterType("ECN", decode_empty, 4, "RFC 9260 Appendix A"),
    0x8001: ParameterType("Zero checksum acceptable", decode_zero_checksum, 8, "RFC 9653 4"),
    0x8002: ParameterType("Random", decode_random, 4, "RFC 4895 3.1"),
    0x8003: ParameterType("Authenticated Chunk list", decode_chunk_list, 4, "RFC 4895 3.2"),
    0x8004: ParameterType("Requested HMAC Algorithm", decode_hmac_algo, 6, "RFC 4895 3.3"),
    0x8005: ParameterType("Padding", decode_padding, 4, "RFC 4820 3"),
    0x8008: ParameterType("Supported Extensions", decode_supported_extensions, 4, "RFC 5061 4.2.7"),
    0xC000: ParameterType("Forward TSN supported", decode_empty, 4, "RFC 3758 3.1"),
    0xC001: ParameterType("Add IP address", decode_add_ip, 8, "RFC 5061 4.2.1"),
    0xC002: ParameterType("Delete IP address", decode_delete_ip, 8, "RFC 5061 4.2.2"),
    0xC003: ParameterType("Error cause indication", decode_error_cause_indication, 8, "RFC 5061 4.2.4"),
    0xC004: ParameterType("Set primary address", decode_set_primary, 8, "RFC 5061 4.2.3"),
    0xC005: ParameterType("Success report", decode_success, 8, "RFC 5061 4.2.5"),
    0xC006: ParameterType("Adaptation Layer Indication", decode_adaptation, 8, "RFC 5061 4.2.6"),
}
assert all(PARAMETER_NAMES.get(k) == v.name for k, v in PARAMETER_TYPES.items())

_BAD = "sctp.parameter_length.bad"


# Parameters nest (Add IP -> address, Unrecognized Parameter -> parameter,
# Error Cause Indication -> causes -> parameters ...): every such cycle passes
# through dissect_params, so its depth bounds the recursion on hostile input.
MAX_PARAM_DEPTH = 12


def dissect_params(c, parent, off, end, pad_end=-1):
    """:func:`_dissect_params`, refusing to nest deeper than MAX_PARAM_DEPTH."""
    if c.depth >= MAX_PARAM_DEPTH:
        if off < end:
            c.note(ERROR, "Malformed", "Parameters nested more than %d deep: not decoded" % MAX_PARAM_DEPTH,
                   off, end - off, "RFC 9260 3.2.1", "sctpinspect.parameter_nesting")
            if parent.children is None:
                parent.children = []
            parent.children.append(Field("sctp.parameter_value", c.buf[off:end], off, end - off))
        return end
    c.depth += 1
    try:
        return _dissect_params(c, parent, off, end, pad_end)
    finally:
        c.depth -= 1


def _dissect_params(c, parent, off, end, pad_end=-1):
    """Decode the parameters in ``buf[off:end]`` under ``parent``.

    ``pad_end`` (>= end) is where the enclosing chunk's padding ends: RFC 9260
    3.2 leaves the last parameter's padding out of the chunk length, so that
    padding is taken from the chunk padding (as Wireshark does, with its
    note).  Returns the offset where decoding stopped (padding included).
    Never raises.
    """
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
                c.note(ERROR, "Malformed", "Parameter header truncated: %s left, a parameter needs 4" % plural(rem),
                       off, rem, "RFC 9260 3.2.1", _BAD)
            kids.append(Field("sctp.parameter_value", buf[off:end], off, rem))
            return end
        ptype, plen = HDR.unpack_from(buf, off)
        spec = PARAMETER_TYPES.get(ptype)
        p = Field("sctp.parameter", ptype, off, plen, None, [
            Field("sctp.parameter_type", ptype, off, 2, None, [
                Field("sctp.parameter_bit_1", ptype >= 0x8000, off, 2),
                Field("sctp.parameter_bit_2", (ptype & 0x4000) != 0, off, 2)]),
            Field("sctp.parameter_length", plen, off + 2, 2)])
        kids.append(p)
        name = spec.name if spec is not None else None
        if plen < 4:
            c.note(ERROR, "Malformed", "Parameter length (%d) is shorter than the 4-byte parameter header" % plen,
                   off + 2, 2, "RFC 9260 3.2.1", _BAD)
            p.length = rem
            if rem > 4:
                kids_p = p.children
                kids_p.append(Field("sctp.parameter_value", buf[off + 4:end], off + 4, rem - 4))
            p.show = "%s parameter (bogus length %d)" % (name or "Unknown", plen)
            return end
        vend = off + plen
        clipped = plen > rem
        if clipped:
            if not c.quiet:
                c.note(ERROR, "Malformed", "Parameter length (%d) is longer than remaining data (%d)" % (plen, rem),
                       off + 2, 2, "RFC 9260 3.2.1", _BAD)
            vend = end
            p.length = rem
        if spec is None:
            vlen = vend - off - 4
            if vlen:
                p.children.append(Field("sctp.parameter_value", buf[off + 4:vend], off + 4, vlen))
            p.show = "Unknown parameter (Type %d, value length: %s)" % (ptype, plural(vlen))
            action, what = PARAMETER_ACTIONS[ptype >> 14]
            c.note(NOTE if ptype & 0x4000 else CHAT, "Protocol",
                   "Unknown parameter type 0x%04x: its upper bits tell the receiver to %s" % (ptype, what),
                   off, 2, "RFC 9260 3.2.1", "sctpinspect.parameter_unknown")
        elif vend - off < spec.min_len:
            c.note(ERROR, "Malformed", "%s parameter length (%d) is shorter than its minimum (%d)"
                   % (name, vend - off, spec.min_len), off + 2, 2, spec.rfc, _BAD)
            if vend > off + 4:
                p.children.append(Field("sctp.parameter_value", buf[off + 4:vend], off + 4, vend - off - 4))
            p.show = "%s parameter (too short)" % name
        else:
            try:
                spec.decode(c, p, off + 4, vend)
            except Exception as exc:  # a decoder bug must not kill decoding
                c.note(ERROR, "Malformed", "%s parameter could not be decoded: %s" % (name, exc),
                       off, vend - off, spec.rfc, "sctpinspect.decode_error")
            if p.show is None:
                p.show = name + " parameter"
        start = off
        off = vend
        pad = (-plen) & 3
        if pad and not clipped:
            if off + pad <= end:
                if off + pad == end and pad_end > end - pad:
                    # RFC 9260 3.2: the chunk length leaves out the padding
                    # of the last parameter; this one counted it.
                    c.note(NOTE, "Malformed", "The padding of this final parameter should be the padding of the chunk.",
                           off, pad, "RFC 9260 3.2", "sctp.parameter_padding.expert")
                _padding(c, p, off, pad)
                off += pad
            else:
                avail = min(pad, pad_end - off)
                if avail > 0:
                    _padding(c, p, off, avail)
                    off += avail
            p.length = off - start
    return off


def _padding(c, p, off, n):
    pb = c.buf[off:off + n]
    p.children.append(Field("sctp.parameter_padding", pb, off, n))
    if pb.count(0) != n:
        c.note(WARN, "Malformed", "Parameter padding is not all zero bytes", off, n,
               "RFC 9260 3.2.1", "sctpinspect.parameter_padding_nonzero")


# --- compact values -------------------------------------------------------------
# A chunk made of parameters (INIT, INIT ACK, ASCONF, ASCONF ACK, RE-CONFIG)
# carries them in its compact values as ``(type, value)`` pairs, read by the
# analysis and the diagnostics; ``value`` is what the parameter means (an
# address, the supported chunk types, the cookie bytes, nested parameters...).
# They are read off the parameter subtree dissect_params has just built (these
# chunks always take the decoder's full path).

def _first(p, name):
    for f in p.children or ():
        if f.name == name:
            return f.value
    return None


def _all(p, name):
    return tuple(f.value for f in p.children or () if f.name == name)


def _address(p):
    return _first(p, "sctp.parameter_ipv4_address") or _first(p, "sctp.parameter_ipv6_address") \
        or _first(p, "sctp.parameter_hostname")


def _addr_op(p):
    return (_first(p, "sctp.correlation_id"), compact_params(p))


_HEADER_NAMES = frozenset({"sctp.parameter_type", "sctp.parameter_length", "sctp.parameter_padding"})


def _generic(p):
    """(name, value) of the parameter's own fields (header and padding left out)."""
    return tuple((f.name, f.value) for f in p.children or () if f.name not in _HEADER_NAMES)


# parameter type -> value of its compact (type, value) pair; others: _generic
_COMPACT = {
    1: lambda p: _first(p, "sctp.parameter_heartbeat_information"),
    5: _address, 6: _address, 11: _address,
    7: lambda p: _first(p, "sctp.parameter_state_cookie"),
    8: lambda p: compact_params(p),                          # the parameters the peer did not know
    9: lambda p: _first(p, "sctp.parameter_cookie_preservative_incr"),
    12: lambda p: _all(p, "sctp.parameter_supported_address_type"),
    0x8001: lambda p: _first(p, "sctpinspect.edmid"),
    0x8003: lambda p: _all(p, "sctp.chunk_type_to_auth"),
    0x8004: lambda p: _all(p, "sctp.hmac_id"),
    0x8008: lambda p: _all(p, "sctp.supported_chunk_type"),
    0xC000: lambda p: None,
    0xC001: _addr_op, 0xC002: _addr_op, 0xC004: _addr_op,
    0xC003: lambda p: (_first(p, "sctp.correlation_id"), _causes.compact_causes(p)),
    0xC005: lambda p: _first(p, "sctp.correlation_id"),
    0xC006: lambda p: _first(p, "sctp.adaptation_layer_indication"),
}


def compact_params(parent) -> tuple:
    """``((type, value), ...)`` of the parameters decoded under ``parent``."""
    out = []
    for p in parent.children or ():
        if p.name == "sctp.parameter":
            fn = _COMPACT.get(p.value, _generic)
            try:
                out.append((p.value, fn(p)))
            except Exception:     # a parameter cut short: its type is still known
                out.append((p.value, None))
    return tuple(out)


def addresses(params) -> list:
    """The IPv4/IPv6 addresses among compact parameters, in order."""
    return [v for t, v in params if (t == 5 or t == 6) and v]
