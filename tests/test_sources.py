"""Capture-file readers: record counts, timestamps and lengths against capinfos/tshark,
every pcap/pcapng variant, and corrupt files (good records first, then the error
with the right byte offset)."""
from __future__ import annotations

import gzip
import io
import struct
import subprocess
import tracemalloc

import pytest

from conftest import PUBLIC, public_captures
from sctpinspect.errors import CaptureFileError
from sctpinspect.sources import open_capture

CAPS = public_captures()
SCTP_CAP = PUBLIC / "pkts" / "sctp.cap"


def _tshark_rows(tshark, path, *fields):
    cmd = [tshark, "-r", str(path), "-T", "fields", "-E", "separator=/t"]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("\t") for line in res.stdout.splitlines()]


def _epoch(ns: int) -> str:
    return "%d.%09d" % divmod(ns, 1_000_000_000)


# ------------------------------------------------------------ public captures
@pytest.mark.parametrize("path", CAPS, ids=[p.name for p in CAPS])
def test_public_capture_records_match_tshark(path, tshark):
    rows = _tshark_rows(tshark, path, "frame.time_epoch", "frame.len", "frame.cap_len",
                        "frame.interface_id")
    recs = list(open_capture(path))
    count = subprocess.run(["capinfos", "-c", "-M", "-T", str(path)], capture_output=True,
                           text=True, check=True).stdout.splitlines()[-1].split("\t")[-1]
    assert len(recs) == int(count) == len(rows)
    for i, (r, row) in enumerate(zip(recs, rows)):
        assert r.number == i + 1
        iface = "" if r.interface is None else str(r.interface)
        assert [_epoch(r.ts_ns), str(r.wirelen), str(len(r.data)), iface] == row


def test_pcap_record_offsets_follow_the_file_layout(tshark):
    rows = _tshark_rows(tshark, SCTP_CAP, "frame.cap_len")
    off = 24
    for r, (caplen,) in zip(open_capture(SCTP_CAP), rows):
        assert r.offset == off
        off += 16 + int(caplen)


# ------------------------------------------------------------ pcap variants
def write_pcap(path, records, order="<", nano=False, linktype=1, snaplen=65535):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for ts_ns, data, wirelen in records:
            sec, rest = divmod(ts_ns, 1_000_000_000)
            frac = rest if nano else rest // 1000
            f.write(struct.pack(order + "IIII", sec, frac, len(data), wirelen) + data)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, tshark, order, nano):
    src = list(open_capture(SCTP_CAP))
    recs = [(r.ts_ns + (i * 123 if nano else 0), r.data, r.wirelen) for i, r in enumerate(src)]
    p = tmp_path / "v.pcap"
    write_pcap(p, recs, order, nano)
    got = list(open_capture(p))
    rows = _tshark_rows(tshark, p, "frame.time_epoch", "frame.len", "eth.type")
    assert len(got) == len(rows) == 4
    for r, (ts, data, wl), row in zip(got, recs, rows):
        assert (r.ts_ns, r.data, r.wirelen, r.linktype) == (ts, data, wl, 1)
        assert _epoch(r.ts_ns) == row[0]


# ------------------------------------------------------------ pcapng variants
def _opt(order, code, val):
    return struct.pack(order + "HH", code, len(val)) + val + b"\0" * (-len(val) % 4)


def _blk(order, btype, body):
    n = 12 + len(body)
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def shb(order):
    return _blk(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order, linktype, tsresol=None, tsoffset=None, snaplen=0):
    body = struct.pack(order + "HHI", linktype, 0, snaplen)
    opts = b""
    if tsresol is not None:
        opts += _opt(order, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += _opt(order, 14, struct.pack(order + "q", tsoffset))
    if opts:
        body += opts + _opt(order, 0, b"")
    return _blk(order, 1, body)


def epb(order, ifid, ts, data, comment=None, flags=None):
    body = struct.pack(order + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data) + 4)
    body += data + b"\0" * (-len(data) % 4)
    opts = b""
    if comment is not None:
        opts += _opt(order, 1, comment.encode())
    if flags is not None:
        opts += _opt(order, 2, struct.pack(order + "I", flags))
    if opts:
        body += opts + _opt(order, 0, b"")
    return _blk(order, 6, body)


def spb(order, data):
    return _blk(order, 3, struct.pack(order + "I", len(data)) + data + b"\0" * (-len(data) % 4))


def pb(order, ifid, ts, data, comment=None):
    body = struct.pack(order + "HHIIII", ifid, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    body += data + b"\0" * (-len(data) % 4)
    if comment:
        body += _opt(order, 1, comment.encode()) + _opt(order, 0, b"")
    return _blk(order, 2, body)


def test_pcapng_sections_interfaces_resolutions_blocks(tmp_path, tshark):
    frames = [r.data for r in open_capture(SCTP_CAP)]
    ip_only = frames[0][14:]
    parts = [
        shb("<"),
        idb("<", 1),                                     # default resolution: microseconds
        idb("<", 101, tsresol=9),                        # raw IP, nanoseconds
        idb("<", 1, tsresol=0x80 | 20, tsoffset=1000),   # 2^-20 s units, +1000 s offset
        _blk("<", 0x00000099, b"\x01\x02\x03\x04"),      # unknown block type: skipped
        epb("<", 0, 1_088_696_689_784_578, frames[0], comment="first one", flags=1),
        epb("<", 1, 1_088_696_689_784_578_123, ip_only, flags=2),
        epb("<", 2, 3 << 20 | 1 << 19, frames[1]),        # 3.5 s in 2^-20 units
        _blk("<", 5, struct.pack("<III", 0, 0, 0)),       # ISB: skipped
        shb(">"),                                         # second section, big-endian
        idb(">", 1, tsresol=3),                          # milliseconds
        epb(">", 0, 1_500_000_000_123, frames[2], comment="big endian"),
        spb(">", frames[3]),
        pb(">", 0, 1_500_000_000_456, frames[3], comment="obsolete PB"),
    ]
    p = tmp_path / "multi.pcapng"
    p.write_bytes(b"".join(parts))
    recs = list(open_capture(p))
    rows = _tshark_rows(tshark, p, "frame.number", "frame.time_epoch", "frame.interface_id",
                        "frame.len", "frame.cap_len", "frame.comment", "ip.src",
                        "frame.packet_flags_direction")
    assert len(recs) == len(rows) == 6
    for r, row in zip(recs, rows):
        assert str(r.number) == row[0]
        if r.number != 5:    # SPB: no timestamp (tshark shows the previous one)
            assert _epoch(r.ts_ns) == row[1]
        assert [str(r.interface), str(r.wirelen), str(len(r.data))] == row[2:5]
        assert (r.comment or "") == row[5]
    assert [r.linktype for r in recs] == [1, 101, 1, 1, 1, 1]
    assert [r.direction for r in recs] == ["in", "out", None, None, None, None]
    assert recs[2].ts_ns == 1000 * 10**9 + 3_500_000_000
    assert recs[3].ts_ns == 1_500_000_000_123_000_000
    assert recs[1].data == ip_only and recs[4].data == frames[3]
    # offsets: each record's block starts where the blocks before it end
    sizes = [len(b) for b in parts]
    assert recs[0].offset == sum(sizes[:5])
    assert recs[3].offset == sum(sizes[:11])


# ------------------------------------------------------------ corrupt files
def _good_prefix_then_error(path):
    good = []
    with pytest.raises(CaptureFileError) as ei:
        for r in open_capture(path):
            good.append(r)
    return good, ei.value


@pytest.mark.parametrize("cut", ["in_header", "in_data", "after_header"])
def test_truncated_pcap_yields_good_records_then_offset(tmp_path, tshark, cut):
    data = SCTP_CAP.read_bytes()
    caplens = [int(c) for (c,) in _tshark_rows(tshark, SCTP_CAP, "frame.cap_len")]
    rec3 = 24 + sum(16 + c for c in caplens[:2])     # offset of record 3
    end = {"in_header": rec3 + 7, "in_data": rec3 + 16 + 5, "after_header": rec3 + 16}[cut]
    p = tmp_path / "t.pcap"
    p.write_bytes(data[:end])
    good, err = _good_prefix_then_error(p)
    assert [r.number for r in good] == [1, 2]
    assert err.offset == rec3
    assert "truncated" in err.problem and str(rec3) in str(err)


def test_pcap_absurd_caplen(tmp_path):
    data = bytearray(SCTP_CAP.read_bytes())
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off2 = 24 + 16 + struct.unpack_from(order + "I", data, 24 + 8)[0]
    struct.pack_into(order + "I", data, off2 + 8, 0x7FFFFFF0)
    p = tmp_path / "c.pcap"
    p.write_bytes(bytes(data))
    good, err = _good_prefix_then_error(p)
    assert len(good) == 1 and err.offset == off2 and "absurd" in err.problem


def _pcapng_file():
    frames = [r.data for r in open_capture(SCTP_CAP)]
    blocks = [shb("<"), idb("<", 1)] + [epb("<", 0, 10**15 + i, f) for i, f in enumerate(frames)]
    return blocks


@pytest.mark.parametrize("damage", ["not_multiple_of_4", "too_small", "trailer", "truncated",
                                    "absurd"])
def test_corrupt_pcapng_yields_good_records_then_offset(tmp_path, damage):
    blocks = _pcapng_file()
    off3 = sum(len(b) for b in blocks[:4])          # third EPB
    data = bytearray(b"".join(blocks))
    blen = len(blocks[4])
    if damage == "not_multiple_of_4":
        struct.pack_into("<I", data, off3 + 4, blen + 2)
    elif damage == "too_small":
        struct.pack_into("<I", data, off3 + 4, 8)
    elif damage == "trailer":
        struct.pack_into("<I", data, off3 + blen - 4, blen + 4)
    elif damage == "absurd":
        struct.pack_into("<I", data, off3 + 4, 0x7FFFFFF0)
    else:
        data = data[:off3 + blen - 10]
    p = tmp_path / "c.pcapng"
    p.write_bytes(bytes(data))
    good, err = _good_prefix_then_error(p)
    assert [r.number for r in good] == [1, 2]
    assert err.offset == off3
    assert f"at byte offset {off3}" in str(err)


def test_pcapng_epb_caplen_past_block(tmp_path):
    blocks = _pcapng_file()
    off3 = sum(len(b) for b in blocks[:4])
    data = bytearray(b"".join(blocks))
    struct.pack_into("<I", data, off3 + 20, 5000)       # EPB captured length
    p = tmp_path / "c.pcapng"
    p.write_bytes(bytes(data))
    good, err = _good_prefix_then_error(p)
    assert len(good) == 2 and err.offset == off3


@pytest.mark.parametrize("content,needle", [
    (b"", "empty file"),
    (gzip.compress(SCTP_CAP.read_bytes(), mtime=0), "gzip-compressed: gunzip it first"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n", "looks like text"),
    (b"\xd4\xc3", "not a pcap or pcapng file"),
    (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08", "not a pcap or pcapng file"),
])
def test_not_a_capture(tmp_path, content, needle):
    p = tmp_path / "x.bin"
    p.write_bytes(content)
    with pytest.raises(CaptureFileError) as ei:
        list(open_capture(p))
    assert needle in str(ei.value) and ei.value.offset == 0
    assert "\n" not in str(ei.value)


def test_short_pcap_header(tmp_path):
    p = tmp_path / "s.pcap"
    p.write_bytes(SCTP_CAP.read_bytes()[:10])
    with pytest.raises(CaptureFileError) as ei:
        list(open_capture(p))
    assert "header" in ei.value.problem


def test_missing_file(tmp_path):
    with pytest.raises(CaptureFileError):
        open_capture(tmp_path / "nope.pcap")


# ------------------------------------------------------------ streams
class Trickle(io.RawIOBase):
    """A pipe-like stream that returns at most 7 bytes per read."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = 7 if n < 0 else min(n, 7)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


@pytest.mark.parametrize("path", [SCTP_CAP, PUBLIC / "open5gs" / "volte.pcapng"])
def test_file_object_and_short_reads(path):
    want = [(r.ts_ns, r.data) for r in open_capture(path)]
    assert [(r.ts_ns, r.data) for r in open_capture(io.BytesIO(path.read_bytes()))] == want
    assert [(r.ts_ns, r.data) for r in open_capture(Trickle(path.read_bytes()))] == want


def test_stdin(tmp_path):
    code = ("import sys; from sctpinspect.sources import open_capture; "
            "print(sum(len(r.data) for r in open_capture('-')))")
    res = subprocess.run([__import__("sys").executable, "-c", code], stdin=open(SCTP_CAP, "rb"),
                         capture_output=True, text=True, check=True)
    assert int(res.stdout) == sum(len(r.data) for r in open_capture(SCTP_CAP))


# ------------------------------------------------------------ constant memory
def test_reader_streams_with_constant_memory(tmp_path):
    payload = bytes(range(256)) * 6                      # 1536-byte records
    n = 20000                                            # ~31 MB file
    p = tmp_path / "big.pcap"
    with open(p, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        hdr = struct.Struct("<IIII")
        for i in range(n):
            f.write(hdr.pack(i, 0, len(payload), len(payload)) + payload)
    tracemalloc.start()
    count = 0
    for r in open_capture(p):
        count += 1
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == n
    assert peak < 4 << 20, f"reader peak memory {peak} bytes for a {p.stat().st_size}-byte file"
