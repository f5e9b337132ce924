"""Capture-file sources: pcap and pcapng readers that stream :class:`Record`s.

``open_capture(path)`` sniffs the file's magic number and returns an iterator
of :class:`~sctpinspect.model.Record` with constant memory.  ``path`` may be a
file name, ``"-"`` for standard input, or a binary file object.

A truncated or corrupt file yields every good record first and then raises
:class:`~sctpinspect.errors.CaptureFileError` naming the byte offset where
reading stopped.

The readers are written by hand (``struct.unpack_from`` over a block buffer)
rather than using scapy's: scapy's readers build a heavyweight object per
packet and ``rdpcap`` loads the whole file, which is far too slow for the
500k-packet files this tool is meant for.
"""
from __future__ import annotations

import os
import sys
from typing import BinaryIO, Iterator

from ..errors import CaptureFileError
from ..model import Record
from ._buffer import read_exact
from .pcap import PCAP_MAGICS, read_pcap
from .pcapng import PCAPNG_SHB, read_pcapng

__all__ = ["open_capture", "read_capture", "capture_format", "CaptureFileError"]

# Magic numbers of things people pass by mistake, for a helpful message.
_OTHER_MAGICS = (
    (b"\x1f\x8b", "gzip-compressed: gunzip it first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed: unzstd it first"),
    (b"\xfd7zXZ\x00", "xz-compressed: unxz it first"),
    (b"BZh", "bzip2-compressed: bunzip2 it first"),
    (b"PK\x03\x04", "a zip archive: unzip it first"),
    (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", None),  # never reached: pcap handled before
    (b"\x58\x43\x50\x00", "a NetXray/Sniffer file"),
    (b"\x0a\x0d\x0d\x0a", None),
)


def capture_format(head: bytes) -> str | None:
    """'pcap', 'pcapng' or None for the first 4+ bytes of a file."""
    if len(head) >= 4:
        if head[:4] in PCAP_MAGICS:
            return "pcap"
        if head[:4] == PCAPNG_SHB:
            return "pcapng"
    return None


def open_capture(path) -> Iterator[Record]:
    """Stream the records of a pcap or pcapng file (``"-"`` = stdin, or a file object).

    Raises :class:`CaptureFileError` at once for a file that is not a capture,
    and after the last good record for a truncated or corrupt one.
    """
    if hasattr(path, "read"):
        name = getattr(path, "name", "<stream>")
        return read_capture(path, str(name), close=False)
    if path == "-":
        return read_capture(sys.stdin.buffer, "<stdin>", close=False)
    path = os.fspath(path)
    try:
        f = open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise CaptureFileError(path, 0, "no such file") from None
    except IsADirectoryError:
        raise CaptureFileError(path, 0, "is a directory, not a capture file") from None
    except PermissionError:
        raise CaptureFileError(path, 0, "permission denied") from None
    except OSError as e:
        raise CaptureFileError(path, 0, e.strerror or str(e)) from None
    try:
        return read_capture(f, path, close=True)
    except BaseException:
        f.close()
        raise


def read_capture(f: BinaryIO, name: str, close: bool = False) -> Iterator[Record]:
    """Sniff the magic of the open binary stream ``f`` and return its record iterator.

    The magic is checked eagerly (so a non-capture fails at the call); the
    records are produced lazily.
    """
    head = read_exact(f, 4)
    fmt = capture_format(head)
    if fmt is None:
        problem = _not_capture(head, f)   # reads a few more bytes: before closing
        if close:
            f.close()
        raise CaptureFileError(name, 0, problem)
    reader = read_pcap if fmt == "pcap" else read_pcapng
    return _closing(reader(f, name, head), f if close else None)


def _closing(it: Iterator[Record], f) -> Iterator[Record]:
    try:
        yield from it
    finally:
        if f is not None:
            f.close()


def _not_capture(head: bytes, f) -> str:
    if not head:
        return "empty file (0 bytes): not a pcap or pcapng file"
    more = head + read_exact(f, 4)
    for magic, what in _OTHER_MAGICS:
        if what and more.startswith(magic):
            return f"not a pcap or pcapng file ({what})"
    if len(head) < 4:
        return f"not a pcap or pcapng file (only {len(head)} bytes)"
    try:
        more.decode("ascii")
        if all(32 <= b < 127 or b in (9, 10, 13) for b in more):
            return "not a pcap or pcapng file (it looks like text)"
    except UnicodeDecodeError:
        pass
    return f"not a pcap or pcapng file (magic 0x{head[:4].hex()})"
