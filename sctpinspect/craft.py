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


def parse_extensions(items: list[str], what: str = "--ext") -> list[int]:
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
                raise UserError(f"{what} {part!r}: a chunk type number or one of "
                                f"{', '.join(sorted(EXTENSION_CHUNKS))}") from None
            if not 0 <= v <= 255:
                raise UserError(f"{what} {part!r}: chunk types are 0..255")
            out.append(v)
    return out


def cause_bytes(specs: list[str], what: str = "--cause") -> bytes:
    """``CODE[:HEX]`` error causes (RFC 9260 3.3.10): code, length, info, padding."""
    out = b""
    for spec in specs:
        code_text, _, hex_text = spec.partition(":")
        try:
            code = int(code_text, 0)
            info = bytes.fromhex(hex_text.replace(" ", ""))
        except ValueError:
            raise UserError(f"{what} {spec!r}: expected CODE or CODE:HEX "
                            "(e.g. 12:6279652e for User-Initiated Abort \"bye.\")") from None
        if not 0 <= code <= 0xFFFF:
            raise UserError(f"{what} {spec!r}: cause codes are 0..65535")
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


# --------------------------------------------------------------------------- probe kinds

@dataclass(frozen=True)
class Kind:
    """One kind of probe ``craft`` can build: what menus show, and the
    defaults RFC 9260 gives its header."""
    name: str
    label: str
    rfc: str
    zero_vtag: bool = False        # the common header's tag defaults to 0 (INIT, 8.5.1)


#: The probe kinds, in menu order (``sctpinspect craft KIND`` and the TUI's craft mode).
KINDS = {k.name: k for k in (
    Kind("init", "INIT with chosen parameters", "RFC 9260 3.3.2", zero_vtag=True),
    Kind("abort", "ABORT with chosen causes", "RFC 9260 3.3.7"),
    Kind("data", "DATA with a chosen TSN", "RFC 9260 3.3.1"),
    Kind("chunk", "any chunk (e.g. an unknown type)", "RFC 9260 3.2"),
)}

#: default chunk type of the ``chunk`` kind: 0x7f is unassigned and its high
#: bits 01 say "stop processing and report" (RFC 9260 3.2)
UNKNOWN_CHUNK_TYPE = 0x7F


def craft_packet(kind: str, dst: str, dport: int, *, sport: int | None = None,
                 src: str | None = None, vtag: int | None = None, checksum: int | None = None,
                 bad_checksum: bool = False, init_tag: int | None = None,
                 a_rwnd: int = 106496, streams: tuple = (10, 10), tsn: int | None = None,
                 addrs=(), extensions=(), forward_tsn: bool = False, causes: bytes = b"",
                 t_bit: bool = False, sid: int = 0, ssn: int = 0, ppid: int = 0,
                 unordered: bool = False, payload: bytes = b"",
                 chunk_type: int = UNKNOWN_CHUNK_TYPE, chunk_flags: int = 0,
                 value: bytes = b"") -> Crafted:
    """One probe of ``kind`` (a :data:`KINDS` key) for ``dst`` (an IP literal):
    the builder above with the defaults of :data:`KINDS` -- random source port,
    header tag 0 for INIT and random otherwise, random Initiate Tag and
    initial TSN, DATA TSN 1 -- and ``bad_checksum`` as the right CRC32c minus 1.
    Values are taken as given (callers check their ranges)."""
    spec = KINDS[kind]
    dst = literal_address(dst)
    sport = ephemeral_port() if sport is None else sport
    if vtag is None:
        vtag = 0 if spec.zero_vtag else random_tag()
    if kind == "init":
        pkt = build_init(sport, dport, random_tag() if init_tag is None else init_tag, a_rwnd,
                         streams[0], streams[1], random_tag() if tsn is None else tsn,
                         addrs=addrs, extensions=list(extensions), forward_tsn=forward_tsn,
                         vtag=vtag, checksum=checksum)
        desc = "INIT"
    elif kind == "abort":
        pkt = build_abort(sport, dport, vtag, causes, t_bit, checksum)
        desc = "ABORT"
    elif kind == "data":
        pkt = build_data(sport, dport, vtag, 1 if tsn is None else tsn, sid, ssn, ppid,
                         payload, unordered=unordered, checksum=checksum)
        desc = "DATA"
    else:
        pkt = build_chunk(sport, dport, vtag, chunk_type, chunk_flags, value, checksum)
        desc = f"chunk type {chunk_type}"
    if bad_checksum:
        good = int.from_bytes(bytes(pkt)[8:12], "big")
        pkt.chksum = (good - 1) & 0xFFFFFFFF
    return Crafted(pkt, dst, src or route_source(dst), desc)


def summary_line(data: bytes, ts: float | None = None) -> str:
    """The decoder's one-line summary of an IP packet (SCTP endpoints, vtag,
    checksum mark and chunk summaries, or the ICMP error), without the frame
    number and time columns."""
    from .output.text import SummaryPrinter
    pkt = decode_ip(data, 1, ts)
    printer = SummaryPrinter("r")
    printer.seen(pkt)
    parts = printer.line(pkt).split(None, 2)
    return parts[2] if len(parts) == 3 else " ".join(parts)


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


def _socket(family: int, stype: int, proto: int) -> socket.socket:
    try:
        return socket.socket(family, stype, proto)
    except PermissionError:
        raise UserError("raw sockets need root or CAP_NET_RAW (try sudo, or --dry-run to "
                        "only print the packet)") from None
    except OSError as e:
        raise UserError(f"cannot open a raw socket: {e.strerror}") from None


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
    return ipaddress.ip_address(qdst) == ipaddress.ip_address(pkt.dst) \
        and qs == sport and qd == dport


def _reply_of(pkt: Crafted, data: bytes, v6: bool) -> bool:
    """Is this IP packet, received from the wire, an answer to ``pkt``: SCTP from
    the destination to our ports, or an ICMP error quoting our packet?"""
    sport, dport = pkt.sctp.sport, pkt.sctp.dport
    try:
        if v6:
            if len(data) < 48 or data[0] >> 4 != 6:
                return False
            src, nh, off = socket.inet_ntop(socket.AF_INET6, data[8:24]), data[6], 40
            icmp_proto, errors = 58, (1, 2, 3, 4)
        else:
            if len(data) < 28 or data[0] >> 4 != 4:
                return False
            src, nh, off = socket.inet_ntop(socket.AF_INET, data[12:16]), data[9], \
                (data[0] & 0x0F) * 4
            icmp_proto, errors = 1, (3, 11, 12)
    except (ValueError, OSError):
        return False
    if nh == IPPROTO_SCTP:
        return ipaddress.ip_address(src) == ipaddress.ip_address(pkt.dst) and \
            len(data) >= off + 4 and struct.unpack_from("!HH", data, off) == (dport, sport)
    if nh == icmp_proto and len(data) >= off + 8 and data[off] in errors:
        return _quotes_us(pkt, sport, dport, data[off + 8:], v6)
    return False


def send_packet(pkt: Crafted, wait: float = 0.0, bind_src: str | None = None,
                max_replies: int = 8, on_sent=None,
                on_reply=None) -> tuple[float, list[tuple[float, bytes]]]:
    """Send ``pkt`` to ``pkt.dst`` and collect, for ``wait`` seconds, the replies:
    SCTP packets from that address to our ports, and ICMP/ICMPv6 errors
    quoting our packet.  Returns (send time, [(time, IP packet)]).
    ``on_sent(time, ip_bytes)`` and ``on_reply(time, ip_bytes)``, when given,
    are called as it happens (for a UI that shows replies while waiting).

    The packet leaves through an IPPROTO_RAW socket (IP header included) and
    replies are read from an AF_PACKET socket: a raw socket of protocol 132
    would itself count as an SCTP handler and stop the kernel from sending
    the ICMP "protocol unreachable" a host without SCTP answers with."""
    v6 = ":" in pkt.dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    if bind_src:
        pkt.src = bind_src
    rx = None
    if wait > 0:
        rx = _socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))  # ETH_P_ALL
    tx = _socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        try:
            t0 = time.time()
            tx.sendto(pkt.ip_bytes(), (pkt.dst, 0))
        except OSError as e:
            raise UserError(f"cannot send to {pkt.dst}: {e.strerror}") from None
        if on_sent is not None:
            on_sent(t0, pkt.ip_bytes())
        replies: list[tuple[float, bytes]] = []
        if rx is None:
            return t0, replies
        deadline = time.monotonic() + wait
        poller = select.poll()
        poller.register(rx, select.POLLIN)
        while len(replies) < max_replies:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                break
            data, addr = rx.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            if addr[1] != (0x86DD if v6 else 0x0800):
                continue
            if _reply_of(pkt, data, v6):
                replies.append((time.time(), data))
                if on_reply is not None:
                    on_reply(*replies[-1])
        return t0, replies
    finally:
        tx.close()
        if rx is not None:
            rx.close()


def decode_ip(data: bytes, number: int = 1, ts: float | None = None):
    """Decode an IP packet with the project's decoder."""
    from .decode import Decoder
    from .model import Record
    ts_ns = int((ts if ts is not None else time.time()) * 1e9)
    return Decoder().decode(Record(number, ts_ns, data, len(data), LINKTYPE_RAW))


__all__ = ["Crafted", "build_init", "build_abort", "build_data", "build_chunk", "send_packet",
           "write_pcap", "decode_ip", "literal_address", "route_source", "cause_bytes",
           "parse_extensions", "random_tag", "ephemeral_port", "os", "KINDS", "Kind",
           "craft_packet", "summary_line", "UNKNOWN_CHUNK_TYPE"]
