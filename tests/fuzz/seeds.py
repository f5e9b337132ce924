"""Valid inputs built with scapy (and by hand where scapy has no class), the
starting points that the fuzzers and the property tests mutate.

``frame_seeds()`` -> [(linktype, frame bytes)], ``sctp_seeds()`` -> [SCTP
packet bytes], ``payload_seeds()`` -> {dissector name: [message bytes]},
``filter_seeds()`` -> [filter text], ``capture_seeds()`` -> [file bytes].
"""
from __future__ import annotations

import functools
import struct

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import IPv6, ICMPv6DestUnreach, IPv6ExtHdrFragment
from scapy.layers.l2 import Ether, Dot1Q, CookedLinux
from scapy.layers import sctp as S
from scapy.packet import Raw

A, B = "10.0.0.1", "10.0.0.2"
A6, B6 = "2001:db8::1", "2001:db8::2"


def _chunk(ctype: int, flags: int, value: bytes) -> bytes:
    ln = 4 + len(value)
    return struct.pack("!BBH", ctype, flags, ln) + value + b"\0" * (-ln % 4)


def _param(ptype: int, value: bytes) -> bytes:
    ln = 4 + len(value)
    return struct.pack("!HH", ptype, ln) + value + b"\0" * (-ln % 4)


def _sctp_hdr(vtag: int = 0x01020304, sport=2905, dport=2905) -> bytes:
    return struct.pack("!HHII", sport, dport, vtag, 0)


def _with_crc(pkt: bytes) -> bytes:
    import crc32c
    c = crc32c.crc32c(pkt)
    return pkt[:8] + struct.pack("<I", c) + pkt[12:]


@functools.lru_cache(None)
def sctp_list() -> tuple:
    """scapy SCTP layers covering every chunk type scapy knows."""
    init_params = [S.SCTPChunkParamIPv4Addr(addr=A), S.SCTPChunkParamIPv6Addr(addr=A6),
                   S.SCTPChunkParamCookiePreservative(sug_cookie_inc=1000),
                   S.SCTPChunkParamHostname(hostname=b"peer.example"),
                   S.SCTPChunkParamSupportedAddrTypes(addr_type_list=[5, 6]),
                   S.SCTPChunkParamECNCapable(), S.SCTPChunkParamFwdTSN(),
                   S.SCTPChunkParamAdaptationLayer(indication=7),
                   S.SCTPChunkParamSupportedExtensions(supported_extensions=[0xc0, 0xc1, 0x80, 0x82]),
                   S.SCTPChunkParamRandom(random=b"r" * 32),
                   S.SCTPChunkParamChunkList(chunk_list=[0xc1, 0x80]),
                   S.SCTPChunkParamRequestedHMACFunctions(HMAC_functions_list=[1, 3])]
    h = dict(sport=2905, dport=2905)
    out = [
        S.SCTP(tag=0, **h) / S.SCTPChunkInit(init_tag=0x11223344, a_rwnd=65536, n_out_streams=10,
                                             n_in_streams=10, init_tsn=1000, params=init_params),
        S.SCTP(tag=0x11223344, **h) / S.SCTPChunkInitAck(
            init_tag=0x55667788, a_rwnd=32768, n_out_streams=5, n_in_streams=5, init_tsn=5000,
            params=[S.SCTPChunkParamStateCookie(cookie=b"C" * 24),
                    S.SCTPChunkParamUnrocognizedParam(param=b"\x80\x0a\x00\x04")]),
        S.SCTP(tag=1, **h) / S.SCTPChunkCookieEcho(cookie=b"C" * 24) / S.SCTPChunkCookieAck(),
        S.SCTP(tag=1, **h) / S.SCTPChunkData(tsn=1000, stream_id=1, stream_seq=2, proto_id=3,
                                             data=b"\x01\x00\x01\x01\x00\x00\x00\x10" + b"\0" * 8),
        S.SCTP(tag=1, **h) / S.SCTPChunkData(beginning=1, ending=0, unordered=1, tsn=1,
                                             proto_id=46, data=b"x" * 7),
        S.SCTP(tag=1, **h) / S.SCTPChunkIData(tsn=9, stream_id=2, message_id=3, ppid_fsn=0, data=b"abc"),
        S.SCTP(tag=1, **h) / S.SCTPChunkSACK(cumul_tsn_ack=999, a_rwnd=4096, n_gap_ack=2, n_dup_tsn=1,
                                             gap_ack_list=["2:3", "5:9"], dup_tsn_list=[998]),
        S.SCTP(tag=1, **h) / S.SCTPChunkHeartbeatReq(params=[S.SCTPChunkParamHeartbeatInfo(data=b"hb" * 6)]),
        S.SCTP(tag=1, **h) / S.SCTPChunkHeartbeatAck(params=[S.SCTPChunkParamHeartbeatInfo(data=b"hb" * 6)]),
        S.SCTP(tag=1, **h) / S.SCTPChunkAbort(TCB=1, error_causes=b"\x00\x01\x00\x08\x00\x05\x00\x00"
                                              b"\x00\x0c\x00\x06ab\x00\x00"),
        S.SCTP(tag=1, **h) / S.SCTPChunkError(error_causes=b"\x00\x03\x00\x08\x00\x00\x03\xe8"
                                              b"\x00\x06\x00\x08\x40\x00\x00\x04"),
        S.SCTP(tag=1, **h) / S.SCTPChunkShutdown(cumul_tsn_ack=77) / S.SCTPChunkShutdownAck(),
        S.SCTP(tag=1, **h) / S.SCTPChunkShutdownComplete(TCB=1),
        S.SCTP(tag=1, **h) / S.SCTPChunkAuthentication(shared_key_id=1, HMAC_function=1, HMAC=b"h" * 20)
        / S.SCTPChunkData(tsn=5, data=b"q"),
        S.SCTP(tag=1, **h) / S.SCTPChunkAddressConf(seq=7, params=[
            S.SCTPChunkParamIPv4Addr(addr=A),
            S.SCTPChunkParamAddIPAddr(correlation_id=1, addr=B),
            S.SCTPChunkParamDelIPAddr(correlation_id=2, addr=B),
            S.SCTPChunkParamSetPrimaryAddr(correlation_id=3, addr=A)]),
        S.SCTP(tag=1, **h) / S.SCTPChunkAddressConfAck(seq=7, params=[
            S.SCTPChunkParamSuccessIndication(correlation_id=1),
            S.SCTPChunkParamErrorIndication(correlation_id=2, error_causes=b"\x00\xa0\x00\x04")]),
        S.SCTP(tag=1, **h) / S.SCTPChunkForwardTSN(new_tsn=50, skips=[S.SCTPForwardSkip(stream_id=1, stream_seq=2)]),
        S.SCTP(tag=1, **h) / S.SCTPChunkIForwardTSN(new_tsn=50, skips=[S.SCTPIForwardSkip(stream_id=1, message_id=2)]),
        S.SCTP(tag=1, **h) / S.SCTPChunkReConfig(params=[
            S.SCTPChunkParamOutSSNResetReq(re_conf_req_seq_num=1, re_conf_res_seq_num=2, tsn=3,
                                           stream_num_list=[1, 2]),
            S.SCTPChunkParamInSSNResetReq(re_conf_req_seq_num=4, stream_num_list=[3]),
            S.SCTPChunkParamSSNTSNResetReq(re_conf_req_seq_num=5),
            S.SCTPChunkParamReConfigRes(re_conf_res_seq_num=1, result=1, sender_next_tsn=9,
                                        receiver_next_tsn=10),
            S.SCTPChunkParamAddOutgoingStreamReq(re_conf_req_seq_num=6, num_new_stream=2),
            S.SCTPChunkParamAddIncomingStreamReq(re_conf_req_seq_num=7, num_new_stream=2)]),
        S.SCTP(tag=1, **h) / S.SCTPChunkPad(padding=b"\0" * 12),
    ]
    return tuple(out)


@functools.lru_cache(None)
def sctp_seeds() -> tuple:
    """SCTP packets (bytes, CRC32c correct) incl. chunks scapy has no class for."""
    out = [bytes(p) for p in sctp_list()]
    hand = [
        _chunk(12, 0, struct.pack("!I", 5)),                          # ECNE
        _chunk(13, 0, struct.pack("!I", 5)),                          # CWR
        _chunk(16, 0, struct.pack("!IIHHI", 10, 1000, 1, 1, 0) + struct.pack("!HHHH", 2, 3, 5, 6)),  # NR-SACK
        # PKTDROP quoting an SCTP packet with a DATA chunk
        _chunk(0x81, 0, struct.pack("!IIHH", 1000, 2000, 32, 0) + bytes(sctp_list()[3])),
        _chunk(0x80, 0, struct.pack("!I", 7) + _param(0xC001, struct.pack("!I", 1))),  # ASCONF-ACK
        _chunk(0x99, 0, b"unknown!"),                                  # unknown chunk type
        _chunk(0x00, 0x03, struct.pack("!IHHI", 1, 0, 0, 51) + b"\x03\x00\x00\x00\x00\x00\x00\x00"
               b"\x00\x00\x00\x00\x00\x01\x00\x02ab"),                 # DCEP OPEN
    ]
    for ch in hand:
        out.append(_with_crc(_sctp_hdr() + ch))
    # ABORT quoting an unrecognized chunk, a restart-with-new-addresses cause...
    causes = (_param(6, _chunk(0xE0, 0, b"abcd")) + _param(11, _param(5, bytes(4)))
              + _param(2, struct.pack("!HH", 1, 0)) + _param(13, b"why") + _param(7, b"")
              + _param(4, b"") + _param(10, b"") + _param(12, b"user")
              + _param(8, _param(0x8005, b"xx")) + _param(0x104, struct.pack("!H", 2)))
    out.append(_with_crc(_sctp_hdr() + _chunk(6, 0, causes)))
    return tuple(out)


@functools.lru_cache(None)
def frame_seeds() -> tuple:
    """(linktype, frame) pairs over every link type and IP/UDP/ICMP path."""
    sc = sctp_list()
    init, data = sc[0], sc[3]
    out = [
        (1, bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=A, dst=B) / init)),
        (1, bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1Q(vlan=5) / IP(src=A, dst=B) / data)),
        (1, bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv6(src=A6, dst=B6) / sc[6])),
        (101, bytes(IP(src=A, dst=B, options=b"\x94\x04\x00\x00") / sc[1])),
        (101, bytes(IP(src=A, dst=B) / UDP(sport=9899, dport=9899) / sc[2])),
        (101, bytes(IP(src=B, dst=A) / ICMP(type=3, code=4, nexthopmtu=1400) / IP(src=A, dst=B) / data)[:56]),
        (101, bytes(IPv6(src=B6, dst=A6) / ICMPv6DestUnreach() / IPv6(src=A6, dst=B6) / init)[:96]),
        (113, bytes(CookedLinux(proto=0x800) / IP(src=A, dst=B) / sc[9])),
        (229, bytes(IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(m=1, id=7, offset=0) / Raw(bytes(init)[:40]))),
        (228, bytes(IP(src=A, dst=B, flags=1, id=9) / Raw(bytes(IP(proto=132) / init)[20:52]))),
        (0, struct.pack("<I", 2) + bytes(IP(src=A, dst=B) / sc[14])),
        (108, struct.pack(">I", 24) + bytes(IPv6(src=A6, dst=B6) / sc[18])),
        (276, struct.pack("!HHIHBB", 0x0800, 0, 2, 1, 0, 6) + b"\0" * 8 + bytes(IP(src=A, dst=B) / sc[15])),
    ]
    for p in sctp_seeds()[len(sc):]:
        out.append((101, bytes(IP(src=A, dst=B, proto=132) / Raw(p))))
    return tuple(out)


def m3ua_seeds() -> list:
    def prm(tag, val):
        return _param(tag, val)
    body = (prm(0x0200, struct.pack("!I", 1)) + prm(0x0006, struct.pack("!I", 7))
            + prm(0x0210, struct.pack("!IIBBBB", 1, 2, 3, 0, 0, 5) + b"\x02\x01"))
    data = struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(body)) + body
    aspup = struct.pack("!BBBBI", 1, 0, 3, 1, 8 + 12) + prm(0x0011, struct.pack("!II", 1, 2))
    dauds = (prm(0x0012, struct.pack("!II", 0x00000102, 0x01000203)) + prm(0x0004, b"info\0\0\0\0"))
    duna = struct.pack("!BBBBI", 1, 0, 2, 1, 8 + len(dauds)) + dauds
    err = prm(0x000c, struct.pack("!I", 1)) + prm(0x0007, data)
    mgmt = struct.pack("!BBBBI", 1, 0, 0, 0, 8 + len(err)) + err
    return [data, aspup, duna, mgmt]


def diameter_seeds() -> list:
    def avp(code, val, flags=0x40, vendor=None):
        hdr_len = 12 if vendor is not None else 8
        ln = hdr_len + len(val)
        h = struct.pack("!IB", code, flags | (0x80 if vendor is not None else 0)) + ln.to_bytes(3, "big")
        if vendor is not None:
            h += struct.pack("!I", vendor)
        return h + val + b"\0" * (-ln % 4)
    avps = (avp(263, b"session;1") + avp(264, b"host.example") + avp(268, struct.pack("!I", 2001))
            + avp(257, b"\x00\x01\x0a\x00\x00\x01") + avp(260, avp(266, struct.pack("!I", 10415))
                                                          + avp(258, struct.pack("!I", 4)))
            + avp(1400, struct.pack("!Q", 5), vendor=10415) + avp(55, struct.pack("!I", 3900000000)))
    ln = 20 + len(avps)
    msg = struct.pack("!B", 1) + ln.to_bytes(3, "big") + b"\x80" + (257).to_bytes(3, "big") \
        + struct.pack("!III", 0, 1, 2) + avps
    return [msg, msg[:20]]


def dcep_seeds() -> list:
    label, proto = b"chat", b"proto"
    op = struct.pack("!BBHIHH", 3, 0x81, 0, 3, len(label), len(proto)) + label + proto
    return [op, b"\x02"]


def webrtc_seeds() -> list:
    return [b"hello", b"", "h\u00e9".encode()]


def payload_seeds() -> dict:
    return {"m3ua": m3ua_seeds(), "diameter": diameter_seeds(), "dcep": dcep_seeds(),
            "webrtc": webrtc_seeds()}


def filter_seeds() -> list:
    return [
        "sctp", "sctp.chunk_type == INIT && ip.addr == 10.0.0.0/8",
        "sctp.data_tsn >= 1000 and not sctp.retransmission",
        'sctp.verification_tag == 0x11223344 || frame contains "abc"',
        "sctp.srcport in {2905 3868..3870}", "sctp.chunk_flags & 0x03",
        'ip.src == 10.0.0.1 && sctp.parameter_hostname matches "^peer"',
        "len(sctp.data_payload) > 4", "sctp.chunk_type[0] == 01", "!(sctp.port == 9)",
        "frame[0:2] == 00:01", "ipv6.src == 2001:db8::1", "sctp.checksum.status == 0",
        "upper(sctp.parameter_hostname) == \"X\"", "sctp.assoc_index == 0",
    ]


def _pcap(frames, linktype=101, nano=False) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1000 + i, 5, len(f), len(f)) + f)
    return b"".join(out)


def _pcapng(frames, linktype=101) -> bytes:
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        ln = 12 + len(body)
        return struct.pack("<II", btype, ln) + body + struct.pack("<I", ln)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opt = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)   # if_tsresol = ns
    idb = block(1, struct.pack("<HHI", linktype, 0, 0) + opt)
    out = [shb, idb]
    for i, f in enumerate(frames):
        com = b"hi"
        opts = struct.pack("<HH", 1, len(com)) + com + b"\0\0" + struct.pack("<HHI", 2, 4, 1) + b"\0" * 4
        out.append(block(6, struct.pack("<IIIII", 0, 0, 1000 + i, len(f), len(f)) + f
                         + b"\0" * (-len(f) % 4) + opts))
    out.append(block(3, struct.pack("<I", len(frames[0])) + frames[0]))            # SPB
    out.append(block(5, struct.pack("<IIIII", 0, 0, 1, 0, 0)))                   # ISB (skipped)
    return b"".join(out)


def capture_seeds() -> list:
    fr = [f for lt, f in frame_seeds() if lt == 101][:3]
    return [_pcap(fr), _pcap(fr[:1], nano=True), _pcapng(fr),
            _pcap(fr)[:-5], _pcapng(fr)[:-9]]


def seeds_for(target: str) -> list:
    """Fuzzer input bytes for a target (see targets.py for each input layout)."""
    from targets import _LINKTYPES
    if target == "capture":
        return capture_seeds()
    if target == "frame":
        return [bytes([_LINKTYPES.index(lt), 0]) + f for lt, f in frame_seeds()]
    if target == "sctp":
        return [b"\0" + p for p in sctp_seeds()] + [b"\1" + sctp_seeds()[0][:8]]
    if target == "filter":
        return [s.encode() for s in filter_seeds()]
    return payload_seeds()[target]
