"""Byte builders for SCTP unit tests, straight from the RFC 9260 layouts
(chunk = type, flags, length + value + zero padding to 4; parameter and cause
= type, length + value + padding)."""
from __future__ import annotations

import struct

import crc32c

from sctpinspect.decode import DecodeOptions
from sctpinspect.decode.sctp import dissect_sctp
from sctpinspect.model import Packet, Record


def pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def chunk(ctype: int, flags: int, value: bytes, length: int | None = None, pad: bool = True) -> bytes:
    c = struct.pack("!BBH", ctype, flags, 4 + len(value) if length is None else length) + value
    return pad4(c) if pad else c


def param(ptype: int, value: bytes, pad: bool = True) -> bytes:
    p = struct.pack("!HH", ptype, 4 + len(value)) + value
    return pad4(p) if pad else p


def cause(code: int, value: bytes) -> bytes:
    return pad4(struct.pack("!HH", code, 4 + len(value)) + value)


def sctp(chunks, vtag: int = 0x11223344, sport: int = 2905, dport: int = 2905, csum: str = "crc") -> bytes:
    body = b"".join(chunks)
    h = struct.pack("!HHII", sport, dport, vtag, 0) + body
    if csum == "crc":
        # RFC 9260 Appendix A: CRC32c, transmitted least significant byte first.
        return h[:8] + struct.pack("<I", crc32c.crc32c(h)) + h[12:]
    if csum == "zero":
        return h
    if csum == "bad":
        return h[:8] + b"\xde\xad\xbe\xef" + h[12:]
    raise ValueError(csum)


def decode(data: bytes, prefix: bytes = b"", **opts):
    """Dissect ``data`` (an SCTP packet) placed after ``prefix`` in a frame."""
    buf = prefix + data
    pkt = Packet(Record(1, 0, buf, len(buf), 1))
    layer = dissect_sctp(pkt, buf, len(prefix), len(buf), DecodeOptions(**opts), pkt.layers)
    return pkt, layer


def keys(pkt) -> list:
    return [n.key for n in pkt.notes]


DATA = struct.Struct("!IHHI")
