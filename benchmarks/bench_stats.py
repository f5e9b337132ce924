"""``stats``, ``read -q -z`` and ``read -2`` side by side with tshark, in the same run.

    python benchmarks/bench_stats.py --file benchmarks/out/kernel-210k.pcapng --repeat 1
    python benchmarks/bench_stats.py -n 100000                 # a generated capture

Pairs (each command its own process, alternating with tshark over ``--repeat``
rounds; the best wall time, the peak RSS; ``ratio`` is tshark's time over
ours, above 1.0 we are faster):

* ``sctpinspect stats`` (one block per association) and ``read -q -z
  sctp,stat -z conv,sctp -z endpoints,sctp`` (tshark's layout) against
  ``tshark -q -z sctp,stat -z conv,sctp -z endpoints,sctp``;
* ``read -2 -T fields`` with the two-pass analysis fields of issue 15 against
  ``tshark -2 -o sctp.tsn_analysis:TRUE ... -T fields`` with the same fields;
* ``read -2`` (summary lines) against ``tshark -2 -o sctp.tsn_analysis:TRUE -r``.

Figures: docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_commands as bc  # noqa: E402  run() (wall, RSS, CPU) and generated()

Z = ["-z", "sctp,stat", "-z", "conv,sctp", "-z", "endpoints,sctp"]
TWO_PASS_FIELDS = ["frame.number", "sctp.acked", "sctp.data_rtt", "sctp.retransmitted",
                   "sctp.retransmitted_after_ack", "sctp.fragment", "sctp.fragments",
                   "sctp.reassembled_in", "sctp.duplicate"]
E = [x for f in TWO_PASS_FIELDS for x in ("-e", f)]
TSHARK_2 = ["-2", "-o", "sctp.tsn_analysis:TRUE", "-o", "sctp.association_index:TRUE",
            "-o", "sctp.relative_tsns:FALSE"]

# name -> (our argv after the file, tshark argv before -r FILE)
PAIRS = {
    "stats": (["stats"], ["-q", *Z]),
    "read -q -z (3 tables)": (["read", "-q", *Z], ["-q", *Z]),
    "read -2 -T fields": (["read", "-2", "-T", "fields", *E], [*TSHARK_2, "-T", "fields", *E]),
    "read -2": (["read", "-2"], TSHARK_2),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", help="benchmark this capture (default: a generated one)")
    ap.add_argument("-n", type=int, default=100_000, help="frames of the generated capture")
    ap.add_argument("--pairs", default=",".join(PAIRS), help="comma-separated, of: "
                    + ", ".join(PAIRS))
    ap.add_argument("--repeat", type=int, default=2, help="alternating rounds (best time kept)")
    a = ap.parse_args(argv)
    pairs = [p.strip() for p in a.pairs.split(",") if p.strip()]
    bad = [p for p in pairs if p not in PAIRS]
    if bad:
        ap.error(f"unknown pair {bad[0]!r}; choose from {', '.join(PAIRS)}")
    if shutil.which("tshark") is None:
        ap.error("tshark is not installed (apt-get install tshark)")
    path = a.file or bc.generated(a.n)
    if not os.path.isfile(path):
        ap.error(f"{path}: no such file")
    print(f"capture: {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    print("| command | ours s (wall) | ours peak RSS | tshark s (wall) | tshark peak RSS "
          "| ratio (tshark / ours) |")
    print("|---|---|---|---|---|---|")
    for name in pairs:
        mine, theirs = PAIRS[name]
        ours_argv = [sys.executable, "-m", "sctpinspect", mine[0], path, *mine[1:]]
        their_argv = ["tshark", "-n", *theirs, "-r", path]
        best = {"ours": [float("inf"), 0.0], "tshark": [float("inf"), 0.0]}
        for r in range(a.repeat):
            for kind, cmd in (("ours", ours_argv), ("tshark", their_argv)):
                wall, rss = bc.run(cmd)
                b = best[kind]
                b[0], b[1] = min(b[0], wall), max(b[1], rss)
                print(f"  round {r + 1}: {kind:6} {name:24} {wall:7.2f} s {rss:7.1f} MiB",
                      file=sys.stderr)
        (ow, orss), (tw, trss) = best["ours"], best["tshark"]
        print(f"| sctpinspect {name} | {ow:.2f} | {orss:.0f} MiB | {tw:.2f} | {trss:.0f} MiB "
              f"| {tw / ow:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
