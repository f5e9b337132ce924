"""Benchmark many files as one trace and ``--dask`` (issue 16, points 3-4).

    python benchmarks/bench_multifile.py [-n 200000] [--files 10] [--seed 1]

Splits the deterministic generated capture (gen_capture.py, cached in
benchmarks/out/) into a ring-buffer-like set of ``--files`` files with
``editcap -c`` and times, with stdout to /dev/null, side by side:

* ``mergecap -w`` of the set, then ``assoc`` on the merged file (the way
  without point 3),
* ``assoc`` over the set (sources/merge.py), in one process and with
  ``--workers 2`` (analysis/shard.py),
* ``assoc --dask`` over the set on a LocalCluster of 2 worker processes
  (cluster start included; the two outputs are compared),
* ``export`` over the set.

Wall time and peak RSS of the children (for --dask: the driver's; the
workers are its children too, ru_maxrss of RUSAGE_CHILDREN covers the
largest).  A shared machine: run it when nothing else runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_capture import default_path, generate  # noqa: E402
from bench_commands import run  # noqa: E402  the one wait4/wall/RSS runner


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    path = default_path(a.n, a.seed)
    if not os.path.exists(path):
        generate(path, a.n, a.seed)
    py = [sys.executable, "-m", "sctpinspect"]
    tmp = tempfile.mkdtemp(prefix="bench-multifile-")
    try:
        subprocess.run(["editcap", "-c", str(-(-a.n // a.files)), path,
                        os.path.join(tmp, "ring.pcap")], check=True, capture_output=True)
        files = sorted(os.path.join(tmp, f) for f in os.listdir(tmp))
        merged = os.path.join(tmp, "merged.pcapng")
        rows = []
        dt, rss = run(["mergecap", "-w", merged] + files, ok=(0,))
        rows.append(("mergecap -w", dt, rss))
        dt, rss = run(py + ["assoc", "--workers", "1", merged], os.path.join(tmp, "one.txt"), ok=(0,))
        rows.append(("assoc merged file, 1 process", dt, rss))
        rows.append(("  mergecap + assoc", rows[0][1] + dt, max(rss, rows[0][2])))
        dt, rss = run(py + ["assoc", "--workers", "1"] + files, os.path.join(tmp, "set.txt"), ok=(0,))
        rows.append((f"assoc {len(files)} files, 1 process", dt, rss))
        dt, rss = run(py + ["assoc", "--workers", "2"] + files, os.path.join(tmp, "w2.txt"), ok=(0,))
        rows.append((f"assoc {len(files)} files --workers 2", dt, rss))
        dt, rss = run(py + ["assoc", "--dask"] + files, os.path.join(tmp, "dask.txt"), ok=(0,))
        rows.append((f"assoc --dask {len(files)} files", dt, rss))
        dt, rss = run(py + ["export", "-q", "--to", os.path.join(tmp, "x")] + files, ok=(0,))
        rows.append((f"export {len(files)} files", dt, rss))
        same = [open(os.path.join(tmp, f)).read()
                for f in ("one.txt", "set.txt", "w2.txt", "dask.txt")]
        print(f"{a.n} frames in {len(files)} files; outputs identical: "
              f"{all(x == same[0] for x in same)}; {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")
        for name, dt, rss in rows:
            print(f"{name:28s} {dt:8.2f} s  {a.n / dt:10.0f} pkt/s  peak RSS {rss:7.1f} MiB")
    finally:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
