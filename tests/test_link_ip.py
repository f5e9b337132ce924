"""Link / IP / UDP / ICMP decoding checked against tshark: the public captures
field by field, and crafted frames for every link type and IP feature
(QinQ, SLL2, null/loop, raw, IPv4 options, IPv6 extension headers, IPv4/IPv6
fragment reassembly, SCTP over UDP 9899, ICMP errors quoting SCTP), plus
malformed headers that must become Notes rather than exceptions."""
from __future__ import annotations

import struct
import subprocess

import pytest
from scapy.all import (ICMP, IP, UDP, Ether, IPOption_NOP, IPOption_RR, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, ICMPv6PacketTooBig, Raw, fragment, fragment6, raw,
                       wrpcap)
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Loopback
from scapy.layers.sctp import SCTP, SCTPChunkData, SCTPChunkInit

from conftest import public_captures
from sctpinspect.decode import DecodeOptions, Decoder
from sctpinspect.model import Record
from sctpinspect.registry import FIELDS, format_tshark
from sctpinspect.sources import open_capture

FIELD_LIST = [
    "frame.number", "frame.time_epoch", "frame.time_relative", "frame.len", "frame.cap_len",
    "frame.interface_id", "eth.dst", "eth.src", "eth.type", "vlan.id", "vlan.etype", "sll.pkttype",
    "sll.etype", "null.family", "ieee8021ad.id", "ieee8021ah.etype", "mpls.label", "mpls.bottom", "ip.version", "ip.hdr_len", "ip.len", "ip.id", "ip.flags",
    "ip.flags.df", "ip.flags.mf", "ip.frag_offset", "ip.ttl", "ip.proto", "ip.src", "ip.dst",
    "ip.addr", "ip.opt.type", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst",
    "ipv6.addr", "ipv6.hopopts.nxt", "ipv6.routing.type", "ipv6.dstopts.len", "ipv6.fraghdr.ident",
    "udp.srcport", "udp.dstport", "udp.port", "udp.length", "icmp.type", "icmp.code", "icmp.mtu",
    "icmpv6.type", "icmpv6.code", "icmpv6.mtu", "ip.fragment", "ip.fragment.count",
    "ip.reassembled.length", "ipv6.fragment", "ipv6.reassembled.length", "sctp.srcport",
    "sctp.dstport",
]


def tshark_fields(tshark, path, fields, first_only=False, defrag=True):
    cmd = [tshark, "-r", str(path), "-T", "fields", "-E", "separator=/t"]
    if not defrag:
        cmd += ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
    if first_only:
        cmd += ["-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def ours(pkt, fields, first_only=False):
    row = []
    for f in fields:
        vals = pkt.values(f)
        if first_only:
            vals = vals[:1]
        row.append(",".join(format_tshark(f, v) for v in vals))
    return row


def decode_file(path, options=None):
    d = Decoder(options)
    return [d.decode(r) for r in open_capture(path)]


def assert_like_tshark(tshark, path, fields=FIELD_LIST, first_only=False, options=None):
    pkts = decode_file(path, options)
    rows = tshark_fields(tshark, path, fields, first_only)
    assert len(pkts) == len(rows)
    for pkt, row in zip(pkts, rows):
        got = ours(pkt, fields, first_only)
        diff = [(f, g, w) for f, g, w in zip(fields, got, row) if g != w]
        assert not diff, f"frame {pkt.number}: (field, ours, tshark) {diff}"
    return pkts


# ------------------------------------------------------------ public captures
PUBLIC_FIELDS = ["frame.time_epoch", "frame.time_relative", "frame.len", "frame.cap_len",
                 "frame.interface_id", "eth.type", "eth.src", "vlan.id", "sll.etype", "ip.src",
                 "ip.dst", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.len",
                 "ipv6.src", "ipv6.dst", "ipv6.nxt", "udp.srcport", "udp.dstport"]
# Protocols tshark decodes and we deliberately do not (tunnels, service headers):
# their frames carry extra inner headers that tshark's first occurrence can pick.
NOT_OURS = ("gtp", "nsh", "cfp", "esp", "gre", "vxlan", "pppoes", "cmd")

PUB = public_captures()


@pytest.mark.parametrize("path", PUB, ids=[p.name for p in PUB])
def test_public_captures_like_tshark(tshark, path):
    # Reassembly off on both sides: tshark also reassembles fragments of tunnelled
    # IP (GTP) that we do not decode, which would pair fragments differently.
    pkts = decode_file(path, DecodeOptions(reassemble_ip=False))
    rows = tshark_fields(tshark, path, ["frame.protocols"] + PUBLIC_FIELDS, first_only=True,
                         defrag=False)
    assert len(pkts) == len(rows)
    compared = 0
    for pkt, row in zip(pkts, rows):
        protos = row[0].split(":")
        if any(p in protos for p in NOT_OURS) or 0x8903 in pkt.values("eth.type"):
            # only Cisco FabricPath (not decoded) may hide SCTP frames from the comparison
            assert "sctp" not in protos or "cfp" in protos or 0x8903 in pkt.values("eth.type"), \
                f"frame {pkt.number}: {row[0]}"
            continue
        assert ours(pkt, PUBLIC_FIELDS, True) == row[1:], f"frame {pkt.number}"
        if "sctp" in protos:
            assert pkt.sctp is not None, f"frame {pkt.number}: tshark found SCTP, we did not"
        compared += 1
    # Tunnelled traffic (GTP-U in the open5gs captures, FabricPath) is skipped.
    assert compared > 0


def test_public_ip_addr_occurrences(tshark):
    path = next(p for p in PUB if p.name == "sctp-addip.cap")
    assert_like_tshark(tshark, path, ["ip.addr", "ip.src", "ip.dst", "sll.pkttype", "sll.etype",
                                      "ip.flags", "ip.ttl"])


def test_public_ipv4_reassembly_like_tshark(tshark):
    """nonipsec_reg.pcapng frames 32+33: an SCTP packet in two IPv4 fragments."""
    path = next(p for p in PUB if p.name == "nonipsec_reg.pcapng")
    fields = ["ip.fragment", "ip.fragment.count", "ip.reassembled.length", "sctp.srcport"]
    pkts = decode_file(path)
    rows = tshark_fields(tshark, path, fields)
    p33 = pkts[32]
    assert ours(p33, fields) == rows[32]
    assert rows[32][0] == "32,33"
    assert p33.buffers["layer:sctp"] == "Reassembled IPv4"
    assert len(p33.buffers["Reassembled IPv4"]) == 1480
    assert pkts[31].sctp is None and p33.sctp is not None


# ------------------------------------------------------------ crafted frames
def _sctp_init():
    return SCTP(sport=5000, dport=36412, tag=0) / SCTPChunkInit(init_tag=0x1234, a_rwnd=65535,
                                                              n_out_streams=2, n_in_streams=2,
                                                              init_tsn=1)


def _sctp_data(n=40):
    return SCTP(sport=2905, dport=2905, tag=0xABCD) / SCTPChunkData(tsn=7, stream_id=1,
                                                                    proto_id=3, data=b"x" * n)


def _write(tmp_path, name, pkts, linktype):
    p = tmp_path / name
    for i, pk in enumerate(pkts):
        pk.time = 1_700_000_000 + i * 0.25
    wrpcap(str(p), pkts, linktype=linktype)
    return p


def test_qinq_and_ipv4_options(tmp_path, tshark):
    pkts = [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1AD(vlan=100) /
        Dot1Q(vlan=200, prio=5) / IP(src="10.0.0.1", dst="10.0.0.2") / _sctp_init(),
        Ether() / Dot1Q(vlan=7) / IP(src="10.0.0.3", dst="10.0.0.4",
                                     options=[IPOption_RR(routers=["1.2.3.4"]), IPOption_NOP()]) /
        _sctp_data(),
    ]
    p = _write(tmp_path, "qinq.pcap", pkts, 1)
    got = assert_like_tshark(tshark, p)
    assert got[0].values("ieee8021ad.id") == [100] and got[0].values("vlan.id") == [200]
    assert got[1].first("ip.hdr_len") == 20 + 7 + 1   # RR with one address + NOP and got[1].src == "10.0.0.3"
    assert [lay.name for lay in got[0].layers] == ["frame", "eth", "ieee8021ad", "vlan", "ip", "sctp"]


def test_sll_sll2_null_loop_raw(tmp_path, tshark):
    ipsctp = IP(src="192.0.2.1", dst="192.0.2.2") / _sctp_data()
    files = [
        _write(tmp_path, "sll.pcap", [CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6,
                                                  src=b"\x02\x00\x00\x00\x00\x09\x00\x00") / ipsctp], 113),
        _write(tmp_path, "sll2.pcap", [CookedLinuxV2(pkttype=4, ifindex=3, lladdrtype=1,
                                                     lladdrlen=6, src=b"\x02\x00\x00\x00\x00\x09\x00\x00") /
                                       ipsctp], 276),
        _write(tmp_path, "null.pcap", [Loopback(type=2) / ipsctp,
                                       Loopback(type=30) / IPv6(src="2001:db8::1", dst="2001:db8::2") /
                                       _sctp_data()], 0),
        _write(tmp_path, "raw.pcap", [ipsctp, IPv6(src="2001:db8::1", dst="2001:db8::2") /
                                      _sctp_data()], 101),
        _write(tmp_path, "raw4.pcap", [ipsctp], 228),
    ]
    for f in files:
        pkts = assert_like_tshark(tshark, f)
        assert all(p.sctp is not None and p.src in ("192.0.2.1", "2001:db8::1") for p in pkts), f
    # LINKTYPE_LOOP: the family is in network byte order.
    p = tmp_path / "loop.pcap"
    with open(p, "wb") as fh:
        body = struct.pack(">I", 2) + raw(ipsctp)
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 108))
        fh.write(struct.pack("<IIII", 1_700_000_000, 0, len(body), len(body)) + body)
    pkts = assert_like_tshark(tshark, p)
    assert pkts[0].first("null.family") == 2 and pkts[0].sctp is not None


def test_ipv6_extension_headers(tmp_path, tshark):
    v6 = IPv6(src="2001:db8::a", dst="2001:db8::b")
    pkts = [
        Ether() / v6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::c"]) /
        IPv6ExtHdrDestOpt() / _sctp_init(),
        Ether() / v6 / IPv6ExtHdrFragment(id=77, offset=0, m=0) / _sctp_data(),   # atomic fragment
    ]
    p = _write(tmp_path, "v6ext.pcap", pkts, 1)
    got = assert_like_tshark(tshark, p)
    assert got[0].ip_version == 6 and got[0].sctp is not None and got[1].sctp is not None
    ipv6 = got[0].layer("ipv6")
    assert [c.name for c in ipv6.children if c.name.count(".") == 1 and
            c.name in ("ipv6.hopopts", "ipv6.routing", "ipv6.dstopts")] == \
        ["ipv6.hopopts", "ipv6.routing", "ipv6.dstopts"]


def test_ipv4_fragmented_sctp_reassembled_like_tshark(tmp_path, tshark):
    whole = IP(src="10.1.1.1", dst="10.1.1.2", id=4242) / _sctp_data(1400)
    frags = fragment(whole, fragsize=512)
    assert len(frags) == 3
    other = Ether() / IP(src="10.9.9.9", dst="10.9.9.8") / _sctp_init()
    pkts = [Ether() / frags[0], other, Ether() / frags[2], Ether() / frags[1]]   # out of order
    p = _write(tmp_path, "frag.pcap", pkts, 1)
    got = assert_like_tshark(tshark, p)
    last = got[3]
    assert last.values("ip.fragment") == [1, 4, 3]
    assert last.buffers["Reassembled IPv4"] == raw(whole)[20:]
    assert last.sctp is not None and last.vtag == 0xABCD
    assert got[0].sctp is None and got[2].sctp is None


def test_ipv6_fragmented_sctp_reassembled(tmp_path, tshark):
    whole = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=99) / _sctp_data(1400)
    frags = fragment6(whole, 600)
    p = _write(tmp_path, "frag6.pcap", [Ether() / f for f in frags], 1)
    got = assert_like_tshark(tshark, p)
    assert got[-1].sctp is not None and got[-1].vtag == 0xABCD
    assert got[-1].buffers["layer:sctp"] == "Reassembled IPv6"


def test_reassembly_off_decodes_first_fragment_only(tmp_path):
    frags = fragment(IP(src="10.1.1.1", dst="10.1.1.2", id=1) / _sctp_data(1400), fragsize=512)
    p = _write(tmp_path, "f.pcap", [Ether() / f for f in frags], 1)
    got = decode_file(p, DecodeOptions(reassemble_ip=False))
    assert [g.sctp is not None for g in got] == [True, False, False]


def test_reassembly_memory_bound_is_noted():
    opts = DecodeOptions(max_reassembly_bytes=1000)
    d = Decoder(opts)
    notes = []
    for i in range(6):   # six incomplete datagrams of 400 bytes each
        f = fragment(IP(src="10.0.0.1", dst="10.0.0.2", id=i) / _sctp_data(700), fragsize=400)[0]
        pkt = d.decode(Record(i + 1, 0, raw(f), len(f), 101))
        notes += [n for n in pkt.notes if n.key == "sctpinspect.ip.reassembly_evicted"]
    assert notes and d._impl.reassembler.buffered <= 1000


def test_sctp_over_udp_9899(tmp_path, tshark):
    pkts = [Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=9899, dport=9899) / _sctp_init(),
            Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=5678) / Raw(b"hi")]
    p = _write(tmp_path, "udp.pcap", pkts, 1)
    got = assert_like_tshark(tshark, p)
    assert got[0].encap == "udp" and got[0].sctp is not None and got[0].sport == 5000
    assert got[1].sctp is None and got[1].encap is None


def test_icmp_errors_quoting_sctp(tmp_path, tshark):
    inner4 = raw(IP(src="10.0.0.1", dst="10.0.0.2") / _sctp_data(200))[:20 + 28]
    inner6 = raw(IPv6(src="2001:db8::1", dst="2001:db8::2") / _sctp_data(1400))[:40 + 28]
    pkts = [
        Ether() / IP(src="192.0.2.254", dst="10.0.0.1") / ICMP(type=3, code=4, nexthopmtu=1200) /
        Raw(inner4),
        Ether() / IPv6(src="2001:db8::fe", dst="2001:db8::1") / ICMPv6PacketTooBig(mtu=1280) /
        Raw(inner6),
    ]
    p = _write(tmp_path, "icmp.pcap", pkts, 1)
    got = assert_like_tshark(tshark, p)
    for g, proto in zip(got, ("icmp", "icmpv6")):
        assert g.sctp is None and g.icmp is not None and g.icmp.name == proto
        assert [c.name for c in g.icmp.children if c.name == "sctp"] == ["sctp"]
        assert g.icmp.find("sctp.verification_tag").value == 0xABCD
    assert got[0].src == "192.0.2.254"          # the packet's own header, not the quoted one


# ------------------------------------------------------------ malformed input
def _ip_bytes(**kw):
    return bytearray(raw(IP(src="10.0.0.1", dst="10.0.0.2", **kw) / _sctp_data()))


def _malformed_cases():
    bad_ihl = _ip_bytes()
    bad_ihl[0] = 0x43
    bad_len = _ip_bytes()
    bad_len[2:4] = b"\x00\x10"
    bad_ver = _ip_bytes()
    bad_ver[0] = 0x55
    bad_udp = bytearray(raw(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=9899, dport=9899) /
                            _sctp_init()))
    bad_udp[24:26] = b"\x00\x04"
    bad_opt = bytearray(raw(IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption_NOP()] * 4) /
                            _sctp_data()))
    bad_opt[20:24] = b"\x07\x09\x04\x00"        # option length runs past the header
    v6 = bytearray(raw(IPv6(src="::1", dst="::2") / IPv6ExtHdrDestOpt() / _sctp_data()))
    v6[41] = 200                                  # extension header length past the packet
    return [
        ("ip.bogus_header_length", 101, bytes(bad_ihl)),
        ("ip.bogus_ip_length", 101, bytes(bad_len)),
        ("ip.bogus_ip_version", 228, bytes(bad_ver)),
        ("udp.length.bad", 101, bytes(bad_udp)),
        ("ip.opt.len.invalid", 101, bytes(bad_opt)),
        ("sctpinspect.ipv6.ext_truncated", 101, bytes(v6)),
        ("sctpinspect.ip.truncated", 101, bytes(_ip_bytes()[:12])),
        ("sctpinspect.ipv6.truncated", 229, bytes(30)),
        ("sctpinspect.eth.truncated", 1, b"\x00" * 10),
        ("sctpinspect.vlan.truncated", 1, b"\x00" * 12 + b"\x81\x00\x00"),
        ("sctpinspect.sll.truncated", 113, b"\x00" * 5),
        ("sctpinspect.null.truncated", 0, b"\x02"),
        ("sctpinspect.frame.unknown_linktype", 147, b"\x00" * 20),
    ]


@pytest.mark.parametrize("key,linktype,data", _malformed_cases(),
                         ids=[c[0] for c in _malformed_cases()])
def test_malformed_headers_become_notes(key, linktype, data):
    pkt = Decoder().decode(Record(1, 0, data, len(data), linktype, 0))
    assert key in [n.key for n in pkt.notes]
    assert pkt.layers[0].name == "frame"
    assert all(n.key != "sctpinspect.decode.exception" for n in pkt.notes)


def test_every_prefix_of_frames_decodes_without_exception():
    frames = [
        (1, raw(Ether() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / IP(options=[IPOption_NOP()] * 4) /
                UDP(sport=9899, dport=9899) / _sctp_init())),
        (101, raw(IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrFragment(m=1) /
                  _sctp_data())),
        (228, raw(IP() / ICMP(type=3, code=4) / Raw(raw(IP() / _sctp_data())[:48]))),
        (276, raw(CookedLinuxV2() / IPv6() / ICMPv6PacketTooBig() / Raw(raw(IPv6() / _sctp_data())[:68]))),
    ]
    for linktype, data in frames:
        d = Decoder()
        for n in range(len(data) + 1):
            pkt = d.decode(Record(n + 1, 0, data[:n], n, linktype))
            assert all(x.key != "sctpinspect.decode.exception" for x in pkt.notes), (linktype, n)


def test_emitted_fields_are_registered(tmp_path):
    pkts = [Ether() / Dot1Q(vlan=3) / IP(options=[IPOption_RR()]) / UDP(sport=9899) / _sctp_init(),
            Ether() / IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() /
            ICMPv6PacketTooBig() / Raw(raw(IPv6() / _sctp_data())[:68])]
    p = _write(tmp_path, "reg.pcap", pkts, 1)
    names = {f.name for pk in decode_file(p) for f in pk.walk()
             if not f.name.startswith("sctp")}     # the SCTP dissector's own business
    assert names - set(FIELDS) == set()


def test_frame_fields_from_pcapng_record():
    rec = Record(3, 1_600_000_000_000_000_007, b"\x00" * 20, 60, 147, 2, "a comment", "in")
    pkt = Decoder().decode(rec)
    frame = pkt.layer("frame")
    assert format_tshark("frame.time_epoch", frame.get("frame.time_epoch")) == "1600000000.000000007"
    assert frame.get("frame.interface_id") == 2 and frame.get("frame.comment") == "a comment"
    assert frame.get("frame.len") == 60 and frame.get("frame.cap_len") == 20
