"""The analyzer recovers what real kernel SCTP peers did (they record it themselves).

Truth: the peers' records (messages sent with SID/PPID/size, association ids,
errors) and, for retransmissions, tshark's view of the same capture.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest

from sctpinspect.analysis import analyze_file
from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel


def _sent(rec):
    return [(m["sid"], m["ppid"], m["size"]) for m in rec["sent"]]


def _msgs(result, assoc, sender):
    return [(m.sid, m.ppid, m.length) for m in result.messages
            if m.assoc == assoc.index and m.sender == sender]


def test_messages_fragmentation_and_retransmissions(topology, tmp_path):
    t = topology()
    # SACKs from the server are lost 15 % of the time -> the client's T3-rtx fires and
    # retransmits DATA that the capture on client0 has already seen once.
    t.netem("server0", loss=15)
    pcap = tmp_path / "loss.pcapng"
    messages = ["0:18:100", "1:46:4000", "2:60:50", "3:0:1400", "1:46:3000", "0:18:1200"] * 3
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000, streams=8, timeout=90)
        cli = t.client(port=5000, messages=messages, streams=8, timeout=90)
        crec, srec = cli.result(timeout=120), srv.result(timeout=120)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    r = analyze_file(str(pcap))
    assert len(r.associations) == 1
    a = r.associations[0]
    # everything the client sent, in order, with SID/PPID/size (4000 B > MTU 1500: fragmented)
    assert _msgs(r, a, 1) == _sent(crec)
    big = [m for m in r.messages if m.length == 4000]
    assert big and all(len(m.frames) >= 3 for m in big)
    # retransmissions = DATA chunks on the wire minus distinct TSNs (tshark's view)
    tsns = []
    for (row,) in tshark_rows(pcap, ["sctp.data_tsn_raw"], "ip.src == %s && sctp.chunk_type == 0"
                              % t.client_host.addrs[0]):
        tsns += row.split(",")
    assert a.dirs[0].retransmissions == len(tsns) - len(set(tsns))
    # graceful shutdown started by the client
    assert a.state == ("CLOSED", "CLOSED") and a.end_reason == "SHUTDOWN"
    assert a.streams_negotiated(0) == 8


def test_several_associations_one_to_one_and_one_to_many(topology, tmp_path):
    t = topology()
    pcap = tmp_path / "many.pcapng"
    with t.capture("client0", str(pcap)):
        many = t.server(port=5001, style="seqpacket", assocs=2)
        one = t.server(port=5002)
        clients = [t.client(port=5001, style="seqpacket", messages=[f"{n}:{100 + n}:{200 + n}"])
                   for n in range(2)]
        clients.append(t.client(port=5002, messages=["4:7:=one-to-one", "5:8:3000"]))
        recs = [c.result() for c in clients]
        srecs = [many.result(), one.result()]
    assert all(x["error"] is None for x in recs + srecs), (recs, srecs)
    assert len(set(srecs[0]["assoc_ids"])) == 2
    r = analyze_file(str(pcap))
    assert len(r.associations) == 3
    got = sorted(tuple(_msgs(r, a, 1)) for a in r.associations)
    assert got == sorted(tuple(_sent(x)) for x in recs)
    assert all(a.state == ("CLOSED", "CLOSED") for a in r.associations)


def test_abort_states(topology, tmp_path):
    t = topology()
    pcap = tmp_path / "abort.pcapng"
    with t.capture("client0", str(pcap)):
        crec = t.client(port=5999, messages=["0:0:=nobody"], timeout=10).result()
    assert crec["error"] == "ECONNREFUSED"
    r = analyze_file(str(pcap))
    assert len(r.associations) == 1
    a = r.associations[0]
    assert a.state == ("CLOSED", "CLOSED") and a.end_reason == "ABORT"
    steps = [(x["endpoint"], x["from"], x["to"]) for x in a.transitions]
    assert steps == [(1, "CLOSED", "COOKIE-WAIT"), (1, "COOKIE-WAIT", "CLOSED")]


def test_multihomed_association_survives_path_cut(topology, tmp_path):
    t = topology(paths=2)
    for key, val in (("rto_min", 100), ("rto_initial", 200), ("rto_max", 400),
                     ("path_max_retrans", 2), ("hb_interval", 300)):
        t.sysctl(None, f"net.sctp.{key}", val)
    pcap = tmp_path / "mh.pcapng"
    with t.capture([p.dev_a for p in t.paths], str(pcap)):
        srv = t.server(port=5003, timeout=90)
        cli = t.client(port=5003, messages=["0:18:300"], repeat=40, interval=0.1, timeout=90)
        time.sleep(1.0)
        t.cut(0)
        crec, srec = cli.result(timeout=120), srv.result(timeout=120)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    r = analyze_file(str(pcap))
    assert len(r.associations) == 1
    a = r.associations[0]
    client_addrs = {p.addr_a for p in t.paths}
    assert client_addrs <= set(a.ep[0].addresses)
    assert len(_msgs(r, a, 1)) == 40
    data_paths = {(p.src, p.dst) for p in a.paths.values() if p.data_chunks}
    assert len(data_paths) >= 2
    assert any(frm[0] == t.paths[0].addr_a and to[0] == t.paths[1].addr_a
               for _, _, s, frm, to in a.path_changes if s == 1)
    assert Counter(a.state) == Counter({"CLOSED": 2})
