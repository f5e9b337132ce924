"""Deterministic generator of a large, realistic SCTP capture for benchmarks.

``python benchmarks/gen_capture.py [-n 500000] [--seed 1] [-o FILE]`` writes a
classic pcap (Ethernet, IPv4, SCTP with valid CRC32c) holding many
associations that run concurrently, each with the RFC 9260 life cycle:

    INIT -> INIT ACK (state cookie, address parameters) -> COOKIE ECHO ->
    COOKIE ACK -> DATA (1-4 chunks bundled, several streams, PPIDs) <-> SACK
    (some with gap blocks and duplicate TSNs; some bundled with DATA) ...
    HEARTBEAT/HEARTBEAT ACK now and then -> SHUTDOWN -> SHUTDOWN ACK ->
    SHUTDOWN COMPLETE

plus about 2 % of non-SCTP frames (UDP) so skipping is exercised too.
Packets are built with ``struct`` (scapy is ~100x too slow for 500k
packets); the same seed always gives the same bytes.
"""
from __future__ import annotations

import argparse
import os
import random
import struct
import sys

import crc32c

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")

ETH_HDR = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"


def _ip_csum(hdr: bytes) -> int:
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64,
                      proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", _ip_csum(hdr)) + hdr[12:] + payload


def _chunk(ctype: int, flags: int, body: bytes) -> bytes:
    length = 4 + len(body)
    return struct.pack("!BBH", ctype, flags, length) + body + b"\0" * (-length % 4)


def _param(ptype: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("!HH", ptype, length) + value + b"\0" * (-length % 4)


def sctp_packet(sport: int, dport: int, vtag: int, chunks: bytes) -> bytes:
    hdr = struct.pack("!HHII", sport, dport, vtag, 0)
    crc = crc32c.crc32c(hdr + chunks)
    # RFC 9260 appendix A: the CRC32c is stored in network byte order of its reflected value.
    return hdr[:8] + struct.pack("<I", crc) + chunks


class _Assoc:
    def __init__(self, rnd: random.Random, idx: int):
        self.rnd = rnd
        self.a = bytes([10, 1, idx >> 8 & 0xFF, idx & 0xFF])
        self.b = bytes([10, 2, idx >> 8 & 0xFF, idx & 0xFF])
        self.pa = 30000 + idx % 20000
        self.pb = rnd.choice((40001, 40002, 40003, 40004))  # no registered ULP: both tools stop at SCTP
        self.tag_a = rnd.getrandbits(32) or 1
        self.tag_b = rnd.getrandbits(32) or 1
        self.tsn_a = rnd.getrandbits(32)
        self.tsn_b = rnd.getrandbits(32)
        self.ssn = [0] * 8
        self.ppid = rnd.choice((0, 0, 1000, 1001))  # opaque payload (see above)
        self.state = 0            # 0 handshake, 1 data, 2 shutdown, 3 done
        self.step = 0
        self.data_left = rnd.randint(50, 3000)
        self.acked_a = (self.tsn_a - 1) & 0xFFFFFFFF

    # (src, dst, sport, dport, vtag, chunks)
    def next(self):
        r = self.rnd
        if self.state == 0:
            s = self.step
            self.step += 1
            if s == 0:
                body = struct.pack("!IIHHI", self.tag_a, 106496, 10, 65535, self.tsn_a)
                body += _param(5, self.a) + _param(12, struct.pack("!HH", 5, 6))
                return self.a, self.b, self.pa, self.pb, 0, _chunk(1, 0, body)
            if s == 1:
                body = struct.pack("!IIHHI", self.tag_b, 106496, 10, 10, self.tsn_b)
                body += _param(7, r.randbytes(r.choice((64, 100, 196)))) + _param(5, self.b)
                return self.b, self.a, self.pb, self.pa, self.tag_a, _chunk(2, 0, body)
            if s == 2:
                return self.a, self.b, self.pa, self.pb, self.tag_b, _chunk(10, 0, r.randbytes(100))
            self.state = 1
            return self.b, self.a, self.pb, self.pa, self.tag_a, _chunk(11, 0, b"")
        if self.state == 1:
            x = r.random()
            if x < 0.03:                                   # heartbeat pair, one half per call
                info = _param(1, r.randbytes(36))
                return self.a, self.b, self.pa, self.pb, self.tag_b, _chunk(4, 0, info)
            if x < 0.06:
                info = _param(1, r.randbytes(36))
                return self.b, self.a, self.pb, self.pa, self.tag_a, _chunk(5, 0, info)
            if x < 0.62:                                   # DATA bundle from a to b
                chunks = b""
                for _ in range(r.choice((1, 1, 1, 2, 2, 3, 4))):
                    sid = r.randrange(len(self.ssn))
                    payload = r.randbytes(r.randint(20, 300))
                    chunks += _chunk(0, 3, struct.pack("!IHHI", self.tsn_a, sid, self.ssn[sid],
                                                       self.ppid) + payload)
                    self.ssn[sid] = (self.ssn[sid] + 1) & 0xFFFF
                    self.tsn_a = (self.tsn_a + 1) & 0xFFFFFFFF
                    self.data_left -= 1
                if self.data_left <= 0:
                    self.state, self.step = 2, 0
                return self.a, self.b, self.pa, self.pb, self.tag_b, chunks
            # SACK from b (sometimes with gap blocks / dup TSNs, sometimes bundled with DATA)
            cum = (self.tsn_a - 1 - (r.randint(0, 4) if r.random() < 0.3 else 0)) & 0xFFFFFFFF
            gaps = []
            if r.random() < 0.25:
                start = 2
                for _ in range(r.randint(1, 3)):
                    end = start + r.randint(0, 3)
                    gaps.append((start, end))
                    start = end + 2
            dups = [cum] if r.random() < 0.05 else []
            body = struct.pack("!IIHH", cum, r.choice((106496, 65536, 131072, 0 if r.random() < .01 else 8192)),
                               len(gaps), len(dups))
            body += b"".join(struct.pack("!HH", s, e) for s, e in gaps)
            body += b"".join(struct.pack("!I", d) for d in dups)
            chunks = _chunk(3, 0, body)
            if r.random() < 0.2:
                sid = r.randrange(len(self.ssn))
                chunks += _chunk(0, 3, struct.pack("!IHHI", self.tsn_b, sid, 0, self.ppid) +
                                 r.randbytes(r.randint(20, 200)))
                self.tsn_b = (self.tsn_b + 1) & 0xFFFFFFFF
            return self.b, self.a, self.pb, self.pa, self.tag_a, chunks
        s = self.step
        self.step += 1
        if s == 0:
            return (self.a, self.b, self.pa, self.pb, self.tag_b,
                    _chunk(7, 0, struct.pack("!I", (self.tsn_b - 1) & 0xFFFFFFFF)))
        if s == 1:
            return self.b, self.a, self.pb, self.pa, self.tag_a, _chunk(8, 0, b"")
        self.state = 3
        return self.a, self.b, self.pa, self.pb, self.tag_b, _chunk(14, 0, b"")


def generate(path: str, n_packets: int = 500_000, seed: int = 1, concurrent: int = 64) -> dict:
    """Write the capture; returns counts. Deterministic for a given (n_packets, seed)."""
    rnd = random.Random(seed)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    assocs = [_Assoc(rnd, i) for i in range(concurrent)]
    next_idx = concurrent
    ts_us = 1_700_000_000 * 1_000_000
    stats = {"frames": 0, "sctp": 0, "associations": concurrent}
    pack_rec = struct.Struct("<IIII").pack
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        out = []
        for i in range(n_packets):
            ts_us += rnd.randint(1, 400)
            if rnd.random() < 0.02:
                udp = struct.pack("!HHHH", 5060, 5060, 8 + 40, 0) + rnd.randbytes(40)
                frame = ETH_HDR + _ipv4(b"\x0a\x09\x00\x01", b"\x0a\x09\x00\x02", 17, udp, i)
            else:
                k = rnd.randrange(concurrent)
                a = assocs[k]
                src, dst, sp, dp, vtag, chunks = a.next()
                if a.state == 3:
                    assocs[k] = _Assoc(rnd, next_idx)
                    next_idx += 1
                    stats["associations"] += 1
                frame = ETH_HDR + _ipv4(src, dst, 132, sctp_packet(sp, dp, vtag, chunks), i)
                stats["sctp"] += 1
            stats["frames"] += 1
            out.append(pack_rec(ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)))
            out.append(frame)
            if len(out) > 8192:
                f.write(b"".join(out))
                out.clear()
        f.write(b"".join(out))
    return stats


def default_path(n_packets: int, seed: int) -> str:
    return os.path.join(OUT_DIR, f"bench-{n_packets}-s{seed}.pcap")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=500_000, help="number of frames (default 500000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", dest="out", help="output file (default benchmarks/out/bench-N-sSEED.pcap)")
    a = ap.parse_args(argv)
    path = a.out or default_path(a.n, a.seed)
    stats = generate(path, a.n, a.seed)
    print(f"{path}: {stats['frames']} frames, {stats['sctp']} SCTP, "
          f"{stats['associations']} associations", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
