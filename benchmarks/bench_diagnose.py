"""Benchmark ``sctpinspect diagnose`` against ``sctpinspect assoc`` (decode + analysis only).

    python benchmarks/bench_diagnose.py [-n 200000] [--seed 1]

Uses the deterministic benchmark capture (gen_capture.py, cached in
benchmarks/out/); runs each command with stdout to /dev/null and prints wall
time, packets/s and the child's peak RSS; then the Diagnoser alone on already
analysed packets (its own per-packet cost).  Run it when nothing else runs.
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
    for name, argv in (("assoc", py + ["assoc", path]),
                       ("diagnose", py + ["diagnose", path]),
                       ("diagnose --json", py + ["diagnose", "--json", path])):
        dt, rss = run(argv)
        print(f"{name:20s} {dt:8.2f} s  {a.n / dt:10.0f} pkt/s  peak RSS {rss:7.1f} MiB")
    from sctpinspect.analysis import Analyzer, decode_file
    from sctpinspect.diagnostics import Diagnoser
    pkts = list(decode_file(path))
    an = Analyzer()
    for p in pkts:
        an.feed(p)
    d = Diagnoser(analyzer=an)
    t0 = time.perf_counter()
    for p in pkts:
        d.feed(p, analysed=True)
    d.finish()
    dt = time.perf_counter() - t0
    print(f"{'Diagnoser.feed alone':20s} {dt:8.2f} s  {len(pkts) / dt:10.0f} pkt/s  "
          f"({len(d.findings)} findings)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
