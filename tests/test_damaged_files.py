"""Damaged capture files through ``sctpinspect read`` (a real subprocess):
every packet that can be read is printed, then one clear line names the
problem and its byte offset, with exit status 1 (a capture-file error).

Offsets are computed here from the file layout (pcap: 24-byte file header,
16-byte record headers; pcapng: block lengths), not taken from the reader.
"""
from __future__ import annotations

import gzip
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import seeds  # noqa: E402

FRAMES = [f for lt, f in seeds.frame_seeds() if lt == 101][:3] * 2      # 6 raw-IP frames
N = len(FRAMES)
SCTP_LINE = re.compile(r"^\s*\d+\s+\d+\.\d+\s")


def pcap(frames=FRAMES, linktype=101) -> bytes:
    return seeds._pcap(list(frames), linktype)


def pcap_record_offsets(frames=FRAMES) -> list[int]:
    offs, o = [], 24
    for f in frames:
        offs.append(o)
        o += 16 + len(f)
    return offs


def pcapng_blocks(frames=FRAMES) -> list[bytes]:
    """SHB, IDB, one EPB per frame (same layout as seeds._pcapng, split)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        ln = 12 + len(body)
        return struct.pack("<II", btype, ln) + body + struct.pack("<I", ln)
    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack("<HHI", 101, 0, 0))]
    for i, f in enumerate(frames):
        out.append(block(6, struct.pack("<IIIII", 0, 0, i, len(f), len(f)) + f))
    return out


def read(tmp_path, data: bytes, name="damaged.pcap"):
    p = tmp_path / name
    p.write_bytes(data)
    r = subprocess.run([sys.executable, "-m", "sctpinspect", "read", "--no-progress", str(p)],
                       capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stdout.splitlines() if SCTP_LINE.match(ln)]
    errs = [ln for ln in r.stderr.splitlines() if ln.startswith("sctpinspect:")]
    return r, lines, errs, str(p)


def one_error(r, errs, path, offset: int, words: str):
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert len(errs) == 1, r.stderr
    assert "Traceback" not in r.stderr
    e = errs[0]
    assert path in e and f"at byte offset {offset}" in e and re.search(words, e), e
    return e


def test_intact_file_reads_fully(tmp_path):
    r, lines, errs, _ = read(tmp_path, pcap())
    assert r.returncode == 0 and not errs and len(lines) == N


@pytest.mark.parametrize("cut_into", ["data", "header"])
def test_pcap_truncated_in_a_record(tmp_path, cut_into):
    data = pcap()
    last = pcap_record_offsets()[-1]
    cut = last + (16 + 10 if cut_into == "data" else 7)
    r, lines, errs, path = read(tmp_path, data[:cut])
    assert len(lines) == N - 1                      # every complete record
    one_error(r, errs, path, last, rf"truncated record (header )?.*{N}|record {N}")


def test_pcap_absurd_record_length(tmp_path):
    data = bytearray(pcap())
    third = pcap_record_offsets()[2]
    struct.pack_into("<I", data, third + 8, 0x7FFFFFF0)   # caplen
    r, lines, errs, path = read(tmp_path, bytes(data))
    assert len(lines) == 2
    one_error(r, errs, path, third, r"absurd captured length")


def test_pcapng_block_with_wrong_length(tmp_path):
    blocks = pcapng_blocks()
    bad = 2 + 3                                        # the 4th EPB
    off = sum(len(b) for b in blocks[:bad])
    b = bytearray(blocks[bad])
    struct.pack_into("<I", b, 4, len(b) + 8)          # header length no longer matches trailer
    blocks[bad] = bytes(b)
    r, lines, errs, path = read(tmp_path, b"".join(blocks), "damaged.pcapng")
    assert len(lines) == 3
    one_error(r, errs, path, off, r"trailer length|block length")


def test_pcapng_block_length_not_multiple_of_4(tmp_path):
    blocks = pcapng_blocks()
    bad = 2 + 1
    off = sum(len(b) for b in blocks[:bad])
    b = bytearray(blocks[bad])
    struct.pack_into("<I", b, 4, len(b) - 3)
    blocks[bad] = bytes(b)
    r, lines, errs, path = read(tmp_path, b"".join(blocks), "damaged.pcapng")
    assert len(lines) == 1
    one_error(r, errs, path, off, r"bad block length \d+ \(must be a multiple of 4")


def test_pcapng_truncated_in_a_block(tmp_path):
    blocks = pcapng_blocks()
    data = b"".join(blocks)
    off = len(data) - len(blocks[-1])
    r, lines, errs, path = read(tmp_path, data[:-10], "damaged.pcapng")
    assert len(lines) == N - 1
    one_error(r, errs, path, off, r"truncated block")


def test_pcapng_packet_on_undeclared_interface(tmp_path):
    blocks = pcapng_blocks()
    off = sum(len(b) for b in blocks[:4])
    b = bytearray(blocks[4])
    struct.pack_into("<I", b, 8, 3)                    # interface id 3, only 0 exists
    blocks[4] = bytes(b)
    r, lines, errs, path = read(tmp_path, b"".join(blocks), "damaged.pcapng")
    assert len(lines) == 2
    one_error(r, errs, path, off, r"interface 3")


def test_unknown_link_type(tmp_path):
    """Not an error in the file: every frame is read, none decoded, and the
    final line says which link type is not decoded (exit 0)."""
    r, lines, errs, _ = read(tmp_path, pcap(linktype=147))   # LINKTYPE_USER0
    assert r.returncode == 0 and not errs and not lines
    assert f"{N} frames, 0 SCTP" in r.stderr and "link type 147 is not decoded" in r.stderr


def test_zero_length_file(tmp_path):
    r, lines, errs, path = read(tmp_path, b"")
    assert not lines
    one_error(r, errs, path, 0, r"empty file \(0 bytes\)")


def test_not_a_capture_file(tmp_path):
    r, lines, errs, path = read(tmp_path, b"Hello, this is a README, not packets.\n" * 20,
                                "notes.txt")
    assert not lines
    one_error(r, errs, path, 0, r"not a pcap or pcapng file \(it looks like text\)")


def test_gzipped_capture(tmp_path):
    r, lines, errs, path = read(tmp_path, gzip.compress(pcap()), "trace.pcap.gz")
    assert not lines
    one_error(r, errs, path, 0, r"gzip-compressed: gunzip it first")


def test_truncated_file_header(tmp_path):
    r, lines, errs, path = read(tmp_path, pcap()[:10])
    assert not lines
    one_error(r, errs, path, 10, r"truncated pcap file header \(10 of 24 bytes\)")
