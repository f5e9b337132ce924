#!/usr/bin/env python3
"""Make the project's own SCTP captures (captures/*.pcapng) with the kernel lab.

    python captures/make_captures.py                 # all of them
    python captures/make_captures.py fragmented      # some of them

Real Linux kernel SCTP between two network namespaces joined by veth pairs
(sctpinspect.lab.Topology), captured by dumpcap in the client namespace, with
SCTP checksum offload OFF so every CRC32c on the wire is real.  When this
kernel has no SCTP, the script boots the lab VM (virtme-ng, Debian kernel)
and runs itself inside it.  Each capture is checked with tshark before it is
kept.  Addresses are documentation networks (192.0.2.0/24, 198.51.100.0/24).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from sctpinspect.lab import Topology, vm  # noqa: E402
from sctpinspect.lab.tshark import tshark_rows  # noqa: E402

FAST_RTO = (("rto_min", 100), ("rto_initial", 300), ("rto_max", 1000))


def _pair(paths: int = 1) -> Topology:
    t = Topology.pair(paths=paths)
    for p in t.paths:
        t.checksum_offload(p.dev_a, on=False)
        t.checksum_offload(p.dev_b, on=False)
    return t


def _chunk_types(pcap) -> list[int]:
    return [int(c) for r in tshark_rows(pcap, ["sctp.chunk_type"]) for c in r[0].split(",") if c]


def clean_association(out: Path) -> str:
    """Handshake, DATA on 4 streams with PPIDs 18 (S1AP), 46 (Diameter), 60
    (NGAP) and 0, echoed back by the server, graceful shutdown."""
    with _pair() as t, t.capture("client0", str(out)):
        srv = t.server(port=36412, streams=8, echo=True)
        cli = t.client(port=36412, streams=8, echo=True,
                       messages=["0:18:120", "1:46:200", "2:60:80", "3:0:=hello sctp", "1:46:64"])
        crec, srec = cli.result(), srv.result()
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    types = _chunk_types(out)
    for c in (1, 2, 10, 11, 0, 3, 7, 8, 14):
        assert c in types, (c, types)
    return "echoed DATA on streams 0-3, PPIDs 18/46/60/0, graceful shutdown"


def fragmented(out: Path) -> str:
    """Messages larger than the path MTU (1500): the kernel fragments them
    into several DATA chunks (B/E bits) that the receiver reassembles."""
    with _pair() as t, t.capture("client0", str(out)):
        srv = t.server(port=5000)
        cli = t.client(port=5000, messages=["0:0:4000", "1:46:9000", "2:0:=small", "0:0:3000"])
        crec, srec = cli.result(), srv.result()
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    assert [m["size"] for m in srec["received"]] == [4000, 9000, 5, 3000]
    be = [r[0] for r in tshark_rows(out, ["sctp.data_b_bit", "sctp.data_e_bit"], "sctp.chunk_type == 0")]
    assert len(be) >= 10, be
    return "4000/9000/3000-byte messages fragmented at MTU 1500, one unfragmented"


def init_abort(out: Path) -> str:
    """INIT to a port nobody listens on: the kernel answers ABORT (RFC 9260 8.4)."""
    with _pair() as t, t.capture("client0", str(out)):
        crec = t.client(port=5999, messages=["0:0:=nobody home"], timeout=10).result()
    assert crec["error"] == "ECONNREFUSED", crec
    assert _chunk_types(out) == [1, 6], _chunk_types(out)
    return "INIT to port 5999 without listener, ABORT back, connect() gets ECONNREFUSED"


def lossy_retransmissions(out: Path) -> str:
    """netem drops 15% each way: T3-rtx timeouts, fast retransmits, duplicate TSNs."""
    for attempt in range(3):
        with _pair() as t:
            for k, v in FAST_RTO:
                t.sysctl(None, f"net.sctp.{k}", v)
            t.netem("client0", loss=15)
            t.netem("server0", loss=15)
            with t.capture("client0", str(out)):
                srv = t.server(port=5000, timeout=60)
                cli = t.client(port=5000, messages=["0:0:400", "1:0:400"], repeat=20,
                               interval=0.02, timeout=60)
                crec, srec = cli.result(120), srv.result(120)
        assert crec["error"] is None and srec["error"] is None, (crec, srec)
        assert len(srec["received"]) == 40
        rtx = [r for r in tshark_rows(out, ["sctp.retransmission"], "sctp.retransmission",
                                      extra=["-o", "sctp.tsn_analysis:TRUE"])]
        if len(rtx) >= 3:
            return (f"40 messages of 400 bytes with 15% netem loss each way; "
                    f"{len(rtx)} frames with retransmitted DATA")
    raise AssertionError("fewer than 3 retransmissions in 3 attempts")


def multihomed_failover(out: Path) -> str:
    """Both ends bound to two addresses (two veth paths); path 0 is cut after
    1 s and DATA moves to path 1.  Both client interfaces in one pcapng."""
    with _pair(paths=2) as t:
        for k, v in FAST_RTO + (("path_max_retrans", 2), ("hb_interval", 500)):
            t.sysctl(None, f"net.sctp.{k}", v)
        with t.capture(["client0", "client1"], str(out)):
            srv = t.server(port=5000, timeout=60)
            cli = t.client(port=5000, messages=["0:0:200"], repeat=30, interval=0.1, timeout=60)
            time.sleep(1.0)
            t.cut(0)
            crec, srec = cli.result(120), srv.result(120)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    assert len(srec["received"]) == 30
    dsts = {r[0] for r in tshark_rows(out, ["ip.dst"], "sctp.chunk_type == 0")}
    assert dsts == {"192.0.2.2", "198.51.100.2"}, dsts
    return ("client 192.0.2.1+198.51.100.1, server 192.0.2.2+198.51.100.2; 30 messages at "
            "10/s, path 192.0.2.0/24 cut (netem loss 100%) after 1 s, DATA fails over")


SCENARIOS = {
    "clean-association": clean_association,
    "fragmented": fragmented,
    "init-abort": init_abort,
    "lossy-retransmissions": lossy_retransmissions,
    "multihomed-failover": multihomed_failover,
}


def run_here(names: list[str], outdir: Path) -> int:
    failed = 0
    for name in names:
        out = outdir / f"{name}.pcapng"
        tmp = Path(tempfile.mkdtemp(prefix="mkcap-")) / out.name
        start = time.monotonic()
        try:
            what = SCENARIOS[name](tmp)
        except Exception as e:  # report and go on with the others
            print(f"FAILED {name}: {e!r}", flush=True)
            failed += 1
            continue
        out.write_bytes(tmp.read_bytes())
        print(f"made {out.name} ({out.stat().st_size} bytes, "
              f"{time.monotonic() - start:.1f} s): {what}", flush=True)
    return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*",
                    help=f"captures to make (default all): {', '.join(SCENARIOS)}")
    ap.add_argument("--out", default=str(HERE), help="output directory (default captures/)")
    ap.add_argument("--timeout", type=float, default=600, help="bound on the VM run, s")
    a = ap.parse_args(argv)
    names = a.names or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown capture {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    outdir = Path(a.out).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    if vm.sctp_available():
        if os.geteuid() != 0:
            print("make_captures: needs root (namespaces, tc, ethtool)", file=sys.stderr)
            return 2
        return run_here(names, outdir)
    log = Path(tempfile.mkdtemp(prefix="mkcap-vm-")) / "console.log"
    cmd = " ".join(shlex.quote(x) for x in [sys.executable, str(HERE / "make_captures.py"),
                                            "--out", str(outdir), *names])
    print(f"no kernel SCTP here: booting the lab VM (console log {log})", flush=True)
    try:
        rc = vm.run_in_vm(f"cd {shlex.quote(str(REPO))} && {cmd}",
                          rwdirs=sorted({str(REPO), str(outdir)}), log_path=log,
                          timeout=a.timeout, cwd=str(REPO))
    except vm.LabError as e:
        print(e, file=sys.stderr)
        return 1
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(("made ", "FAILED ")):
            print(line)
    if rc != 0:
        print(vm.log_tail(log), file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
