"""Issue 18, CLI points 6, 7d and 7e: a capture filter too long for the kernel
refused before libpcap compiles it; `read -` streams a pipe that stays open
and keeps what it read on Ctrl-C; extreme pcapng timestamps print without a
traceback, with tshark's calendar."""
from __future__ import annotations

import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import seeds  # noqa: E402

from sctpinspect.capture import bpf  # noqa: E402
from sctpinspect.errors import UserError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FRAMES = [f for lt, f in seeds.frame_seeds() if lt == 101][:3]


def cli(*argv, **kw):
    return subprocess.run([sys.executable, "-m", "sctpinspect", *argv], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, **kw)


# ------------------------------------------------------------------ 6. long capture filter
def test_6_long_capture_filter_refused_before_libpcap(monkeypatch):
    text = " or ".join(f"host 10.0.{i // 256}.{i % 256}" for i in range(1000))   # 18 KiB
    assert len(text) > bpf.MAX_FILTER_CHARS

    def no_libpcap():
        raise AssertionError("libpcap reached")
    monkeypatch.setattr(bpf, "libpcap", no_libpcap)
    from sctpinspect.capture.engine import LiveCapture
    with pytest.raises(UserError) as e:
        LiveCapture("lo", text)
    msg = str(e.value)
    assert msg == (f"capture filter too long: {len(text)} characters, the limit is 8192 (the "
                   "kernel runs at most 4096 BPF instructions; use net/portrange or fewer terms)")


def test_6_long_capture_filter_one_line_from_the_cli():
    text = " or ".join(f"sctp port {i}" for i in range(1, 700))
    r = cli("capture", "-i", "lo", "-c", "1", "-f", text)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [f"sctpinspect: capture filter too long: {len(text)} "
                                     "characters, the limit is 8192 (the kernel runs at most 4096 "
                                     "BPF instructions; use net/portrange or fewer terms)"]


def test_6_a_filter_under_the_bound_still_compiles():
    """The bound refuses nothing the kernel could run in the common shapes:
    100 host terms (1.8 KiB) compile to far fewer than 4096 instructions."""
    text = " or ".join(f"host 10.0.0.{i}" for i in range(1, 101))
    bpf.check_filter_length(text)
    prog = bpf.compile_filter(text, 1)
    assert 100 < len(prog) < bpf.KERNEL_MAX_INSNS


# ------------------------------------------------------------------ 7d. read - on an open pipe
def _reader(extra=()):
    return subprocess.Popen([sys.executable, "-m", "sctpinspect", "read", "--no-progress",
                             *extra, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)


def _line(proc, timeout=60.0) -> bytes:
    """One line of the child's output while its input pipe stays open."""
    fd = proc.stdout.fileno()
    got = b""
    end = time.monotonic() + timeout
    while not got.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no line while the pipe is open (got {got!r})")
        b = os.read(fd, 1)
        if not b:
            raise AssertionError(f"output closed (got {got!r})")
        got += b
    return got


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_7d_read_stdin_prints_each_packet_as_it_arrives(fmt):
    """A writer that sends one record at a time and keeps the pipe open: each
    packet's line comes out before the next record is written (the readers
    took 1 MiB blocks and printed nothing until the pipe closed)."""
    data = seeds._pcap(FRAMES, 101) if fmt == "pcap" else _pcapng(9, [1000, 2000, 3000])
    # split the file after each record: the header then one record per write
    if fmt == "pcap":
        cuts, pos = [24], 24
        for f in FRAMES:
            pos += 16 + len(f)
            cuts.append(pos)
    else:
        cuts, pos = [], 0
        while pos < len(data):
            pos += struct.unpack_from("<I", data, pos + 4)[0]
            cuts.append(pos)
        cuts = cuts[1:]                          # SHB+IDB, then each EPB
    p = _reader()
    try:
        prev = 0
        lines = []
        p.stdin.write(data[:cuts[0]])
        p.stdin.flush()
        prev = cuts[0]
        for c in cuts[1:]:
            p.stdin.write(data[prev:c])
            p.stdin.flush()
            prev = c
            lines.append(_line(p).decode())
            assert re.match(rf"^\s*{len(lines)}\s+\d+\.\d{{6}} (10\.0\.0\.|ICMP)", lines[-1]), lines
        rest, err = p.communicate(timeout=60)      # closes the pipe: the end of the capture
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0 and not rest.strip()
    assert err.decode().startswith(f"{len(lines)} frames, ")
    assert len(lines) == len(FRAMES)


def test_7d_ctrl_c_keeps_what_was_read():
    data = seeds._pcap(FRAMES, 101)
    p = _reader()
    try:
        p.stdin.write(data[:24 + 16 + len(FRAMES[0]) + 16 + len(FRAMES[1])])
        p.stdin.flush()
        first = [_line(p), _line(p)]
        p.send_signal(signal.SIGINT)             # the pipe is still open
        rest, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130 and b"Traceback" not in err
    assert len(first) == 2 and not rest.strip()
    assert err.decode().strip() == "2 frames, 2 SCTP"


# ------------------------------------------------------------------ 7e. extreme timestamps
def _pcapng(tsresol: int, stamps) -> bytes:
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        ln = 12 + len(body)
        return struct.pack("<II", t, ln) + body + struct.pack("<I", ln)
    opts = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 101, 0, 0) + opts)
    f = FRAMES[0]
    for t in stamps:
        out += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(f), len(f)) + f)
    return out


def _tshark_times(path, mode):
    r = subprocess.run(["tshark", "-r", str(path), "-t", mode, "-T", "tabs"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # "    1\t1970-01-01 00:00:01\t..." : the time column, to the second
    return [ln.split("\t")[1].strip().split(".")[0] for ln in r.stdout.splitlines()]


@pytest.mark.parametrize("tsresol,stamps", [
    (0, [1, 10**12, 10**11 + 7]),             # seconds: year 33658, 5138
    (9, [1, 2**63 + 5, 2**63 + 10**15]),      # nanoseconds past 2262 (2^63 ns)
    (0x7F, [1, 2**40]),                       # 10^-127 s: every time is 0
    (0xFF, [1, 2**63, 2**64 - 1]),            # 2^-127 s
])
def test_7e_read_t_a_on_extreme_tsresol(tmp_path, tsresol, stamps):
    path = tmp_path / "t.pcapng"
    path.write_bytes(_pcapng(tsresol, stamps))
    for mode in ("a", "ad", "u", "ud", "e", "r", "d"):
        r = cli("read", "--no-progress", "-t", mode, str(path))
        assert r.returncode == 0 and "Traceback" not in r.stderr, (mode, r.stderr)
        rows = r.stdout.splitlines()
        assert len(rows) == len(stamps), (mode, r.stdout)
        if mode == "ud" and tsresol in (0, 9):   # tshark's own arithmetic differs at 2^-127 s
            ours = [re.split(r"\s+", ln.strip(), maxsplit=3)[1:3] for ln in rows]
            ours = [" ".join(x).split(".")[0] for x in ours]
            assert ours == _tshark_times(path, "ud"), (tsresol, ours)


def test_7e_times_past_2262_in_every_command(tmp_path):
    """Fields, JSON, the analysis and the export take a time past 2^63 ns (the
    export stores it as null: Arrow's timestamp[ns] is 64-bit)."""
    path = tmp_path / "t.pcapng"
    path.write_bytes(_pcapng(0, [1, 10**12, 10**12 + 1]))
    r = cli("read", "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.time_relative",
            str(path))
    assert r.returncode == 0 and r.stdout.splitlines() == [
        "1.000000000\t0.000000000", "1000000000000.000000000\t999999999999.000000000",
        "1000000000001.000000000\t1000000000000.000000000"]
    for argv in (["read", "-T", "json"], ["read", "-V"], ["assoc"], ["diagnose"],
                 ["messages"], ["export", "-q", "--to", str(tmp_path / "x")]):
        r = cli(*argv, str(path))
        assert r.returncode in (0, 3) and "Traceback" not in r.stderr, (argv, r.stderr)
    q = cli("sql", str(tmp_path / "x"),
            "select frame_number, frame_time_epoch is null from frames order by 1")
    assert q.returncode == 0 and q.stdout.split()[-6:] == ["1", "False", "2", "True", "3", "True"]
