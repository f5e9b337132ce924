"""Benchmark ``sctpinspect assoc`` (decode + full analysis) against plain ``sctpinspect read``.

    python benchmarks/bench_assoc.py [-n 200000] [--seed 1]

Uses the read benchmark's deterministic generator (gen_capture.py, cached in
benchmarks/out/), runs each command on the same file with stdout to
/dev/null, and prints wall time, packets/s and peak RSS of the child.  Also
runs the analyzer in-process on already-decoded packets to show its own cost.
Wall-clock figures on a shared machine: run it when nothing else runs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_capture import default_path, generate  # noqa: E402
from bench_commands import run  # noqa: E402  the one wait4/wall/RSS runner


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    path = default_path(a.n, a.seed)
    if not os.path.exists(path):
        generate(path, a.n, a.seed)
    py = [sys.executable, "-m", "sctpinspect"]
    for name, argv in (("read (summary)", py + ["read", "--no-progress", path]),
                       ("assoc", py + ["assoc", path]),
                       ("read -e sctp.assoc_index", py + ["read", "--no-progress", "-T", "fields",
                                                          "-e", "sctp.assoc_index", path])):
        dt, rss = run(argv, ok=(0,))
        print(f"{name:28s} {dt:8.2f} s  {a.n / dt:10.0f} pkt/s  peak RSS {rss:7.1f} MiB")
    from sctpinspect.analysis import Analyzer, decode_file
    pkts = list(decode_file(path))
    an = Analyzer()
    t0 = time.perf_counter()
    for p in pkts:
        an.feed(p)
    dt = time.perf_counter() - t0
    print(f"{'Analyzer.feed alone':28s} {dt:8.2f} s  {len(pkts) / dt:10.0f} pkt/s  "
          f"({len(an.associations)} associations, {len(an.messages)} messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
