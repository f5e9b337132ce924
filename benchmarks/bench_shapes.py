"""Hostile "shape" captures through every command, timed, side by side with tshark.

    python benchmarks/bench_shapes.py                    # every shape, default sizes
    python benchmarks/bench_shapes.py --shape all-middle --size 20000 --json

Shapes (issue 18, 'What to build'; each one made an analysis blow up once):

  all-middle      DATA fragments with neither B nor E on consecutive TSNs
  all-b-idata     I-DATA fragments that are all B (first fragment), distinct MIDs
  inits           INITs with distinct source ports (a new association attempt each)
  addresses       INITs with SIZE/10 IPv4 address parameters each (10 INITs)
  sack-gaps       SACKs holding the most gap blocks an IPv4 packet can (16,371), one
                  declaring 65,535; SIZE/16371 of them (at least one)
  tsn-wrap        messages of 4 fragments whose TSNs cross 2^32 -> 0 inside a
                  reassembly, SIZE messages

SIZE is the number of chunks (or INITs / parameters / messages).  Files are
raw IPv4 pcaps (LINKTYPE_RAW) with valid CRC32c, built with struct (scapy is
far too slow for 100k chunks); the same size always gives the same bytes.
Each command runs as its own process; wall time and that process's peak RSS
(wait4's rusage) are reported, and tshark reading the same file (`tshark -r
FILE -q`, no output) on the same line.  Figures: docs/robustness.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import crc32c

ROOT = Path(__file__).resolve().parents[1]
A, B = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
T1, T2 = 0x11111111, 0x22222222
ITSN = 1000
MAX_GAPS = (0xFFFF - 20 - 12 - 16) // 4   # gap blocks of a SACK that fills one IPv4 packet: 16,371


def _chunk(ctype: int, flags: int, value: bytes) -> bytes:
    ln = 4 + len(value)
    return struct.pack("!BBH", ctype, flags, ln) + value + b"\0" * (-ln % 4)


def _ip(sctp: bytes, src=A, dst=B) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(sctp), 0, 0x4000, 64, 132, 0, src, dst)
    return hdr + sctp


def _sctp(vtag: int, chunks: bytes, sport=5000, dport=6000, up=True) -> bytes:
    if not up:
        sport, dport = dport, sport
    pkt = struct.pack("!HHII", sport, dport, vtag, 0) + chunks
    c = crc32c.crc32c(pkt)
    return pkt[:8] + struct.pack("<I", c) + pkt[12:]


def _frame(vtag, chunks, up=True, sport=5000, dport=6000) -> bytes:
    s = _sctp(vtag, chunks, sport, dport, up)
    return _ip(s) if up else _ip(s, B, A)


def handshake(idata: bool = False) -> list[bytes]:
    ext = b""
    if idata:       # Supported Extensions: I-DATA (64), I-FORWARD-TSN (194)
        ext = struct.pack("!HH", 0x8008, 6) + bytes([64, 194]) + b"\0\0"
    init = struct.pack("!IIHHI", T1, 65536, 10, 10, ITSN) + ext
    ack = struct.pack("!IIHHI", T2, 65536, 10, 10, 5000) + ext + struct.pack("!HH", 7, 8) + b"cook"
    return [_frame(0, _chunk(1, 0, init)), _frame(T1, _chunk(2, 0, ack), up=False),
            _frame(T2, _chunk(10, 0, b"cook")), _frame(T1, _chunk(11, 0, b""), up=False)]


def _packets_of(chunks: list[bytes], vtag=T2, per_packet_bytes=60000) -> list[bytes]:
    out, cur, size = [], [], 0
    for c in chunks:
        if cur and size + len(c) > per_packet_bytes:
            out.append(_frame(vtag, b"".join(cur)))
            cur, size = [], 0
        cur.append(c)
        size += len(c)
    if cur:
        out.append(_frame(vtag, b"".join(cur)))
    return out


def shape_all_middle(n: int) -> list[bytes]:
    data = [_chunk(0, 0, struct.pack("!IHHI", ITSN + i, 0, 0, 0) + b"mid!") for i in range(n)]
    return handshake() + _packets_of(data)


def shape_all_b_idata(n: int) -> list[bytes]:
    # I-DATA: TSN, SID, reserved, MID, PPID (B fragment) ; flags B = 0x02
    data = [_chunk(64, 0x02, struct.pack("!IHHII", ITSN + i, 0, 0, i, 46) + b"first")
            for i in range(n)]
    return handshake(idata=True) + _packets_of(data)


def shape_inits(n: int) -> list[bytes]:
    return [_frame(0, _chunk(1, 0, struct.pack("!IIHHI", 1 + i, 65536, 10, 10, i)),
                   sport=1024 + i % 60000, dport=6000 + i // 60000) for i in range(n)]


def shape_addresses(n: int) -> list[bytes]:
    per = max(1, n // 10)
    out = []
    for k in range(10):
        params = b"".join(struct.pack("!HH4s", 5, 8, struct.pack("!I", 0x0A000000 + k * per + i))
                          for i in range(per))
        body = struct.pack("!IIHHI", 0x100 + k, 65536, 10, 10, k) + params
        # one INIT chunk can hold 16,381 parameters; more go in further INITs
        for off in range(0, len(params), 8 * 8000):
            part = struct.pack("!IIHHI", 0x100 + k, 65536, 10, 10, k) + params[off:off + 8 * 8000]
            out.append(_frame(0, _chunk(1, 0, part), sport=2000 + k))
        del body
    return out


def shape_sack_gaps(n: int) -> list[bytes]:
    sacks = max(1, n // MAX_GAPS)
    out = handshake()
    data = [_chunk(0, 3, struct.pack("!IHHI", ITSN + i, 0, i, 0) + b"x") for i in range(4)]
    out += _packets_of(data)
    for k in range(sacks):
        gaps = b"".join(struct.pack("!HH", 2 + 2 * i, 2 + 2 * i) for i in range(MAX_GAPS))
        declared = 0xFFFF if k == 0 else MAX_GAPS       # the first one claims 65,535
        sack = struct.pack("!IIHH", ITSN, 65536, declared, 0) + gaps
        out.append(_frame(T1, _chunk(3, 0, sack), up=False))
    return out


def shape_tsn_wrap(n: int) -> list[bytes]:
    """n messages of 4 fragments; the TSNs start 2 before 2^32, so the first
    message's fragments are TSNs 2^32-2, 2^32-1, 0, 1."""
    base = (1 << 32) - 2
    out = handshake()
    out[0] = _frame(0, _chunk(1, 0, struct.pack("!IIHHI", T1, 65536, 10, 10, base)))
    chunks = []
    for m in range(n):
        for f in range(4):
            flags = (2 if f == 0 else 0) | (1 if f == 3 else 0)
            tsn = (base + 4 * m + f) & 0xFFFFFFFF
            chunks.append(_chunk(0, flags, struct.pack("!IHHI", tsn, 0, m & 0xFFFF, 46)
                                 + bytes([65 + f]) * 100))
    return out + _packets_of(chunks, per_packet_bytes=1400)


SHAPES = {
    "all-middle": (shape_all_middle, 100000),
    "all-b-idata": (shape_all_b_idata, 100000),
    "inits": (shape_inits, 100000),
    "addresses": (shape_addresses, 10000),
    "sack-gaps": (shape_sack_gaps, 65535),
    "tsn-wrap": (shape_tsn_wrap, 10000),
}


def write_pcap(path, frames) -> int:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(fr),
                                len(fr)) + fr)
    return os.path.getsize(path)


COMMANDS = [
    ("read", ["read", "--no-progress"]), ("read -V", ["read", "--no-progress", "-V"]),
    ("diagnose", ["diagnose"]), ("assoc", ["assoc"]), ("streams", ["streams"]),
    ("flow", ["flow", "--assoc", "0"]), ("messages", ["messages"]),
    ("export", ["export", "-q", "--to", "{dir}"]),
]


def timed(argv, timeout: float) -> dict:
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            return {"seconds": None, "rss_mib": ru.ru_maxrss // 1024, "rc": "timeout"}
        time.sleep(0.02)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return {"seconds": round(time.perf_counter() - t0, 2), "rss_mib": ru.ru_maxrss // 1024,
            "rc": os.waitstatus_to_exitcode(status), "traceback": "Traceback" in err}


def run(shape: str, size: int, timeout: float) -> dict:
    gen, _ = SHAPES[shape]
    tmp = Path(tempfile.mkdtemp(prefix="bench-shapes-"))
    try:
        path = tmp / f"{shape}.pcap"
        frames = gen(size)
        nbytes = write_pcap(path, frames)
        row = {"shape": shape, "size": size, "frames": len(frames), "bytes": nbytes}
        if shutil.which("tshark"):
            row["tshark -r"] = timed(["tshark", "-r", str(path), "-q"], timeout)
        for name, argv in COMMANDS:
            argv = [a.replace("{dir}", str(tmp / "export")) for a in argv]
            row[name] = timed([sys.executable, "-m", "sctpinspect", *argv, str(path)], timeout)
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=list(SHAPES) + ["all"], default="all")
    ap.add_argument("--size", type=int, help="default: the issue's size of each shape")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per command")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    shapes = list(SHAPES) if args.shape == "all" else [args.shape]
    rows = [run(s, args.size or SHAPES[s][1], args.timeout) for s in shapes]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['shape']}  size {r['size']}  {r['frames']} frames  {r['bytes']} bytes")
        for k, v in r.items():
            if isinstance(v, dict):
                s = "timeout" if v["seconds"] is None else f"{v['seconds']:7.2f} s"
                print(f"  {k:10s} {s}  {v['rss_mib']:5d} MiB  rc={v['rc']}"
                      + ("  TRACEBACK" if v.get("traceback") else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
