"""The read pipeline shared by ``read``, ``capture`` and ``diagnose``::

    records ──▶ Decoder ──▶ [analysis hook] ──▶ [display filter] ──▶ caller

:class:`Pipeline` yields ``(packet, shown)`` for *every* frame so that callers
that need all frames (``-T fields`` lines, delta times, counts) get them, and
callers that print only matches test ``shown``.  It counts frames, SCTP
packets and ICMP errors quoting SCTP as it goes.

Errors: a source raises :class:`~sctpinspect.errors.CaptureFileError` only
after yielding every good record; it propagates out of the iteration after
the last good packet, so the caller prints everything first and then the
one-line error.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterable, Iterator

from .decode import Decoder, DecodeOptions
from .errors import UserError
from .model import Packet, Record


def check_readable(path: str) -> None:
    """One-sentence errors for the common cases, before any output."""
    if path == "-":
        return
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file", exit_code=1)
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, not a capture file", exit_code=1)
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: permission denied", exit_code=1)


def open_records(path) -> Iterator[Record]:
    """Records of a pcap/pcapng file, or of standard input for ``-``; a list of
    several files is one trace, merged by time as mergecap does
    (``sources/merge.py``; order it with ``sources.merge.capture_set``)."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            from .sources.merge import MergedRecords
            return iter(MergedRecords(path))
        path = path[0]
    check_readable(path)
    from .sources import open_capture   # "-" is standard input, streamed
    return open_capture(path)


def compile_display_filter(text: str | None) -> Callable[[Packet], bool] | None:
    """``-Y`` text to a predicate; the filter package is imported only when used."""
    if not text:
        return None
    from .filter import FilterError, compile_filter
    try:
        return compile_filter(text)
    except FilterError as e:
        raise UserError(f"display filter: {e}") from None   # the message quotes the filter


class Pipeline:
    """Decode, analyse and filter a stream of records."""

    def __init__(self, records: Iterable[Record], options: DecodeOptions | None = None,
                 analyse: Callable[[Packet], object] | None = None,
                 predicate: Callable[[Packet], bool] | None = None,
                 decoder: Decoder | None = None,
                 on_record: Callable[[Record], object] | None = None):
        self.records = records
        self.decoder = decoder or Decoder(options or DecodeOptions())
        self.analyse = analyse
        self.predicate = predicate
        self.on_record = on_record
        self.frames = 0
        self.sctp = 0
        self.icmp = 0

    def __iter__(self) -> Iterator[tuple[Packet, bool]]:
        decode = self.decoder.decode
        analyse = self.analyse
        predicate = self.predicate
        on_record = self.on_record
        for rec in self.records:
            if on_record is not None:
                on_record(rec)
            pkt = decode(rec)
            self.frames += 1
            if pkt.sctp_offset >= 0:
                self.sctp += 1
            elif pkt.icmp is not None:
                self.icmp += 1
            if analyse is not None:
                analyse(pkt)
            yield pkt, (predicate(pkt) if predicate is not None else True)


def stderr_line(text: str) -> None:
    sys.stdout.flush()
    print(text, file=sys.stderr)
