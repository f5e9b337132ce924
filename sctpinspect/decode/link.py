"""Link layers: Ethernet (+802.1Q/802.1ad VLAN tags), Linux cooked SLL/SLL2,
raw IP, BSD null/loopback.  Tables map LINKTYPE_* and EtherTypes to decode
functions; adding a link type is one entry plus one function.

Every decode function has the signature ``fn(dec, pkt, buf, off, end, parent)``
and appends its layer Field to ``parent`` (normally ``pkt.layers``).
"""
from __future__ import annotations

import struct

from ..model import WARN, Field, LazyField, _set_children
from ..registry import (BASE_DEC, BASE_HEX, BASE_NONE, FT_BOOLEAN, FT_BYTES, FT_ETHER,
                        FT_PROTOCOL, FT_UINT16, FT_UINT32, register_table)
from . import ip as _ip

_u16 = struct.Struct("!H").unpack_from

ETHERTYPES = {
    0x0800: "IPv4", 0x86DD: "IPv6", 0x0806: "ARP", 0x8100: "802.1Q Virtual LAN",
    0x88A8: "802.1ad Provider Bridge (Q-in-Q)", 0x9100: "802.1Q-in-Q (legacy)",
    0x8847: "MPLS label switched packet", 0x8864: "PPPoE Session", 0x88CC: "802.1 Link Layer Discovery Protocol (LLDP)",
}
SLL_PKTTYPES = {0: "Unicast to us", 1: "Broadcast", 2: "Multicast", 3: "Unicast to another host",
                4: "Sent by us", 5: "Loopback", 6: "Fastroute"}
NULL_FAMILIES = {2: "IP", 24: "IPv6 (NetBSD/OpenBSD)", 28: "IPv6 (FreeBSD)", 30: "IPv6 (Darwin)",
                 10: "IPv6 (Linux)"}
ARPHRD = {1: "Ethernet", 772: "Loopback", 65534: "zero header length", 65535: "Void", 778: "IP GRE",
          280: "IPv4 (SIT)", 776: "IPv6-in-IPv4"}

register_table([
    ("eth", "Ethernet II", FT_PROTOCOL),
    ("eth.dst", "Destination", FT_ETHER),
    ("eth.src", "Source", FT_ETHER),
    ("eth.addr", "Address", FT_ETHER),
    ("eth.type", "Type", FT_UINT16, BASE_HEX, ETHERTYPES),
    ("eth.len", "Length", FT_UINT16, BASE_DEC),
    ("eth.padding", "Padding", FT_BYTES),
    ("eth.trailer", "Trailer", FT_BYTES),
    ("vlan", "802.1Q Virtual LAN", FT_PROTOCOL),
    ("vlan.priority", "Priority", FT_UINT16, BASE_DEC, None, 0xE000),
    ("vlan.dei", "DEI", FT_BOOLEAN, BASE_NONE, None, 0x1000),
    ("vlan.id", "ID", FT_UINT16, BASE_DEC, None, 0x0FFF),
    ("vlan.etype", "Type", FT_UINT16, BASE_HEX, ETHERTYPES),
    ("ieee8021ad", "IEEE 802.1ad", FT_PROTOCOL),
    ("ieee8021ad.priority", "Priority", FT_UINT16, BASE_DEC, None, 0xE000),
    ("ieee8021ad.dei", "DEI", FT_UINT16, BASE_DEC, None, 0x1000),
    ("ieee8021ad.id", "ID", FT_UINT16, BASE_DEC, None, 0x0FFF),
    ("ieee8021ah.etype", "Type", FT_UINT16, BASE_HEX, ETHERTYPES),
    ("mpls", "MultiProtocol Label Switching Header", FT_PROTOCOL),
    ("mpls.label", "MPLS Label", FT_UINT32, BASE_DEC, None, 0xFFFFF000),
    ("mpls.exp", "MPLS Experimental Bits", FT_UINT32, BASE_DEC, None, 0xE00),
    ("mpls.bottom", "MPLS Bottom Of Label Stack", FT_UINT32, BASE_DEC, None, 0x100),
    ("mpls.ttl", "MPLS TTL", FT_UINT32, BASE_DEC, None, 0xFF),
    ("sll", "Linux cooked capture", FT_PROTOCOL),
    ("sll.pkttype", "Packet type", FT_UINT16, BASE_DEC, SLL_PKTTYPES),
    ("sll.hatype", "Link-layer address type", FT_UINT16, BASE_DEC, ARPHRD),
    ("sll.halen", "Link-layer address length", FT_UINT16, BASE_DEC),
    ("sll.src.eth", "Source", FT_ETHER),
    ("sll.src.other", "Source", FT_BYTES),
    ("sll.unused", "Unused", FT_BYTES),
    ("sll.etype", "Protocol", FT_UINT16, BASE_HEX, ETHERTYPES),
    ("sll.ifindex", "Interface index", FT_UINT32, BASE_DEC),
    ("null", "Null/Loopback", FT_PROTOCOL),
    ("null.family", "Family", FT_UINT32, BASE_DEC, NULL_FAMILIES),
    ("raw", "Raw packet data", FT_PROTOCOL),
])


def _truncated(pkt, parent, name, label, buf, off, end, need, rfc=None):
    parent.append(Field(name, None, off, end - off, f"{label} [truncated: {end - off} of {need} bytes]"))
    pkt.note(WARN, "malformed", f"{label} header truncated: {end - off} of {need} bytes",
             off, end - off, rfc, f"sctpinspect.{name}.truncated")


def _mac(b: bytes) -> str:
    return b.hex(":")


def dispatch_ethertype(dec, pkt, buf, off, end, etype, parent):
    fn = ETHERTYPE_DECODERS.get(etype)
    if fn is not None:
        fn(dec, pkt, buf, off, end, parent)


def _eth_show(layer, b):
    buf, off = b[2], b[3]
    return f"Ethernet II, Src: {_mac(buf[off + 6:off + 12])}, Dst: {_mac(buf[off:off + 6])}"


def _build_eth(layer, b):
    """Children of an Ethernet II layer (LazyField builder)."""
    buf, off, etype = b[2], b[3], b[4]
    dst = _mac(buf[off:off + 6])
    src = _mac(buf[off + 6:off + 12])
    _set_children(layer, [
        Field("eth.dst", dst, off, 6, None, [Field("eth.addr", dst, off, 6)]),
        Field("eth.src", src, off + 6, 6, None, [Field("eth.addr", src, off + 6, 6)]),
        Field("eth.type", etype, off + 12, 2)])


def decode_ethernet(dec, pkt, buf, off, end, parent):
    if end - off < 14:
        return _truncated(pkt, parent, "eth", "Ethernet II", buf, off, end, 14, "IEEE 802.3")
    etype = _u16(buf, off + 12)[0]
    if etype < 0x0600:       # IEEE 802.3 length field: LLC follows, never SCTP
        dst = _mac(buf[off:off + 6])
        src = _mac(buf[off + 6:off + 12])
        layer = Field("eth", None, off, 14, f"IEEE 802.3 Ethernet, Src: {src}, Dst: {dst}", [
            Field("eth.dst", dst, off, 6, None, [Field("eth.addr", dst, off, 6)]),
            Field("eth.src", src, off + 6, 6, None, [Field("eth.addr", src, off + 6, 6)]),
            Field("eth.len", etype, off + 12, 2)])
        parent.append(layer)
        return
    # Fields (and the MAC address texts) are made only if something reads them.
    parent.append(LazyField("eth", None, off, 14, (_eth_show, _build_eth, buf, off, etype)))
    fn = ETHERTYPE_DECODERS.get(etype)
    if fn is not None:
        fn(dec, pkt, buf, off + 14, end, parent)


MAX_VLAN_TAGS = 8


def decode_vlan(dec, pkt, buf, off, end, parent):
    depth = 0
    while True:
        if end - off < 4:
            return _truncated(pkt, parent, "vlan", "802.1Q Virtual LAN", buf, off, end, 4, "IEEE 802.1Q")
        tci, etype = struct.unpack_from("!HH", buf, off)
        vid = tci & 0x0FFF
        parent.append(Field("vlan", None, off, 4,
                            f"802.1Q Virtual LAN, PRI: {tci >> 13}, DEI: {(tci >> 12) & 1}, ID: {vid}", [
                                Field("vlan.priority", tci >> 13, off, 2),
                                Field("vlan.dei", bool(tci & 0x1000), off, 2),
                                Field("vlan.id", vid, off, 2),
                                Field("vlan.etype", etype, off + 2, 2)]))
        off += 4
        depth += 1
        if etype not in (0x8100, 0x9100):
            break
        if depth >= MAX_VLAN_TAGS:
            pkt.note(WARN, "malformed", f"more than {MAX_VLAN_TAGS} nested VLAN tags", off, 0,
                     "IEEE 802.1Q", "vlan.too_many_tags")
            return
    fn = ETHERTYPE_DECODERS.get(etype)
    if fn is not None:
        fn(dec, pkt, buf, off, end, parent)


def decode_8021ad(dec, pkt, buf, off, end, parent):
    """802.1ad service tag (S-tag); Wireshark names it ieee8021ad."""
    if end - off < 4:
        return _truncated(pkt, parent, "ieee8021ad", "IEEE 802.1ad", buf, off, end, 4, "IEEE 802.1ad")
    tci, etype = struct.unpack_from("!HH", buf, off)
    parent.append(Field("ieee8021ad", None, off, 4, f"IEEE 802.1ad, ID: {tci & 0xFFF}", [
        Field("ieee8021ad.priority", tci >> 13, off, 2),
        Field("ieee8021ad.dei", (tci >> 12) & 1, off, 2),
        Field("ieee8021ad.id", tci & 0xFFF, off, 2),
        Field("ieee8021ah.etype", etype, off + 2, 2)]))
    fn = ETHERTYPE_DECODERS.get(etype)
    if fn is not None:
        fn(dec, pkt, buf, off + 4, end, parent)


def decode_mpls(dec, pkt, buf, off, end, parent):
    """MPLS label stack (RFC 3032); after the bottom label the IP version nibble decides."""
    for _ in range(16):
        if end - off < 4:
            return _truncated(pkt, parent, "mpls", "MPLS", buf, off, end, 4, "RFC 3032 2.1")
        v = struct.unpack_from("!I", buf, off)[0]
        parent.append(Field("mpls", None, off, 4, f"MultiProtocol Label Switching Header, "
                            f"Label: {v >> 12}, Exp: {(v >> 9) & 7}, S: {(v >> 8) & 1}, TTL: {v & 255}", [
                                Field("mpls.label", v >> 12, off, 3),
                                Field("mpls.exp", (v >> 9) & 7, off + 2, 1),
                                Field("mpls.bottom", (v >> 8) & 1, off + 2, 1),
                                Field("mpls.ttl", v & 255, off + 3, 1)]))
        off += 4
        if v & 0x100:
            break
    else:
        return
    if off < end:
        ver = buf[off] >> 4
        if ver == 4:
            _ip.decode_ipv4(dec, pkt, buf, off, end, parent)
        elif ver == 6:
            _ip.decode_ipv6(dec, pkt, buf, off, end, parent)


def decode_sll(dec, pkt, buf, off, end, parent):
    if end - off < 16:
        return _truncated(pkt, parent, "sll", "Linux cooked capture v1", buf, off, end, 16)
    pkttype, hatype, halen = struct.unpack_from("!HHH", buf, off)
    etype = _u16(buf, off + 14)[0]
    kids = [Field("sll.pkttype", pkttype, off, 2), Field("sll.hatype", hatype, off + 2, 2),
            Field("sll.halen", halen, off + 4, 2)]
    n = min(halen, 8)
    if halen == 6 and hatype in (1, 772):
        kids.append(Field("sll.src.eth", _mac(buf[off + 6:off + 12]), off + 6, 6))
    elif n:
        kids.append(Field("sll.src.other", buf[off + 6:off + 6 + n], off + 6, n))
    if n < 8:
        kids.append(Field("sll.unused", buf[off + 6 + n:off + 14], off + 6 + n, 8 - n))
    kids.append(Field("sll.etype", etype, off + 14, 2))
    parent.append(Field("sll", None, off, 16, "Linux cooked capture v1", kids))
    fn = ETHERTYPE_DECODERS.get(etype)
    if fn is not None:
        fn(dec, pkt, buf, off + 16, end, parent)


def decode_sll2(dec, pkt, buf, off, end, parent):
    if end - off < 20:
        return _truncated(pkt, parent, "sll", "Linux cooked capture v2", buf, off, end, 20)
    etype, _res, ifindex, hatype, pkttype, halen = struct.unpack_from("!HHIHBB", buf, off)
    kids = [Field("sll.etype", etype, off, 2), Field("sll.ifindex", ifindex, off + 4, 4),
            Field("sll.hatype", hatype, off + 8, 2), Field("sll.pkttype", pkttype, off + 10, 1),
            Field("sll.halen", halen, off + 11, 1)]
    n = min(halen, 8)
    if halen == 6 and hatype in (1, 772):
        kids.append(Field("sll.src.eth", _mac(buf[off + 12:off + 18]), off + 12, 6))
    elif n:
        kids.append(Field("sll.src.other", buf[off + 12:off + 12 + n], off + 12, n))
    if n < 8:
        kids.append(Field("sll.unused", buf[off + 12 + n:off + 20], off + 12 + n, 8 - n))
    parent.append(Field("sll", None, off, 20, "Linux cooked capture v2", kids))
    fn = ETHERTYPE_DECODERS.get(etype)
    if fn is not None:
        fn(dec, pkt, buf, off + 20, end, parent)


def decode_raw(dec, pkt, buf, off, end, parent):
    """DLT_RAW / LINKTYPE_RAW: the IP version nibble says IPv4 or IPv6."""
    parent.append(Field("raw", None, off, end - off))
    if end <= off:
        return
    v = buf[off] >> 4
    if v == 4:
        _ip.decode_ipv4(dec, pkt, buf, off, end, parent)
    elif v == 6:
        _ip.decode_ipv6(dec, pkt, buf, off, end, parent)
    else:
        pkt.note(WARN, "malformed", f"raw IP packet with IP version {v}", off, 1, "RFC 791 3.1",
                 "ip.bogus_ip_version")


def _null_family(dec, pkt, buf, off, end, parent, family):
    parent.append(Field("null", None, off, 4, None, [Field("null.family", family, off, 4)]))
    if family == 2:
        _ip.decode_ipv4(dec, pkt, buf, off + 4, end, parent)
    elif family in (10, 24, 28, 30):
        _ip.decode_ipv6(dec, pkt, buf, off + 4, end, parent)


def decode_null(dec, pkt, buf, off, end, parent):
    """BSD loopback: 4-byte address family in the *capturing host's* byte order."""
    if end - off < 4:
        return _truncated(pkt, parent, "null", "Null/Loopback", buf, off, end, 4)
    fam = struct.unpack_from("<I", buf, off)[0]
    if fam > 0xFFFF:
        fam = struct.unpack_from(">I", buf, off)[0]
    _null_family(dec, pkt, buf, off, end, parent, fam)


def decode_loop(dec, pkt, buf, off, end, parent):
    """LINKTYPE_LOOP (OpenBSD): address family in network byte order."""
    if end - off < 4:
        return _truncated(pkt, parent, "null", "Null/Loopback", buf, off, end, 4)
    _null_family(dec, pkt, buf, off, end, parent, struct.unpack_from(">I", buf, off)[0])


def _ipv4(dec, pkt, buf, off, end, parent):
    _ip.decode_ipv4(dec, pkt, buf, off, end, parent)


def _ipv6(dec, pkt, buf, off, end, parent):
    _ip.decode_ipv6(dec, pkt, buf, off, end, parent)


ETHERTYPE_DECODERS = {
    0x0800: _ipv4,
    0x86DD: _ipv6,
    0x8100: decode_vlan,
    0x88A8: decode_8021ad,
    0x8847: decode_mpls,
    0x8848: decode_mpls,
    0x9100: decode_vlan,
}

# LINKTYPE_* (https://www.tcpdump.org/linktypes.html) -> decode function
LINKTYPES = {
    0: decode_null,        # LINKTYPE_NULL
    1: decode_ethernet,    # LINKTYPE_ETHERNET
    12: decode_raw,        # DLT_RAW on most BSDs
    14: decode_raw,        # DLT_RAW on OpenBSD/BSD/OS
    101: decode_raw,       # LINKTYPE_RAW
    108: decode_loop,      # LINKTYPE_LOOP
    113: decode_sll,       # LINKTYPE_LINUX_SLL
    228: _ipv4,            # LINKTYPE_IPV4
    229: _ipv6,            # LINKTYPE_IPV6
    276: decode_sll2,      # LINKTYPE_LINUX_SLL2
}
