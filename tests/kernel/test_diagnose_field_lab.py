"""Field failures made by real Linux SCTP peers (issue 19), diagnosed root cause first.

A receiver that stops reading: its receive window falls to 0 and stays there, the
sender's zero-window probes are dropped (RFC 9260 6.2.1), the cumulative TSN ack
stops while the receiver keeps SACKing; the sender finally aborts (SO_LINGER 0).
``diagnose`` must say rwnd-deadlock, with the stall, the zero window, the
retransmissions and the ABORT as its effects and the verdict naming the ABORT.
The same transfer with a receiver that reads gives nothing above info.

The other field rules need misbehaviour the Linux stack does not show (a static
cookie, a partial FORWARD TSN, zero checksums sent without negotiation, an ABORT
after INIT ACK for too few streams: Linux accepts any stream count): they are
tested on crafted packets in tests/test_diagnose_field.py.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sctpinspect.diagnostics import diagnose_file
from sctpinspect.diagnostics.chain import chains
from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel

_SERVER = textwrap.dedent("""
    import socket, sys, time
    read = sys.argv[1] == "read"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if not read:    # a small buffer fills fast; the reader keeps the default one
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("0.0.0.0", 5003)); s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    end = time.time() + 12
    while time.time() < end:
        if read:
            c.settimeout(0.5)
            try:
                if not c.recv(65536):
                    break
            except (socket.timeout, OSError):
                pass
        else:
            time.sleep(0.2)     # never reads: the window fills and stays full
    c.close()
""")

_CLIENT = textwrap.dedent("""
    import socket, struct, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
    s.connect((sys.argv[1], 5003))
    s.setblocking(False)
    sent, end = 0, time.time() + float(sys.argv[2])
    while time.time() < end and sent < int(sys.argv[3]):
        try:
            s.send(b"x" * 1000); sent += 1
        except BlockingIOError:
            time.sleep(0.05)
    time.sleep(0.5)
    if sys.argv[4] == "abort":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.setblocking(True)
    s.close()      # SO_LINGER 0: ABORT (RFC 6458 8.1.4); else a graceful SHUTDOWN
    print(sent, flush=True)
""")


def _run(t, tmp_path, name, mode, seconds, messages, end):
    if mode == "stop":
        # short timers: several zero-window probes in a few seconds (with the reader the
        # defaults stay: a 200 ms RTO is below the 200 ms delayed SACK and retransmits)
        for key, val in (("rto_min", 200), ("rto_initial", 300), ("rto_max", 800)):
            t.sysctl(None, f"net.sctp.{key}", val)
    t.checksum_offload("client0", on=False)
    pcap = tmp_path / f"{name}.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.popen("server", [sys.executable, "-c", _SERVER, mode], stdout=subprocess.PIPE,
                      text=True)
        assert srv.stdout.readline().strip() == "ready"
        t.ns("client", [sys.executable, "-c", _CLIENT, t.server_host.addrs[0], str(seconds),
                        str(messages), end])
        srv.wait(timeout=30)
    return pcap


def test_receiver_that_stops_reading_is_an_rwnd_deadlock(topology, tmp_path):
    t = topology()
    pcap = _run(t, tmp_path, "noread", "stop", 8.0, 100000, "abort")
    r = diagnose_file(str(pcap))
    rules = {}
    for f in r.findings:
        rules.setdefault(f.rule, []).append(f)
    [dl] = rules["rwnd-deadlock"]
    # the first SACK from the server with a_rwnd 0 starts it (tshark, the oracle)
    srv = t.server_host.addrs[0]
    zero = [int(f) for (f,) in tshark_rows(pcap, ["frame.number"],
                                            f"ip.src == {srv} && sctp.sack_a_rwnd == 0")]
    assert zero and dl.frames[0] == zero[0]
    assert dl.extra["probes"] >= 1 and dl.extra["seconds"] >= 3.0
    ordered = chains([f for f in r.findings if f.association == dl.association])
    parent = {id(f): c for f, _, c in ordered}
    assert ordered[0][0] is dl
    for rid in ("zero-window", "abort"):
        assert parent[id(rules[rid][0])] is dl, rid
    assert parent[id(rules["stall"][0])] is dl
    v = r.verdicts()[dl.association]
    assert v.startswith(f"ABORT by {t.client_host.addrs[0]}:") and "(rwnd-deadlock)" in v


def test_receiver_that_reads_gives_nothing_above_info(topology, tmp_path):
    t = topology()
    pcap = _run(t, tmp_path, "reads", "read", 4.0, 300, "close")
    r = diagnose_file(str(pcap), min_severity="warn")
    assert r.findings == [], [f.to_dict() for f in r.findings]
    assert r.verdicts() == {}
