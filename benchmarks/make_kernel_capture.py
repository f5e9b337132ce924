"""Make the real-kernel benchmark capture in the kernel lab (issue 14.5).

    python benchmarks/make_kernel_capture.py                 # -> benchmarks/out/kernel-bench.pcapng
    python benchmarks/make_kernel_capture.py --rounds 400 -o /tmp/k.pcapng

Two hosts (network namespaces) joined by two paths (veth pairs), so the
associations are multihomed; SCTP CRC32c offload off on every interface, so
every checksum in the file is the kernel's real CRC32c; netem drops
``--loss`` percent on the client's first path, so the kernel retransmits
(T3-rtx and fast retransmit) and SACKs carry gap blocks.  At the same time:

- ``--diameter`` one-to-one (``SOCK_STREAM``) clients to port 3868 sending
  Diameter Credit-Control Requests (PPID 46, 200 B to 6 KB, the larger ones fragmented
  into several DATA chunks) on several streams, each answered by an echo of
  the same size (request and answer);
- ``--m3ua`` one-to-many (``SOCK_SEQPACKET``) clients to port 2905 sending
  M3UA DATA messages carrying SCCP (PPID 3, 60-300 B);

each sending its message list ``--rounds`` times, then shutting down
gracefully.  dumpcap records both client interfaces into one pcapng.  When the
host kernel has no SCTP the script boots the lab VM (virtme-ng, see
docs/kernel-lab.md) and runs itself inside; the file lands in the checkout.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

# "p": protocol-shaped payloads (well-formed Diameter CCRs, M3UA DATA with SCCP UDT; see
# sctpinspect.lab.peer), so tshark dissects them as it would a core network's traffic
DIAMETER = ["0:46:p220", "1:46:p1400", "2:46:p3800", "3:46:p600", "1:46:p6000", "4:46:p320"]
M3UA = ["0:3:p60", "1:3:p120", "2:3:p272", "3:3:p96", "1:3:p180"]


def inside(a) -> int:
    from sctpinspect.lab import Topology
    out = os.path.abspath(a.output)
    t0 = time.monotonic()
    with Topology.pair(paths=2) as t:
        for dev in ("client0", "client1", "server0", "server1"):
            t.checksum_offload(dev, on=False)
        if a.loss:
            t.netem("client0", loss=a.loss)
        with t.capture(["client0", "client1"], out) as cap:
            servers = [t.server(port=3868, assocs=a.diameter, streams=10, timeout=600, echo=True),
                       t.server(port=2905, style="seqpacket", assocs=a.m3ua, streams=10,
                                timeout=600)]
            clients = [t.client(port=3868, messages=DIAMETER, repeat=a.rounds, streams=10,
                                timeout=600, echo=True) for _ in range(a.diameter)]
            clients += [t.client(port=2905, style="seqpacket", messages=M3UA, repeat=a.rounds * 2,
                                 streams=10, timeout=600) for _ in range(a.m3ua)]
            for c in clients:
                c.result(timeout=1800)
            for s in servers:
                s.result(timeout=600)
            time.sleep(1)                # the last SHUTDOWN COMPLETE reaches dumpcap
            cap.stop()
    print(f"kernel capture: {out} ({os.path.getsize(out) / 1e6:.1f} MB) in "
          f"{time.monotonic() - t0:.0f} s", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default=str(HERE / "out" / "kernel-bench.pcapng"))
    ap.add_argument("--rounds", type=int, default=1800,
                    help="times each client sends its message list (default 1800: ~210k packets)")
    ap.add_argument("--diameter", type=int, default=4, help="one-to-one Diameter-like clients")
    ap.add_argument("--m3ua", type=int, default=3, help="one-to-many M3UA-like clients")
    ap.add_argument("--loss", type=float, default=0.5, help="netem loss on path 1, percent")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.rounds < 1 or a.diameter < 0 or a.m3ua < 0 or not 0 <= a.loss < 100:
        ap.error("--rounds must be >= 1, --diameter/--m3ua >= 0, --loss in 0..100")
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    from sctpinspect.lab import vm
    if a.inside or vm.sctp_available():
        return inside(a)
    script = (f"modprobe sctp; {sys.executable} {Path(__file__).resolve()} --inside "
              f"-o {os.path.abspath(a.output)} --rounds {a.rounds} --diameter {a.diameter} "
              f"--m3ua {a.m3ua} --loss {a.loss}")
    log = Path(a.output).with_suffix(".vm.log")
    print(f"booting the kernel lab VM (console: {log}) ...", file=sys.stderr, flush=True)
    rc = vm.run_in_vm(script, [str(REPO), str(Path(a.output).parent.resolve())], log,
                      timeout=3600, cwd=str(REPO))
    if rc != 0 or not Path(a.output).exists():
        print(f"make_kernel_capture: the VM run failed (exit {rc}); see {log}", file=sys.stderr)
        print(vm.log_tail(log), file=sys.stderr)
        return 1
    print(f"kernel capture: {a.output} ({os.path.getsize(a.output) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
