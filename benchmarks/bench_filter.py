"""Display-filter cost: packets/s of decode alone vs decode + filter evaluation.

    python benchmarks/bench_filter.py [-n 50000] [--file CAPTURE] [--repeat 3]

Decodes the capture once into memory (timed: the decode rate), then times each
filter's compiled predicate over all decoded packets (the evaluation rate) and
reports both, plus the slowdown a ``read -Y`` would see (decode+filter vs
decode).  The default capture is the deterministic generated one from
gen_capture.py (created on first use).  Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sctpinspect.decode import Decoder  # noqa: E402
from sctpinspect.filter import compile_filter  # noqa: E402
from sctpinspect.sources import open_capture  # noqa: E402

FILTERS = [
    "sctp",
    "sctp.chunk_type == INIT",
    "frame.number > 100",
    "sctp.chunk_type == DATA && sctp.data_payload_proto_id in {18, 46, 60} && sctp.data_sid != 0",
    "(sctp.chunk_type == SACK && sctp.sack_number_of_gap_blocks > 0) || "
    "(ip.addr == 10.0.0.0/8 && sctp.port in {2905, 3868, 36412..36422}) || "
    'sctp.parameter_state_cookie[0:2] == 00:01 || sctp matches "ab+c"',
    "udp.port == 9899",  # absent in most frames: the cheap path
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50_000, help="packets in the generated capture")
    ap.add_argument("--file", help="benchmark this capture instead of the generated one")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per filter")
    args = ap.parse_args()

    path = args.file
    if path is None:
        import gen_capture
        path = gen_capture.default_path(args.n, 1)
        if not os.path.exists(path):
            gen_capture.generate(path, args.n, 1)

    t0 = time.perf_counter()
    dec = Decoder()
    packets = [dec.decode(r) for r in open_capture(path)]
    t_decode = time.perf_counter() - t0
    n = len(packets)
    print(f"capture: {path} ({n} packets)")
    print(f"decode: {n / t_decode:,.0f} packets/s\n")
    print("| filter | matches | filter packets/s | decode+filter packets/s | vs decode only |")
    print("|---|---:|---:|---:|---:|")
    for flt in FILTERS:
        pred = compile_filter(flt)
        best = float("inf")
        hits = 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            hits = sum(1 for p in packets if pred(p))
            best = min(best, time.perf_counter() - t)
        both = n / (t_decode + best)
        print(f"| `{flt}` | {hits} | {n / best:,.0f} | {both:,.0f} | "
              f"{(t_decode + best) / t_decode:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
