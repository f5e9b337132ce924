"""Throughput of the SCTP dissector alone (no link/IP decoding, no output).

``python benchmarks/bench_sctp_dissect.py FILE.pcap [--limit N]``: loads the
Ethernet/IPv4 SCTP frames of FILE (e.g. made by gen_capture.py), then times
``dissect_sctp`` over them with CRC32c verification on and off and prints
packets/s.  Speed goals live here, never in timed tests.
"""
from __future__ import annotations

import argparse
import time

from sctpinspect.decode import DecodeOptions
from sctpinspect.decode.sctp import dissect_sctp
from sctpinspect.model import Packet
from sctpinspect.sources import open_capture


def load(path, limit):
    frames = []
    for rec in open_capture(path):
        d = rec.data
        if len(d) > 34 and d[12:14] == b"\x08\x00" and d[23] == 132:
            frames.append((rec, 14 + (d[14] & 15) * 4))
            if len(frames) >= limit:
                break
    return frames


def run(frames, verify):
    opts = DecodeOptions(verify_checksum=verify)
    t0 = time.perf_counter()
    nchunks = 0
    for rec, off in frames:
        pkt = Packet(rec)
        dissect_sctp(pkt, rec.data, off, len(rec.data), opts, pkt.layers)
        nchunks += len(pkt.chunks)
    dt = time.perf_counter() - t0
    return dt, nchunks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pcap")
    ap.add_argument("--limit", type=int, default=10 ** 9)
    a = ap.parse_args()
    frames = load(a.pcap, a.limit)
    nbytes = sum(len(r.data) - off for r, off in frames)
    for verify in (True, False):
        dt, nch = run(frames, verify)
        print("verify_checksum=%-5s %d packets (%d chunks, %.1f MB SCTP) in %.2f s: %.0f packets/s, %.0f chunks/s"
              % (verify, len(frames), nch, nbytes / 1e6, dt, len(frames) / dt, nch / dt))


if __name__ == "__main__":
    main()
