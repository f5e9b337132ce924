"""Hostile SCTP input: structure-aware property tests (hypothesis) of the
frame decoder and SCTP dissector, plus the limits a fuzzer finds slowly.

Properties (tests/fuzz/targets.py ``check_packet``): no decoder exception
(not even a contained one), every field inside the frame (or the reassembled
buffer it names), the tree bounded by the input size.  Round trip: packets
built with scapy from random field values decode to those values, and scapy
fed the *decoded* values rebuilds the same bytes.
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import seeds  # noqa: E402
from targets import check_packet, fuzz_frame, fuzz_sctp  # noqa: E402

from scapy.layers import sctp as S  # noqa: E402
from scapy.layers.inet import IP  # noqa: E402

from sctpinspect.decode import Decoder  # noqa: E402
from sctpinspect.decode.sctp._base import MAX_DEPTH  # noqa: E402
from sctpinspect.decode.sctp.params import MAX_PARAM_DEPTH  # noqa: E402
from sctpinspect.model import Record  # noqa: E402

# Small budgets: the machine is shared; the long runs are atheris (docs/robustness.md).
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_ip(sctp_bytes: bytes, wirelen: int | None = None):
    frame = bytes(IP(src="10.0.0.1", dst="10.0.0.2", proto=132)) + sctp_bytes
    # IP total length must cover the payload for the IP layer to hand it on
    frame = frame[:2] + struct.pack("!H", len(frame)) + frame[4:10] + b"\0\0" + frame[12:]
    rec = Record(1, 0, frame, wirelen or len(frame), 101)
    return Decoder().decode(rec), 20


def chunk(ctype: int, flags: int, value: bytes, length: int | None = None) -> bytes:
    ln = 4 + len(value) if length is None else length
    return struct.pack("!BBH", ctype, flags, ln) + value + b"\0" * (-(4 + len(value)) % 4)


def common(vtag=1) -> bytes:
    return struct.pack("!HHII", 1000, 2000, vtag, 0)


SEEDS = seeds.sctp_seeds()
FRAMES = seeds.frame_seeds()


# ------------------------------------------------------------- mutations
@FAST
@given(st.sampled_from(range(len(SEEDS))), st.data())
def test_field_by_field_mutation(i, data):
    """A valid packet with a few bytes overwritten, and/or cut or extended."""
    b = bytearray(SEEDS[i])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(b) - 1))
        width = data.draw(st.sampled_from([1, 2, 4]))
        val = data.draw(st.sampled_from([0, 1, 3, 4, 0x7F, 0x80, 0xFF, 0xFFFF, 0xFFFFFFFF])
                        | st.integers(0, 0xFFFFFFFF))
        b[pos:pos + width] = (val & ((1 << 8 * width) - 1)).to_bytes(width, "big")[:len(b) - pos]
    cut = data.draw(st.integers(0, len(b)))
    tail = data.draw(st.binary(max_size=16))
    fuzz_sctp(b"\0" + bytes(b[:cut]) + tail)
    fuzz_sctp(b"\1" + bytes(b[:cut]))               # as an ICMP-quoted header


@FAST
@given(st.sampled_from(range(len(FRAMES))), st.data())
def test_frame_mutation(i, data):
    """Whole frames (Ethernet/VLAN/SLL/loopback, IPv4 options, IPv6 fragments,
    UDP encapsulation, ICMP quoting SCTP) with fields overwritten."""
    from targets import _LINKTYPES
    lt, frame = FRAMES[i]
    b = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(b) - 1))
        b[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(b)))
    fuzz_frame(bytes([_LINKTYPES.index(lt), data.draw(st.integers(0, 15))]) + bytes(b[:cut]))


@FAST
@given(st.sampled_from(range(len(SEEDS))), st.data())
def test_chunk_length_at_limits(i, data):
    """Every chunk length of a valid packet set to 0..5, its value +-1, 0xFFFF."""
    b = bytearray(SEEDS[i])
    offs, off = [], 12
    while off + 4 <= len(b):
        ln = struct.unpack_from("!H", b, off + 2)[0]
        offs.append(off)
        if ln < 4:
            break
        off += (ln + 3) & ~3
    pos = data.draw(st.sampled_from(offs))
    ln = struct.unpack_from("!H", b, pos + 2)[0]
    new = data.draw(st.sampled_from([0, 1, 2, 3, 4, 5, ln - 1, ln + 1, ln + 4, 0xFFFF]))
    struct.pack_into("!H", b, pos + 2, new & 0xFFFF)
    pkt, base = decode_ip(bytes(b))
    check_packet(pkt)
    ch = [c for c in pkt.chunks if c.offset == base + pos]
    assert ch and ch[0].clen == new & 0xFFFF
    if new < 4 or new > len(b) - pos:
        # RFC 9260 3.2: the length is wrong; it must be said, not silently fixed
        assert any(n.key == "sctp.chunk_length.bad" for n in pkt.notes), [n.key for n in pkt.notes]


@FAST
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF),
                          st.binary(max_size=24)), min_size=1, max_size=20))
def test_random_chunk_sequences(chunks):
    """Arbitrary chunk headers (type, flags, length) over arbitrary values."""
    body = b"".join(struct.pack("!BBH", t, f, ln) + v for t, f, ln, v in chunks)
    fuzz_sctp(b"\0" + common() + body)


# ------------------------------------------------------------- limits
def test_zero_length_chunk_stops():
    """Chunk Length 0 must not loop (the walker cannot advance by 0)."""
    body = common() + b"\x00\x00\x00\x00" * 4000
    pkt, _ = decode_ip(body)
    check_packet(pkt)
    assert len(pkt.chunks) == 1
    assert any(n.key == "sctp.chunk_length.bad" for n in pkt.notes)


def test_16k_chunks_in_one_packet():
    """16375 four-byte chunks (COOKIE ACKs) fill a 64 KiB IPv4 packet: all decoded."""
    n = (65535 - 20 - 12) // 4   # 16375: as many as an IPv4 datagram holds
    body = common() + chunk(11, 0, b"") * n
    pkt, _ = decode_ip(body)
    check_packet(pkt)
    assert len(pkt.chunks) == n
    assert all(c.type == 11 and c.clen == 4 for c in pkt.chunks)


def test_pktdrop_recursion_is_bounded():
    """PKTDROP quoting a packet holding a PKTDROP ... 500 deep: decoded to
    MAX_DEPTH levels, the rest left as bytes."""
    inner = common() + chunk(11, 0, b"")
    for _ in range(500):
        inner = common() + chunk(0x81, 0, struct.pack("!IIHH", 1, 2, 0, 0) + inner)
        if len(inner) > 60000:
            break
    pkt, _ = decode_ip(inner)
    check_packet(pkt)
    sctp_layers = sum(1 for f in pkt.walk() if f.name == "sctp")
    assert sctp_layers == MAX_DEPTH + 1
    assert pkt.first("sctp.pktdrop_datafield") is not None


def test_nested_parameters_bounded():
    """Regression (found by fuzzing): Error Cause Indication -> Unrecognized
    Parameters cause -> Error Cause Indication ... recursed once per 12 bytes
    and hit Python's recursion limit.  Now decoded MAX_PARAM_DEPTH deep, the
    rest kept as bytes with a note."""
    def param(t, v):
        return struct.pack("!HH", t, 4 + len(v)) + v
    inner = b""
    for i in range(4000):
        inner = param(0xC003, struct.pack("!I", i) + param(8, inner))
        if len(inner) > 60000:
            break
    pkt, _ = decode_ip(common() + chunk(0x80, 0, struct.pack("!I", 1) + inner))
    check_packet(pkt)
    assert any(n.key == "sctpinspect.parameter_nesting" for n in pkt.notes)
    ids = pkt.values("sctp.correlation_id")
    assert 2 <= len(ids) <= MAX_PARAM_DEPTH
    assert ids == list(range(ids[0], ids[0] - len(ids), -1))   # outermost first


def test_nested_unrecognized_parameter_in_init_ack():
    """Unrecognized Parameter (type 8) holding itself 5000 deep."""
    inner = struct.pack("!HH", 5, 8) + bytes(4)
    for _ in range(5000):
        inner = struct.pack("!HH", 8, 4 + len(inner)) + inner
        if len(inner) > 60000:
            break
    init = struct.pack("!IIHHI", 1, 2, 3, 4, 5) + inner
    pkt, _ = decode_ip(common() + chunk(2, 0, init))
    check_packet(pkt)


def test_truncated_capture_of_big_chunk():
    """Snaplen cut inside a chunk: WARN note (capture), not ERROR (packet)."""
    full = bytes(S.SCTP(sport=1, dport=2, tag=3) / S.SCTPChunkData(tsn=1, data=b"x" * 400))
    pkt, _ = decode_ip(full[:100], wirelen=20 + len(full))
    check_packet(pkt)
    assert pkt.chunks[0].clen == 416


# ------------------------------------------------------------- round trip
def _rebuild(pkt):
    """scapy packet from the *decoded* values only."""
    sc = pkt.sctp
    hdr = S.SCTP(sport=sc.get("sctp.srcport"), dport=sc.get("sctp.dstport"),
                 tag=sc.get("sctp.verification_tag"))
    out = hdr
    for ch in pkt.chunks:
        g = ch.get
        fl = {f.name: f.value for f in ch.children[1].children or ()}
        if ch.type == 0:
            layer = S.SCTPChunkData(tsn=g("sctp.data_tsn_raw"), stream_id=g("sctp.data_sid"),
                                    stream_seq=g("sctp.data_ssn"), proto_id=g("sctp.data_payload_proto_id"),
                                    data=g("sctpinspect.payload"), unordered=int(fl["sctp.data_u_bit"]),
                                    beginning=int(fl["sctp.data_b_bit"]), ending=int(fl["sctp.data_e_bit"]),
                                    delay_sack=int(fl["sctp.data_i_bit"]))
        elif ch.type == 64:
            layer = S.SCTPChunkIData(tsn=g("sctp.data_tsn_raw"), stream_id=g("sctp.data_sid"),
                                     message_id=g("sctp.data_mid"), data=g("sctpinspect.payload"),
                                     ppid_fsn=g("sctp.data_payload_proto_id", g("sctp.data_fsn")),
                                     unordered=int(fl["sctp.data_u_bit"]),
                                     beginning=int(fl["sctp.data_b_bit"]), ending=int(fl["sctp.data_e_bit"]),
                                     delay_sack=int(fl["sctp.data_i_bit"]))
        elif ch.type in (1, 2):
            params = []
            for p in ch.children:
                if p.name == "sctp.parameter":
                    if p.value == 5:
                        params.append(S.SCTPChunkParamIPv4Addr(addr=p.get("sctp.parameter_ipv4_address")))
                    elif p.value == 6:
                        params.append(S.SCTPChunkParamIPv6Addr(addr=p.get("sctp.parameter_ipv6_address")))
                    elif p.value == 7:
                        params.append(S.SCTPChunkParamStateCookie(cookie=p.get("sctp.parameter_state_cookie")))
            cls = S.SCTPChunkInit if ch.type == 1 else S.SCTPChunkInitAck
            layer = cls(init_tag=g("sctp.initiate_tag"), a_rwnd=g("sctp.init_credit", g("sctp.initack_credit")),
                        n_out_streams=g("sctp.init_nr_out_streams", g("sctp.initack_nr_out_streams")),
                        n_in_streams=g("sctp.init_nr_in_streams", g("sctp.initack_nr_in_streams")),
                        init_tsn=g("sctp.init_initial_tsn", g("sctp.initack_initial_tsn")), params=params)
        elif ch.type == 3:
            gaps = [f for f in ch.children if f.name == "sctp.sack_gap_block"]
            layer = S.SCTPChunkSACK(cumul_tsn_ack=g("sctp.sack_cumulative_tsn_ack_raw"),
                                    a_rwnd=g("sctp.sack_a_rwnd"),
                                    gap_ack_list=["%d:%d" % (b.get("sctp.sack_gap_block_start"),
                                                             b.get("sctp.sack_gap_block_end")) for b in gaps],
                                    dup_tsn_list=ch.all("sctp.sack_duplicate_tsn"))
        elif ch.type == 7:
            layer = S.SCTPChunkShutdown(cumul_tsn_ack=g("sctp.shutdown_cumulative_tsn_ack"))
        elif ch.type == 6:
            layer = S.SCTPChunkAbort(TCB=int(fl["sctp.abort_t_bit"]))
        elif ch.type == 0xC0:
            skips = ch.children[3:]
            sids = [f.value for f in skips if f.name == "sctp.forward_tsn_sid"]
            ssns = [f.value for f in skips if f.name == "sctp.forward_tsn_ssn"]
            layer = S.SCTPChunkForwardTSN(new_tsn=g("sctp.forward_tsn_tsn"),
                                          skips=[S.SCTPForwardSkip(stream_id=a, stream_seq=b)
                                                 for a, b in zip(sids, ssns)])
        else:
            raise AssertionError(f"no rebuild rule for chunk type {ch.type}")
        out = out / layer
    return out


u32 = st.integers(0, 0xFFFFFFFF)
u16 = st.integers(0, 0xFFFF)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: "%d.%d.%d.%d" % t)

data_chunk = st.builds(lambda tsn, sid, ssn, ppid, d, u, b, e, i: S.SCTPChunkData(
    tsn=tsn, stream_id=sid, stream_seq=ssn, proto_id=ppid, data=d, unordered=u, beginning=b,
    ending=e, delay_sack=i), u32, u16, u16, u32, st.binary(min_size=1, max_size=40),
    *[st.integers(0, 1)] * 4)
idata_chunk = st.builds(lambda tsn, sid, mid, x, d, b: S.SCTPChunkIData(
    tsn=tsn, stream_id=sid, message_id=mid, ppid_fsn=x, data=d, beginning=b),
    u32, u16, u32, u32, st.binary(min_size=1, max_size=40), st.integers(0, 1))
init_chunk = st.builds(lambda cls, tag, rw, os_, is_, tsn, addrs, cookie: cls(
    init_tag=tag, a_rwnd=rw, n_out_streams=os_, n_in_streams=is_, init_tsn=tsn,
    params=[S.SCTPChunkParamIPv4Addr(addr=a) for a in addrs]
    + ([S.SCTPChunkParamStateCookie(cookie=cookie)] if cls is S.SCTPChunkInitAck else [])),
    st.sampled_from([S.SCTPChunkInit, S.SCTPChunkInitAck]), st.integers(1, 0xFFFFFFFF), u32,
    st.integers(1, 0xFFFF), st.integers(1, 0xFFFF), u32, st.lists(ipv4, max_size=4),
    st.binary(min_size=1, max_size=30))
sack_chunk = st.builds(lambda cum, rw, gaps, dups: S.SCTPChunkSACK(
    cumul_tsn_ack=cum, a_rwnd=rw, gap_ack_list=["%d:%d" % g for g in gaps], dup_tsn_list=dups),
    u32, u32, st.lists(st.tuples(st.integers(1, 0xFFFF), st.integers(1, 0xFFFF)), max_size=6),
    st.lists(u32, max_size=6))
misc_chunk = st.one_of(
    st.builds(lambda t: S.SCTPChunkShutdown(cumul_tsn_ack=t), u32),
    st.builds(lambda t: S.SCTPChunkAbort(TCB=t), st.integers(0, 1)),
    st.builds(lambda t, sk: S.SCTPChunkForwardTSN(new_tsn=t, skips=[
        S.SCTPForwardSkip(stream_id=a, stream_seq=b) for a, b in sk]),
        u32, st.lists(st.tuples(u16, u16), max_size=4)))


@settings(max_examples=120, deadline=None)
@given(u16, u16, u32, st.one_of(
    st.lists(st.one_of(data_chunk, idata_chunk, sack_chunk, misc_chunk), min_size=1, max_size=4),
    init_chunk.map(lambda c: [c])))
def test_scapy_round_trip(sport, dport, vtag, chunks):
    """decode(scapy bytes) -> values -> scapy -> the same bytes."""
    p = S.SCTP(sport=sport, dport=dport, tag=vtag)
    for c in chunks:
        p = p / c
    wire = bytes(p)
    pkt, _ = decode_ip(wire)
    check_packet(pkt)
    assert pkt.checksum_status == "good"
    assert [c.type for c in pkt.chunks] == [c.type for c in chunks]
    assert bytes(_rebuild(pkt)) == wire
