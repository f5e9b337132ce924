"""CPU cost of decoding, per packet, and of the ``read`` paths built on it.

    python benchmarks/bench_decode.py [FILE] [-n 50000] [--repeat 3] [--tshark] [--only NAME]

Without FILE it uses (generating once, cached in benchmarks/out/) the
deterministic realistic-mix capture of gen_capture.py with ``-n`` frames.
It reports CPU microseconds per frame (``time.process_time()``, best of
``--repeat`` runs: the machine is shared, CPU time of this process is the
fair measure, wall time would measure the neighbours) for:

* ``decode``        Decoder.decode over records already in memory;
* ``decode+walk``   the same, then ``Packet.walk()`` over every field
                    (what -V / JSON / filters pay for the whole tree);
* ``decode+fields`` decode, then FieldsPrinter.line() with the issue's 31
                    sctp fields (the -T fields work without file I/O);
* ``read summary``  ``sctpinspect read FILE`` in-process, stdout to /dev/null;
* ``read fields``   ``sctpinspect read -T fields -e ...`` likewise.

``--tshark`` adds the CPU time (user+sys of the child, os.wait4) of
``tshark -r FILE`` and of ``tshark -r FILE -o sctp.relative_tsns:FALSE -T
fields -e ...`` on the same file, so the comparison is CPU against CPU.
Speed goals live here, never in timed tests.
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_read import FIELDS  # noqa: E402  (the issue's field list, shared)
from gen_capture import default_path, generate  # noqa: E402


def _best(fn, repeat):
    best = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        fn()
        dt = time.process_time() - t0
        best = dt if best is None or dt < best else best
    return best


def bench_decode(records):
    from sctpinspect.decode import Decoder

    def run():
        decode = Decoder().decode
        for r in records:
            decode(r)
    return run


def bench_walk(records):
    from sctpinspect.decode import Decoder

    def run():
        decode = Decoder().decode
        for r in records:
            for _f in decode(r).walk():
                pass
    return run


def bench_fields(records):
    from sctpinspect.decode import Decoder
    from sctpinspect.output.fields import FieldsPrinter

    def run():
        decode = Decoder().decode
        line = FieldsPrinter(FIELDS).line
        for r in records:
            line(decode(r))
    return run


def bench_cli(path, argv):
    from sctpinspect.cli import main as cli_main

    def run():
        with open(os.devnull, "w") as null, redirect_stdout(null), redirect_stderr(null):
            cli_main(argv + [path])
    return run


def tshark_cpu(cmd):
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=null)
        _, status, ru = os.wait4(proc.pid, 0)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", help="capture to measure (default: generated)")
    ap.add_argument("-n", type=int, default=50_000, help="frames of the generated capture")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure; the best is kept")
    ap.add_argument("--tshark", action="store_true", help="also measure tshark's CPU time")
    ap.add_argument("--only", action="append", help="run only these measures (repeatable)")
    a = ap.parse_args(argv)

    path = a.file or default_path(a.n, a.seed)
    if not os.path.exists(path):
        generate(path, a.n, a.seed)
    from sctpinspect.sources import open_capture
    records = list(open_capture(path))
    n = len(records)
    efields = [x for f in FIELDS for x in ("-e", f)]
    measures = [
        ("decode", lambda: bench_decode(records)),
        ("decode+walk", lambda: bench_walk(records)),
        ("decode+fields", lambda: bench_fields(records)),
        ("read summary", lambda: bench_cli(path, ["read", "--no-progress"])),
        ("read fields", lambda: bench_cli(path, ["read", "--no-progress", "-T", "fields"] + efields)),
    ]
    print(f"capture: {path} ({n} frames); python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| measure | CPU s | µs/frame | frames/s |")
    print("|---|---:|---:|---:|")
    for name, make in measures:
        if a.only and name not in a.only:
            continue
        dt = _best(make(), a.repeat)
        print(f"| {name} | {dt:.2f} | {dt / n * 1e6:.1f} | {n / dt:,.0f} |", flush=True)
    tshark = shutil.which("tshark")
    if a.tshark and tshark:
        for name, cmd in (
                ("tshark -r (summary)", [tshark, "-r", path]),
                ("tshark -T fields", [tshark, "-r", path, "-o", "sctp.relative_tsns:FALSE",
                                      "-T", "fields"] + efields)):
            cpu, rss = min(tshark_cpu(cmd) for _ in range(a.repeat))
            print(f"| {name} | {cpu:.2f} | {cpu / n * 1e6:.1f} | {n / cpu:,.0f} |  (peak RSS "
                  f"{rss / 1024:.0f} MiB)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
