"""Per chunk type: decode byte vectors built from the RFC layouts and check
the values, field order and expert notes."""
from __future__ import annotations

import struct

import pytest

from sctpinspect.decode.sctp import CHUNK_TYPES, chunk_summary
from test_sctp_helpers import DATA, cause, chunk, decode, keys, param, sctp


def test_common_header_and_quick_attributes():
    pkt, layer = decode(sctp([chunk(11, 0, b"")], vtag=0xCAFEBABE, sport=36412, dport=38412), prefix=b"\xff" * 34)
    assert layer.name == "sctp" and layer.offset == 34
    assert layer.show == "Stream Control Transmission Protocol, Src Port: 36412, Dst Port: 38412"
    assert [f.name for f in layer.children[:7]] == [
        "sctp.srcport", "sctp.dstport", "sctp.verification_tag", "sctp.port", "sctp.port",
        "sctp.checksum", "sctp.checksum.status"]
    assert pkt.values("sctp.port") == [36412, 38412]
    assert (pkt.sport, pkt.dport, pkt.vtag) == (36412, 38412, 0xCAFEBABE)
    assert pkt.sctp is layer and pkt.sctp_offset == 34
    assert [c.type for c in pkt.chunks] == [11] and pkt.chunks[0].offset == 46
    assert layer.find("sctp.verification_tag").offset == 38


def test_data_chunk():
    v = DATA.pack(1, 0, 0, 0) + b"ping"
    pkt, layer = decode(sctp([chunk(0, 3, v)]))
    (c,) = pkt.chunks
    assert c.show == "DATA chunk (ordered, complete segment, TSN: 1, SID: 0, SSN: 0, PPID: 0, payload length: 4 bytes)"
    names = [f.name for f in c.walk()][1:]
    assert names == ["sctp.chunk_type", "sctp.chunk_bit_1", "sctp.chunk_bit_2", "sctp.chunk_flags",
                     "sctp.data_i_bit", "sctp.data_u_bit", "sctp.data_b_bit", "sctp.data_e_bit",
                     "sctp.chunk_length", "sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_ssn",
                     "sctp.data_payload_proto_id", "sctpinspect.payload"]
    payload = c.find("sctpinspect.payload")
    assert payload.value == b"ping" and payload.offset == 12 + 16 and payload.length == 4
    assert chunk_summary(c) == "DATA(tsn=1 sid=0 ssn=0 ppid=0 len=4)"
    assert pkt.notes == []


def test_data_flags_and_padding():
    v = DATA.pack(0xFFFFFFFF, 7, 65535, 46) + b"x"
    pkt, _ = decode(sctp([chunk(0, 0x0C, v)]))   # U and I set: unordered, middle
    c = pkt.chunks[0]
    assert c.get("sctp.data_tsn_raw") == 0xFFFFFFFF
    assert c.find("sctp.data_u_bit").value is True and c.find("sctp.data_i_bit").value is True
    assert c.find("sctp.data_b_bit").value is False
    assert "unordered, middle segment" in c.show and "payload length: 1 byte)" in c.show
    assert c.find("sctp.chunk_padding").value == b"\0\0\0"
    assert "ppid=46(Diameter)" in chunk_summary(c)


def test_data_without_user_data():
    pkt, _ = decode(sctp([chunk(0, 3, DATA.pack(5, 0, 0, 0))]))
    assert "sctpinspect.data_no_user_data" in keys(pkt)


def test_idata_ppid_on_first_fragment_fsn_after():
    first = struct.pack("!IHHII", 200, 3, 0, 7, 46) + b"abc"
    later = struct.pack("!IHHII", 201, 3, 0, 7, 2) + b"def"
    pkt, _ = decode(sctp([chunk(64, 2, first), chunk(64, 1, later)]))
    a, b = pkt.chunks
    assert a.get("sctp.data_payload_proto_id") == 46 and a.get("sctp.data_fsn") is None
    assert b.get("sctp.data_fsn") == 2 and b.get("sctp.data_payload_proto_id") is None
    assert a.get("sctp.data_mid") == b.get("sctp.data_mid") == 7
    assert "FSN: 2" in b.show and "first segment" in a.show and "last segment" in b.show


def test_init_and_parameters():
    fixed = struct.pack("!IIHHI", 0x1234ABCD, 106496, 10, 65535, 1)
    params = (param(5, bytes([10, 0, 0, 1])) + param(6, bytes(15) + b"\1") + param(9, struct.pack("!I", 1000))
              + param(11, b"host.example\0") + param(12, struct.pack("!HHH", 5, 6, 11)) + param(0x8000, b"")
              + param(0x8001, struct.pack("!I", 1)) + param(0x8003, bytes([0, 3]))
              + param(0x8004, struct.pack("!HH", 1, 3)) + param(0x8008, bytes([0x80, 0xC1, 0xC0, 0x82]))
              + param(0xC000, b"") + param(0xC006, struct.pack("!I", 0xDEADBEEF)))
    pkt, _ = decode(sctp([chunk(1, 0, fixed + params)], vtag=0))
    (c,) = pkt.chunks
    assert c.show == "INIT chunk (Outbound streams: 10, inbound streams: 65535)"
    assert c.get("sctp.init_initiate_tag") == 0x1234ABCD and c.get("sctp.initiate_tag") == 0x1234ABCD
    assert c.get("sctp.init_credit") == 106496 and c.get("sctp.init_initial_tsn") == 1
    assert c.all("sctp.parameter_ipv4_address") == ["10.0.0.1"]
    assert c.all("sctp.parameter_ipv6_address") == ["::1"]
    assert c.all("sctp.parameter_cookie_preservative_incr") == [1000]
    assert c.all("sctp.parameter_hostname") == ["host.example"]
    assert c.all("sctp.parameter_supported_address_type") == [5, 6, 11]
    assert c.all("sctpinspect.edmid") == [1]
    assert c.all("sctp.chunk_type_to_auth") == [0, 3]
    assert c.all("sctp.hmac_id") == [1, 3]
    assert c.all("sctp.supported_chunk_type") == [0x80, 0xC1, 0xC0, 0x82]
    assert c.all("sctp.adaptation_layer_indication") == [0xDEADBEEF]
    assert c.all("sctp.parameter_type") == [5, 6, 9, 11, 12, 0x8000, 0x8001, 0x8003, 0x8004, 0x8008, 0xC000, 0xC006]
    # upper two bits of 0xC000: skip + report (RFC 9260 3.2.1)
    assert c.all("sctp.parameter_bit_1")[-2:] == [True, True]
    assert c.all("sctp.parameter_bit_2")[0] is False
    # hostname (length 17) is padded with 3 bytes, supported address types (10) with 2
    assert c.all("sctp.parameter_padding")[:2] == [b"\0\0\0", b"\0\0"]
    assert "sctp.parameter_padding.expert" not in keys(pkt)
    assert chunk_summary(c).startswith("INIT(itag=0x1234abcd os=10 mis=65535 tsn=1 a_rwnd=106496")


def test_last_parameter_padding_counted_in_chunk_length():
    # RFC 9260 3.2: the chunk length excludes the last parameter's padding;
    # Wireshark notes when a sender includes it.
    fixed = struct.pack("!IIHHI", 1, 1, 1, 1, 1)
    pkt, _ = decode(sctp([chunk(1, 0, fixed + param(12, struct.pack("!H", 5)))], vtag=0))
    assert "sctp.parameter_padding.expert" in keys(pkt)
    pkt, _ = decode(sctp([chunk(1, 0, fixed + param(12, struct.pack("!H", 5), pad=False))], vtag=0))
    assert "sctp.parameter_padding.expert" not in keys(pkt)
    assert pkt.chunks[0].find("sctp.parameter_padding").value == b"\0\0"
    assert pkt.values("sctp.chunk_padding") == []


def test_init_ack_cookie_and_unrecognized_parameter():
    fixed = struct.pack("!IIHHI", 5, 4096, 17, 17, 13844)
    pkt, _ = decode(sctp([chunk(2, 0, fixed + param(7, b"cookie!!") + param(8, param(0x9999, b"xx")))]))
    c = pkt.chunks[0]
    assert c.get("sctp.initack_initiate_tag") == 5
    assert c.find("sctp.parameter_state_cookie").value == b"cookie!!"
    inner = [f for f in c.walk() if f.name == "sctp.parameter"]
    assert [p.value for p in inner] == [7, 8, 0x9999]   # the unrecognized one is re-dissected
    assert "sctpinspect.parameter_unknown" in keys(pkt)


def test_sack_gaps_dups_and_notes():
    v = struct.pack("!IIHH", 100, 0, 2, 2) + struct.pack("!HHHH", 2, 3, 6, 5) + struct.pack("!II", 99, 98)
    pkt, _ = decode(sctp([chunk(3, 0, v)]))
    c = pkt.chunks[0]
    assert c.get("sctp.sack_cumulative_tsn_ack_raw") == 100
    assert c.all("sctp.sack_gap_block_start") == [2, 6]
    assert c.all("sctp.sack_gap_block_start_tsn") == [102, 106]
    assert c.all("sctp.sack_gap_block_end_tsn") == [103, 105]
    assert c.all("sctp.sack_duplicate_tsn") == [99, 98]
    # (3-2+1) + (5-6+1) as Wireshark sums it
    assert c.get("sctp.sack_number_of_tsns_gap_acked") == 2
    assert c.show == "SACK chunk (Cumulative TSN: 100, a_rwnd: 0, gaps: 2, duplicate TSNs: 2)"
    k = keys(pkt)
    assert "sctp.sack_a_rwnd.expert" in k and "sctp.sack_gap_block_malformed" in k
    assert chunk_summary(c) == "SACK(cum=100 a_rwnd=0 gaps=2-3,6-5 dups=2)"


def test_sack_announcing_more_blocks_than_present():
    v = struct.pack("!IIHH", 100, 5000, 3, 0) + struct.pack("!HH", 2, 3)
    pkt, _ = decode(sctp([chunk(3, 0, v)]))
    assert pkt.chunks[0].all("sctp.sack_gap_block_start") == [2]
    assert "sctp.chunk_length.bad" in keys(pkt)


def test_nr_sack():
    v = struct.pack("!IIHHHH", 100, 5000, 1, 1, 1, 0) + struct.pack("!HHHH", 2, 3, 5, 5) + struct.pack("!I", 99)
    pkt, _ = decode(sctp([chunk(16, 0, v)]))
    c = pkt.chunks[0]
    assert c.all("sctp.nr_sack_gap_block_start_tsn") == [102]
    assert c.all("sctp.nr_sack_nr_gap_block_start_tsn") == [105]
    assert c.get("sctp.nr_sack_number_of_tsns_nr_gap_acked") == 1
    assert c.all("sctp.nr_sack_duplicate_tsn") == [99]


def test_heartbeat_and_ack():
    pkt, _ = decode(sctp([chunk(4, 0, param(1, b"hbinfo12")), chunk(5, 0, param(1, b"hbinfo12"))]))
    assert [c.show for c in pkt.chunks] == ["HEARTBEAT chunk (Information: 12 bytes)",
                                           "HEARTBEAT_ACK chunk (Information: 12 bytes)"]
    assert pkt.values("sctp.parameter_heartbeat_information") == [b"hbinfo12"] * 2


def test_abort_with_every_cause():
    causes = (cause(1, struct.pack("!HH", 7, 0)) + cause(2, struct.pack("!IHH", 2, 7, 9))
              + cause(3, struct.pack("!I", 1234)) + cause(4, b"") + cause(5, param(5, bytes([1, 2, 3, 4])))
              + cause(6, chunk(0x55, 0, b"zz")) + cause(7, b"") + cause(8, param(0x9999, b"q"))
              + cause(9, struct.pack("!I", 77)) + cause(10, b"") + cause(11, param(5, bytes([1, 2, 3, 4])))
              + cause(12, b"bye") + cause(13, b"oops") + cause(160, param(5, bytes(4))) + cause(161, b"")
              + cause(162, param(5, bytes(4))) + cause(163, b"") + cause(164, b"")
              + cause(261, struct.pack("!H", 2)) + cause(0x77, b"??"))
    pkt, _ = decode(sctp([chunk(6, 1, causes)]))
    c = pkt.chunks[0]
    assert c.find("sctp.abort_t_bit").value is True
    assert c.all("sctp.cause_code") == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 160, 161, 162, 163, 164, 261, 0x77]
    assert c.all("sctp.cause_stream_identifier") == [7]
    assert c.all("sctp.cause_missing_parameter_type") == [7, 9]
    assert c.all("sctp.cause_measure_of_staleness") == [1234]
    assert c.all("sctp.cause_tsn") == [77]
    assert c.all("sctp.cause_information") == [b"bye", b"oops", b"??"]
    assert c.all("sctp.cause_padding") == [b"\0", b"\0\0", b"\0\0"]   # causes 12 (len 7), 261 and 0x77 (len 6)
    # the quoted chunk (type 0x55) is re-dissected, but is not a chunk of this packet
    assert 0x55 in c.all("sctp.chunk_type") and [x.type for x in pkt.chunks] == [6]
    assert c.all("sctp.parameter_ipv4_address") == ["1.2.3.4", "1.2.3.4", "0.0.0.0", "0.0.0.0"]
    assert c.all("sctp.hmac_id") == [2]
    assert chunk_summary(c).startswith("ABORT(T=1 causes=Invalid stream identifier,")
    assert not [n for n in pkt.notes if n.severity == "error"]


def test_shutdown_family_ecn_cookie_auth():
    pkt, _ = decode(sctp([chunk(7, 0, struct.pack("!I", 555)), chunk(8, 0, b""), chunk(12, 0, struct.pack("!I", 9)),
                          chunk(13, 0, struct.pack("!I", 10)), chunk(10, 0, b"cookiedata"), chunk(11, 0, b""),
                          chunk(15, 0, struct.pack("!HH", 1, 1) + bytes(20)), chunk(9, 0, cause(1, bytes(4)))]))
    v = pkt.values
    assert v("sctp.shutdown_cumulative_tsn_ack") == [555]
    assert v("sctp.ecne_lowest_tsn") == [9] and v("sctp.cwr_lowest_tsn") == [10]
    assert v("sctp.cookie") == [b"cookiedata"]
    assert v("sctp.shared_key_id") == [1] and v("sctp.hmac_id") == [1] and v("sctp.hmac") == [bytes(20)]
    assert [chunk_summary(c) for c in pkt.chunks] == [
        "SHUTDOWN(cum=555)", "SHUTDOWN_ACK", "ECNE(tsn=9)", "CWR(tsn=10)", "COOKIE_ECHO(len=10)", "COOKIE_ACK",
        "AUTH(key=1 hmac=SHA-1)", "ERROR(causes=Invalid stream identifier)"]


def test_shutdown_complete_must_not_be_bundled():
    pkt, _ = decode(sctp([chunk(14, 1, b""), chunk(11, 0, b"")]))
    assert pkt.chunks[0].find("sctp.shutdown_complete_t_bit").value is True
    assert keys(pkt).count("sctpinspect.bundling") == 1
    n = [n for n in pkt.notes if n.key == "sctpinspect.bundling"][0]
    assert n.rfc == "RFC 9260 6.10" and n.severity == "error"
    pkt, _ = decode(sctp([chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"x"), chunk(1, 0, bytes(16))]))
    assert "sctpinspect.bundling" in keys(pkt)


def test_asconf_and_ack():
    asconf = (struct.pack("!I", 8) + param(5, bytes([1, 2, 3, 4]))
              + param(0xC001, struct.pack("!I", 3) + param(5, bytes([5, 6, 7, 8])))
              + param(0xC002, struct.pack("!I", 4) + param(6, bytes(16)))
              + param(0xC004, struct.pack("!I", 5) + param(5, bytes(4))))
    ack = struct.pack("!I", 8) + param(0xC005, struct.pack("!I", 3)) + param(
        0xC003, struct.pack("!I", 4) + cause(0xA0, param(6, bytes(16))))
    pkt, _ = decode(sctp([chunk(0xC1, 0, asconf), chunk(0x80, 0, ack)]))
    a, k = pkt.chunks
    assert a.get("sctp.asconf_seq_nr_number") == 8 and k.get("sctp.asconf_ack_seq_nr_number") == 8
    assert a.all("sctp.correlation_id") == [3, 4, 5]
    assert a.all("sctp.parameter_ipv4_address") == ["1.2.3.4", "5.6.7.8", "0.0.0.0"]
    assert k.all("sctp.correlation_id") == [3, 4] and k.all("sctp.cause_code") == [0xA0]
    assert k.all("sctp.parameter_ipv6_address") == ["::"]


def test_pktdrop_embeds_a_packet():
    inner = sctp([chunk(0, 3, DATA.pack(100, 1, 2, 46) + b"hello")])
    pkt, _ = decode(sctp([chunk(0x81, 1, struct.pack("!IIHH", 1000, 2000, 0, 0) + inner)]))
    assert [c.type for c in pkt.chunks] == [0x81]
    c = pkt.chunks[0]
    assert c.find("sctp.pckdrop_m_bit").value is True
    assert c.get("sctp.pktdrop_bandwidth") == 1000 and c.get("sctp.pktdrop_queuesize") == 2000
    emb = c.find("sctp")
    assert emb is not None and emb.find("sctp.data_tsn_raw").value == 100
    assert emb.get("sctp.checksum.status") == 1


def test_reconfig_parameters():
    v = (param(13, struct.pack("!IIIHH", 1, 2, 3, 1, 2)) + param(14, struct.pack("!IH", 5, 1))
         + param(15, struct.pack("!I", 6)) + param(16, struct.pack("!III", 7, 1, 100))
         + param(17, struct.pack("!IHH", 8, 4, 0)) + param(18, struct.pack("!IHH", 9, 4, 0)))
    pkt, _ = decode(sctp([chunk(0x82, 0, v)]))
    c = pkt.chunks[0]
    assert c.all("sctp.parameter_reconfig_request_sequence_number") == [1, 5, 6, 8, 9]
    assert c.all("sctp.parameter_reconfig_response_sequence_number") == [2, 7]
    assert c.all("sctp.parameter_reconfig_sid") == [1, 2, 1]
    assert c.all("sctp.parameter_reconfig_response_result") == [1]
    assert c.all("sctp.parameter_senders_next_tsn") == [100]
    assert c.all("sctp.parameter_add_outgoing_streams_number") == [4]
    assert c.all("sctp.parameter_add_incoming_streams_number") == [4]


def test_pad_forward_tsn_i_forward_tsn():
    pkt, _ = decode(sctp([chunk(0x84, 0, bytes(8)), chunk(0xC0, 0, struct.pack("!IHHHH", 300, 1, 2, 3, 4)),
                          chunk(0xC2, 0, struct.pack("!IHHI", 301, 1, 1, 9))]))
    v = pkt.values
    assert v("sctp.padding_data") == [bytes(8)]
    assert v("sctp.forward_tsn_tsn") == [300] and v("sctp.forward_tsn_sid") == [1, 3]
    assert v("sctp.forward_tsn_ssn") == [2, 4]
    assert v("sctp.i_forward_tsn_tsn") == [301] and v("sctp.i_forward_tsn_u_bit") == [True]
    assert v("sctp.forward_tsn_mid") == [9]


@pytest.mark.parametrize("ctype,action,severity", [(0x3F, "stop", "chat"), (0x7F, "stop", "note"),
                                                   (0xBF, "skip", "chat"), (0xFE, "skip", "note")])
def test_unknown_chunk_upper_bits(ctype, action, severity):
    pkt, _ = decode(sctp([chunk(ctype, 0, b"abc"), chunk(11, 0, b"")]))
    c = pkt.chunks[0]
    assert c.find("sctp.chunk_value").value == b"abc"
    assert c.find("sctp.chunk_bit_1").value is bool(ctype & 0x80)
    notes = {n.key: n for n in pkt.notes}
    assert notes["sctpinspect.chunk_unknown"].severity == severity
    assert notes["sctpinspect.chunk_unknown"].rfc == "RFC 9260 3.2"
    assert ("sctpinspect.chunk_after_stop" in notes) == (action == "stop")
    assert len(pkt.chunks) == 2   # the following chunk is still shown


# --- malformed input: decoded as far as possible, never raises ---------------

def test_chunk_length_beyond_packet():
    data = sctp([chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"abcd", length=300)])
    pkt, _ = decode(data)
    n = [n for n in pkt.notes if n.key == "sctp.chunk_length.bad"]
    assert n and n[0].message == "Chunk length (300) is longer than remaining data (20)"
    assert pkt.chunks[0].get("sctp.data_tsn_raw") == 1


def test_short_chunk_and_bogus_length():
    pkt, layer = decode(sctp([chunk(11, 0, b""), b"\x0b\x00"]))
    assert "sctp.chunk_length.bad" in keys(pkt) and layer.find("sctpinspect.chunk_truncated").value == b"\x0b\x00"
    pkt, _ = decode(sctp([chunk(3, 0, b"", length=2)]))
    assert any("Bogus chunk length 2" in n.message for n in pkt.notes)


def test_chunk_shorter_than_minimum():
    pkt, _ = decode(sctp([chunk(3, 0, struct.pack("!I", 1))]))   # SACK needs 16
    assert "sctp.chunk_length.bad" in keys(pkt)
    assert pkt.chunks[0].find("sctp.chunk_value").value == struct.pack("!I", 1)


def test_nonzero_and_missing_padding():
    c = chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"x", pad=False)
    pkt, _ = decode(sctp([c + b"\0\0\x07"]))
    assert "sctpinspect.chunk_padding_nonzero" in keys(pkt)
    pkt, _ = decode(sctp([c]))
    assert "sctpinspect.chunk_padding_missing" in keys(pkt)


def test_zero_length_and_short_parameters():
    fixed = struct.pack("!IIHHI", 1, 1, 1, 1, 1)
    pkt, _ = decode(sctp([chunk(1, 0, fixed + struct.pack("!HH", 5, 0) + bytes(8))], vtag=0))
    assert "sctp.parameter_length.bad" in keys(pkt)
    pkt, _ = decode(sctp([chunk(1, 0, fixed + struct.pack("!HH", 5, 6) + b"\1\2")], vtag=0))  # IPv4 needs 8
    assert "sctp.parameter_length.bad" in keys(pkt)
    pkt, _ = decode(sctp([chunk(1, 0, fixed + struct.pack("!HH", 5, 40) + bytes(4))], vtag=0))
    assert any("Parameter length (40) is longer" in n.message for n in pkt.notes)


def test_header_only_and_short_header():
    pkt, layer = decode(sctp([]))
    assert "sctpinspect.no_chunks" in keys(pkt) and pkt.chunks == []
    pkt, layer = decode(b"\xde\xad\xbe\xef")
    assert "sctpinspect.header_truncated" in keys(pkt)
    assert (pkt.sport, pkt.dport) == (0xDEAD, 0xBEEF) and pkt.checksum_status == "unverified"


def test_quoted_header_in_icmp():
    data = sctp([chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"abcd")])[:8]
    buf = bytes(20) + data
    from sctpinspect.model import Packet, Record
    from sctpinspect.decode import DecodeOptions
    from sctpinspect.decode.sctp import dissect_sctp
    pkt = Packet(Record(1, 0, buf, len(buf), 1))
    parent = []
    layer = dissect_sctp(pkt, buf, 20, len(buf), DecodeOptions(), parent, quoted=True)
    assert parent == [layer] and layer.get("sctp.verification_tag") == 0x11223344
    assert pkt.notes == [] and pkt.sctp is None and pkt.chunks == []
    assert "quoted" in layer.show


def test_never_raises_on_garbage():
    import random
    rnd = random.Random(9260)
    base = sctp([chunk(1, 0, struct.pack("!IIHHI", 1, 1, 1, 1, 1) + param(0xC003, cause(6, chunk(0x81, 0, bytes(30))))),
                 chunk(6, 0, cause(6, chunk(0x81, 0, struct.pack("!IIHH", 1, 1, 0, 0) + sctp([chunk(3, 0, bytes(12))]))))])
    for _ in range(3000):
        b = bytearray(base)
        for _ in range(rnd.randint(1, 6)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        b = bytes(b[:rnd.randint(0, len(b))])
        pkt, _ = decode(b)
        for c in pkt.chunks:
            chunk_summary(c)
        assert not [n for n in pkt.notes if n.key == "sctpinspect.decode_error"], pkt.notes


def test_every_chunk_type_has_a_row_with_decoder_and_summary():
    for t in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 64, 0x80, 0x81, 0x82, 0x84, 0xC0, 0xC1, 0xC2):
        assert callable(CHUNK_TYPES[t].decode) and callable(CHUNK_TYPES[t].summary)
