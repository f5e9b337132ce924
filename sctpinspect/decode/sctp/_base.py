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
    """One row of CHUNK_TYPES: everything the project knows about a chunk type.

    * ``decode(ctx, chunk, off, end)`` -- the full decode of the value bytes
      ``buf[off:end]``: fills ``chunk``'s tree (its Wireshark-named fields),
      adds the expert notes, sets ``chunk.show`` and ``chunk.v``;
    * ``v`` -- the compact values (a tuple) that summaries, filters and the
      analysis read; ``names[i]`` is the Wireshark field held in ``v[i]``
      (None for lists and values that are not a direct child field),
      ``aliases`` more names for a position (hidden duplicates);
    * ``fast(buf, off, end, flags)`` -- optional: the same ``v`` straight from
      the bytes when it can *prove* that ``decode`` would add no note, else
      None; such a chunk's tree is built only if something asks for it;
    * ``collect(chunk, buf, off, end)`` -- optional, for unbuilt chunks:
      ``(names, values)`` of the value fields in tree order, so ``-T fields``
      reads them without building (see model.LAZY_COLLECTORS);
    * ``summary(chunk)`` -- the one-line text, from ``chunk.v``;
    * ``min_len`` the smallest legal Chunk Length (header included);
      ``flag_fields`` ``(field name, mask, is_bool)`` under
      ``sctp.chunk_flags``; ``alone`` marks chunks that MUST NOT be bundled
      (RFC 9260 6.10); ``rfc`` the section defining the type.
    """

    __slots__ = ("name", "decode", "summary", "min_len", "rfc", "flag_fields", "alone",
                 "fast", "names", "index", "collect")

    def __init__(self, name, decode, summary, min_len=4, rfc="RFC 9260 3.3",
                 flag_fields=(), alone=False, fast=None, names=(), aliases=None, collect=None):
        self.name = name
        self.decode = decode
        self.summary = summary
        self.min_len = min_len
        self.rfc = rfc
        self.flag_fields = flag_fields
        self.alone = alone
        self.fast = fast
        self.names = names
        self.index = {n: i for i, n in enumerate(names) if n}
        if aliases:
            self.index.update(aliases)
        self.collect = collect


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
