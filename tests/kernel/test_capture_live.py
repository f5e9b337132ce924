"""Live capture while real kernel SCTP peers talk (lab VM).

Oracles: what the peers report they sent/received (SCTP_RCVINFO), dumpcap
capturing the same interface at the same time, and tshark decoding files.
Chunk type numbers are RFC 9260 section 3.2.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel

DATA, INIT, INIT_ACK, SACK, SHUTDOWN, SHUTDOWN_ACK = 0, 1, 2, 3, 7, 8
COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE = 10, 11, 14
ONCE = [INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE]
MESSAGES = ["0:18:100", "1:46:300", "2:60:=hello", "3:0:700"]


def start_capture(t, host, iface, path):
    """The capture engine writing pcapng in ``host``'s namespace, started when
    this returns.  The lean recorder (``sctpinspect.capture.record``), not the
    full CLI (tested on the host), because imports are slow in the lab VM."""
    p = t.popen(host, [sys.executable, "-m", "sctpinspect.capture.record", iface, path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fd = p.stderr.fileno()
    err = b""
    deadline = time.monotonic() + 90
    while b"Capturing on" not in err:
        assert p.poll() is None and time.monotonic() < deadline, err
        if select.select([fd], [], [], 0.2)[0]:
            err += os.read(fd, 4096)
    return p


def stop_capture(p) -> str:
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return err.decode()


def frames(path) -> list[bytes]:
    from sctpinspect.sources import open_capture
    return [r.data for r in open_capture(str(path))]


def chunk_types(rows) -> list[int]:
    seq = []
    for row in rows:
        seq += [int(x) for x in row[0].split(",") if x]
    return seq


FIELDS = ["sctp.chunk_type", "sctp.verification_tag", "ip.src", "sctp.checksum.status",
          "sctp.checksum", "sctp.init_initiate_tag", "sctp.initack_initiate_tag",
          "sctp.data_sid", "sctp.data_payload_proto_id", "data.data", "sctp.srcport"]


def _int(text: str) -> int:
    return int(text, 16) if text.startswith("0x") else int(text)


def check_association(pcap, crec, srec, server_port):
    """One tshark run (tshark is slow in the lab VM) and every check on its rows."""
    rows = tshark_rows(pcap, FIELDS)
    seq = chunk_types(rows)
    for c in ONCE:
        assert seq.count(c) == 1, (c, seq)
    assert seq.count(DATA) == len(MESSAGES) and SACK in seq, seq
    # vtags: each side's packets carry the peer's initiate tag (INIT's for
    # the server->client direction, INIT ACK's for client->server).
    init_tag = next(_int(r[5]) for r in rows if r[5])
    ack_tag = next(_int(r[6]) for r in rows if r[6])
    for r in rows:
        ct, vtag, sport = r[0], r[1], int(r[10])
        if ct.split(",")[0] == str(INIT):
            assert int(vtag, 16) == 0
        elif sport != server_port:          # client -> server
            assert int(vtag, 16) == ack_tag
        else:
            assert int(vtag, 16) == init_tag
    wire = []
    for r in rows:
        if r[7]:
            wire += [(_int(a), _int(b), c) for a, b, c in
                     zip(r[7].split(","), r[8].split(","), r[9].split(","))]
    assert wire == [(m["sid"], m["ppid"], m["payload"]) for m in crec["sent"]]
    assert wire == [(m["sid"], m["ppid"], m["payload"]) for m in srec["received"]]
    return rows


def test_full_association_on_veth_once_each_checksum_good(topology, tmp_path):
    t = topology()
    for dev in ("client0", "server0"):
        t.checksum_offload(dev, on=False)
    mine = tmp_path / "live.pcapng"
    p = start_capture(t, "client", "client0", str(mine))
    srv = t.server(port=5000)
    cli = t.client(port=5000, messages=MESSAGES)
    crec, srec = cli.result(), srv.result()
    err = stop_capture(p)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    rows = check_association(mine, crec, srec, 5000)
    assert all(r[3] == "1" for r in rows), rows          # CRC32c good: offload off
    assert f"{len(rows)} packets captured, 0 dropped by kernel" in err


def test_veth_capture_equals_dumpcap(topology, tmp_path):
    """The engine's file holds byte for byte the frames dumpcap saw, same order
    (no tshark here: it is slow in the VM; the test above decodes)."""
    from sctpinspect.lab import Capture
    t = topology()
    mine, ref = tmp_path / "live.pcapng", tmp_path / "dumpcap.pcapng"
    p = start_capture(t, "client", "client0", str(mine))
    with Capture(t.host("client").netns, ["client0"], str(ref), ready_timeout=90):
        srv = t.server(port=5003)
        cli = t.client(port=5003, messages=MESSAGES)
        crec, srec = cli.result(), srv.result()
        stop_capture(p)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    got, want = frames(mine), frames(ref)
    assert len(want) >= 9 + len(MESSAGES)
    assert got == want


def test_full_association_on_loopback_once_each_checksum_offloaded(topology, tmp_path):
    t = topology()
    mine = tmp_path / "lo.pcapng"
    p = start_capture(t, "client", "lo", str(mine))
    srv = t.server(host="client", port=5001, bind=["127.0.0.1"])
    cli = t.client(host="client", connect="127.0.0.1", port=5001, bind=["127.0.0.1"],
                   messages=MESSAGES)
    crec, srec = cli.result(), srv.result()
    stop_capture(p)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    rows = check_association(mine, crec, srec, 5001)
    # On lo the kernel never computes CRC32c (loopback "offloads" it): field 0.
    assert {r[4] for r in rows} == {"0x00000000"}, rows


_FLOOD = r"""
import json, sys, time
from sctpinspect.capture import LiveCapture
cap = LiveCapture(sys.argv[1], buffer_mb=0.25, queue_batches=1).start()
print("ready", flush=True)
sys.stdin.readline()                 # the flood runs while nobody consumes
n = 0
cap.stop()
for rec in cap:
    n += 1
cap.update_stats()
print(json.dumps({"delivered": n, **cap.stats.as_dict()}), flush=True)
"""


def test_flood_with_slow_consumer_reports_kernel_drops(topology):
    t = topology()
    p = t.popen("server", [sys.executable, "-c", _FLOOD, "server0"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    srv = t.server(port=5002)
    cli = t.client(port=5002, messages=["0:0:=x"], repeat=3000)
    crec, srec = cli.result(timeout=120), srv.result(timeout=120)
    assert crec["error"] is None, crec
    p.stdin.write("\n")
    p.stdin.flush()
    st = json.loads(p.stdout.readline())
    p.wait(timeout=60)
    assert st["kernel_dropped"] > 0, st
    assert st["delivered"] == st["captured"]
    # PACKET_STATISTICS: tp_packets counts every packet the filter accepted,
    # the dropped ones included.
    assert st["captured"] + st["kernel_dropped"] == st["kernel_received"], st
