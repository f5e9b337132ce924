"""Builds real SCTP packets (scapy -> bytes -> Record -> Decoder) for the analysis tests.

Not a test module itself; the analysis tests import it.
"""
from __future__ import annotations

from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.sctp import (SCTP, SCTPChunkCookieAck, SCTPChunkCookieEcho, SCTPChunkData,
                               SCTPChunkIData, SCTPChunkInit, SCTPChunkInitAck,
                               SCTPChunkParamIPv4Addr, SCTPChunkSACK, SCTPChunkShutdown,
                               SCTPChunkShutdownAck, SCTPChunkShutdownComplete)

from sctpinspect.analysis import Analyzer
from sctpinspect.decode import Decoder
from sctpinspect.model import Record


class Wire:
    """A capture being written: each ``send`` decodes the packet and feeds the analyzer."""

    def __init__(self, analyzer: Analyzer | None = None):
        self.decoder = Decoder()
        self.analyzer = analyzer or Analyzer()
        self.t_ns = 1_700_000_000 * 10**9
        self.n = 0
        self.packets = []
        # fields the analysis learns later about an earlier packet (sctp.retransmitted,
        # sctp.acked, sctp.reassembled_in...) land on the packets kept here, as a
        # second pass would put them
        self.analyzer.on_late = self._late

    def _late(self, frame, k, name, value):
        self.packets[frame - 1].chunks[k].annotate(name, value)

    def send(self, src, dst, sport, dport, vtag, *chunks, dt=0.001):
        self.t_ns += int(dt * 1e9)
        self.n += 1
        ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
        layer = SCTP(sport=sport, dport=dport, tag=vtag)
        for c in chunks:
            layer = layer / c
        raw = bytes(Ether() / ip / layer)
        pkt = self.decoder.decode(Record(self.n, self.t_ns, raw, len(raw), 1))
        self.analyzer.feed(pkt)
        self.packets.append(pkt)
        return pkt


def data(tsn, sid=0, ssn=0, ppid=0, payload=b"x" * 10, b=1, e=1, u=0):
    return SCTPChunkData(tsn=tsn, stream_id=sid, stream_seq=ssn, proto_id=ppid, data=payload,
                         beginning=b, ending=e, unordered=u)


def idata(tsn, sid, mid, ppid_fsn, payload, b=1, e=1, u=0):
    return SCTPChunkIData(tsn=tsn, stream_id=sid, message_id=mid, ppid_fsn=ppid_fsn,
                          data=payload, beginning=b, ending=e, unordered=u)


def sack(cum, rwnd=65535, gaps=(), dups=()):
    return SCTPChunkSACK(cumul_tsn_ack=cum, a_rwnd=rwnd, n_gap_ack=len(gaps),
                         gap_ack_list=[f"{s}:{e}" for s, e in gaps], n_dup_tsn=len(dups),
                         dup_tsn_list=list(dups))


class Peers:
    """Two endpoints A (client) and B (server) with tags, running a scripted association."""

    def __init__(self, wire: Wire, a=("10.0.0.1",), b=("10.0.0.2",), aport=5000, bport=6000,
                 atag=0x11111111, btag=0x22222222, a_tsn=1000, b_tsn=5000):
        self.w, self.a, self.b = wire, list(a), list(b)
        self.aport, self.bport, self.atag, self.btag = aport, bport, atag, btag
        self.a_tsn, self.b_tsn = a_tsn, b_tsn

    def a2b(self, *chunks, src=None, dst=None, vtag=None, dt=0.001):
        return self.w.send(src or self.a[0], dst or self.b[0], self.aport, self.bport,
                           self.btag if vtag is None else vtag, *chunks, dt=dt)

    def b2a(self, *chunks, src=None, dst=None, vtag=None, dt=0.001):
        return self.w.send(src or self.b[0], dst or self.a[0], self.bport, self.aport,
                           self.atag if vtag is None else vtag, *chunks, dt=dt)

    def handshake(self, os_a=10, mis_a=8, os_b=5, mis_b=20):
        pa = [SCTPChunkParamIPv4Addr(addr=x) for x in self.a] if len(self.a) > 1 else []
        pb = [SCTPChunkParamIPv4Addr(addr=x) for x in self.b] if len(self.b) > 1 else []
        self.a2b(SCTPChunkInit(init_tag=self.atag, a_rwnd=65535, n_out_streams=os_a,
                               n_in_streams=mis_a, init_tsn=self.a_tsn, params=pa), vtag=0)
        self.b2a(SCTPChunkInitAck(init_tag=self.btag, a_rwnd=65535, n_out_streams=os_b,
                                  n_in_streams=mis_b, init_tsn=self.b_tsn, params=pb))
        self.a2b(SCTPChunkCookieEcho(cookie=b"c" * 16))
        self.b2a(SCTPChunkCookieAck())

    def shutdown_by_a(self):
        self.a2b(SCTPChunkShutdown(cumul_tsn_ack=self.b_tsn - 1))
        self.b2a(SCTPChunkShutdownAck())
        self.a2b(SCTPChunkShutdownComplete())
