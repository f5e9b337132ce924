"""Checksum status: CRC32c good / bad / zero / legacy Adler-32 / unverified,
on scapy-built packets and on public captures whose MANIFEST notes say which
checksum they carry."""
from __future__ import annotations

import struct
import zlib

import pytest

from conftest import PUBLIC
from sctpinspect.decode import Decoder, DecodeOptions
from sctpinspect.sources import open_capture
from test_sctp_helpers import DATA, chunk, decode, keys, sctp


def _statuses(path, **opts):
    dec = Decoder(DecodeOptions(**opts))
    return [p for p in (dec.decode(r) for r in open_capture(path)) if p.is_sctp]


def test_scapy_built_packet_is_good():
    from scapy.layers.sctp import SCTP, SCTPChunkData
    raw = bytes(SCTP(sport=2905, dport=2905, tag=0x1234) / SCTPChunkData(tsn=7, data=b"hello"))
    pkt, layer = decode(raw)
    assert pkt.checksum_status == "good"
    assert pkt.checksum == struct.unpack("!I", raw[8:12])[0] == pkt.checksum_expected
    assert layer.get("sctp.checksum.status") == 1
    assert pkt.chunks[0].get("sctp.data_tsn_raw") == 7
    assert pkt.notes == []


def test_bad_checksum_records_expected_value():
    good = sctp([chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"abcd")])
    bad = good[:8] + b"\x01\x02\x03\x04" + good[12:]
    pkt, layer = decode(bad)
    assert pkt.checksum_status == "bad"
    assert pkt.checksum_expected == struct.unpack("!I", good[8:12])[0]
    (n,) = [n for n in pkt.notes if n.key == "sctp.checksum_bad.expert"]
    assert n.severity == "error" and n.rfc == "RFC 9260 6.8" and n.offset == 8
    assert layer.get("sctp.checksum.status") == 0


def test_zero_checksum_is_not_an_error():
    pkt, _ = decode(sctp([chunk(11, 0, b"")], csum="zero"))
    assert pkt.checksum_status == "zero"
    assert [n.severity for n in pkt.notes] == ["chat"] and keys(pkt) == ["sctpinspect.checksum_zero"]


def test_adler32_checksum():
    body = sctp([chunk(11, 0, b"")], csum="zero")
    data = body[:8] + struct.pack("!I", zlib.adler32(body)) + body[12:]
    pkt, _ = decode(data)
    assert pkt.checksum_status == "adler32"
    assert not [n for n in pkt.notes if n.severity == "error"]


def test_verification_off():
    pkt, _ = decode(sctp([chunk(11, 0, b"")], csum="bad"), verify_checksum=False)
    assert pkt.checksum_status == "unverified" and pkt.notes == []


def test_crc_is_computed_in_place_at_an_offset():
    data = sctp([chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"abcd")])
    pkt, _ = decode(data, prefix=b"\x55" * 37)
    assert pkt.checksum_status == "good"


@pytest.mark.parametrize("path,status", [
    ("tcpdump/isup.pcap", "adler32"),            # MANIFEST: Adler-32 6/6
    ("pkts/sctp.cap", "adler32"),                # MANIFEST: Adler-32 4/4
    ("pkts/sctp001.pcap", "zero"),               # MANIFEST: zero checksum 12/12
    ("open5gs/testattach.pcapng", "zero"),       # MANIFEST: zero checksum 307/307
    ("pcapsctpspliter/mm.pcap", "bad"),          # MANIFEST: bad checksums 2/2
])
def test_public_captures_uniform(path, status):
    pkts = _statuses(PUBLIC / path)
    assert pkts and {p.checksum_status for p in pkts} == {status}


def test_public_capture_crc32c_good():
    pkts = _statuses(PUBLIC / "pkts/sctp-addip.cap")
    assert len(pkts) == 38 and {p.checksum_status for p in pkts} == {"good"}


def test_public_capture_mixed_offload():
    # MANIFEST: zero checksum field on 18 of 41 SCTP packets, the others CRC32c
    pkts = _statuses(PUBLIC / "magma/nsa_connection.pcap")
    st = [p.checksum_status for p in pkts]
    assert st.count("zero") == 18 and st.count("good") == 41 - 18
