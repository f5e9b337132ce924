"""Live capture engine on the host (raw sockets; no kernel SCTP needed).

Crafted SCTP packets are sent with raw IP sockets over ``lo`` or through a
veth pair into a network namespace created by the test; the engine must
deliver exactly the SCTP frames, once each, with the bytes that were sent.
"""
from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
import uuid

import pytest

from sctpinspect.capture import LiveCapture
from sctpinspect.capture.traffic import RawSender, RawSink, data_chunk, sctp_packet
from sctpinspect.errors import UserError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")


def _collect(cap: LiveCapture, settle: float = 0.15) -> list:
    time.sleep(settle)
    cap.stop()
    out = list(cap)
    cap.close()
    return out


def _ip_payload(frame: bytes, l2: int) -> tuple[int, int, bytes]:
    """(IP version, protocol/next header, payload) of an IPv4/IPv6 frame."""
    ip = frame[l2:]
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        return 4, ip[9], ip[ihl:struct.unpack("!H", ip[2:4])[0]]
    return 6, ip[6], ip[40:40 + struct.unpack("!H", ip[4:6])[0]]


def _packets(n: int, dport: int = 2000) -> list[bytes]:
    return [sctp_packet(1000 + i, dport + i % 2, 0x1000 + i,
                        data_chunk(i, i % 3, i, 46, b"m%03d" % i)) for i in range(n)]


def _send(pkts, dst="127.0.0.1"):
    with RawSender(dst) as s:
        for p in pkts:
            s.send(p)


def test_loopback_each_packet_once_with_exact_bytes():
    sink = RawSink()
    cap = LiveCapture("lo").start()
    time.sleep(0.1)
    sent = _packets(20)
    _send(sent)
    recs = _collect(cap)
    sink.close()
    assert cap.linktype == 1   # Linux lo has an Ethernet header
    got = []
    for r in recs:
        assert r.data[12:14] == b"\x08\x00"
        ver, proto, payload = _ip_payload(r.data, 14)
        assert proto == 132
        got.append(payload)
        assert r.direction == "in"
        assert r.wirelen == len(r.data)
    assert got == sent                       # once each, in order, same bytes
    assert [r.number for r in recs] == list(range(1, 21))
    now = time.time_ns()
    assert all(now - 10**10 < r.ts_ns <= now for r in recs)
    assert all(a.ts_ns <= b.ts_ns for a, b in zip(recs, recs[1:]))
    cap.update_stats()
    assert cap.stats.kernel_dropped == 0


def test_kernel_filter_drops_non_sctp_and_keeps_sctp_over_udp():
    sink = RawSink()
    cap = LiveCapture("lo").start()
    time.sleep(0.1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for port in (53, 9898, 5060):
        udp.sendto(b"not sctp", ("127.0.0.1", port))
    tcp = socket.socket()
    tcp.settimeout(0.5)
    try:
        tcp.connect(("127.0.0.1", 9))      # SYN + RST: TCP, must not be captured
    except OSError:
        pass
    tcp.close()
    over_udp = sctp_packet(5000, 5001, 7, data_chunk(1, 0, 0, 0, b"encapsulated"))
    udp.sendto(over_udp, ("127.0.0.1", 9899))   # RFC 6951 SCTP over UDP
    udp.close()
    _send(_packets(3))
    recs = _collect(cap)
    sink.close()
    kinds = []
    for r in recs:
        ver, proto, payload = _ip_payload(r.data, 14)
        if proto == 17:
            dport = struct.unpack("!H", payload[2:4])[0]
            kinds.append(("udp", dport))
            assert payload[8:] == over_udp
        elif proto == 1:                      # ICMP port unreachable for 9899 quotes UDP, not SCTP
            kinds.append(("icmp", payload[8 + 9 + 0]))
        else:
            kinds.append((proto,))
    assert ("udp", 9899) in kinds
    assert kinds.count((132,)) == 3
    assert all(k[0] != "udp" or k[1] == 9899 for k in kinds)
    assert not any(k == (6,) for k in kinds)
    # The ICMP port unreachable for 9899 quotes a UDP datagram: not SCTP, not captured.
    assert not any(k[0] == "icmp" for k in kinds)


def test_icmp_error_quoting_sctp_is_captured():
    # No raw SCTP socket bound: the host (without kernel SCTP) answers
    # "protocol unreachable", quoting the SCTP packet.
    from scapy.all import IP, Raw, send
    cap = LiveCapture("lo").start()
    time.sleep(0.1)
    sent = _packets(1)
    send(IP(dst="127.0.0.1", proto=132) / Raw(sent[0]), verbose=False)
    recs = _collect(cap, 0.3)
    protos = [_ip_payload(r.data, 14)[1] for r in recs]
    assert protos[0] == 132
    icmp = [r for r in recs if _ip_payload(r.data, 14)[1] == 1]
    assert len(icmp) == 1
    payload = _ip_payload(icmp[0].data, 14)[2]
    assert payload[0] == 3 and payload[1] == 2            # destination unreachable, protocol
    assert payload[8 + 20: 8 + 20 + 8] == sent[0][:8]     # quoted SCTP common header


def test_user_filter_is_anded_with_sctp_filter():
    sink = RawSink()
    cap = LiveCapture("lo", "sctp dst port 2001").start()
    time.sleep(0.1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"x", ("127.0.0.1", 2001))     # matches the user filter but is not SCTP
    udp.close()
    sent = _packets(10)
    _send(sent)
    recs = _collect(cap)
    sink.close()
    got = [_ip_payload(r.data, 14)[2] for r in recs]
    assert got == [p for p in sent if struct.unpack("!H", p[2:4])[0] == 2001]
    assert len(got) == 5


def test_bad_user_filter_is_one_line_user_error():
    with pytest.raises(UserError) as e:
        LiveCapture("lo", "sctp port")
    assert "capture filter" in str(e.value) and "\n" not in str(e.value)


def test_user_filter_the_kernel_cannot_run_is_applied_in_user_space():
    # protochain compiles to a backward jump that the kernel refuses.
    sink = RawSink(socket.AF_INET6)
    cap = LiveCapture("lo", "ip6 protochain 132").start()
    time.sleep(0.1)
    _send(_packets(2), "127.0.0.1")
    sent6 = _packets(3)
    _send(sent6, "::1")
    recs = _collect(cap)
    sink.close()
    assert cap._user_prog is not None
    assert [_ip_payload(r.data, 14)[2] for r in recs] == sent6


def test_ipv6_extension_header_before_sctp():
    from scapy.all import Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, UDP, Raw
    sink = RawSink(socket.AF_INET6)
    cap = LiveCapture("lo").start()
    time.sleep(0.1)
    sctp = _packets(1)[0]
    frames = [
        Ether() / IPv6(src="::1", dst="::1") / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / Raw(sctp),
        Ether() / IPv6(src="::1", dst="::1") / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=53) / Raw(b"x"),
    ]
    frames[0][IPv6ExtHdrDestOpt].nh = 132
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("lo", 0))
    for f in frames:
        s.send(bytes(f))
    s.close()
    recs = _collect(cap)
    sink.close()
    assert len(recs) == 1
    assert recs[0].data.endswith(sctp)
    assert recs[0].data[14 + 6] == 0        # hop-by-hop first


def test_any_interface_is_cooked_sll2_and_deduplicates_loopback():
    sink = RawSink()
    cap = LiveCapture("any").start()
    time.sleep(0.1)
    sent = _packets(5, dport=3400)
    _send(sent)
    recs = _collect(cap)
    sink.close()
    assert cap.linktype == 276
    lo = socket.if_nametoindex("lo")
    mine = [r for r in recs if _ip_payload(r.data, 20)[2] in sent]
    assert [_ip_payload(r.data, 20)[2] for r in mine] == sent
    for r in mine:
        proto, _res, ifindex, hatype, pkttype, halen = struct.unpack("!HHiHBB", r.data[:12])
        assert proto == 0x0800 and ifindex == lo and hatype == 772 and pkttype == 0
        assert r.wirelen == len(r.data)


def test_recvmsg_fallback_without_ring():
    sink = RawSink()
    cap = LiveCapture("lo", use_ring=False).start()
    assert cap.stats.ring is False
    time.sleep(0.1)
    sent = _packets(6)
    _send(sent)
    recs = _collect(cap)
    sink.close()
    assert [_ip_payload(r.data, 14)[2] for r in recs] == sent
    now = time.time_ns()
    assert all(now - 10**10 < r.ts_ns <= now for r in recs)


def test_unknown_interface_lists_available():
    with pytest.raises(UserError) as e:
        LiveCapture("nosuchif0")
    msg = str(e.value)
    assert "nosuchif0" in msg and "lo" in msg and "any" in msg and "\n" not in msg


def test_decoder_runs_on_capture_thread():
    from sctpinspect.decode import Decoder
    sink = RawSink()
    cap = LiveCapture("lo", decoder=Decoder()).start()
    time.sleep(0.1)
    sent = _packets(3)
    _send(sent)
    items = _collect(cap)
    sink.close()
    assert [p.record.data[34:] for p in items] == sent
    assert [p.record.number for p in items] == [1, 2, 3]


# --- a veth pair into a namespace --------------------------------------------

@pytest.fixture
def veth():
    if shutil.which("ip") is None:
        pytest.skip("iproute2 missing")
    tag = uuid.uuid4().hex[:6]
    ns, a, b = f"capns{tag}", f"cva{tag}", f"cvb{tag}"

    def sh(*cmd):
        subprocess.run(cmd, check=True, capture_output=True)
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", b, "netns", ns)
        sh("ip", "addr", "add", "10.77.0.1/24", "dev", a)
        sh("ip", "link", "set", a, "up")
        sh("ip", "-n", ns, "addr", "add", "10.77.0.2/24", "dev", b)
        sh("ip", "-n", ns, "link", "set", b, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        time.sleep(0.2)
        yield ns, a, b
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


_NS_SEND = r"""
import sys, time
from sctpinspect.capture.traffic import RawSender, RawSink, data_chunk, sctp_packet
sink = RawSink()
dst, n = sys.argv[1], int(sys.argv[2])
with RawSender(dst) as s:
    for i in range(n):
        s.send(sctp_packet(7000, 7001, 0xabc, data_chunk(i, 0, i, 51, b"ns%d" % i)))
"""


_NS_SEND_VLAN = r"""
import socket, sys
from scapy.all import Dot1Q, Ether, IP, Raw
from sctpinspect.capture.traffic import data_chunk, sctp_packet
dev, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
for i in range(n):
    sctp = sctp_packet(7100, 7101, 0xdef, data_chunk(i, 0, i, 51, b"vlan%d" % i))
    s.send(bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=42, prio=5)
                 / IP(src="10.78.0.2", dst="10.78.0.1", proto=132) / Raw(sctp)))
"""


def test_veth_both_directions_and_vlan_tag_kept(veth):
    ns, a, b = veth
    cap = LiveCapture(a).start()
    time.sleep(0.1)
    sink = RawSink()
    # Packets leaving the root namespace: direction "out" on this end.
    _send(_packets(2), "10.77.0.2")
    # Packets sent by the namespace: direction "in".
    subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", _NS_SEND, "10.77.0.1", "2"],
                   check=True, timeout=60)
    # 802.1Q-tagged frames (VLAN 42) into this end: the receiving kernel moves
    # the tag into packet metadata; the capture must put it back in the frame.
    subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", _NS_SEND_VLAN, b, "2"],
                   check=True, timeout=60)
    recs = _collect(cap, 0.3)
    sink.close()
    sctp = []
    for r in recs:
        et = struct.unpack("!H", r.data[12:14])[0]
        if et == 0x8100:
            tci, inner = struct.unpack("!HH", r.data[14:18])
            assert tci & 0xFFF == 42 and tci >> 13 == 5 and inner == 0x0800
            sctp.append(("vlan", r.direction, _ip_payload(r.data, 18)[1]))
        elif et == 0x0800:
            sctp.append(("plain", r.direction, _ip_payload(r.data, 14)[1]))
        else:
            sctp.append(("other", r.direction, et))
    sctp = [x for x in sctp if x[2] == 132]
    assert sctp.count(("plain", "out", 132)) == 2
    assert sctp.count(("plain", "in", 132)) == 2
    assert sctp.count(("vlan", "in", 132)) == 2
    assert all(r.wirelen == len(r.data) for r in recs)
