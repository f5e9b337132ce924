"""pcapng writer: SHB, one IDB per interface, EPBs with nanosecond timestamps,
packet comments and direction flags, and ISBs with receive/drop counters.

Written by hand (a few ``struct.pack`` calls per block) so that the live
capture can write at packet rate without scapy's per-packet objects.

    w = PcapngWriter("out.pcapng", interfaces=[(1, "eth0", 262144, 9)])
    w.write(record)                # Record.interface selects the IDB
    w.write_stats(0, ts_ns, received=10, dropped=0)
    w.close()
"""
from __future__ import annotations

import os
import struct
from typing import BinaryIO, Iterable

from ..model import Record
from .pcapng import BOM, EPB, IDB

SHB_TYPE = 0x0A0D0D0A
ISB = 5

OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_TSRESOL = 9
EPB_FLAGS = 2
ISB_STARTTIME, ISB_ENDTIME, ISB_IFRECV, ISB_IFDROP = 2, 3, 4, 5
_DIR_FLAGS = {"in": 1, "out": 2}


def _opt(code: int, value: bytes) -> bytes:
    pad = (-len(value)) & 3
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _block(btype: int, body: bytes) -> bytes:
    blen = 12 + len(body)
    return struct.pack("<II", btype, blen) + body + struct.pack("<I", blen)


class PcapngWriter:
    """Write Records to a pcapng file (little-endian, one section).

    ``interfaces``: list of ``(linktype, name, snaplen[, tsresol])`` where
    ``tsresol`` is the power of ten of the timestamp unit (9 = ns, 6 = us).
    """

    def __init__(self, fileobj_or_path, interfaces: Iterable = ((1, None, 262144, 9),),
                 application: str = "sctpinspect"):
        if hasattr(fileobj_or_path, "write"):
            self._f: BinaryIO = fileobj_or_path
            self._own = False
        else:
            self._f = open(os.fspath(fileobj_or_path), "wb")
            self._own = True
        self._res: list[int] = []
        self._closed = False
        shb = struct.pack("<IHHq", BOM, 1, 0, -1)
        if application:
            shb += _opt(SHB_USERAPPL, application.encode()) + _opt(0, b"")
        out = [_block(SHB_TYPE, shb)]
        for iface in interfaces:
            linktype, name, snaplen = iface[0], iface[1], iface[2]
            tsresol = iface[3] if len(iface) > 3 else 9
            if not 0 <= tsresol <= 9:
                raise ValueError("tsresol must be a power of ten between 0 and 9")
            body = struct.pack("<HHI", linktype, 0, snaplen)
            opts = b""
            if name:
                opts += _opt(IF_NAME, name.encode())
            if tsresol != 6:
                opts += _opt(IF_TSRESOL, bytes([tsresol]))
            if opts:
                body += opts + _opt(0, b"")
            out.append(_block(IDB, body))
            self._res.append(10 ** (9 - tsresol))
        self._f.write(b"".join(out))

    def write(self, record: Record) -> None:
        """Append one Record as an Enhanced Packet Block."""
        ifid = record.interface or 0
        ts = record.ts_ns // self._res[ifid]
        data = record.data
        caplen = len(data)
        body = struct.pack("<IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, caplen,
                           max(record.wirelen, caplen)) + data + b"\0" * ((-caplen) & 3)
        opts = b""
        if record.comment:
            opts += _opt(OPT_COMMENT, record.comment.encode("utf-8"))
        flags = _DIR_FLAGS.get(record.direction)
        if flags:
            opts += _opt(EPB_FLAGS, struct.pack("<I", flags))
        if opts:
            body += opts + _opt(0, b"")
        self._f.write(_block(EPB, body))

    def write_stats(self, interface_id: int, ts_ns: int, received: int | None = None,
                    dropped: int | None = None) -> None:
        """Append an Interface Statistics Block (isb_ifrecv / isb_ifdrop)."""
        ts = ts_ns // self._res[interface_id]
        body = struct.pack("<III", interface_id, ts >> 32, ts & 0xFFFFFFFF)
        opts = b""
        if received is not None:
            opts += _opt(ISB_IFRECV, struct.pack("<Q", received))
        if dropped is not None:
            opts += _opt(ISB_IFDROP, struct.pack("<Q", dropped))
        if opts:
            body += opts + _opt(0, b"")
        self._f.write(_block(ISB, body))

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._own:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self) -> "PcapngWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
