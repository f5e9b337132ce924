"""Every analysis command side by side with tshark, in the same run, and peak RSS by capture size.

    python benchmarks/bench_commands.py --file CAPTURE          # one capture (e.g. a kernel-lab one)
    python benchmarks/bench_commands.py -n 100000               # a generated capture (gen_capture.py)
    python benchmarks/bench_commands.py --rss-sizes 100000,1000000,3000000 --commands assoc,diagnose

Each command runs as its own process, alternating with tshark over
``--repeat`` rounds (so a slower moment of a shared machine hits both);
figures are the best wall time of the rounds, and the peak RSS of the
process (``ru_maxrss`` from ``os.wait4``).  ``ratio`` is tshark's time over
ours: above 1.0 we are faster.  The tshark references: ``tshark -r`` (the
summary), ``tshark -r -o sctp.tsn_analysis:TRUE`` (its association/TSN
analysis) and ``tshark -T fields`` with the same 31 fields as ``read -T
fields``.  Figures: docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_read import FIELDS  # noqa: E402  the 31 fields of the first wave

OURS = {
    "read": ["read"],
    "read --workers 0": ["read", "--workers", "0"],          # one process
    "read -T fields": ["read", "-T", "fields"] + [x for f in FIELDS for x in ("-e", f)],
    "assoc": ["assoc"],
    "assoc --workers 1": ["assoc", "--workers", "1"],         # one process
    "streams": ["streams"],
    "diagnose": ["diagnose"],
    "diagnose --workers 1": ["diagnose", "--workers", "1"],   # one process
}
THEIRS = {
    "tshark -r": ["-r"],
    "tshark -r (TSN analysis)": ["-o", "sctp.tsn_analysis:TRUE", "-r"],
    "tshark -T fields": ["-T", "fields"] + [x for f in FIELDS for x in ("-e", f)] + ["-r"],
}
COMPARE = {"read": "tshark -r", "read --workers 0": "tshark -r",
           "read -T fields": "tshark -T fields", "assoc": "tshark -r",
           "assoc --workers 1": "tshark -r", "streams": "tshark -r", "diagnose": "tshark -r",
           "diagnose --workers 1": "tshark -r"}


CPU: dict = {}       # command -> CPU seconds (user + system, with its children) of its best round


def run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process, its output discarded
    (its CPU seconds, children included, in ``run.cpu``)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    before = os.times()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    after = os.times()
    # the process's own CPU from wait4, plus the worker processes it reaped
    run.cpu = ru.ru_utime + ru.ru_stime + max(0.0, (after.children_user + after.children_system)
                                               - (before.children_user + before.children_system)
                                               - (ru.ru_utime + ru.ru_stime))
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3, 4):       # diagnose exits 3 on warnings, 4 on errors
        raise SystemExit(f"{' '.join(argv[:4])}...: exit {code}")
    return wall, ru.ru_maxrss / 1024


def ours(cmd: str, path: str) -> list[str]:
    return [sys.executable, "-m", "sctpinspect"] + OURS[cmd][:1] + [path] + OURS[cmd][1:]


def theirs(cmd: str, path: str) -> list[str]:
    return ["tshark", "-n"] + THEIRS[cmd] + [path]


def generated(n: int, seed: int = 1) -> str:
    out = HERE / "out" / f"bench-{n}-s{seed}.pcap"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "gen_capture.py"), "-n", str(n), "--seed",
                        str(seed), "-o", str(out)], check=True)
    return str(out)


def side_by_side(path: str, commands: list[str], repeat: int, tshark: bool) -> list[dict]:
    best: dict = {}
    names = [("ours", c) for c in commands]
    if tshark:
        names += [("tshark", c) for c in THEIRS]
    for r in range(repeat):
        for kind, c in names:
            wall, rss = run(ours(c, path) if kind == "ours" else theirs(c, path))
            b = best.setdefault(c, [wall, rss])
            if wall <= b[0]:
                CPU[c] = run.cpu
            b[0], b[1] = min(b[0], wall), max(b[1], rss)
            print(f"  round {r + 1}: {c:28} {wall:7.2f} s {rss:7.1f} MiB", file=sys.stderr)
    rows = []
    for kind, c in names:
        wall, rss = best[c]
        ref = best.get(COMPARE.get(c, ""))
        rows.append({"command": c if kind == "tshark" else f"sctpinspect {c}", "seconds": wall,
                     "cpu": CPU.get(c), "rss_mib": rss, "ratio": (ref[0] / wall) if kind == "ours" and ref else None,
                     "vs": COMPARE.get(c) if kind == "ours" and ref else None})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", help="benchmark this capture (default: a generated one)")
    ap.add_argument("-n", type=int, default=100_000, help="frames of the generated capture")
    ap.add_argument("--commands", default=",".join(OURS), help="comma-separated, of: " + ", ".join(OURS))
    ap.add_argument("--repeat", type=int, default=2, help="alternating rounds (best time kept)")
    ap.add_argument("--skip-tshark", action="store_true")
    ap.add_argument("--rss-sizes", help="comma-separated frame counts: peak RSS of each command "
                    "on a generated capture of each size (one round, no tshark)")
    a = ap.parse_args(argv)
    commands = [c.strip() for c in a.commands.split(",") if c.strip()]
    bad = [c for c in commands if c not in OURS]
    if bad:
        ap.error(f"unknown command {bad[0]!r}; choose from {', '.join(OURS)}")
    if not a.skip_tshark and not a.rss_sizes and shutil.which("tshark") is None:
        ap.error("tshark is not installed (apt-get install tshark), or pass --skip-tshark")
    if a.rss_sizes:
        sizes = [int(x) for x in a.rss_sizes.split(",")]
        print("| command | " + " | ".join(f"{n:,} frames" for n in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        paths = [generated(n) for n in sizes]
        for c in commands:
            cells = []
            for p in paths:
                wall, rss = run(ours(c, p))
                cells.append(f"{rss:.0f} MiB ({wall:.1f} s)")
                print(f"  {c} {p}: {wall:.1f} s {rss:.1f} MiB", file=sys.stderr)
            print(f"| sctpinspect {c} | " + " | ".join(cells) + " |", flush=True)
        return 0
    path = a.file or generated(a.n)
    if not os.path.isfile(path):
        ap.error(f"{path}: no such file")
    print(f"capture: {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    print("| command | seconds (wall) | CPU seconds | peak RSS | ratio (tshark / ours, wall) |")
    print("|---|---|---|---|---|")
    for row in side_by_side(path, commands, a.repeat, not a.skip_tshark):
        ratio = f"{row['ratio']:.2f}x vs `{row['vs']}`" if row["ratio"] else ""
        cpu = f"{row['cpu']:.2f}" if row["cpu"] is not None else ""
        print(f"| {row['command']} | {row['seconds']:.2f} | {cpu} | {row['rss_mib']:.0f} MiB | "
              f"{ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
