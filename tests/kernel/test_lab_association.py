"""A real kernel SCTP association on a veth pair, captured and decoded by tshark.

The truth is what the kernel peers report (sid, ppid, ssn, tsn, payload via
SCTP_RCVINFO); tshark is the oracle for the wire.  Chunk type numbers are
RFC 9260 section 3.2.
"""
from __future__ import annotations

import pytest

from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel

INIT, INIT_ACK, SACK, ABORT, SHUTDOWN, SHUTDOWN_ACK = 1, 2, 3, 6, 7, 8
DATA, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE = 0, 10, 11, 14
# one tshark run per capture (process start-up is slow in the emulated VM)
FIELDS = ["sctp.chunk_type", "sctp.checksum.status", "sctp.verification_tag", "ip.src",
          "sctp.init_nr_out_streams", "sctp.init_nr_in_streams", "sctp.init_initiate_tag",
          "sctp.data_sid", "sctp.data_payload_proto_id", "sctp.data_ssn", "sctp.data_tsn_raw",
          "data.data", "sctp.abort_t_bit", "sctp.dstport"]
MESSAGES = ["0:18:100", "1:46:300", "2:60:50", "3:0:=hello", "0:18:1200"]


def _chunk_sequence(rows):
    seq = []
    for row in rows:
        seq += [int(t) for t in row[0].split(",") if t]
    return seq


def test_full_association_seen_by_tshark(topology, tshark, tmp_path, capsys):
    t = topology()
    for dev in ("client0", "server0"):
        t.checksum_offload(dev, on=False)
    pcap = tmp_path / "assoc.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000, streams=12)
        cli = t.client(port=5000, messages=MESSAGES, streams=12)
        crec, srec = cli.result(), srv.result()
    assert crec["error"] is None and srec["error"] is None, (crec, srec)

    rows = tshark_rows(pcap, FIELDS)
    seq = _chunk_sequence(rows)
    # every packet's CRC32c is real and right (offload off on both ends)
    assert rows and all(r[1] == "1" for r in rows), rows
    order = [INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE]
    firsts = [seq.index(c) for c in order]
    assert firsts == sorted(firsts), seq
    assert DATA in seq and SACK in seq
    assert seq.count(INIT) == 1 and seq.count(SHUTDOWN_COMPLETE) == 1

    # INIT announces the INITMSG streams; the INIT's tag is what the server then uses
    init = [r for r in rows if r[0].split(",")[0] == str(INIT)]
    assert len(init) == 1 and init[0][4:6] == ["12", "12"]
    server_tags = {r[2] for r in rows if r[3] == "192.0.2.2"}
    assert server_tags == {init[0][6]}

    # DATA on the wire == what the client sent == what the server received
    wire = []
    for r in rows:
        if r[7]:
            wire += zip(*(col.split(",") for col in r[7:12]))
    wire = [(int(a, 0), int(b, 0), int(c, 0), int(d, 0), e) for a, b, c, d, e in wire]
    received = [(m["sid"], m["ppid"], m["ssn"], m["tsn"], m["payload"]) for m in srec["received"]]
    assert wire == received
    sent = [(m["sid"], m["ppid"], m["payload"]) for m in crec["sent"]]
    assert [(a, b, e) for a, b, _, _, e in wire] == sent
    assert [m["ppid"] for m in crec["sent"]] == [18, 46, 60, 0, 18]

    # our own reader prints the same fields as tshark for the kernel's capture
    from sctpinspect.cli import main
    ours_fields = [f for f in FIELDS if f != "data.data"]
    capsys.readouterr()
    argv = ["read", "--no-progress", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in ours_fields:
        argv += ["-e", f]
    assert main(argv + [str(pcap)]) == 0
    ours = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    keep = [FIELDS.index(f) for f in ours_fields]
    assert ours == [[r[i] for i in keep] for r in rows]


def test_init_to_closed_port_gets_abort(topology, tshark, tmp_path):
    t = topology()
    pcap = tmp_path / "abort.pcapng"
    with t.capture("client0", str(pcap)):
        cli = t.client(port=5999, messages=["0:0:=nobody"], timeout=10)
        crec = cli.result()
    assert crec["error"] == "ECONNREFUSED", crec
    rows = [[r[0], r[2], r[6], r[12], r[13]] for r in tshark_rows(pcap, FIELDS)]
    assert [int(r[0]) for r in rows] == [INIT, ABORT], rows
    init, abort = rows
    assert init[1] == "0x00000000" and init[4] == "5999"
    # RFC 9260 8.4 (3) / 5.1: an ABORT answering an INIT carries the INIT's Initiate Tag
    assert abort[1] == init[2]


def test_one_to_many_server_two_associations(topology):
    t = topology()
    srv = t.server(port=5001, style="seqpacket", assocs=2, echo=True)
    recs = []
    for n in range(2):
        cli = t.client(port=5001, style="seqpacket", echo=True,
                       messages=[f"{n}:{100 + n}:=client {n}"])
        recs.append(cli.result())
    srec = srv.result()
    assert all(r["error"] is None for r in recs + [srec]), (recs, srec)
    assert len(set(srec["assoc_ids"])) == 2
    got = sorted((m["sid"], m["ppid"], bytes.fromhex(m["payload"])) for m in srec["received"])
    assert got == [(0, 100, b"client 0"), (1, 101, b"client 1")]
    # each client got its echo back on the same stream with the same PPID
    for n, r in enumerate(recs):
        assert [(m["sid"], m["ppid"], bytes.fromhex(m["payload"])) for m in r["received"]] == \
            [(n, 100 + n, f"client {n}".encode())]
