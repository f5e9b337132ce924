"""icmp-unreachable from a real kernel: this host has no SCTP, so an INIT sent to
127.0.0.1 through a raw socket is answered with ICMP protocol unreachable
(RFC 1122 3.2.2.1).  The exchange is written to a pcap and diagnosed."""
from __future__ import annotations

import socket

import pytest

from sctpinspect import craft
from sctpinspect.diagnostics import diagnose_file


def _host_has_sctp() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(_host_has_sctp(), reason="this kernel has SCTP: it would not answer "
                                             "protocol unreachable")
def test_protocol_unreachable_from_a_host_without_sctp(tmp_path):
    init = craft.build_init(40000, 5000, 0x01020304, 65536, 10, 10, 1)
    pkt = craft.Crafted(init, dst="127.0.0.1", src="127.0.0.1")
    try:
        t0, replies = craft.send_packet(pkt, wait=1.0)
    except Exception as e:  # noqa: BLE001 - raw sockets need root
        pytest.skip(f"raw sockets unavailable: {e}")
    assert replies, "no ICMP answer from the local kernel"
    path = str(tmp_path / "icmp.pcap")
    craft.write_pcap(path, [(t0, pkt.ip_bytes())] + replies)
    r = diagnose_file(path)
    icmp = [f for f in r.findings if f.rule == "icmp-unreachable"]
    assert len(icmp) == 1
    f = icmp[0]
    assert "protocol unreachable" in f.message and "127.0.0.1:40000 -> 127.0.0.1:5000" in f.message
    assert f.frames == [2] and f.association == 0
    assert {x.rule for x in r.findings} == {"icmp-unreachable", "init-unanswered"}
