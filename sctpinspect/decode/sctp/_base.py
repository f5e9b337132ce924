"""Shared plumbing for the SCTP dissector: the per-call context, precompiled
structs, the table-entry classes and expert-note helpers.

Hand-written rather than built on scapy/dpkt: decoding must never raise on
bad bytes, must keep Wireshark's field names/order and must be fast (struct
``unpack_from`` on the frame's ``bytes``, no intermediate objects).
"""
from __future__ import annotations

import struct

from ...model import ERROR, NOTE, WARN, CHAT, Field, Note  # noqa: F401 (re-exported)

U8 = struct.Struct("!B")
U16 = struct.Struct("!H")
U32 = struct.Struct("!I")
HDR = struct.Struct("!HH")          # parameter / cause header: type, length
CHUNK_HDR = struct.Struct("!BBH")   # chunk header: type, flags, length
COMMON = struct.Struct("!HHII")     # common header
U32x2 = struct.Struct("!II")
U16x2 = struct.Struct("!HH")

MAX_DEPTH = 4   # nesting limit for PKTDROP / error causes quoting chunks


class Ctx:
    """What every decode function needs: the packet (for notes), the frame
    bytes, the decode options, and whether truncation notes are wanted."""

    __slots__ = ("pkt", "buf", "opts", "quiet", "depth", "truncated")

    def __init__(self, pkt, buf, opts, quiet=False, depth=0, truncated=False):
        self.pkt = pkt
        self.buf = buf
        self.opts = opts
        self.quiet = quiet          # quoted header in ICMP: no truncation notes
        self.depth = depth          # recursion depth (PKTDROP, causes)
        self.truncated = truncated  # capture shorter than the wire packet

    def note(self, severity, group, message, offset=0, length=0, rfc=None, key=None):
        self.pkt.notes.append(Note(severity, group, message, offset, length, rfc, key))


class SilentCtx(Ctx):
    """Context for building a lazy chunk's fields after the packet was
    decoded: its notes were already made eagerly, so notes are dropped."""

    __slots__ = ()

    def note(self, severity, group, message, offset=0, length=0, rfc=None, key=None):
        pass


class ChunkType:
    """One row of CHUNK_TYPES.

    ``decode(ctx, chunk, off, end)`` fills ``chunk`` (value bytes
    ``buf[off:end]``) and sets ``chunk.show``; ``summary(chunk)`` gives the
    compact one-line form; ``min_len`` is the smallest legal Chunk Length
    (header included); ``flag_fields`` are ``(field name, mask, is_bool)``
    decoded under ``sctp.chunk_flags``; ``alone`` marks chunks that MUST NOT
    be bundled (RFC 9260 6.10).

    Optional speed-up for chunks frequent enough to matter (DATA, SACK...):
    ``fast(c, chunk, off, end)`` returns ``(names, values)`` -- the chunk's
    key values and a dict mapping their field names to indexes in ``values``
    -- when it can *prove* that ``decode`` would add no expert note for these
    bytes, else None.  The chunk's fields are then built by ``decode`` only on
    first access (the Chunk is lazy) and ``chunk.get()`` of the key values
    needs no fields at all.
    """

    __slots__ = ("name", "decode", "summary", "min_len", "rfc", "flag_fields", "alone",
                 "fast")

    def __init__(self, name, decode, summary, min_len=4, rfc="RFC 9260 3.3",
                 flag_fields=(), alone=False, fast=None):
        self.name = name
        self.decode = decode
        self.summary = summary
        self.min_len = min_len
        self.rfc = rfc
        self.flag_fields = flag_fields
        self.alone = alone
        self.fast = fast


class ParameterType:
    """One row of PARAMETER_TYPES: ``decode(ctx, param, off, end)`` on the value
    bytes; ``min_len`` is the smallest legal Parameter Length."""

    __slots__ = ("name", "decode", "min_len", "rfc")

    def __init__(self, name, decode, min_len=4, rfc="RFC 9260 3.2.1"):
        self.name = name
        self.decode = decode
        self.min_len = min_len
        self.rfc = rfc


class CauseType:
    """One row of CAUSES: ``decode(ctx, cause, off, end)`` on the cause info."""

    __slots__ = ("name", "decode", "min_len", "rfc")

    def __init__(self, name, decode, min_len=4, rfc="RFC 9260 3.3.10"):
        self.name = name
        self.decode = decode
        self.min_len = min_len
        self.rfc = rfc


def plural(n: int, word: str = "byte") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ipv4_text(b: bytes) -> str:
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])
