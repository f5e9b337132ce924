"""Benchmark ``sctpinspect export`` (Parquet) against ``read -T fields`` and tshark.

    python benchmarks/bench_export.py [-n 20000,80000] [--seed 1] [--ek] [--skip-tshark]

For each size N (comma-separated), on the deterministic capture of
gen_capture.py (cached in benchmarks/out/), runs with stdout to /dev/null:

  * ``sctpinspect export FILE --to TMP``           (four Parquet tables)
  * ``sctpinspect read -T fields -e <31 fields>``  (the first wave's fields, bench_read.py)
  * ``tshark -T fields -e <same 31 fields>``
  * ``tshark -T ek`` with ``--ek`` (slow: Elasticsearch bulk JSON)

and prints wall time, packets/s and the child's peak RSS.  Memory flat in
file size: export's peak RSS at the largest N should be within a few MiB of
the smallest (the rows go out in record batches of 16,384; the analysis
state is bounded by AnalysisOptions).  Also prints the size of the export.
Wall-clock figures on a shared machine: run it when nothing else runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_read import FIELDS  # noqa: E402
from gen_capture import default_path, generate  # noqa: E402


def run(argv):
    t0 = time.perf_counter()
    with open(os.devnull, "w") as null:
        p = subprocess.Popen(argv, stdout=null, stderr=null)
        _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed with status {status}")
    return dt, ru.ru_maxrss / 1024


def du(path):
    total = 0
    for root, _d, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", default="20000,80000", help="frames per generated capture, comma-separated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ek", action="store_true", help="also run tshark -T ek")
    ap.add_argument("--skip-tshark", action="store_true")
    a = ap.parse_args()
    py = [sys.executable, "-m", "sctpinspect"]
    efields = [x for f in FIELDS for x in ("-e", f)]
    tshark = shutil.which("tshark")
    rss_export = []
    for n in (int(x) for x in a.n.split(",")):
        path = default_path(n, a.seed)
        if not os.path.exists(path):
            generate(path, n, a.seed)
        print(f"== {n} frames, {os.path.getsize(path) / 2**20:.1f} MiB ({path})")
        with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
            out = os.path.join(tmp, "x")
            runs = [("sctpinspect export (parquet)", py + ["export", "-q", path, "--to", out]),
                    (f"sctpinspect read -T fields ({len(FIELDS)})",
                     py + ["read", "--no-progress", "-T", "fields"] + efields + [path])]
            if tshark and not a.skip_tshark:
                runs.append((f"tshark -T fields ({len(FIELDS)})",
                             [tshark, "-n", "-r", path, "-o", "sctp.relative_tsns:FALSE",
                              "-T", "fields"] + efields))
                if a.ek:
                    runs.append(("tshark -T ek", [tshark, "-n", "-r", path, "-T", "ek"]))
            for name, argv in runs:
                dt, rss = run(argv)
                if name.startswith("sctpinspect export"):
                    rss_export.append(rss)
                    extra = f"  output {du(out) / 2**20:6.1f} MiB"
                else:
                    extra = ""
                print(f"{name:34s} {dt:8.2f} s  {n / dt:9.0f} pkt/s  peak RSS {rss:7.1f} MiB{extra}")
    if len(rss_export) > 1:
        print(f"export peak RSS, smallest -> largest file: {rss_export[0]:.1f} -> {rss_export[-1]:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
