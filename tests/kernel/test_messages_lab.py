"""``messages --json`` / ``--export`` on kernel SCTP traffic: exactly what the peer sent.

Truth: the client's own record of each message it passed to sendmsg() (SID,
PPID, size and the bytes).  Messages up to 64 KiB are fragmented by the
kernel at the veth MTU (1500), and 10 % of the server's packets are lost, so
the client may retransmit fragments the capture already saw; every message
must still be listed once, complete, with its bytes.  The second test sends
the same messages as I-DATA (RFC 8260), the kernel interleaving them.
"""
from __future__ import annotations

import json
from collections import defaultdict

import pytest

from sctpinspect.cli import main

pytestmark = pytest.mark.kernel


MESSAGES = ["0:18:100", "1:46:65536", "2:60:1", "1:46:3000", "3:0:20000", "0:18:1452",
            "2:60:65536", "1:46:1453"]


def test_messages_and_export_are_what_the_peer_sent(topology, tmp_path, capsys):
    t = topology()
    t.netem("server0", loss=10)
    pcap = tmp_path / "msgs.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5010, streams=8, timeout=120)
        cli = t.client(port=5010, messages=MESSAGES, streams=8, timeout=120)
        crec, srec = cli.result(timeout=150), srv.result(timeout=150)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    rows = _check(crec, pcap, t, tmp_path, capsys, "ssn")
    assert max(r["fragments"] for r in rows) >= 44


def test_idata_messages_and_export(topology, tmp_path, capsys):
    """The same with I-DATA (RFC 8260, net.sctp.intl_enable): MIDs instead of SSNs."""
    t = topology()
    t.sysctl(None, "net.sctp.intl_enable", 1)
    pcap = tmp_path / "idata.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5011, streams=8, timeout=120, interleave=True)
        cli = t.client(port=5011, messages=MESSAGES, streams=8, timeout=120, interleave=True)
        crec, srec = cli.result(timeout=150), srv.result(timeout=150)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    rows = _check(crec, pcap, t, tmp_path, capsys, "mid")
    assert all(r["ssn"] is None for r in rows)


def _check(crec, pcap, t, tmp_path, capsys, seq):
    capsys.readouterr()
    assert main(["messages", "--json", str(pcap)]) == 0
    rows = json.loads(capsys.readouterr().out)
    client = t.client_host.addrs[0]
    mine = [r for r in rows if r["sender"].rsplit(":", 1)[0].strip("[]") == client]
    assert all(r["status"] == "complete" and not r["unordered"] for r in mine)
    # per stream, in SSN order: the messages the client sent on it, in its order
    want, got = defaultdict(list), defaultdict(list)
    for m in crec["sent"]:
        want[m["sid"]].append((m["ppid"], m["size"]))
    for r in mine:
        got[r["sid"]].append((r["ppid"], r["size"]))
    assert got == want
    assert [r[seq] for r in mine if r["sid"] == 1] == [0, 1, 2]
    # 64 KiB in DATA chunks of at most the path MTU (the kernel's GSO may put several of
    # them in one captured frame, so the frames can be fewer)
    assert max(r["fragments"] for r in mine) >= 44

    out = tmp_path / "export"
    assert main(["messages", "--export", str(out), str(pcap)]) == 0
    index = json.loads((out / "index.json").read_text())
    exported = defaultdict(list)
    for r in index:
        if r["sender"].rsplit(":", 1)[0].strip("[]") == client:
            exported[r["sid"]].append((out / r["file"]).read_bytes().hex())
    sent = defaultdict(list)
    for m in crec["sent"]:
        sent[m["sid"]].append(m["payload"])
    assert exported == sent
    return mine
