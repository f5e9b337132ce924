"""Classic libpcap file reader (both byte orders, micro/nanosecond magic).

Hand-written hot path: records are parsed with ``struct.unpack_from`` out of a
1 MiB block buffer, so there is one ``read`` per MiB instead of two per
record, and memory stays bounded by the block size (plus one record).  On a
pipe the buffer holds what has arrived, so records stream (``ready_reader``).
"""
from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

from ..errors import CaptureFileError
from ..model import Record
from ._buffer import CHUNK, read_exact, ready_reader

# magic as it appears in the file -> (byte order, ns multiplier per fraction unit, extra header bytes)
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000, 0),     # 0xa1b2c3d4 little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": (">", 1000, 0),
    b"\x4d\x3c\xb2\xa1": ("<", 1, 0),        # 0xa1b23c4d nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1, 0),
    b"\x34\xcd\xb2\xa1": ("<", 1000, 8),     # 0xa1b2cd34 Kuznetzov "modified pcap" (24-byte record header)
    b"\xa1\xb2\xcd\x34": (">", 1000, 8),
}

# Largest packet Wireshark accepts in a pcap file (WTAP_MAX_PACKET_SIZE_STANDARD);
# a bigger caplen means a corrupt file unless the header's snaplen allows it.
MAX_PACKET = 262144
MAX_SNAPLEN = 1 << 27


def read_pcap(f: BinaryIO, name: str, head: bytes) -> Iterator[Record]:
    order, mult, extra = PCAP_MAGICS[head[:4]]
    hdr = head + read_exact(f, 20)
    if len(hdr) < 24:
        raise CaptureFileError(name, len(hdr), "truncated pcap file header "
                               f"({len(hdr)} of 24 bytes)")
    _vmaj, _vmin, _tz, _sig, snaplen, network = struct.unpack_from(order + "HHiIII", hdr, 4)
    linktype = network & 0x0FFFFFFF  # upper bits: FCS length flags
    if linktype > 0xFFFF:
        linktype &= 0xFFFF
    limit = max(MAX_PACKET, snaplen if snaplen <= MAX_SNAPLEN else 0)
    rh = struct.Struct(order + "IIII")
    unpack_from = rh.unpack_from
    hlen = 16 + extra
    return _records(f, name, order, mult, hlen, linktype, limit, unpack_from)


def _records(f, name, order, mult, hlen, linktype, limit, unpack_from):
    buf = b""
    pos = 0
    base = 24          # file offset of buf[0]
    n = 0
    read = ready_reader(f)      # a pipe yields each record as soon as its bytes are in
    while True:
        if pos + hlen > len(buf):
            buf = buf[pos:] + (read(CHUNK) or b"")
            base += pos
            pos = 0
            if len(buf) < hlen:
                buf += read_exact(f, hlen - len(buf), read)
                if not buf:
                    return
                if len(buf) < hlen:
                    raise CaptureFileError(name, base, f"truncated record header "
                                           f"({len(buf)} of {hlen} bytes) of record {n + 1}")
        sec, frac, caplen, wirelen = unpack_from(buf, pos)
        start = pos + hlen
        end = start + caplen
        if end > len(buf):
            if caplen > limit:
                raise CaptureFileError(name, base + pos, f"record {n + 1} claims an absurd "
                                       f"captured length of {caplen} bytes (corrupt file?)")
            # only the missing bytes: asking a pipe for a whole CHUNK would
            # hold this record back until a MiB more arrived
            buf = buf[pos:] + read_exact(f, end - len(buf), read)
            base += pos
            start -= pos
            end -= pos
            pos = 0
            if end > len(buf):
                raise CaptureFileError(name, base, f"truncated record {n + 1}: "
                                       f"{len(buf) - start} of {caplen} bytes of packet data")
        elif caplen > limit:
            raise CaptureFileError(name, base + pos, f"record {n + 1} claims an absurd "
                                   f"captured length of {caplen} bytes (corrupt file?)")
        n += 1
        yield Record(n, sec * 1000000000 + frac * mult, buf[start:end], wirelen, linktype,
                     None, None, None, base + pos)
        pos = end
