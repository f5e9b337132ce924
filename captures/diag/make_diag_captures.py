#!/usr/bin/env python3
"""Crafted captures for the diagnostic rules a real stack will not (easily) produce.

    python captures/diag/make_diag_captures.py [OUTDIR]     (default: this directory)

Each scenario is a function returning ``[(timestamp, IP packet bytes)]``;
``tests/test_diagnose_rules.py`` builds them into its tmp_path through
:func:`write` (nothing has to be shipped), and this script writes them all as
``<name>.pcap`` (LINKTYPE_RAW) for trying ``sctpinspect diagnose`` by hand.

The bytes follow RFC 9260 chunk layouts (struct), wrapped by scapy in an SCTP
common header (scapy computes the CRC32c unless a checksum is forced) and an
IPv4/IPv6 header.  Endpoint A is 10.0.0.1:5000 (Initiate Tag TA), B is
10.0.0.2:6000 (tag TB).
"""
from __future__ import annotations

import os
import struct
import sys

from scapy.layers import sctp as S
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
from scapy.packet import Raw

TA, TB = 0x0A0A0A0A, 0x0B0B0B0B
A, B = ("10.0.0.1", 5000), ("10.0.0.2", 6000)


def pad(b: bytes) -> bytes:
    return b + bytes(-len(b) % 4)


def chunk(ctype: int, flags: int = 0, value: bytes = b"") -> bytes:
    return pad(struct.pack("!BBH", ctype, flags, 4 + len(value)) + value)


def param(ptype: int, value: bytes = b"") -> bytes:
    return pad(struct.pack("!HH", ptype, 4 + len(value)) + value)


def cause(code: int, info: bytes = b"") -> bytes:
    return pad(struct.pack("!HH", code, 4 + len(info)) + info)


def ipv4_param(addr: str) -> bytes:
    return param(5, bytes(int(x) for x in addr.split(".")))


def init(tag=TA, os_=10, mis=10, tsn=1, params=b"", ack=False) -> bytes:
    body = struct.pack("!IIHHI", tag, 65536, os_, mis, tsn) + params
    if ack:
        body += param(7, b"COOKIE01")          # State Cookie (mandatory in INIT ACK)
    return chunk(2 if ack else 1, 0, body)


def data(tsn, sid=0, ssn=0, ppid=0, payload=b"hello!!!", flags=3) -> bytes:
    return chunk(0, flags, struct.pack("!IHHI", tsn, sid, ssn, ppid) + payload)


def sack(cum, a_rwnd=65536, gaps=(), dups=()) -> bytes:
    body = struct.pack("!IIHH", cum, a_rwnd, len(gaps), len(dups))
    body += b"".join(struct.pack("!HH", s, e) for s, e in gaps)
    body += b"".join(struct.pack("!I", d) for d in dups)
    return chunk(3, 0, body)


def heartbeat(info=b"HBINFO01", ack=False) -> bytes:
    return chunk(5 if ack else 4, 0, param(1, info))


COOKIE_ECHO = chunk(10, 0, b"COOKIE01")
COOKIE_ACK = chunk(11)
SHUTDOWN_ACK = chunk(8)


def shutdown(cum) -> bytes:
    return chunk(7, 0, struct.pack("!I", cum))


def abort(causes=b"", t=False) -> bytes:
    return chunk(6, 1 if t else 0, causes)


def error(causes: bytes) -> bytes:
    return chunk(9, 0, causes)


class Conv:
    """A packet list between A and B: ``a(...)``/``b(...)`` send chunks one way."""

    def __init__(self, t0: float = 1_700_000_000.0, a=A, b=B):
        self.t = t0
        self.A, self.B = a, b
        self.out: list = []

    def _send(self, frm, to, vtag, chunks, checksum, dt, src, dst):
        self.t += dt
        sctp = S.SCTP(sport=frm[1], dport=to[1], tag=vtag, chksum=checksum) / Raw(b"".join(chunks))
        s, d = src or frm[0], dst or to[0]
        if ":" in s:
            ip = IPv6(src=s, dst=d, nh=132) / sctp
        else:
            ip = IP(src=s, dst=d, proto=132, id=len(self.out) + 1) / sctp
        self.out.append((self.t, bytes(ip)))
        return self

    def a(self, *chunks, vtag=TB, checksum=None, dt=0.01, src=None, dst=None):
        return self._send(self.A, self.B, vtag, chunks, checksum, dt, src, dst)

    def b(self, *chunks, vtag=TA, checksum=None, dt=0.01, src=None, dst=None):
        return self._send(self.B, self.A, vtag, chunks, checksum, dt, src, dst)

    def raw(self, data: bytes, dt=0.01):
        self.t += dt
        self.out.append((self.t, data))
        return self

    def handshake(self, init_params=b"", ack_params=b"", os_=10, mis=10, ack_os=10, ack_mis=10):
        self.a(init(TA, os_, mis, 1, init_params), vtag=0)
        self.b(init(TB, ack_os, ack_mis, 100, ack_params, ack=True))
        self.a(COOKIE_ECHO)
        self.b(COOKIE_ACK)
        return self

    def exchange(self, tsn_a=1, tsn_b=100, n=2):
        for i in range(n):
            self.a(data(tsn_a + i, ssn=i, ppid=46))
            self.b(sack(tsn_a + i))
            self.b(data(tsn_b + i, ssn=i, ppid=46))
            self.a(sack(tsn_b + i))
        return self

    def close(self, cum_a=2, cum_b=101):
        self.a(shutdown(cum_b))
        self.b(SHUTDOWN_ACK)
        self.a(chunk(14))
        return self


# ----------------------------------------------------------------------------- scenarios

def clean():
    c = Conv().handshake().exchange()
    c.a(heartbeat()).b(heartbeat(ack=True))
    return c.close().out


def checksum_bad_offload():
    """Every packet A sends has a wrong CRC32c, B's are right: offload on A."""
    c = Conv()
    c.a(init(), vtag=0, checksum=0x12345678)
    c.b(init(TB, ack=True))
    c.a(COOKIE_ECHO, checksum=0x12345678).b(COOKIE_ACK)
    c.a(data(1), checksum=0x12345678).b(sack(1))
    return c.out


def checksum_bad_mixed():
    c = Conv().handshake()
    c.a(data(1)).b(sack(1))
    c.a(data(2), checksum=0xDEADBEEF).b(sack(2))
    return c.out


def checksum_zero():
    c = Conv().handshake()
    c.a(data(1), checksum=0).b(sack(1), checksum=0)
    return c.out


def vtag_mismatch():
    c = Conv().handshake().exchange(n=1)
    c.a(data(2, ssn=1), vtag=0x12345678)
    c.b(abort(t=True), vtag=0x12345678)          # 8.4 answer to an OOTB packet
    c.a(data(3, ssn=2), vtag=0x12345678)
    return c.out


def vtag_init_nonzero():
    c = Conv()
    c.a(init(), vtag=0x55555555)
    c.b(init(TB, ack=True))
    return c.out


def vtag_tbit_abort():
    """ABORT with the T bit set but carrying the peer's tag (it must carry its own)."""
    c = Conv().handshake().exchange(n=1)
    c.a(abort(t=True), vtag=TB)
    return c.out


def vtag_tbit_shutdown_complete():
    """SHUTDOWN COMPLETE with T clear carrying the sender's own tag."""
    c = Conv().handshake().exchange(n=1)
    c.a(shutdown(100)).b(SHUTDOWN_ACK)
    c.a(chunk(14, 0), vtag=TA)
    return c.out


def ootb():
    c = Conv().handshake().exchange(n=1).close()
    c.a(data(5, ssn=3), dt=1.0)                  # old tag, after SHUTDOWN COMPLETE
    return c.out


def init_unanswered():
    c = Conv()
    for dt in (0.0, 1.0, 2.0):
        c.a(init(), vtag=0, dt=dt)
    c.t += 10.0
    return c.out


def init_retransmitted():
    c = Conv()
    c.a(init(), vtag=0).a(init(), vtag=0, dt=1.0)
    c.b(init(TB, ack=True)).a(COOKIE_ECHO).b(COOKIE_ACK)
    return c.out


def init_aborted():
    c = Conv()
    c.a(init(), vtag=0)
    c.b(abort(), vtag=TA)
    return c.out


def cookie_unanswered():
    c = Conv()
    c.a(init(), vtag=0).b(init(TB, ack=True))
    c.a(COOKIE_ECHO).a(COOKIE_ECHO, dt=1.0).a(COOKIE_ECHO, dt=2.0)
    return c.out


def stale_cookie():
    c = Conv()
    c.a(init(), vtag=0).b(init(TB, ack=True))
    c.a(COOKIE_ECHO, dt=70.0)
    c.b(error(cause(3, struct.pack("!I", 10_000_000))))
    return c.out


def restart():
    c = Conv().handshake().exchange(n=1)
    c.a(init(0x0C0C0C0C), vtag=0, dt=2.0)
    return c.out


def abort_user():
    c = Conv().handshake().exchange(n=1)
    c.b(abort(cause(12, b"bye!")))
    return c.out


# cause code -> information bytes with a valid layout (RFC 9260 3.3.10, RFC 5061 5.1, RFC 4895)
CAUSE_INFO = {
    1: struct.pack("!HH", 7, 0), 2: struct.pack("!IH", 1, 7) + b"\0\0",
    3: struct.pack("!I", 5000), 4: b"", 5: ipv4_param("192.0.2.9"),
    6: chunk(0x70, 0, b"\1\2\3\4"), 7: b"", 8: param(0x7777, b"\0\0\0\0"),
    9: struct.pack("!I", 3), 10: b"", 11: ipv4_param("192.0.2.10"), 12: b"why?",
    13: b"bad!", 160: ipv4_param("10.0.0.2"), 161: b"", 162: ipv4_param("10.0.0.2"),
    163: b"", 164: b"", 261: struct.pack("!HH", 2, 0),
}


def error_cause(code: int):
    c = Conv().handshake().exchange(n=1)
    c.b(error(cause(code, CAUSE_INFO[code])))
    return c.out


def extension_mismatch():
    """A offers RE-CONFIG, ASCONF, PR-SCTP and ECN; B announces none of them and
    reports A's ECN parameter as unrecognized."""
    ext = param(0x8008, bytes([0x82, 0xC1, 0x80, 0xC0]))
    ecn = param(0x8000)
    c = Conv()
    c.a(init(params=ext + ecn), vtag=0)
    c.b(init(TB, params=param(8, ecn), ack=True))
    c.a(COOKIE_ECHO).b(COOKIE_ACK)
    return c.out


def unrecognized_extension_chunk():
    """A sends a RE-CONFIG chunk, B answers ERROR Unrecognized Chunk Type."""
    c = Conv().handshake()
    rc = chunk(0x82, 0, param(13, struct.pack("!III", 1, 0, 0)))
    c.a(rc).b(error(cause(6, rc)))
    return c.out


def stream_limit():
    c = Conv().handshake(os_=10, mis=10, ack_os=10, ack_mis=2)
    c.a(data(1, sid=1)).b(sack(1))
    c.a(data(2, sid=5)).b(sack(2))
    return c.out


def unknown_chunk():
    c = Conv().handshake()
    c.a(chunk(0x70, 0, b"\1\2\3\4"), data(1))
    c.a(chunk(0xF0, 0, b"\1\2\3\4"))
    return c.out


def unknown_param():
    c = Conv()
    c.a(init(params=param(0x7777, b"\0\0\0\0") + param(0xC777, b"\0\0\0\0")), vtag=0)
    c.b(init(TB, ack=True))
    return c.out


def ppid_byte_order():
    c = Conv().handshake()
    c.a(data(1, ppid=301989888)).b(sack(1))       # 18 (S1AP) byte-swapped
    c.a(data(2, ppid=18)).b(sack(2))
    return c.out


def abort_loop(n: int = 4):
    c = Conv()
    for i in range(n):
        c.a(init(TA + i), vtag=0, dt=1.0)
        c.b(abort(), vtag=TA + i)
    return c.out


def retransmission_t3():
    c = Conv().handshake()
    c.a(data(1)).a(data(1), dt=1.0).b(sack(1))
    return c.out


def retransmission_fast():
    c = Conv().handshake()
    for t in (1, 2, 3, 4, 5):
        c.a(data(t, ssn=t - 1))
    c.b(sack(0, gaps=[(2, 2)])).b(sack(0, gaps=[(2, 3)])).b(sack(0, gaps=[(2, 4)]))
    c.a(data(1, ssn=0))
    c.b(sack(5))
    return c.out


def duplicate_tsn():
    c = Conv().handshake()
    c.a(data(1)).b(sack(1)).a(data(1), dt=0.5).b(sack(1, dups=[1]))
    return c.out


def zero_window():
    c = Conv().handshake()
    c.a(data(1)).b(sack(1, a_rwnd=0)).b(sack(1, a_rwnd=4096), dt=2.0)
    return c.out


def heartbeat_unanswered():
    c = Conv().handshake()
    c.a(heartbeat(b"LOSTHB01"))
    c.a(data(1), dt=5.0).b(sack(1))
    return c.out


def path_failover():
    alt_a, alt_b = "10.0.1.1", "10.0.1.2"
    c = Conv()
    c.a(init(params=ipv4_param("10.0.0.1") + ipv4_param(alt_a)), vtag=0)
    c.b(init(TB, params=ipv4_param("10.0.0.2") + ipv4_param(alt_b), ack=True))
    c.a(COOKIE_ECHO).b(COOKIE_ACK)
    c.a(data(1)).b(sack(1))
    c.a(data(2, ssn=1), dt=1.0)
    c.a(data(2, ssn=1), src=alt_a, dst=alt_b, dt=1.0).b(sack(2), src=alt_b, dst=alt_a)
    return c.out


def shutdown_incomplete():
    c = Conv().handshake().exchange(n=1)
    c.a(shutdown(100)).a(shutdown(100), dt=1.0)
    c.t += 5
    return c.out


def icmp_unreachable():
    """A's INITs answered by ICMP protocol unreachable, port unreachable, frag needed,
    and an ICMPv6 port unreachable."""
    c = Conv()
    quoted = bytes(IP(src=A[0], dst=B[0], proto=132)
                   / S.SCTP(sport=A[1], dport=B[1], tag=0) / Raw(init()))
    c.raw(quoted)
    for code, mtu in ((2, 0), (3, 0), (4, 1280)):
        icmp = IP(src=B[0], dst=A[0], proto=1) / ICMP(type=3, code=code, nexthopmtu=mtu) \
            / Raw(quoted[:28 + 20])
        c.raw(bytes(icmp))
    q6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2", nh=132)
               / S.SCTP(sport=A[1], dport=B[1], tag=0) / Raw(init()))
    c.raw(q6)
    c.raw(bytes(IPv6(src="2001:db8::2", dst="2001:db8::1") / ICMPv6DestUnreach(code=4)
                / Raw(q6[:40 + 20])))
    return c.out


def malformed():
    c = Conv().handshake()
    bad = bytearray(data(1))
    struct.pack_into("!H", bad, 2, 200)          # chunk length far past the packet
    c.a(bytes(bad)).b(sack(1))
    return c.out


# every scenario, by name (error_cause(code) is one per cause code)
SCENARIOS = {name: globals()[name] for name in (
    "clean", "checksum_bad_offload", "checksum_bad_mixed", "checksum_zero", "vtag_mismatch",
    "vtag_init_nonzero", "vtag_tbit_abort", "vtag_tbit_shutdown_complete", "ootb",
    "init_unanswered", "init_retransmitted", "init_aborted", "cookie_unanswered",
    "stale_cookie", "restart", "abort_user", "extension_mismatch",
    "unrecognized_extension_chunk", "stream_limit", "unknown_chunk", "unknown_param",
    "ppid_byte_order", "abort_loop", "retransmission_t3", "retransmission_fast",
    "duplicate_tsn", "zero_window", "heartbeat_unanswered", "path_failover",
    "shutdown_incomplete", "icmp_unreachable", "malformed",
)}


def write(path: str, packets) -> str:
    """Classic pcap, LINKTYPE_RAW (101), microsecond timestamps."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for ts, pkt in packets:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)
    return path


def main(argv=None) -> int:
    out = (argv or sys.argv[1:] or [os.path.dirname(os.path.abspath(__file__))])[0]
    os.makedirs(out, exist_ok=True)
    for name, fn in sorted(SCENARIOS.items()):
        write(os.path.join(out, f"{name}.pcap"), fn())
    for code in sorted(CAUSE_INFO):
        write(os.path.join(out, f"cause_{code}.pcap"), error_cause(code))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
