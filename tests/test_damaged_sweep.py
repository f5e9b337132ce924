"""Every command on every class of damaged capture file (issue 18, point 8 and
'What to build'): the results of the frames before the damage, then one line
naming the byte offset, exit status 1, no traceback, bounded memory.

The damage is made here in a real kernel capture (captures/, the Linux
kernel's SCTP through the kernel lab) by rewriting its pcapng blocks; the
offsets come from the block layout computed here, not from the reader.
"Results of the good frames" is checked the strongest way there is: a
command's output on the damaged file is the same, byte for byte, as its
output on a file holding only the blocks before the damage.

All commands of one file class run in one child process (tests/_sweep_child.py)
under an address-space limit (resource.setrlimit RLIMIT_AS), each with its
own stdout/stderr.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "captures" / "lossy-retransmissions.pcapng"
CHILD = Path(__file__).resolve().parent / "_sweep_child.py"
LIMIT_MIB = 1024          # address space of the child: Python + pyarrow + duckdb need ~420

# Every command that reads a capture file (the TUI has its own tests), with
# options that reach its main paths.  {dir} is a per-run output directory.
COMMANDS = [
    ("read", ["read", "--no-progress"]),
    ("read -V", ["read", "--no-progress", "-V"]),
    ("read -T json", ["read", "--no-progress", "-T", "json"]),
    ("read -T fields", ["read", "--no-progress", "-T", "fields", "-e", "frame.number",
                        "-e", "sctp.data_tsn_raw", "-e", "sctp.assoc_index"]),
    ("read -Y", ["read", "--no-progress", "-Y", "sctp.chunk_type == 0"]),
    ("diagnose", ["diagnose"]),
    ("assoc", ["assoc"]),
    ("assoc --json", ["assoc", "--json"]),
    ("streams", ["streams"]),
    ("flow", ["flow", "--assoc", "0"]),
    ("messages", ["messages"]),
    ("export", ["export", "-q", "--to", "{dir}"]),
]
OFFSET = re.compile(r"at byte offset (\d+)")


# ------------------------------------------------------------------ pcapng blocks
def blocks_of(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        ln = struct.unpack_from("<I", data, pos + 4)[0]
        out.append(data[pos:pos + ln])
        pos += ln
    return out


BLOCKS = blocks_of(KERNEL.read_bytes())
EPBS = [i for i, b in enumerate(BLOCKS) if struct.unpack_from("<I", b)[0] == 6]
K = EPBS[len(EPBS) // 2]          # the block that is damaged: an EPB in the middle


def at(i: int) -> int:
    return sum(len(b) for b in BLOCKS[:i])


def block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    ln = 12 + len(body)
    return struct.pack("<II", btype, ln) + body + struct.pack("<I", ln)


def patched(i: int, fmt: str, where: int, value: int) -> bytes:
    b = bytearray(BLOCKS[i])
    struct.pack_into(fmt, b, where, value)
    return bytes(b)


def joined(*parts) -> bytes:
    return b"".join(p if isinstance(p, bytes) else b"".join(p) for p in parts)


def pcap_from_blocks(blocks) -> bytes:
    """The same packets as a classic nanosecond pcap (Ethernet); the times are
    the reader's (the capture's IDB says the resolution)."""
    from sctpinspect.sources import open_capture
    times = [r.ts_ns for r in open_capture(str(KERNEL))]
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1)]
    for b in blocks:
        if struct.unpack_from("<I", b)[0] != 6:
            continue
        _ifid, _hi, _lo, caplen, wirelen = struct.unpack_from("<IIIII", b, 8)
        ts = times[len(out) - 1]
        out.append(struct.pack("<IIII", ts // 10**9, ts % 10**9, caplen, wirelen)
                   + b[28:28 + caplen])
    return b"".join(out)


PCAP = pcap_from_blocks(BLOCKS)


def pcap_offsets(data: bytes) -> list[int]:
    offs, pos = [], 24
    while pos < len(data):
        offs.append(pos)
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    return offs


PCAP_OFFS = pcap_offsets(PCAP)
PK = len(PCAP_OFFS) // 2

# class -> (damaged bytes, bytes of the good part, error offset or None, words
# of the error, file suffix).  "Good part" is what the output must equal.
CUT = 7000                          # `head -c 7000`, the recipe of issue 18.8
_cut_block = max(i for i in range(len(BLOCKS)) if at(i) <= CUT)
_cut_epb = max(i for i in EPBS if at(i) + len(BLOCKS[i]) <= CUT) + 1
CLASSES = {
    "head -c 7000": (KERNEL.read_bytes()[:CUT], joined(BLOCKS[:_cut_block]), at(_cut_block),
                     r"truncated block", ".pcapng"),
    "wrong block length": (joined(BLOCKS[:K], [patched(K, "<I", 4, len(BLOCKS[K]) + 8)],
                                  BLOCKS[K + 1:]),
                           joined(BLOCKS[:K]), at(K), r"trailer length|block length", ".pcapng"),
    "zero block length": (joined(BLOCKS[:K], [patched(K, "<I", 4, 0)], BLOCKS[K + 1:]),
                          joined(BLOCKS[:K]), at(K), r"bad block length 0", ".pcapng"),
    "huge block length": (joined(BLOCKS[:K], [patched(K, "<I", 4, 0x7FFFFFF0)], BLOCKS[K + 1:]),
                          joined(BLOCKS[:K]), at(K), r"absurd block length", ".pcapng"),
    "section header in the middle": (
        # a new section forgets the interfaces: the next packet names one not described
        joined(BLOCKS[:K], [BLOCKS[0]], BLOCKS[K:]), joined(BLOCKS[:K]), at(K) + len(BLOCKS[0]),
        r"packet on interface 0, but only 0 interface", ".pcapng"),
    "section with its interface again": (
        # legal pcapng: SHB + IDB repeated, every packet is read, no error
        joined(BLOCKS[:K], BLOCKS[:2], BLOCKS[K:]), KERNEL.read_bytes(), None, None, ".pcapng"),
    "unknown blocks": (
        joined(BLOCKS[:K], [block(0x0BADF00D, b"x" * 37), block(0x80000001, b"\1" * 8)],
               BLOCKS[K:]), KERNEL.read_bytes(), None, None, ".pcapng"),
    "EPB for a missing interface": (
        joined(BLOCKS[:K], [patched(K, "<I", 8, 5)], BLOCKS[K + 1:]), joined(BLOCKS[:K]), at(K),
        r"packet on interface 5, but only 1 interface", ".pcapng"),
    "caplen beyond the record": (
        joined(BLOCKS[:K], [patched(K, "<I", 20, len(BLOCKS[K]))], BLOCKS[K + 1:]),
        joined(BLOCKS[:K]), at(K), r"captured length \d+ runs past the end of its block",
        ".pcapng"),
    "pcap record cut short": (PCAP[:PCAP_OFFS[PK] + 16 + 30], PCAP[:PCAP_OFFS[PK]], PCAP_OFFS[PK],
                              r"truncated record", ".pcap"),
    "pcap absurd caplen": (
        PCAP[:PCAP_OFFS[PK] + 8] + struct.pack("<I", 0x7FFFFFF0) + PCAP[PCAP_OFFS[PK] + 12:],
        PCAP[:PCAP_OFFS[PK]], PCAP_OFFS[PK], r"absurd captured length", ".pcap"),
    ".pcap.gz": (gzip.compress(PCAP), b"", 0, r"gzip-compressed: gunzip it first", ".pcap.gz"),
}


def run_child(tmp_path: Path, jobs: list[dict], limit_mib: int = LIMIT_MIB) -> list[dict]:
    spec = tmp_path / f"jobs-{len(list(tmp_path.iterdir()))}.json"
    spec.write_text(json.dumps(jobs))
    r = subprocess.run([sys.executable, str(CHILD), str(limit_mib), str(spec)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.splitlines()[-1])
    for job, got in zip(jobs, res):
        got["stdout"] = Path(job["out"]).read_text(errors="replace")
        got["stderr"] = Path(job["err"]).read_text(errors="replace")
    return res


def jobs_for(tmp_path: Path, tag: str, capture: str, **extra) -> list[dict]:
    jobs = []
    for name, argv in COMMANDS:
        out_dir = tmp_path / f"{tag}-{len(jobs)}-export"
        argv = [a.replace("{dir}", str(out_dir)) for a in argv]
        jobs.append({"name": name, "argv": argv + [capture],
                     "out": str(tmp_path / f"{tag}-{len(jobs)}.out"),
                     "err": str(tmp_path / f"{tag}-{len(jobs)}.err"), **extra})
    return jobs


def normal(text: str, *paths: str) -> str:
    """Output with the capture's path and the per-run directories taken out."""
    for p in paths:
        text = text.replace(p, "CAPTURE")
    return re.sub(r"/\S+-export\b", "DIR", text)


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("sctpinspect:")]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """Run every command on the good part and on the damaged file of every class."""
    tmp = tmp_path_factory.mktemp("sweep")
    jobs, index = [], {}
    for n, (cls, (bad, good, _off, _words, suffix)) in enumerate(CLASSES.items()):
        d = tmp / f"c{n}"
        (d / "bad").mkdir(parents=True)
        (d / "good").mkdir()
        name = "trace" + suffix
        (d / "bad" / name).write_bytes(bad)
        (d / "good" / name).write_bytes(good)
        for kind in ("bad", "good"):
            if kind == "good" and not good:
                continue
            js = jobs_for(tmp, f"c{n}{kind}", str(d / kind / name))
            index[(cls, kind)] = (len(jobs), len(js), str(d / kind / name))
            jobs += js
    res = run_child(tmp, jobs)
    return {key: (res[i:i + n], path) for key, (i, n, path) in index.items()}


@pytest.mark.parametrize("cls", list(CLASSES))
def test_every_command_on_a_damaged_file(swept, cls):
    _bad, good, offset, words, _suffix = CLASSES[cls]
    bad_res, bad_path = swept[(cls, "bad")]
    good_res, good_path = swept.get((cls, "good"), (None, None))
    for i, (name, _argv) in enumerate(COMMANDS):
        b = bad_res[i]
        what = f"{cls}: {name}"
        assert "Traceback" not in b["stderr"], (what, b["stderr"][-2000:])
        errs = error_lines(b["stderr"])
        if offset is None:                       # not damage: the whole file, no error line
            assert not errs, (what, errs)
        else:
            assert b["rc"] == 1, (what, b["rc"], b["stderr"][-500:])
            assert len(errs) == 1, (what, b["stderr"])
            e = errs[0]
            assert bad_path in e and OFFSET.search(e) and int(OFFSET.search(e)[1]) == offset, \
                (what, e, offset)
            assert re.search(words, e), (what, e)
        # the results of the frames before the damage (or of the whole file):
        # the same output as on a file with just those frames
        if good_res is not None:
            g = good_res[i]
            if offset is None:
                assert b["rc"] == g["rc"], (what, b["rc"], g["rc"])
            assert normal(b["stdout"], bad_path) == normal(g["stdout"], good_path), what
            assert b["stdout"].strip() or name in ("export",), what   # there is a good part
        else:
            assert not b["stdout"].strip(), (what, b["stdout"][:300])
        assert b["maxrss_mib"] < LIMIT_MIB


def test_cut_capture_good_part_has_the_association_and_its_messages(swept):
    """head -c 7000 of the kernel capture (issue 18.8): assoc, streams and flow
    print what the frames before the cut hold, not only the error line."""
    res, _ = swept[("head -c 7000", "bad")]
    by = {name: r for (name, _), r in zip(COMMANDS, res)}
    assert "192.0.2.1:" in by["assoc"]["stdout"] and "ESTABLISHED" in by["assoc"]["stdout"]
    rows = json.loads(by["assoc --json"]["stdout"])
    assert len(rows) == 1
    assert re.search(r"^0\s+1\s+\d+\s+0\s+\d+", by["streams"]["stdout"], re.M)
    assert "INIT" in by["flow"]["stdout"] and "DATA" in by["flow"]["stdout"]
    # read prints one summary line per SCTP frame before the cut
    lines = [ln for ln in by["read"]["stdout"].splitlines() if re.match(r"^\s*\d+\s+\d", ln)]
    assert len(lines) == sum(1 for i in EPBS if i < _cut_block)


def test_dev_zero_and_a_fifo(tmp_path):
    """/dev/zero (endless zeros: the magic is refused at offset 0, memory stays
    flat); a FIFO carrying the intact capture (everything, like the file) and
    one carrying the cut capture (good part, then the error)."""
    whole = tmp_path / "whole.pcapng"
    whole.write_bytes(KERNEL.read_bytes())
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(KERNEL.read_bytes()[:CUT])
    fifo = tmp_path / "trace.pcapng"
    os.mkfifo(fifo)
    jobs = (jobs_for(tmp_path, "zero", "/dev/zero")
            + jobs_for(tmp_path, "fifo", str(fifo), fifo=str(whole))
            + jobs_for(tmp_path, "file", str(whole))
            + jobs_for(tmp_path, "fifocut", str(fifo), fifo=str(cut))
            + jobs_for(tmp_path, "filecut", str(cut)))
    res = run_child(tmp_path, jobs)
    n = len(COMMANDS)
    zero, via_fifo, via_file, fifo_cut, file_cut = (res[i * n:(i + 1) * n] for i in range(5))
    for (name, _), z, f, w, fc, wc in zip(COMMANDS, zero, via_fifo, via_file, fifo_cut, file_cut):
        assert z["rc"] == 1 and not z["stdout"].strip() and "Traceback" not in z["stderr"], name
        assert error_lines(z["stderr"]) == [
            "sctpinspect: /dev/zero: not a pcap or pcapng file (magic 0x00000000) at byte offset 0"]
        assert z["maxrss_mib"] < LIMIT_MIB
        assert "Traceback" not in f["stderr"] + fc["stderr"], (name, f["stderr"], fc["stderr"])
        assert f["rc"] == w["rc"] and normal(f["stdout"], str(fifo)) == normal(
            w["stdout"], str(whole)), name
        assert fc["rc"] == 1 and normal(fc["stdout"], str(fifo)) == normal(
            wc["stdout"], str(cut)), name
        assert [e.replace(str(fifo), "X") for e in error_lines(fc["stderr"])] == \
            [e.replace(str(cut), "X") for e in error_lines(wc["stderr"])], name


def test_file_growing_while_read(tmp_path):
    """A capture still being written (the writer appends while the command
    reads): the output is that of a prefix of whole records of the final file,
    and an error, if the reader met a half-written record, names a record
    boundary of the final file."""
    data = KERNEL.read_bytes()
    first, rest = tmp_path / "first", tmp_path / "rest"
    first.write_bytes(joined(BLOCKS[:K]))
    rest.write_bytes(data[len(joined(BLOCKS[:K])):])
    grow = tmp_path / "growing.pcapng"
    jobs = [j for j in jobs_for(tmp_path, "grow", str(grow), grow=[str(first), str(rest)])
            if j["name"] in ("read", "assoc", "read -T fields")]
    res = run_child(tmp_path, jobs)
    boundaries = {at(i) for i in range(len(BLOCKS) + 1)}
    for job, r in zip(jobs, res):
        assert "Traceback" not in r["stderr"], r["stderr"]
        errs = error_lines(r["stderr"])
        assert r["rc"] in (0, 1) and len(errs) <= 1, (job["name"], r["stderr"])
        if errs:
            assert int(OFFSET.search(errs[0])[1]) in boundaries, errs
        if job["name"] == "read -T fields":
            nums = [int(ln.split("\t")[0]) for ln in r["stdout"].splitlines()]
            assert nums == list(range(1, len(nums) + 1)) and len(nums) >= len(
                [i for i in EPBS if i < K])
