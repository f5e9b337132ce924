"""Crafted SCTP traffic for capture tests and benchmarks (raw IP sockets).

The host kernel needs no SCTP support: a raw ``IPPROTO_SCTP`` socket sends
whatever bytes we give it, and, bound on the receiving side, also swallows
the packets so the kernel sends no "protocol unreachable" back.
"""
from __future__ import annotations

import socket

from scapy.layers import sctp as S
from scapy.packet import Raw

IPPROTO_SCTP = 132


def data_chunk(tsn: int, sid: int, ssn: int, ppid: int, payload: bytes, flags: int = 3) -> bytes:
    """A DATA chunk (RFC 9260 3.3.1), padded to 4 bytes; flags 3 = B|E
    (unfragmented), 4 = U, 8 = I.  Built by scapy: the layout lives in the
    decoder's chunk table and in scapy, not here."""
    return bytes(S.SCTPChunkData(tsn=tsn, stream_id=sid, stream_seq=ssn, proto_id=ppid,
                                 data=payload, ending=flags & 1, beginning=flags >> 1 & 1,
                                 unordered=flags >> 2 & 1, delay_sack=flags >> 3 & 1))


def sctp_packet(sport: int, dport: int, vtag: int, chunks: bytes) -> bytes:
    """Common header + chunks with a correct CRC32c (RFC 9260 6.8, appendix A;
    scapy computes it with crc32c)."""
    return bytes(S.SCTP(sport=sport, dport=dport, tag=vtag) / Raw(chunks))


class RawSender:
    """Send SCTP packets (already built, no IP header) to ``dst`` over raw IP."""

    def __init__(self, dst: str = "127.0.0.1", src: str | None = None):
        self.family = socket.AF_INET6 if ":" in dst else socket.AF_INET
        self.sock = socket.socket(self.family, socket.SOCK_RAW, IPPROTO_SCTP)
        if src:
            self.sock.bind((src, 0))
        self.dst = dst

    def send(self, packet: bytes) -> None:
        self.sock.sendto(packet, (self.dst, 0))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawSink:
    """A raw SCTP socket that receives (and so silences ICMP for) SCTP to this host."""

    def __init__(self, family: int = socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_RAW, IPPROTO_SCTP)
        self.sock.setblocking(False)

    def drain(self) -> int:
        n = 0
        while True:
            try:
                self.sock.recv(65536)
                n += 1
            except BlockingIOError:
                return n

    def close(self) -> None:
        self.sock.close()
