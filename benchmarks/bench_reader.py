"""Reader and link/IP decode throughput.

    python benchmarks/bench_reader.py [FILE]   (default: a 500k-record file built from
                                                 open5gs/testregistration.pcapng in /tmp)

Goal: > 200k records/s for the pcap/pcapng reader alone.
"""
from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

from sctpinspect.decode import Decoder
from sctpinspect.sources import open_capture
from sctpinspect.sources.pcapng_writer import PcapngWriter

SRC = Path(__file__).resolve().parents[1].parent / "shared/captures/public/open5gs/testregistration.pcapng"


def build(n=500_000) -> str:
    path = os.path.join(tempfile.gettempdir(), "sctpinspect-bench-500k.pcapng")
    if not os.path.exists(path):
        recs = list(open_capture(SRC))
        with PcapngWriter(path, [(113, "any", 262144, 9)]) as w:
            for r in itertools.islice(itertools.cycle(recs), n):
                w.write(r)
    return path


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else build()
    t = time.perf_counter()
    n = sum(1 for _ in open_capture(path))
    dt = time.perf_counter() - t
    print(f"reader: {n} records in {dt:.2f} s = {n / dt:,.0f} records/s")
    d = Decoder()
    t = time.perf_counter()
    m = 0
    for r in itertools.islice(open_capture(path), 100_000):
        d.decode(r)
        m += 1
    dt = time.perf_counter() - t
    print(f"reader + full decode: {m} packets in {dt:.2f} s = {m / dt:,.0f} packets/s")


if __name__ == "__main__":
    main()
