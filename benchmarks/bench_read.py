"""Benchmark ``sctpinspect read`` against ``tshark -r`` on one large capture.

    python benchmarks/bench_read.py [-n 500000] [--seed 1] [--skip-tshark] [--profile]
                                    [--baseline DIR]

1. generates (once; cached in benchmarks/out/, gitignored) a deterministic
   capture of N frames with a realistic SCTP mix (gen_capture.py);
2. runs, on that same file, each command with stdout to /dev/null:

   * ``sctpinspect read --workers 0 FILE``              (summary lines, one process)
   * ``sctpinspect read FILE``                          (summary lines, worker processes)
   * ``sctpinspect read -T fields -e <31 fields> FILE``
   * ``tshark -r FILE``                                 (summary lines)
   * ``tshark -r FILE -o sctp.relative_tsns:FALSE -T fields -e <same fields>``

   reporting wall time, packets per second (wall and CPU) and peak RSS of the child
   (``/usr/bin/time -f %M``), plus CPU seconds (user+sys, ``os.wait4``: the
   worker processes' time included);
   ``--baseline DIR`` adds the summary and fields reads of an older version
   (DIR holds its ``sctpinspect`` package, e.g. ``git archive <commit>
   sctpinspect | tar -x -C DIR``), so before/after figures come from one run;
3. ``--profile`` additionally runs the summary read in-process under cProfile
   and prints the top functions by cumulative and internal time.

Timings are wall clock on a shared machine: run it when nothing else runs.
Figures go into docs/performance.md by hand, with the date and machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_capture import default_path, generate  # noqa: E402

FIELDS = """frame.number sctp.srcport sctp.dstport sctp.verification_tag sctp.checksum sctp.chunk_type
sctp.chunk_flags sctp.chunk_length sctp.data_tsn sctp.data_sid sctp.data_ssn
sctp.data_payload_proto_id sctp.data_mid sctp.data_fsn sctp.init_initiate_tag
sctp.init_nr_out_streams sctp.init_nr_in_streams sctp.init_initial_tsn sctp.init_credit
sctp.initack_initiate_tag sctp.sack_cumulative_tsn_ack sctp.sack_a_rwnd sctp.sack_gap_block_start
sctp.sack_gap_block_end sctp.sack_duplicate_tsn sctp.parameter_type sctp.cause_code
sctp.shutdown_cumulative_tsn_ack sctp.forward_tsn_tsn sctp.abort_t_bit
sctp.asconf_seq_nr_number""".split()


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, int, int]:
    """(wall s, CPU s user+sys, peak RSS KiB, exit status) of ``cmd``, stdout discarded.

    CPU time is reported beside wall time because the machine is shared: on a
    busy box wall time measures the neighbours, CPU time measures the program.
    Peak RSS comes from ``/usr/bin/time -f %M`` when it exists: a forked child's
    ru_maxrss includes the parent's pages at fork time, which would charge this
    script's own memory (the capture generator) to the command measured.
    """
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    full = [gnu_time, "-f", "@@rss %M", *cmd] if gnu_time else cmd
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        # the baseline runs from its own directory: ``-m`` puts the cwd first on sys.path
        proc = subprocess.Popen(full, stdout=null, stderr=subprocess.PIPE, env=env,
                                cwd=env["PYTHONPATH"] if env else None)
        err = proc.stderr.read().decode(errors="replace")
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.stderr.close()
        proc.returncode = os.waitstatus_to_exitcode(status)
    rss = ru.ru_maxrss
    for line in err.splitlines():
        if line.startswith("@@rss "):
            rss = int(line.split()[1])
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[:4])}... exited {proc.returncode}: {err.strip()[-300:]}",
              file=sys.stderr)
    return wall, ru.ru_utime + ru.ru_stime, rss, proc.returncode


def profile(path: str, fields: bool, top: int = 25) -> None:
    import cProfile
    import io
    import pstats
    from contextlib import redirect_stdout, redirect_stderr
    from sctpinspect.cli import main as cli_main
    argv = ["read", "--no-progress", path]
    if fields:
        argv = ["read", "--no-progress", "-T", "fields"] + [x for f in FIELDS for x in ("-e", f)] + [path]
    pr = cProfile.Profile()
    sink = io.StringIO()
    with open(os.devnull, "w") as null, redirect_stdout(null), redirect_stderr(sink):
        pr.enable()
        cli_main(argv)
        pr.disable()
    for key in ("tottime", "cumulative"):
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats(key).print_stats(top)
        print(f"--- profile of `sctpinspect {' '.join(argv[:3])}...` by {key} ---")
        print(s.getvalue())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=500_000, help="frames in the generated capture")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--file", help="benchmark this capture instead of generating one")
    ap.add_argument("--skip-tshark", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile the summary and fields reads")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also run the reads with the sctpinspect package found in DIR (an older version)")
    a = ap.parse_args(argv)

    path = a.file or default_path(a.n, a.seed)
    if not os.path.exists(path):
        t0 = time.perf_counter()
        st = generate(path, a.n, a.seed)
        print(f"generated {path}: {st['frames']} frames, {st['sctp']} SCTP, "
              f"{st['associations']} associations in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    size = os.path.getsize(path)
    frames = a.n
    if a.file:
        out = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True).stdout
        frames = int(out.split()[-1]) if out else 0

    efields = [x for f in FIELDS for x in ("-e", f)]
    py = [sys.executable, "-m", "sctpinspect", "read", "--no-progress"]
    runs = [
        ("sctpinspect read (summary, one process: --workers 0)", py + ["--workers", "0", path]),
        ("sctpinspect read --no-checksum (summary, --workers 0)", py + ["--workers", "0", "--no-checksum", path]),
        ("sctpinspect read (summary, default: worker processes)", py + [path]),
        (f"sctpinspect read -T fields ({len(FIELDS)} fields)", py + ["-T", "fields"] + efields + [path]),
    ]
    envs = {}
    if a.baseline:
        base = os.path.abspath(a.baseline)
        env = dict(os.environ, PYTHONPATH=base)
        runs[:0] = [("baseline read (summary)", py + [path]),
                    (f"baseline read -T fields ({len(FIELDS)} fields)", py + ["-T", "fields"] + efields + [path])]
        envs = {"baseline read (summary)": env, f"baseline read -T fields ({len(FIELDS)} fields)": env}
    tshark = shutil.which("tshark")
    if tshark and not a.skip_tshark:
        runs += [
            ("tshark -r (summary)", [tshark, "-r", path]),
            (f"tshark -T fields ({len(FIELDS)} fields)",
             [tshark, "-r", path, "-o", "sctp.relative_tsns:FALSE", "-T", "fields"] + efields),
        ]
    print(f"capture: {path} ({size / 1e6:.1f} MB, {frames} frames)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    print()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| command | wall s | CPU s | frames/s (wall) | frames/s (CPU) | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cmd in runs:
        wall, cpu, rss, rc = timed(cmd, envs.get(name))
        mark = "" if rc == 0 else f" (exit {rc})"
        print(f"| {name}{mark} | {wall:.1f} | {cpu:.1f} | {frames / wall:,.0f} | {frames / cpu:,.0f} "
              f"| {rss / 1024:.0f} |", flush=True)
    if a.profile:
        profile(path, fields=False)
        profile(path, fields=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
