"""Hand-made SCTP packets (with scapy) for what kernel sockets cannot send:
an INIT with chosen parameters, a wrong verification tag, a bad checksum, an
unknown chunk type, an ABORT with chosen causes, DATA with a chosen TSN.

The packet is the SCTP common header and chunks; it goes out through a raw
IP socket (protocol 132, the kernel writes the IP header) to the one
destination the caller gives, and replies -- SCTP from that peer, or ICMP
errors quoting our packet -- are collected for the decoder.

Safety: :func:`send_packet` only sends to the literal address it is given;
nothing here resolves names or picks destinations.
"""
from __future__ import annotations

import ipaddress
import os
import random
import select
import socket
import struct
import time
from dataclasses import dataclass, field

from scapy.layers import sctp as S
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from .errors import UserError

IPPROTO_SCTP = 132
LINKTYPE_RAW = 101

#: chunk names accepted in --ext (RFC 5061 Supported Extensions parameter)
EXTENSION_CHUNKS = {"forward-tsn": 0xC0, "asconf": 0xC1, "asconf-ack": 0x80, "auth": 0x0F,
                    "re-config": 0x82, "reconfig": 0x82, "i-data": 0x40,
                    "i-forward-tsn": 0xC2, "pktdrop": 0x81}


@dataclass
class Crafted:
    """A crafted packet: ``sctp`` is the scapy SCTP layer; ``src``/``dst`` the
    IP addresses it is meant for (``src`` as routing would choose)."""
    sctp: object
    dst: str
    src: str
    description: str = ""
    notes: list = field(default_factory=list)

    @property
    def sctp_bytes(self) -> bytes:
        return bytes(self.sctp)

    def ip_bytes(self) -> bytes:
        """The whole IP packet (for pcap and the decoder), as the kernel would send it."""
        if ":" in self.dst:
            return bytes(IPv6(src=self.src, dst=self.dst, nh=IPPROTO_SCTP, hlim=64)
                         / Raw(self.sctp_bytes))
        return bytes(IP(src=self.src, dst=self.dst, proto=IPPROTO_SCTP, ttl=64, id=0, flags="DF")
                     / Raw(self.sctp_bytes))


def literal_address(text: str) -> str:
    """The destination must be an IP literal the user typed (no name lookup)."""
    t = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(t))
    except ValueError:
        raise UserError(f"{text!r} is not an IP address: craft sends only to an address "
                        "typed literally (no name resolution)") from None


def route_source(dst: str) -> str:
    """The source address the kernel would use towards ``dst`` (no packet is sent)."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    try:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.connect((dst, 9))
            return s.getsockname()[0]
    except OSError:
        return "::" if fam == socket.AF_INET6 else "0.0.0.0"


def _header(sport: int, dport: int, vtag: int, checksum: int | None):
    return S.SCTP(sport=sport, dport=dport, tag=vtag, chksum=checksum)


def address_params(addrs: list[str]) -> list:
    out = []
    for a in addrs:
        a = literal_address(a)
        out.append(S.SCTPChunkParamIPv6Addr(addr=a) if ":" in a
                   else S.SCTPChunkParamIPv4Addr(addr=a))
    return out


def parse_extensions(items: list[str]) -> list[int]:
    out = []
    for item in items:
        for part in item.split(","):
            p = part.strip().lower()
            if not p:
                continue
            if p in EXTENSION_CHUNKS:
                out.append(EXTENSION_CHUNKS[p])
                continue
            try:
                v = int(p, 0)
            except ValueError:
                raise UserError(f"--ext {part!r}: a chunk type number or one of "
                                f"{', '.join(sorted(EXTENSION_CHUNKS))}") from None
            if not 0 <= v <= 255:
                raise UserError(f"--ext {part!r}: chunk types are 0..255")
            out.append(v)
    return out


def cause_bytes(specs: list[str]) -> bytes:
    """``CODE[:HEX]`` error causes (RFC 9260 3.3.10): code, length, info, padding."""
    out = b""
    for spec in specs:
        code_text, _, hex_text = spec.partition(":")
        try:
            code = int(code_text, 0)
            info = bytes.fromhex(hex_text.replace(" ", ""))
        except ValueError:
            raise UserError(f"--cause {spec!r}: expected CODE or CODE:HEX "
                            "(e.g. 12:6279652e for User-Initiated Abort \"bye.\")") from None
        if not 0 <= code <= 0xFFFF:
            raise UserError(f"--cause {spec!r}: cause codes are 0..65535")
        length = 4 + len(info)
        out += struct.pack("!HH", code, length) + info + bytes(-length % 4)
    return out


def build_init(sport, dport, init_tag, a_rwnd, out_streams, in_streams, tsn, addrs=(),
               extensions=None, forward_tsn=False, vtag=0, checksum=None):
    """INIT (RFC 9260 3.3.2): the header's tag is 0 unless ``vtag`` says otherwise."""
    params = address_params(list(addrs))
    if forward_tsn:
        params.append(S.SCTPChunkParamFwdTSN())
    if extensions:
        params.append(S.SCTPChunkParamSupportedExtensions(supported_extensions=extensions))
    chunk = S.SCTPChunkInit(init_tag=init_tag, a_rwnd=a_rwnd, n_out_streams=out_streams,
                            n_in_streams=in_streams, init_tsn=tsn, params=params)
    # scapy counts the last parameter's padding in the chunk length; RFC 9260
    # 3.2 says the chunk length excludes it: walk the parameters and set it.
    raw = bytes(chunk)
    off, end = 20, 20
    while off + 4 <= len(raw):
        plen = struct.unpack_from("!H", raw, off + 2)[0]
        if plen < 4:
            break
        end = off + plen
        off += (plen + 3) & ~3
    chunk.len = end
    return _header(sport, dport, vtag, checksum) / chunk


def build_abort(sport, dport, vtag, causes: bytes = b"", t_bit=False, checksum=None):
    """ABORT (RFC 9260 3.3.7) with the given error causes."""
    return _header(sport, dport, vtag, checksum) / S.SCTPChunkAbort(
        TCB=1 if t_bit else 0, error_causes=causes)


def build_data(sport, dport, vtag, tsn, sid, ssn, ppid, payload: bytes, unordered=False,
               beginning=True, ending=True, immediate=False, checksum=None):
    """DATA (RFC 9260 3.3.1) with chosen TSN, stream, SSN and PPID."""
    return _header(sport, dport, vtag, checksum) / S.SCTPChunkData(
        tsn=tsn, stream_id=sid, stream_seq=ssn, proto_id=ppid, data=payload,
        unordered=int(unordered), beginning=int(beginning), ending=int(ending),
        delay_sack=int(immediate))


def build_chunk(sport, dport, vtag, ctype: int, flags: int, value: bytes, checksum=None):
    """Any chunk as type/flags/value (RFC 9260 3.2), padded to 4 bytes; for
    unknown types the two high bits of the type choose the receiver's action."""
    length = 4 + len(value)
    raw = struct.pack("!BBH", ctype, flags, length) + value + bytes(-length % 4)
    return _header(sport, dport, vtag, checksum) / Raw(raw)


def random_tag() -> int:
    return random.SystemRandom().randint(1, 0xFFFFFFFF)


def ephemeral_port() -> int:
    return random.SystemRandom().randint(49152, 65535)


# --------------------------------------------------------------------------- wire

def write_pcap(path: str, packets: list[tuple[float, bytes]]) -> None:
    """Classic pcap, LINKTYPE_RAW (each record an IPv4 or IPv6 packet)."""
    try:
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
            for ts, data in packets:
                sec = int(ts)
                f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(data), len(data)))
                f.write(data)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror}") from None


def _raw_socket(family: int, proto: int) -> socket.socket:
    try:
        return socket.socket(family, socket.SOCK_RAW, proto)
    except PermissionError:
        raise UserError("raw sockets need root or CAP_NET_RAW (try sudo, or --dry-run to "
                        "only print the packet)") from None
    except OSError as e:
        raise UserError(f"cannot open a raw socket: {e.strerror}") from None


def _fake_ip6(src: str, dst: str, nh: int, payload: bytes) -> bytes:
    """IPv6 raw sockets deliver no IPv6 header; rebuild one for the decoder."""
    return (struct.pack("!IHBB", 6 << 28, len(payload), nh, 64)
            + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
            + payload)


def _quotes_us(pkt: Crafted, sport: int, dport: int, inner: bytes, v6: bool) -> bool:
    """Does an ICMP error's quoted packet (IP header + SCTP ports) come from ours?"""
    try:
        if v6:
            if len(inner) < 44 or inner[6] != IPPROTO_SCTP:
                return False
            qdst = socket.inet_ntop(socket.AF_INET6, inner[24:40])
            off = 40
        else:
            ihl = (inner[0] & 0x0F) * 4
            if len(inner) < ihl + 4 or inner[9] != IPPROTO_SCTP:
                return False
            qdst = socket.inet_ntop(socket.AF_INET, inner[16:20])
            off = ihl
        qs, qd = struct.unpack_from("!HH", inner, off)
    except (struct.error, ValueError, OSError):
        return False
    return qdst == pkt.dst and qs == sport and qd == dport


def send_packet(pkt: Crafted, wait: float = 0.0, bind_src: str | None = None,
                max_replies: int = 8) -> tuple[float, list[tuple[float, bytes]]]:
    """Send the SCTP bytes to ``pkt.dst`` through a raw socket and collect, for
    ``wait`` seconds, replies from that peer for our ports: SCTP packets and
    ICMP/ICMPv6 errors quoting our packet.  Returns (send time, [(time, IP packet)])."""
    v6 = ":" in pkt.dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    sport, dport = pkt.sctp.sport, pkt.sctp.dport
    tx = _raw_socket(fam, IPPROTO_SCTP)
    icmp = _raw_socket(fam, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    try:
        if bind_src:
            try:
                tx.bind((bind_src, 0))
            except OSError as e:
                raise UserError(f"cannot send from {bind_src}: {e.strerror}") from None
        try:
            t0 = time.time()
            tx.sendto(pkt.sctp_bytes, (pkt.dst, 0))
        except OSError as e:
            raise UserError(f"cannot send to {pkt.dst}: {e.strerror}") from None
        replies: list[tuple[float, bytes]] = []
        deadline = time.monotonic() + wait
        poller = select.poll()
        poller.register(tx, select.POLLIN)
        poller.register(icmp, select.POLLIN)
        while len(replies) < max_replies:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, _ in poller.poll(left * 1000):
                s = tx if fd == tx.fileno() else icmp
                data, addr = s.recvfrom(65535)
                now = time.time()
                if addr[0] != pkt.dst:
                    continue
                if s is tx:
                    body = data if v6 else data[(data[0] & 0x0F) * 4:]
                    if len(body) < 4 or struct.unpack_from("!HH", body) != (dport, sport):
                        continue
                    full = _fake_ip6(addr[0], pkt.src, IPPROTO_SCTP, data) if v6 else data
                else:
                    body = data if v6 else data[(data[0] & 0x0F) * 4:]
                    if len(body) < 8 or body[0] not in ((1, 2, 3, 4) if v6 else (3, 11, 12)):
                        continue
                    if not _quotes_us(pkt, sport, dport, body[8:], v6):
                        continue
                    full = _fake_ip6(addr[0], pkt.src, socket.IPPROTO_ICMPV6, data) if v6 else data
                replies.append((now, full))
        return t0, replies
    finally:
        tx.close()
        icmp.close()


def decode_ip(data: bytes, number: int = 1, ts: float | None = None):
    """Decode an IP packet with the project's decoder."""
    from .decode import Decoder
    from .model import Record
    ts_ns = int((ts if ts is not None else time.time()) * 1e9)
    return Decoder().decode(Record(number, ts_ns, data, len(data), LINKTYPE_RAW))


__all__ = ["Crafted", "build_init", "build_abort", "build_data", "build_chunk", "send_packet",
           "write_pcap", "decode_ip", "literal_address", "route_source", "cause_bytes",
           "parse_extensions", "random_tag", "ephemeral_port", "os"]
