"""Live capture: packet rate sctpinspect sustains without kernel drops, vs dumpcap.

A sender process pushes crafted SCTP packets (one DATA chunk, 64-byte payload,
132-byte frames) over ``lo`` with a raw IP socket at a paced rate for a few
seconds; the capturer under test writes them to a pcapng file.  Both capturers
get the same small kernel buffer (-B 2 MiB) so the figure is the *sustained*
rate, not how big a burst a buffer absorbs.  Drops are read from what each
tool reports (kernel drop count) and checked against the packets in the file.

    sudo python benchmarks/bench_capture.py [--seconds 3] [--rates 10000,30000,...]

Needs root (raw sockets).  Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

SENDER = r"""
import sys, time
from sctpinspect.capture.traffic import RawSender, RawSink, data_chunk, sctp_packet
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
pkts = [sctp_packet(1000, 2000, 0x100 + i, data_chunk(i, 0, i, 0, bytes(64))) for i in range(256)]
sink = RawSink()
s = RawSender("127.0.0.1")
send = s.send
n = 0
t0 = time.perf_counter()
end = t0 + seconds
batch = max(64, int(rate / 1000))
while True:
    now = time.perf_counter()
    if now >= end:
        break
    due = min(int((now - t0) * rate), n + batch)
    while n < due:
        send(pkts[n & 255])
        n += 1
        if n % 64 == 0:
            sink.drain()
    time.sleep(0.0005)
took = time.perf_counter() - t0
print(n, n / took)
"""


def count_frames(path: str) -> int:
    from sctpinspect.sources import open_capture
    return sum(1 for _ in open_capture(path))


def run_one(tool: str, rate: float, seconds: float, tmp: str) -> dict:
    out = os.path.join(tmp, f"{tool}.pcapng")
    if tool == "dumpcap":
        argv = ["dumpcap", "-q", "-i", "lo", "-B", "2", "-f", "sctp", "-w", out]
        ready = "Capturing on"
    else:
        argv = [sys.executable, "-m", "sctpinspect", "capture", "-i", "lo", "-B", "2", "-w", out]
        if tool == "sctpinspect -q":
            argv.append("-q")
        ready = "Capturing on"
    stdout = subprocess.DEVNULL
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    buf = ""
    while ready not in buf:
        if not select.select([p.stderr], [], [], 30)[0]:
            raise RuntimeError(f"{tool} did not start")
        buf += p.stderr.readline()
    time.sleep(0.5)
    s = subprocess.run([sys.executable, "-c", SENDER, str(rate), str(seconds)],
                       capture_output=True, text=True, check=True)
    sent, achieved = s.stdout.split()
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=120)[1]
    if tool == "dumpcap":
        m = re.search(r"Packets received/dropped on interface '[^']*': (\d+)/(\d+)", err)
        dropped = int(m.group(2)) if m else -1
    else:
        m = re.search(r"(\d+) packets? captured, (\d+) dropped by kernel", err)
        dropped = int(m.group(2)) if m else -1
    written = count_frames(out)
    return {"tool": tool, "sent": int(sent), "rate": float(achieved), "written": written,
            "dropped": dropped}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rates", default="10000,30000,60000,100000,1000000",
                    help="target packet rates (the last, huge one = as fast as the sender can)")
    ap.add_argument("--tools", default="sctpinspect -q,sctpinspect,dumpcap")
    a = ap.parse_args()
    rates = [float(r) for r in a.rates.split(",")]
    tools = a.tools.split(",")
    print(f"| target pps | tool | sent | achieved pps | written | kernel drops |")
    print(f"|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates:
            for tool in tools:
                r = run_one(tool, rate, a.seconds, tmp)
                print(f"| {int(rate)} | {r['tool']} | {r['sent']} | {r['rate']:.0f} | "
                      f"{r['written']} | {r['dropped']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
