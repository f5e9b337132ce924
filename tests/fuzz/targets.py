"""Fuzz targets: one function per decoder that reads untrusted bytes.

Each target takes ``bytes`` and raises (AssertionError or the decoder's own
exception) only when a property is violated:

* no exception escapes (the only allowed one is the documented user error,
  ``CaptureFileError`` for capture files, ``FilterError`` for filters);
* a decoder bug is not hidden: the frame decoder turns an internal exception
  into a ``sctpinspect.decode.exception`` note, payload dissectors are called
  directly (not through ``run_dissector``, which contains exceptions);
* every field's byte range lies inside the buffer it refers to (the frame,
  or ``Packet.buffers[...]`` for a layer decoded from reassembled IP);
* the decoded tree is bounded by the input: at most a few fields per input
  byte (no loop on a zero chunk length, no unbounded PKTDROP recursion).

The same functions run under atheris (``python tests/fuzz/run.py TARGET``,
coverage-guided) and over the corpus/crashers in the test suite
(``tests/test_fuzz.py``).  ``TARGETS`` maps name -> function.
"""
from __future__ import annotations

import io
import struct

from sctpinspect.decode import Decoder, DecodeOptions
from sctpinspect.decode.link import LINKTYPES
from sctpinspect.errors import CaptureFileError
from sctpinspect.model import Field, Packet, Record

# Fields per input byte allowed before we call it unbounded.  The densest
# legal encodings give ~1 field per byte (e.g. a 4-byte chunk -> header fields
# and flags); 8 leaves room without letting a loop or a recursion blow up.
FIELDS_PER_BYTE = 8
FIELDS_SLACK = 200
NOTES_PER_BYTE = 2

_LINKTYPES = sorted(LINKTYPES)


def _ranges_inside(pkt: Packet) -> None:
    """Every field of every layer lies inside its buffer."""
    frame = pkt.record.data
    for layer in pkt.layers:
        buf = frame
        where = "frame"
        if pkt.buffers:
            bname = pkt.buffers.get("layer:" + layer.name)
            if bname is not None:
                buf = pkt.buffers[bname]
                where = bname
        n = len(buf)
        for f in layer.walk():
            assert isinstance(f.offset, int) and isinstance(f.length, int), f
            assert f.offset >= 0 and f.length >= 0, f"{f!r} has a negative range"
            assert f.offset + f.length <= n, (
                f"{f!r} ends at {f.offset + f.length}, past the {n} bytes of the {where}")
    for note in pkt.notes:
        assert note.offset >= 0 and note.length >= 0, note


def _bounded(pkt: Packet, nbytes: int) -> None:
    nfields = sum(1 for _ in pkt.walk())
    assert nfields <= FIELDS_PER_BYTE * nbytes + FIELDS_SLACK, (
        f"{nfields} fields for {nbytes} input bytes")
    assert len(pkt.notes) <= NOTES_PER_BYTE * nbytes + FIELDS_SLACK, (
        f"{len(pkt.notes)} notes for {nbytes} input bytes")


# Notes that mean "a decoder raised and the exception was contained": the
# user still sees a tree, but for the fuzzer they are bugs.
INTERNAL_ERROR_KEYS = ("sctpinspect.decode.exception", "sctpinspect.decode_error",
                       "sctpinspect.dissector_exception")


def _no_internal_error(pkt: Packet) -> None:
    for n in pkt.notes:
        assert n.key not in INTERNAL_ERROR_KEYS, n.message


def check_packet(pkt: Packet, nbytes: int | None = None) -> None:
    """All decode properties on one decoded Packet."""
    _no_internal_error(pkt)
    _ranges_inside(pkt)
    total = len(pkt.record.data)
    if pkt.buffers:
        total += sum(len(v) for k, v in pkt.buffers.items() if not k.startswith("layer:"))
    _bounded(pkt, nbytes if nbytes is not None else total)
    # presenters read these: they must be of the documented types
    for ch in pkt.chunks:
        assert 0 <= ch.type <= 255 and 0 <= ch.flags <= 255 and 0 <= ch.clen <= 0xFFFF


# ----------------------------------------------------------------- targets
def fuzz_capture(data: bytes) -> None:
    """pcap / pcapng readers (format sniffed from the magic, as open_capture does)."""
    n = 0
    try:
        for rec in _iter_capture(data):
            n += 1
            assert 0 <= rec.offset < len(data), rec.offset
            assert len(rec.data) <= len(data)
            assert n <= len(data) // 12 + 1, "more records than 12-byte blocks"
    except CaptureFileError as e:
        assert 0 <= e.offset <= len(data), e
        assert "\n" not in str(e), "capture errors are one line"


def _iter_capture(data: bytes):
    from sctpinspect.sources import open_capture
    return open_capture(io.BytesIO(data))


def fuzz_frame(data: bytes) -> None:
    """Link, IP (options, extension headers, fragments), UDP, ICMP, SCTP: the
    whole frame decoder.  Byte 0 picks the link type; byte 1 bit 0 turns
    checksum verification off; the rest is the frame, decoded twice by one
    Decoder so that IP reassembly state is exercised."""
    if len(data) < 2:
        return
    linktype = _LINKTYPES[data[0] % len(_LINKTYPES)]
    opts = DecodeOptions(verify_checksum=not (data[1] & 1), max_reassembly_bytes=1 << 16)
    frame = data[2:]
    dec = Decoder(opts)
    for i in (1, 2):
        pkt = dec.decode(Record(i, i * 1000, frame, len(frame) + (data[1] >> 1 & 7), linktype))
        check_packet(pkt)


def fuzz_sctp(data: bytes) -> None:
    """The SCTP dissector alone (chunks, parameters, causes, PKTDROP): byte 0
    bit 0 = decode as a header quoted in an ICMP error."""
    if not data:
        return
    from sctpinspect.decode.sctp import dissect_sctp
    quoted = bool(data[0] & 1)
    buf = data[1:]
    pkt = Packet(Record(1, 0, buf, len(buf), 101))
    root = Field("root", None, 0, len(buf), None, [])
    dissect_sctp(pkt, buf, 0, len(buf), DecodeOptions(), root, quoted=quoted)
    pkt.layers = root.children or []
    check_packet(pkt)


def _payload_target(name: str):
    def target(data: bytes) -> None:
        from dissectors import registry
        from dissectors.base import Context
        d = registry.get(name)
        base = 16
        tree, notes = d.dissect(data, base, Context(ppid=None))   # direct: nothing contained
        assert isinstance(tree, Field)
        nf = 0
        for f in tree.walk():
            nf += 1
            assert f.offset >= 0 and f.length >= 0, f
            # offsets are base + offset in the message (the tree's own node may
            # cover the whole message)
            assert f.offset + f.length <= base + len(data), (
                f"{f!r} ends past the {len(data)}-byte message at base {base}")
        assert nf <= FIELDS_PER_BYTE * len(data) + FIELDS_SLACK, f"{nf} fields"
        for n in notes:
            assert n.offset >= 0 and n.length >= 0, n
    target.__name__ = f"fuzz_{name}"
    target.__doc__ = f"The {name} payload dissector, called directly."
    return target


fuzz_m3ua = _payload_target("m3ua")
fuzz_diameter = _payload_target("diameter")
fuzz_dcep = _payload_target("dcep")
fuzz_webrtc = _payload_target("webrtc")


_FILTER_PACKETS: list | None = None


def _filter_packets() -> list:
    """A few decoded packets to evaluate fuzzed filters on."""
    global _FILTER_PACKETS
    if _FILTER_PACKETS is None:
        from seeds import frame_seeds
        dec = Decoder()
        _FILTER_PACKETS = [dec.decode(Record(i + 1, i, f, len(f), lt))
                           for i, (lt, f) in enumerate(frame_seeds()[:6])]
    return _FILTER_PACKETS


def fuzz_filter(data: bytes) -> None:
    """Display-filter lexer/parser/compiler; a filter that compiles is then
    evaluated on a few packets (evaluation must not raise either)."""
    from sctpinspect.filter import FilterError, compile_filter
    text = data.decode("utf-8", "replace")
    try:
        pred = compile_filter(text)
    except FilterError as e:
        assert str(e), "empty filter error"
        assert 0 <= e.column <= len(text) + 1, (e.column, text)
        return
    for pkt in _filter_packets():
        r = pred(pkt)
        assert r in (True, False), r


TARGETS = {
    "capture": fuzz_capture,
    "frame": fuzz_frame,
    "sctp": fuzz_sctp,
    "m3ua": fuzz_m3ua,
    "diameter": fuzz_diameter,
    "dcep": fuzz_dcep,
    "webrtc": fuzz_webrtc,
    "filter": fuzz_filter,
}


def u16(v: int) -> bytes:  # small helper used by seeds
    return struct.pack("!H", v)
