"""pcapng reader: SHB (both byte orders, several sections), IDB (if_tsresol,
if_tsoffset), EPB, SPB and the obsolete PB; unknown blocks are skipped.

Hand-written hot path (see :mod:`sctpinspect.sources`): blocks are parsed with
``struct.unpack_from`` out of a 1 MiB block buffer; memory is bounded by the
buffer plus one block.
"""
from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

from ..errors import CaptureFileError
from ..model import Record
from ._buffer import CHUNK, read_exact, ready_reader

PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
SHB_TYPE = 0x0A0D0D0A
BOM = 0x1A2B3C4D
IDB, PB, SPB, EPB = 1, 2, 3, 6

OPT_ENDOFOPT, OPT_COMMENT = 0, 1
IF_TSRESOL, IF_TSOFFSET = 9, 14
EPB_FLAGS = 2
# epb_flags bits 0-1: 00 unknown, 01 inbound, 10 outbound
_DIRECTION = (None, "in", "out", None)

# A block bigger than this is taken as corruption (Wireshark: 16 MiB + headers).
MAX_BLOCK = 64 << 20


class _Iface:
    __slots__ = ("linktype", "snaplen", "ts_mul", "ts_div", "ts_shift", "ts_off_ns")

    def __init__(self, linktype: int, snaplen: int):
        self.linktype = linktype
        self.snaplen = snaplen
        self.ts_mul = 1000          # default resolution: microseconds
        self.ts_div = 1
        self.ts_shift = 0
        self.ts_off_ns = 0

    def set_tsresol(self, v: int) -> None:
        if v & 0x80:                 # negative power of two
            self.ts_mul, self.ts_div, self.ts_shift = 1000000000, 1, v & 0x7F
        else:                        # negative power of ten
            e = v & 0x7F
            if e <= 9:
                self.ts_mul, self.ts_div, self.ts_shift = 10 ** (9 - e), 1, 0
            else:
                self.ts_mul, self.ts_div, self.ts_shift = 1, 10 ** (e - 9), 0

    def ns(self, ts: int) -> int:
        if self.ts_shift:
            return ((ts * self.ts_mul) >> self.ts_shift) + self.ts_off_ns
        if self.ts_div != 1:
            return ts // self.ts_div + self.ts_off_ns
        return ts * self.ts_mul + self.ts_off_ns


def _options(buf: bytes, pos: int, end: int, order: str):
    """Yield (code, value bytes) of an options list; stops quietly on garbage."""
    while pos + 4 <= end:
        code, length = struct.unpack_from(order + "HH", buf, pos)
        pos += 4
        if code == OPT_ENDOFOPT:
            return
        if pos + length > end:
            return
        yield code, buf[pos:pos + length]
        pos += (length + 3) & ~3


def read_pcapng(f: BinaryIO, name: str, head: bytes) -> Iterator[Record]:
    buf = head
    pos = 0
    base = 0              # file offset of buf[0]
    n = 0
    order = "<"
    hdr = struct.Struct("<II")
    epb = struct.Struct("<IIIII")
    u32 = struct.Struct("<I")
    ifaces: list[_Iface] = []
    read = ready_reader(f)      # a pipe yields each block as soon as its bytes are in
    first = True
    while True:
        # -- make sure the 8-byte block header is in the buffer --------------
        if pos + 12 > len(buf):
            buf = buf[pos:] + (read(CHUNK) or b"")
            base += pos
            pos = 0
            if len(buf) < 12:
                buf += read_exact(f, 12 - len(buf), read)
                if not buf:
                    return
                if len(buf) < 12:
                    raise CaptureFileError(name, base, f"truncated block header ({len(buf)} bytes "
                                           "where a block of at least 12 bytes should start)")
        btype, blen = hdr.unpack_from(buf, pos)
        if btype == SHB_TYPE or first:
            if buf[pos:pos + 4] != PCAPNG_SHB:
                raise CaptureFileError(name, base + pos, "not a pcapng section header block")
            first = False
            bom_le = struct.unpack_from("<I", buf, pos + 8)[0]
            if bom_le == BOM:
                order = "<"
            elif struct.unpack_from(">I", buf, pos + 8)[0] == BOM:
                order = ">"
            else:
                raise CaptureFileError(name, base + pos + 8, "bad byte-order magic in pcapng "
                                       "section header block")
            hdr = struct.Struct(order + "II")
            epb = struct.Struct(order + "IIIII")
            u32 = struct.Struct(order + "I")
            ifaces = []
            btype, blen = hdr.unpack_from(buf, pos)
        if blen < 12 or blen & 3:
            raise CaptureFileError(name, base + pos, f"bad block length {blen} (must be a multiple "
                                   "of 4 and at least 12)")
        if blen > MAX_BLOCK:
            raise CaptureFileError(name, base + pos, f"absurd block length {blen} bytes "
                                   "(corrupt file?)")
        end = pos + blen
        if end > len(buf):
            # only the missing bytes (a pipe asked for a CHUNK would hold
            # this block back until a MiB more arrived)
            buf = buf[pos:] + read_exact(f, end - len(buf), read)
            base += pos
            end -= pos
            pos = 0
            if end > len(buf):
                raise CaptureFileError(name, base, f"truncated block: {len(buf)} of {blen} bytes "
                                       "present")
        if u32.unpack_from(buf, end - 4)[0] != blen:
            raise CaptureFileError(name, base + pos, f"block trailer length "
                                   f"{u32.unpack_from(buf, end - 4)[0]} does not match header "
                                   f"length {blen}")
        body = pos + 8
        bend = end - 4
        if btype == EPB:
            if blen < 32:
                raise CaptureFileError(name, base + pos, f"enhanced packet block too short "
                                       f"({blen} bytes)")
            ifid, ts_hi, ts_lo, caplen, wirelen = epb.unpack_from(buf, body)
            dstart = body + 20
            dend = dstart + caplen
            if dend > bend:
                raise CaptureFileError(name, base + pos, f"enhanced packet block captured length "
                                       f"{caplen} runs past the end of its block")
            if ifid >= len(ifaces):
                raise CaptureFileError(name, base + pos, f"packet on interface {ifid}, but only "
                                       f"{len(ifaces)} interface(s) described")
            iface = ifaces[ifid]
            comment = direction = None
            opos = dstart + ((caplen + 3) & ~3)
            if opos + 4 <= bend:
                for code, val in _options(buf, opos, bend, order):
                    if code == OPT_COMMENT and comment is None:
                        comment = val.decode("utf-8", "replace")
                    elif code == EPB_FLAGS and len(val) == 4:
                        direction = _DIRECTION[u32.unpack_from(val)[0] & 3]
            n += 1
            yield Record(n, iface.ns((ts_hi << 32) | ts_lo), buf[dstart:dend], wirelen,
                         iface.linktype, ifid, comment, direction, base + pos)
        elif btype == SPB:
            if blen < 16:
                raise CaptureFileError(name, base + pos, f"simple packet block too short "
                                       f"({blen} bytes)")
            if not ifaces:
                raise CaptureFileError(name, base + pos, "simple packet block before any "
                                       "interface description block")
            wirelen = u32.unpack_from(buf, body)[0]
            iface = ifaces[0]
            caplen = min(wirelen, bend - body - 4)
            if iface.snaplen:
                caplen = min(caplen, iface.snaplen)
            n += 1
            yield Record(n, 0, buf[body + 4:body + 4 + caplen], wirelen, iface.linktype, 0,
                         None, None, base + pos)
        elif btype == PB:
            if blen < 32:
                raise CaptureFileError(name, base + pos, f"packet block too short ({blen} bytes)")
            ifid = struct.unpack_from(order + "H", buf, body)[0]
            ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(order + "IIII", buf, body + 4)
            dstart = body + 20
            dend = dstart + caplen
            if dend > bend:
                raise CaptureFileError(name, base + pos, f"packet block captured length {caplen} "
                                       "runs past the end of its block")
            if ifid >= len(ifaces):
                raise CaptureFileError(name, base + pos, f"packet on interface {ifid}, but only "
                                       f"{len(ifaces)} interface(s) described")
            iface = ifaces[ifid]
            comment = direction = None
            for code, val in _options(buf, dstart + ((caplen + 3) & ~3), bend, order):
                if code == OPT_COMMENT and comment is None:
                    comment = val.decode("utf-8", "replace")
                elif code == EPB_FLAGS and len(val) == 4:
                    direction = _DIRECTION[u32.unpack_from(val)[0] & 3]
            n += 1
            yield Record(n, iface.ns((ts_hi << 32) | ts_lo), buf[dstart:dend], wirelen,
                         iface.linktype, ifid, comment, direction, base + pos)
        elif btype == IDB:
            if blen < 20:
                raise CaptureFileError(name, base + pos, f"interface description block too short "
                                       f"({blen} bytes)")
            linktype, _res, snaplen = struct.unpack_from(order + "HHI", buf, body)
            iface = _Iface(linktype, snaplen)
            for code, val in _options(buf, body + 8, bend, order):
                if code == IF_TSRESOL and len(val) >= 1:
                    iface.set_tsresol(val[0])
                elif code == IF_TSOFFSET and len(val) == 8:
                    iface.ts_off_ns = struct.unpack_from(order + "q", val)[0] * 1000000000
            ifaces.append(iface)
        elif btype == SHB_TYPE:
            if blen < 28:
                raise CaptureFileError(name, base + pos, f"section header block too short "
                                       f"({blen} bytes)")
        # any other block type (NRB, ISB, DSB, custom...) is skipped
        pos = end
