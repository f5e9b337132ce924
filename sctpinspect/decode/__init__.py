"""Decode stage: Record -> Packet.

:class:`Decoder` holds the per-stream state decoding needs (first timestamp
for ``frame.time_relative``, IPv4 fragment reassembly) and dispatches
link -> IP -> (UDP ->) SCTP.  It never raises on bad bytes: what cannot be
decoded becomes an expert :class:`~sctpinspect.model.Note`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..model import Packet, Record


@dataclass
class DecodeOptions:
    """User-visible decoding preferences (CLI flags map onto these)."""

    verify_checksum: bool = True        # CRC32c verified by default (Wireshark: off)
    udp_ports: tuple = (9899,)          # RFC 6951 SCTP-over-UDP ports
    relative_tsn: bool = False          # absolute TSNs by default, as stacks log them
    reassemble_ip: bool = True          # IPv4/IPv6 fragment reassembly
    max_reassembly_bytes: int = 16 << 20  # cap on buffered IP fragments
    compact: bool = True                # vouched frames as compact records, trees on demand


class Decoder:
    """Stateful frame decoder; one per capture stream."""

    def __init__(self, options: DecodeOptions | None = None):
        from .frame import FrameDecoder  # filled in by the link/IP layer module
        self.options = options or DecodeOptions()
        self._impl = FrameDecoder(self.options)

    def decode(self, record: Record) -> Packet:
        return self._impl.decode(record)
