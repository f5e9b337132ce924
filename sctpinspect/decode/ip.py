"""IPv4 (options, fragments), IPv6 (extension headers, fragments), UDP (RFC 6951
SCTP encapsulation), ICMP/ICMPv6 errors quoting SCTP.

Each function has the signature ``fn(dec, pkt, buf, off, end, parent, quoted=False)``
and appends its layer Field to ``parent``.  ``quoted`` is True inside an ICMP
error message: the quoted header does not describe the frame (no packet
attributes are set, no reassembly, and short data is expected).

Nothing raises: short or inconsistent headers become Notes and decoding stops
at that layer.
"""
from __future__ import annotations

import socket
import struct

from ..model import ERROR, NOTE, WARN, Field, LazyField, _get_children, _set_children
from ..registry import (BASE_DEC, BASE_HEX, BASE_HEX_DEC, BASE_NONE, FT_BOOLEAN, FT_BYTES,
                        FT_FRAMENUM, FT_IPv4, FT_IPv6, FT_NONE, FT_PROTOCOL, FT_UINT8,
                        FT_UINT16, FT_UINT24, FT_UINT32, register_table)

try:  # the SCTP dissector is written in parallel; run without it until it lands
    from .sctp import dissect_sctp as _dissect_sctp
except ImportError:  # pragma: no cover - only before sctpinspect/decode/sctp exists
    _dissect_sctp = None

_inet_ntoa = socket.inet_ntoa
_AF6 = socket.AF_INET6
_inet_ntop = socket.inet_ntop
_ipv4_hdr = struct.Struct("!BBHHHBBH").unpack_from
_ipv6_hdr = struct.Struct("!IHBB").unpack_from
_udp_hdr = struct.Struct("!HHHH").unpack_from

IP_PROTOS = {0: "IPv6 Hop-by-Hop Option", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP",
             41: "IPv6", 43: "Routing", 44: "Fragment", 47: "GRE", 50: "ESP", 51: "AH",
             58: "ICMPv6", 59: "NoNxt", 60: "Destination Options", 132: "SCTP"}
IP_OPTIONS = {0: "End of Options List (EOL)", 1: "No Operation (NOP)", 7: "Record Route",
              68: "Time Stamp", 130: "Security", 131: "Loose Source Route", 137: "Strict Source Route",
              148: "Router Alert", 136: "Stream Identifier"}
ICMP_TYPES = {0: "Echo (ping) reply", 3: "Destination unreachable", 4: "Source quench",
              5: "Redirect", 8: "Echo (ping) request", 11: "Time-to-live exceeded",
              12: "Parameter problem"}
ICMPV6_TYPES = {1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded",
                4: "Parameter Problem", 128: "Echo (ping) request", 129: "Echo (ping) reply"}
CHECKSUM_STATUS = {0: "Bad", 1: "Good", 2: "Unverified"}

register_table([
    ("ip", "Internet Protocol Version 4", FT_PROTOCOL),
    ("ip.version", "Version", FT_UINT8, BASE_DEC),
    ("ip.hdr_len", "Header Length", FT_UINT8, BASE_DEC),
    ("ip.dsfield", "Differentiated Services Field", FT_UINT8, BASE_HEX),
    ("ip.len", "Total Length", FT_UINT16, BASE_DEC),
    ("ip.id", "Identification", FT_UINT16, BASE_HEX_DEC),
    ("ip.flags", "Flags", FT_UINT8, BASE_HEX, None, 0xE0),
    ("ip.flags.rb", "Reserved bit", FT_BOOLEAN, BASE_NONE, None, 0x80),
    ("ip.flags.df", "Don't fragment", FT_BOOLEAN, BASE_NONE, None, 0x40),
    ("ip.flags.mf", "More fragments", FT_BOOLEAN, BASE_NONE, None, 0x20),
    ("ip.frag_offset", "Fragment Offset", FT_UINT16, BASE_DEC, None, 0x1FFF),
    ("ip.ttl", "Time to Live", FT_UINT8, BASE_DEC),
    ("ip.proto", "Protocol", FT_UINT8, BASE_DEC, IP_PROTOS),
    ("ip.checksum", "Header Checksum", FT_UINT16, BASE_HEX),
    ("ip.checksum.status", "Header checksum status", FT_UINT8, BASE_NONE, CHECKSUM_STATUS),
    ("ip.src", "Source Address", FT_IPv4),
    ("ip.dst", "Destination Address", FT_IPv4),
    ("ip.addr", "Source or Destination Address", FT_IPv4),
    ("ip.options", "Options", FT_BYTES),
    ("ip.opt.type", "Type", FT_UINT8, BASE_DEC, IP_OPTIONS),
    ("ip.opt.len", "Length", FT_UINT8, BASE_DEC),
    ("ip.opt.padding", "Padding", FT_BYTES),
    ("ip.fragments", "IPv4 Fragments", FT_BYTES),
    ("ip.fragment", "IPv4 Fragment", FT_FRAMENUM),
    ("ip.fragment.count", "Fragment count", FT_UINT32, BASE_DEC),
    ("ip.reassembled.length", "Reassembled IPv4 length", FT_UINT32, BASE_DEC),
    ("ipv6", "Internet Protocol Version 6", FT_PROTOCOL),
    ("ipv6.version", "Version", FT_UINT8, BASE_DEC),
    ("ipv6.tclass", "Traffic Class", FT_UINT32, BASE_HEX, None, 0x0FF00000),
    ("ipv6.flow", "Flow Label", FT_UINT24, BASE_HEX, None, 0x000FFFFF),
    ("ipv6.plen", "Payload Length", FT_UINT16, BASE_DEC),
    ("ipv6.nxt", "Next Header", FT_UINT8, BASE_DEC, IP_PROTOS),
    ("ipv6.hlim", "Hop Limit", FT_UINT8, BASE_DEC),
    ("ipv6.src", "Source Address", FT_IPv6),
    ("ipv6.dst", "Destination Address", FT_IPv6),
    ("ipv6.addr", "Source or Destination Address", FT_IPv6),
    ("ipv6.hopopts", "IPv6 Hop-by-Hop Option", FT_PROTOCOL),
    ("ipv6.hopopts.nxt", "Next Header", FT_UINT8, BASE_DEC, IP_PROTOS),
    ("ipv6.hopopts.len", "Length", FT_UINT8, BASE_DEC),
    ("ipv6.hopopts.len_oct", "Length", FT_UINT16, BASE_DEC),
    ("ipv6.dstopts", "Destination Options for IPv6", FT_PROTOCOL),
    ("ipv6.dstopts.nxt", "Next Header", FT_UINT8, BASE_DEC, IP_PROTOS),
    ("ipv6.dstopts.len", "Length", FT_UINT8, BASE_DEC),
    ("ipv6.dstopts.len_oct", "Length", FT_UINT16, BASE_DEC),
    ("ipv6.routing", "Routing Header for IPv6", FT_PROTOCOL),
    ("ipv6.routing.nxt", "Next Header", FT_UINT8, BASE_DEC, IP_PROTOS),
    ("ipv6.routing.len", "Length", FT_UINT8, BASE_DEC),
    ("ipv6.routing.len_oct", "Length", FT_UINT16, BASE_DEC),
    ("ipv6.routing.type", "Type", FT_UINT8, BASE_DEC),
    ("ipv6.routing.segleft", "Segments Left", FT_UINT8, BASE_DEC),
    ("ipv6.fraghdr", "Fragment Header for IPv6", FT_PROTOCOL),
    ("ipv6.fraghdr.nxt", "Next header", FT_UINT8, BASE_DEC, IP_PROTOS),
    ("ipv6.fraghdr.offset", "Offset", FT_UINT16, BASE_DEC, None, 0xFFF8),
    ("ipv6.fraghdr.more", "More Fragments", FT_BOOLEAN, BASE_NONE, None, 0x0001),
    ("ipv6.fraghdr.ident", "Identification", FT_UINT32, BASE_HEX),
    ("ipv6.fragments", "IPv6 Fragments", FT_NONE),
    ("ipv6.fragment", "IPv6 Fragment", FT_FRAMENUM),
    ("ipv6.fragment.count", "Fragment count", FT_UINT32, BASE_DEC),
    ("ipv6.reassembled.length", "Reassembled IPv6 length", FT_UINT32, BASE_DEC),
    ("udp", "User Datagram Protocol", FT_PROTOCOL),
    ("udp.srcport", "Source Port", FT_UINT16, BASE_DEC),
    ("udp.dstport", "Destination Port", FT_UINT16, BASE_DEC),
    ("udp.port", "Source or Destination Port", FT_UINT16, BASE_DEC),
    ("udp.length", "Length", FT_UINT16, BASE_DEC),
    ("udp.checksum", "Checksum", FT_UINT16, BASE_HEX),
    ("udp.checksum.status", "Checksum Status", FT_UINT8, BASE_NONE, CHECKSUM_STATUS),
    ("icmp", "Internet Control Message Protocol", FT_PROTOCOL),
    ("icmp.type", "Type", FT_UINT8, BASE_DEC, ICMP_TYPES),
    ("icmp.code", "Code", FT_UINT8, BASE_DEC),
    ("icmp.checksum", "Checksum", FT_UINT16, BASE_HEX),
    ("icmp.mtu", "MTU of next hop", FT_UINT16, BASE_DEC),
    ("icmpv6", "Internet Control Message Protocol v6", FT_PROTOCOL),
    ("icmpv6.type", "Type", FT_UINT8, BASE_DEC, ICMPV6_TYPES),
    ("icmpv6.code", "Code", FT_UINT8, BASE_DEC),
    ("icmpv6.checksum", "Checksum", FT_UINT16, BASE_HEX),
    ("icmpv6.mtu", "MTU", FT_UINT32, BASE_DEC),
])


def _sctp(dec, pkt, buf, off, end, parent, quoted=False):
    if _dissect_sctp is not None:
        return _dissect_sctp(pkt, buf, off, end, dec.options, parent, quoted)
    # Stand-in used only while the SCTP dissector does not exist.
    layer = Field("sctp", None, off, end - off)
    parent.append(layer)
    if not quoted:
        pkt.sctp = layer
        pkt.sctp_offset = off
    return layer


def _stop(pkt, parent, name, label, off, end, need, rfc, key=None):
    parent.append(Field(name, None, off, max(0, end - off),
                        f"{label} [truncated: {max(0, end - off)} of {need} bytes]"))
    pkt.note(WARN, "malformed", f"{label} header truncated: {max(0, end - off)} of {need} bytes",
             off, max(0, end - off), rfc, key or f"sctpinspect.{name}.truncated")


# --------------------------------------------------------------------- IPv4
def _tail(layer):
    """The raw children list of a not-yet-built LazyField layer, for fields
    decoded eagerly after the header ones (options, fragments); the builder
    puts its own fields in front of them."""
    kids = _get_children(layer)
    if kids is None:
        kids = []
        _set_children(layer, kids)
    return kids


def _ipv4_show(layer, b):
    return f"Internet Protocol Version 4, Src: {b[4]}, Dst: {b[5]}"


def _build_ipv4(layer, b):
    """Header fields of an ``ip`` layer (LazyField builder)."""
    buf, off, src, dst = b[2], b[3], b[4], b[5]
    vhl, tos, tlen, ident, frag, ttl, proto, csum = _ipv4_hdr(buf, off)
    kids = [
        Field("ip.version", vhl >> 4, off, 1),
        Field("ip.hdr_len", (vhl & 15) << 2, off, 1),
        Field("ip.dsfield", tos, off + 1, 1),
        Field("ip.len", tlen, off + 2, 2),
        Field("ip.id", ident, off + 4, 2),
        Field("ip.flags", frag >> 13, off + 6, 1, None, [
            Field("ip.flags.rb", bool(frag & 0x8000), off + 6, 1),
            Field("ip.flags.df", bool(frag & 0x4000), off + 6, 1),
            Field("ip.flags.mf", bool(frag & 0x2000), off + 6, 1)]),
        Field("ip.frag_offset", frag & 0x1FFF, off + 6, 2),
        Field("ip.ttl", ttl, off + 8, 1),
        Field("ip.proto", proto, off + 9, 1),
        Field("ip.checksum", csum, off + 10, 2),
        Field("ip.checksum.status", 2, off + 10, 0),
        Field("ip.src", src, off + 12, 4),
        Field("ip.addr", src, off + 12, 4),
        Field("ip.dst", dst, off + 16, 4),
        Field("ip.addr", dst, off + 16, 4),
    ]
    old = _get_children(layer)
    if old:
        kids += old
    _set_children(layer, kids)


# Address texts: captures repeat a few addresses millions of times, and
# inet_ntoa + slicing costs more than a dict hit.  Bounded: cleared when full.
_ADDR4: dict = {}
_ADDR6: dict = {}
_ADDR_CACHE_MAX = 4096


def _addr4(b):
    s = _ADDR4.get(b)
    if s is None:
        if len(_ADDR4) >= _ADDR_CACHE_MAX:
            _ADDR4.clear()
        s = _ADDR4[b] = _inet_ntoa(b)
    return s


def _addr6(b):
    s = _ADDR6.get(b)
    if s is None:
        if len(_ADDR6) >= _ADDR_CACHE_MAX:
            _ADDR6.clear()
        s = _ADDR6[b] = _inet_ntop(_AF6, b)
    return s


def decode_ipv4(dec, pkt, buf, off, end, parent, quoted=False):
    if end - off < 20:
        return _stop(pkt, parent, "ip", "IPv4", off, end, 20, "RFC 791 3.1")
    vhl, tos, tlen, ident, frag, ttl, proto, csum = _ipv4_hdr(buf, off)
    hl = (vhl & 15) << 2
    src = _addr4(buf[off + 12:off + 16])
    dst = _addr4(buf[off + 16:off + 20])
    fo = frag & 0x1FFF
    # The header fields are built only if something reads them (LazyField).
    layer = LazyField("ip", None, off, max(20, min(hl, end - off)), (_ipv4_show, _build_ipv4, buf, off, src, dst))
    parent.append(layer)
    if vhl >> 4 != 4:
        pkt.note(ERROR, "malformed", f"bogus IP version {vhl >> 4} in an IPv4 header", off, 1,
                 "RFC 791 3.1", "ip.bogus_ip_version")
        return
    if hl < 20:
        pkt.note(ERROR, "malformed", f"bogus IPv4 header length {hl} bytes (IHL {hl >> 2}); "
                 "must be at least 20", off, 1, "RFC 791 3.1", "ip.bogus_header_length")
        return
    if off + hl > end:
        pkt.note(WARN, "malformed", f"IPv4 header truncated: header length {hl} but only "
                 f"{end - off} bytes captured", off, end - off, "RFC 791 3.1",
                 "sctpinspect.ip.truncated")
        return
    if hl > 20:
        _ipv4_options(pkt, buf, off + 20, off + hl, _tail(layer))
    if tlen < hl:
        pkt.note(ERROR, "malformed", f"bogus IPv4 total length {tlen}: less than the header "
                 f"length {hl}", off + 2, 2, "RFC 791 3.1", "ip.bogus_ip_length")
        return
    pend = off + tlen
    if pend > end:
        if not quoted and pkt.record.wirelen <= len(pkt.record.data):
            pkt.note(WARN, "malformed", f"IPv4 total length {tlen} exceeds the {end - off} bytes "
                     "present in the frame", off + 2, 2, "RFC 791 3.1",
                     "sctpinspect.ip.len_past_end")
        pend = end
    layer.length = hl
    if not quoted:
        pkt.ip_version = 4
        pkt.src = src
        pkt.dst = dst
    if frag & 0x2000 or fo:
        if quoted or not dec.options.reassemble_ip:
            if fo == 0:     # first fragment: its transport header is there
                _transport(dec, pkt, buf, off + hl, pend, parent, proto, quoted)
            return
        payload, frames, evicted = dec.reassembler.add(
            (4, src, dst, ident, proto), fo << 3, bool(frag & 0x2000), buf[off + hl:pend],
            pkt.record.number)
        if evicted:
            _evicted_note(dec, pkt, evicted, off)
        if payload is None:
            return
        _fragments(_tail(layer), "ip", frames, len(payload))
        _reassembled(dec, pkt, parent, "Reassembled IPv4", payload, proto)
        return
    _transport(dec, pkt, buf, off + hl, pend, parent, proto, quoted)


def _ipv4_options(pkt, buf, pos, end, kids):
    opts = Field("ip.options", buf[pos:end], pos, end - pos, f"Options: ({end - pos} bytes)", [])
    kids.append(opts)
    while pos < end:
        t = buf[pos]
        if t == 0:   # EOL: the rest is padding
            opts.add("ip.opt.type", t, pos, 1, f"IP Option - {IP_OPTIONS[0]}")
            if end - pos > 1:
                opts.add("ip.opt.padding", buf[pos + 1:end], pos + 1, end - pos - 1)
            return
        if t == 1:
            opts.add("ip.opt.type", t, pos, 1, f"IP Option - {IP_OPTIONS[1]}")
            pos += 1
            continue
        if pos + 1 >= end or buf[pos + 1] < 2 or pos + buf[pos + 1] > end:
            pkt.note(WARN, "malformed", f"IPv4 option {t} has an invalid length", pos,
                     end - pos, "RFC 791 3.1", "ip.opt.len.invalid")
            return
        ln = buf[pos + 1]
        o = opts.add("ip.opt.type", t, pos, ln,
                     f"IP Option - {IP_OPTIONS.get(t, f'Unknown ({t})')} ({ln} bytes)")
        o.add("ip.opt.len", ln, pos + 1, 1)
        pos += ln


def _evicted_note(dec, pkt, n, off):
    pkt.note(WARN, "reassemble", f"IP reassembly buffer full ({dec.options.max_reassembly_bytes} "
             f"bytes): {n} incomplete datagram(s) dropped ({dec.reassembler.evicted} so far)",
             off, 0, None, "sctpinspect.ip.reassembly_evicted")


def _fragments(kids, proto, frames, total):
    desc = ", ".join(f"#{f}({ln})" for f, ln, _o in sorted(frames, key=lambda x: x[2]))
    fr = Field(f"{proto}.fragments", None, 0, 0,
               f"[{len(frames)} {'IPv4' if proto == 'ip' else 'IPv6'} Fragments ({total} bytes): {desc}]", [])
    for f, ln, _o in sorted(frames, key=lambda x: x[2]):
        fr.add(f"{proto}.fragment", f, 0, 0)
    fr.add(f"{proto}.fragment.count", len(frames), 0, 0)
    fr.add(f"{proto}.reassembled.length", total, 0, 0)
    kids.append(fr)


def _reassembled(dec, pkt, parent, bufname, payload, proto):
    if pkt.buffers is None:
        pkt.buffers = {}
    pkt.buffers[bufname] = payload
    before = len(parent)
    _transport(dec, pkt, payload, 0, len(payload), parent, proto, False)
    for layer in parent[before:]:
        pkt.buffers["layer:" + layer.name] = bufname


# --------------------------------------------------------------------- IPv6
_EXT_NAMES = {0: ("ipv6.hopopts", "IPv6 Hop-by-Hop Option"),
              60: ("ipv6.dstopts", "Destination Options for IPv6"),
              43: ("ipv6.routing", "Routing Header for IPv6")}


def _ipv6_show(layer, b):
    return f"Internet Protocol Version 6, Src: {b[4]}, Dst: {b[5]}"


def _build_ipv6(layer, b):
    """Header fields of an ``ipv6`` layer (LazyField builder)."""
    buf, off, src, dst = b[2], b[3], b[4], b[5]
    vtf, plen, nxt, hlim = _ipv6_hdr(buf, off)
    kids = [
        Field("ipv6.version", vtf >> 28, off, 1),
        Field("ip.version", vtf >> 28, off, 1),     # hidden in Wireshark too
        Field("ipv6.tclass", (vtf >> 20) & 0xFF, off, 4),
        Field("ipv6.flow", vtf & 0xFFFFF, off + 1, 3),
        Field("ipv6.plen", plen, off + 4, 2),
        Field("ipv6.nxt", nxt, off + 6, 1),
        Field("ipv6.hlim", hlim, off + 7, 1),
        Field("ipv6.src", src, off + 8, 16),
        Field("ipv6.addr", src, off + 8, 16),
        Field("ipv6.dst", dst, off + 24, 16),
        Field("ipv6.addr", dst, off + 24, 16),
    ]
    old = _get_children(layer)
    if old:
        kids += old
    _set_children(layer, kids)


def decode_ipv6(dec, pkt, buf, off, end, parent, quoted=False):
    if end - off < 40:
        return _stop(pkt, parent, "ipv6", "IPv6", off, end, 40, "RFC 8200 3")
    vtf, plen, nxt, hlim = _ipv6_hdr(buf, off)
    src = _addr6(buf[off + 8:off + 24])
    dst = _addr6(buf[off + 24:off + 40])
    # Header fields built only if read; extension headers go to the tail list.
    layer = LazyField("ipv6", None, off, 40, (_ipv6_show, _build_ipv6, buf, off, src, dst))
    parent.append(layer)
    if vtf >> 28 != 6:
        pkt.note(ERROR, "malformed", f"bogus IP version {vtf >> 28} in an IPv6 header", off, 1,
                 "RFC 8200 3", "ipv6.bogus_ipv6_version")
        return
    pend = off + 40 + plen
    if plen == 0:             # jumbogram or capture of a packet with no payload length
        pend = end
    if pend > end:
        if not quoted and pkt.record.wirelen <= len(pkt.record.data):
            pkt.note(WARN, "malformed", f"IPv6 payload length {plen} exceeds the "
                     f"{end - off - 40} bytes present in the frame", off + 4, 2, "RFC 8200 3",
                     "sctpinspect.ipv6.len_past_end")
        pend = end
    if not quoted:
        pkt.ip_version = 6
        pkt.src = src
        pkt.dst = dst
    pos = off + 40
    first = True
    while nxt in (0, 43, 60, 44):
        if nxt == 44:
            if pend - pos < 8:
                return _stop(pkt, _tail(layer), "ipv6.fraghdr", "IPv6 Fragment", pos, pend, 8, "RFC 8200 4.5")
            nh, _r, offm, ident = struct.unpack_from("!BBHI", buf, pos)
            fo = offm & 0xFFF8
            more = bool(offm & 1)
            _tail(layer).append(Field("ipv6.fraghdr", None, pos, 8,
                              f"Fragment Header for IPv6, offset {fo}, more {'yes' if more else 'no'}", [
                                  Field("ipv6.fraghdr.nxt", nh, pos, 1),
                                  Field("ipv6.fraghdr.offset", fo >> 3, pos + 2, 2),
                                  Field("ipv6.fraghdr.more", more, pos + 2, 2),
                                  Field("ipv6.fraghdr.ident", ident, pos + 4, 4)]))
            pos += 8
            if fo == 0 and not more:          # atomic fragment (RFC 6946)
                nxt = nh
                continue
            if quoted or not dec.options.reassemble_ip:
                if fo == 0:
                    _transport(dec, pkt, buf, pos, pend, parent, nh, quoted)
                return
            payload, frames, evicted = dec.reassembler.add(
                (6, src, dst, ident, nh), fo, more, buf[pos:pend], pkt.record.number)
            if evicted:
                _evicted_note(dec, pkt, evicted, pos - 8)
            if payload is None:
                return
            _fragments(_tail(layer), "ipv6", frames, len(payload))
            _reassembled(dec, pkt, parent, "Reassembled IPv6", payload, nh)
            return
        name, label = _EXT_NAMES[nxt]
        if pend - pos < 8:
            return _stop(pkt, _tail(layer), name, label, pos, pend, 8, "RFC 8200 4")
        nh, ln = buf[pos], buf[pos + 1]
        size = (ln + 1) << 3
        # the claimed size may run past the frame (noted below): the field covers what is there
        ext = Field(name, None, pos, min(size, end - pos), label, [
            Field(name + ".nxt", nh, pos, 1),
            Field(name + ".len", ln, pos + 1, 1),
            Field(name + ".len_oct", size, pos + 1, 1)])
        if nxt == 43:
            ext.add("ipv6.routing.type", buf[pos + 2], pos + 2, 1)
            ext.add("ipv6.routing.segleft", buf[pos + 3], pos + 3, 1)
        _tail(layer).append(ext)
        if nxt == 0 and not first:
            pkt.note(WARN, "protocol", "IPv6 Hop-by-Hop extension header must appear immediately "
                     "after the IPv6 header", pos, size, "RFC 8200 4.3", "ipv6.hopopts.not_first")
        if pos + size > pend:
            pkt.note(WARN, "malformed", f"{label} length {size} runs past the end of the packet",
                     pos, pend - pos, "RFC 8200 4", "sctpinspect.ipv6.ext_truncated")
            return
        pos += size
        nxt = nh
        first = False
    _transport(dec, pkt, buf, pos, pend, parent, nxt, quoted)


# ---------------------------------------------------------------- transport
def _transport(dec, pkt, buf, off, end, parent, proto, quoted):
    fn = IP_PROTO_DECODERS.get(proto)
    if fn is not None:
        fn(dec, pkt, buf, off, end, parent, quoted)


def _udp_show(layer, b):
    sport, dport = _udp_hdr(b[2], b[3])[:2]
    return f"User Datagram Protocol, Src Port: {sport}, Dst Port: {dport}"


def _build_udp(layer, b):
    """Fields of a ``udp`` layer (LazyField builder)."""
    buf, off = b[2], b[3]
    sport, dport, ulen, csum = _udp_hdr(buf, off)
    _set_children(layer, [
        Field("udp.srcport", sport, off, 2),
        Field("udp.dstport", dport, off + 2, 2),
        Field("udp.port", sport, off, 2),
        Field("udp.port", dport, off + 2, 2),
        Field("udp.length", ulen, off + 4, 2),
        Field("udp.checksum", csum, off + 6, 2),
        Field("udp.checksum.status", 2, off + 6, 0)])


def decode_udp(dec, pkt, buf, off, end, parent, quoted=False):
    if end - off < 8:
        return _stop(pkt, parent, "udp", "UDP", off, end, 8, "RFC 768")
    sport, dport, ulen, csum = _udp_hdr(buf, off)
    parent.append(LazyField("udp", None, off, 8, (_udp_show, _build_udp, buf, off)))
    uend = end
    if ulen < 8:
        if not quoted:
            pkt.note(ERROR, "malformed", f"bad UDP length {ulen} (less than the 8-byte header)",
                     off + 4, 2, "RFC 768", "udp.length.bad")
            return
    elif off + ulen <= end:
        uend = off + ulen
    elif not quoted and pkt.record.wirelen <= len(pkt.record.data):
        pkt.note(ERROR, "malformed", f"bad UDP length {ulen}: only {end - off} bytes present",
                 off + 4, 2, "RFC 768", "udp.length.bad")
    ports = dec.options.udp_ports
    if sport in ports or dport in ports:
        if not quoted:
            pkt.encap = "udp"
        _sctp(dec, pkt, buf, off + 8, uend, parent, quoted)


_ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))


def decode_icmp(dec, pkt, buf, off, end, parent, quoted=False):
    if end - off < 8:
        return _stop(pkt, parent, "icmp", "ICMP", off, end, 8, "RFC 792")
    t, code, csum = struct.unpack_from("!BBH", buf, off)
    layer = Field("icmp", None, off, end - off, None, [
        Field("icmp.type", t, off, 1), Field("icmp.code", code, off + 1, 1),
        Field("icmp.checksum", csum, off + 2, 2)])
    parent.append(layer)
    if t == 3 and code == 4:
        layer.add("icmp.mtu", struct.unpack_from("!H", buf, off + 6)[0], off + 6, 2)
    if t in _ICMP_ERRORS and not quoted and end - off > 8:
        _quoted(dec, pkt, buf, off + 8, end, layer, decode_ipv4)


def decode_icmpv6(dec, pkt, buf, off, end, parent, quoted=False):
    if end - off < 8:
        return _stop(pkt, parent, "icmpv6", "ICMPv6", off, end, 8, "RFC 4443")
    t, code, csum = struct.unpack_from("!BBH", buf, off)
    layer = Field("icmpv6", None, off, end - off, None, [
        Field("icmpv6.type", t, off, 1), Field("icmpv6.code", code, off + 1, 1),
        Field("icmpv6.checksum", csum, off + 2, 2)])
    parent.append(layer)
    if t == 2:
        layer.add("icmpv6.mtu", struct.unpack_from("!I", buf, off + 4)[0], off + 4, 4)
    if 1 <= t <= 4 and not quoted and end - off > 8:
        _quoted(dec, pkt, buf, off + 8, end, layer, decode_ipv6)


def _quoted(dec, pkt, buf, off, end, layer, decode_ip):
    kids = layer.children
    n = len(kids)
    decode_ip(dec, pkt, buf, off, end, kids, True)
    for f in kids[n:]:
        if f.name == "sctp":
            pkt.icmp = layer
            break


def _ipip(dec, pkt, buf, off, end, parent, quoted=False):
    decode_ipv4(dec, pkt, buf, off, end, parent, quoted)


def _ip6ip(dec, pkt, buf, off, end, parent, quoted=False):
    decode_ipv6(dec, pkt, buf, off, end, parent, quoted)


IP_PROTO_DECODERS = {
    1: decode_icmp,
    4: _ipip,
    17: decode_udp,
    41: _ip6ip,
    58: decode_icmpv6,
    132: _sctp,
}
