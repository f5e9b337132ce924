"""``sctpinspect messages``: each user message against tshark's SCTP reassembly.

The oracle is ``tshark -o sctp.reassembly:TRUE -T json -x``: every DATA chunk
(TSN, SID, SSN, PPID, B/E/U bits, chunk length, its bytes in ``frame_raw``)
and, in the frame that completes a fragmented message, ``sctp.fragments``
(the frames and sizes of its fragments); the reassembled bytes come from
``tshark -x``'s "Reassembled SCTP Message" tab.
"""
from __future__ import annotations

import json
import re
import subprocess
from collections import Counter

import pytest

from conftest import CAPTURES, PUBLIC, project_captures, public_manifest
from sctpinspect.cli import main

FRAGMENTED = str(CAPTURES / "fragmented.pcapng")
WWW = str(PUBLIC / "pkts/sctp-www.cap")

KEYS = {"assoc", "sender", "sid", "ssn", "mid", "ppid", "unordered", "size", "tsn_first",
        "tsn_last", "frames", "status", "first_time", "last_time"}


def _data_captures() -> list[str]:
    """Every project and public capture with DATA chunks (MANIFEST.tsv: chunk type 0)."""
    pub = [str(PUBLIC / r["path"]) for r in public_manifest()
           if re.search(r"(^|,)0=DATA", r["chunk_types"])]
    return [str(p) for p in project_captures()] + pub


def _pairs(p):
    d: dict = {}
    for k, v in p:
        d.setdefault(k, []).append(v)
    return d


def _one(d, k):
    v = d.get(k)
    return v[0] if v else None


def tshark_chunks(tshark, path) -> list[dict]:
    """Every DATA chunk tshark decodes, with its user data bytes and, where it
    completes a fragmented message, that message's fragment frames and size."""
    out = subprocess.run([tshark, "-n", "-r", path, "-o", "sctp.reassembly:TRUE",
                          "-o", "sctp.relative_tsns:FALSE", "-T", "json", "-x"],
                         capture_output=True, check=True).stdout
    packets = json.loads(out, object_pairs_hook=_pairs) if out.strip() else []
    rows = []
    for p in packets:
        layers = p["_source"][0]["layers"][0]
        frame = int(_one(_one(layers, "frame"), "frame.number"))
        raw = bytes.fromhex(_one(layers, "frame_raw")[0])
        for sctp in layers.get("sctp", []):
            flow = (_one(sctp, "sctp.srcport"), _one(sctp, "sctp.dstport"),
                    _one(sctp, "sctp.verification_tag"))
            for key, vals in sctp.items():
                if not key.startswith("DATA chunk"):
                    continue
                for c in vals:
                    flags = _one(c, "sctp.chunk_flags_tree")
                    pos = _one(c, "sctp.data_payload_proto_id_raw")[1] + 4
                    n = int(_one(c, "sctp.chunk_length")) - 16
                    frag = _one(c, "sctp.fragments")
                    rows.append({
                        "frame": frame, "flow": flow, "tsn": next(int(x) for x in c["sctp.data_tsn_raw"] if isinstance(x, str)),
                        "sid": int(_one(c, "sctp.data_sid"), 16),
                        "ssn": int(_one(c, "sctp.data_ssn")),
                        "ppid": int(_one(c, "sctp.data_payload_proto_id")),
                        "b": _one(flags, "sctp.data_b_bit") == "1",
                        "e": _one(flags, "sctp.data_e_bit") == "1",
                        "u": _one(flags, "sctp.data_u_bit") == "1",
                        "data": raw[pos:pos + n],
                        "fragments": None if frag is None else
                        [int(x) for x in frag["sctp.fragment"]],
                        "reassembled_size": None if frag is None else
                        sum(r[2] for r in frag["sctp.fragment_raw"]),
                    })
    return rows


def tshark_reassembled(tshark, path) -> dict:
    """{frame: [bytes of each "Reassembled SCTP Message" tab]} from ``tshark -x``."""
    text = subprocess.run([tshark, "-n", "-r", path, "-o", "sctp.reassembly:TRUE", "-x"],
                          capture_output=True, text=True, check=True).stdout
    out: dict = {}
    frame = 0
    cur = None
    for line in text.splitlines():
        if line.startswith("Frame ("):
            frame += 1
            cur = None
        elif line.startswith("Reassembled SCTP Message"):
            cur = bytearray()
            out.setdefault(frame, []).append(cur)
        else:
            m = re.match(r"^[0-9a-f]{4,}  ((?:[0-9a-f]{2} ?)+)", line)
            if m is None:
                cur = None              # a blank line or another tab ("Bitstring tvb ...")
            elif cur is not None:
                cur.extend(bytes.fromhex(m.group(1).replace(" ", "")))
    return {f: [bytes(b) for b in bs] for f, bs in out.items()}


def ours(capsys, path, *extra) -> list[dict]:
    assert main(["messages", "--json", *extra, path]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", _data_captures(), ids=lambda p: p.split("/")[-1])
def test_messages_match_tshark_reassembly(tshark, capsys, path):
    chunks = tshark_chunks(tshark, path)
    rows = ours(capsys, path)
    for r in rows:
        assert KEYS <= set(r)
        assert (r["ssn"] is None) != (r["mid"] is None)
    done = [r for r in rows if r["status"] in ("complete", "gap")]
    # unfragmented messages: one chunk with B and E; a retransmission repeats the TSN
    # (same ports, vtag and TSN; the synthetic captures reuse TSNs in other associations)
    first: dict = {}
    singles = Counter()
    for c in chunks:
        key = (c["flow"], c["tsn"])
        if c["b"] and c["e"] and key not in first:
            singles[(c["tsn"], c["sid"], c["ssn"], c["ppid"], c["u"], len(c["data"]))] += 1
        first.setdefault(key, c)
    got = Counter((r["tsn_first"], r["sid"], r["ssn"], r["ppid"], r["unordered"], r["size"])
                  for r in done if r["tsn_first"] == r["tsn_last"])
    assert got == singles
    # fragmented messages: tshark's fragment frames and reassembled size
    multi = Counter((tuple(sorted(set(c["fragments"]))), c["reassembled_size"], c["sid"], c["ssn"])
                    for c in chunks if c["fragments"])
    got = Counter((tuple(sorted(set(r["frames"]))), r["size"], r["sid"], r["ssn"])
                  for r in done if r["tsn_first"] != r["tsn_last"])
    assert got == multi
    # the TSN range of a fragmented message: its first and last fragments' TSNs
    # (first transmissions: a retransmitted fragment is kept from its first frame)
    for r in done:
        by_tsn = {t: c for (_f, t), c in first.items() if c["frame"] in r["frames"]
                  and c["sid"] == r["sid"]}
        n = (r["tsn_last"] - r["tsn_first"]) & 0xFFFFFFFF
        assert by_tsn[r["tsn_first"]]["b"] and by_tsn[r["tsn_last"]]["e"]
        assert all(not by_tsn[(r["tsn_first"] + i) & 0xFFFFFFFF]["e"] for i in range(n))
        assert r["frames"][0] == by_tsn[r["tsn_first"]]["frame"]


def test_fragmented_capture_rows(capsys):
    # captures/make_captures.py: stream 0 a 4000-byte message then a 3000-byte one,
    # stream 1 a 9000-byte Diameter message, stream 2 a 5-byte one, all from the client
    rows = ours(capsys, FRAGMENTED)
    r = rows[0]
    assert (r["sid"], r["ssn"], r["size"], r["frames"], r["status"]) == (0, 0, 4000, [5, 7, 8],
                                                                          "complete")
    assert r["tsn_last"] - r["tsn_first"] == 2 and r["first_time"] < r["last_time"]
    d = [x for x in rows if x["sid"] == 1][0]
    assert (d["ppid"], d["ppid_name"], d["size"]) == (46, "Diameter", 9000)
    # one stream in delivery order: SSNs increase
    s0 = [x["ssn"] for x in rows if x["sid"] == 0 and x["sender"] == r["sender"]]
    assert s0 == sorted(s0) and s0[:2] == [0, 1]


def test_assoc_stream_and_filter(capsys):
    every = ours(capsys, WWW)
    s0 = ours(capsys, WWW, "--assoc", "0", "--stream", "0")
    assert s0 == [r for r in every if r["assoc"] == 0 and r["sid"] == 0]
    assert ours(capsys, WWW, "--stream", "9") == []
    # -Y on the completing frame: the frames of the fragmented messages' last fragments
    big = [r for r in every if len(r["frames"]) > 1]
    assert big
    f = big[0]["frames"][-1]
    hit = ours(capsys, WWW, "-Y", f"frame.number == {f}")
    assert [r["frames"] for r in hit] == [big[0]["frames"]]
    assert main(["messages", "--assoc", "5", WWW]) == 2
    assert "no association 5" in capsys.readouterr().err
    assert main(["messages", "-Y", "sctp.nosuchfield", WWW]) != 0
    assert "display filter" in capsys.readouterr().err


def test_text_table(capsys):
    assert main(["messages", FRAGMENTED]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["assoc", "sender", "sid"]
    assert len(lines) == 1 + len(ours(capsys, FRAGMENTED))


EXPORT_CAPTURES = [FRAGMENTED, WWW, str(CAPTURES / "lossy-retransmissions.pcapng"),
                   str(PUBLIC / "arkime/m3ua_synthetic.pcap"),
                   str(PUBLIC / "open5gs/nonipsec_reg.pcapng")]


@pytest.mark.parametrize("path", EXPORT_CAPTURES, ids=lambda p: p.split("/")[-1])
def test_export_bytes_are_tsharks(tshark, capsys, tmp_path, path):
    out = tmp_path / "x"
    assert main(["messages", "--export", str(out), path]) == 0
    capsys.readouterr()
    index = json.loads((out / "index.json").read_text())
    import csv
    with open(out / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == [r["file"] for r in index]
    got_single, got_multi = Counter(), Counter()
    for r in index:
        if r["status"] not in ("complete", "gap"):
            assert r["file"] == ""
            continue
        data = (out / r["file"]).read_bytes()
        assert len(data) == r["size"]
        name = r["file"]
        assert f"-assoc{r['assoc']}-" in name and f"-sid{r['sid']}-" in name
        assert f"-ssn{r['ssn']}-" in name and name.endswith(f"-ppid{r['ppid']}.bin")
        (got_single if r["tsn_first"] == r["tsn_last"] else got_multi)[data] += 1
    chunks = tshark_chunks(tshark, path)
    seen, single = set(), Counter()
    for c in chunks:
        key = (c["flow"], c["tsn"])
        if c["b"] and c["e"] and key not in seen:
            single[c["data"]] += 1
        seen.add(key)
    assert got_single == single
    multi = Counter(b for bs in tshark_reassembled(tshark, path).values() for b in bs)
    assert got_multi == multi
    assert sum(got_multi.values()) == sum(1 for c in chunks if c["fragments"])


def test_follow_formats(capsys):
    rows = [r for r in ours(capsys, WWW, "--assoc", "0", "--stream", "0")
            if r["status"] == "complete"]
    assert main(["messages", "--follow", "--stream", "0", "--follow-format", "raw", WWW]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == lines[-1] == "=" * 67 and lines[1] == "Follow: sctp,raw"
    body = lines[5:-1]
    assert len(body) == len(rows)
    # endpoint 2's messages are indented (tshark's Node 1)
    ep1 = rows[0]["sender"]
    for line, r in zip(body, rows):
        assert line.startswith("\t") == (r["sender"] != ep1)
        assert len(bytes.fromhex(line.strip())) == r["size"]
    assert main(["messages", "--follow", "--stream", "0", WWW]) == 0
    text = capsys.readouterr().out
    assert f"\n{rows[0]['size']}\nGET / HTTP/1.1" in text
    assert main(["messages", "--follow", "--stream", "0", "--follow-format", "hex", WWW]) == 0
    assert "00000000  47 45 54 20" in capsys.readouterr().out
    assert main(["messages", "--follow", WWW]) == 2
    assert "--follow needs --stream" in capsys.readouterr().err


def _scripted(script):
    """Run ``script(peers)`` through the analyzer with a MessageCollector; the rows."""
    from test_analysis_build import Peers, Wire

    from sctpinspect.analysis import Analyzer
    from sctpinspect.analysis.messages import MessageCollector
    rows = []
    an = Analyzer()
    wire = Wire(an)
    col = MessageCollector(an, rows.append, keep_payload=True)
    wire.analyzer = col                     # Wire.send feeds the collector
    p = Peers(wire)
    p.handshake()
    script(p)
    col.finish()
    return rows


def test_statuses_and_delivery_order():
    from scapy.layers.sctp import SCTPChunkForwardTSN, SCTPForwardSkip
    from test_analysis_build import data

    def script(p):
        p.a2b(data(1000, sid=1, ssn=0, payload=b"a" * 10))
        p.a2b(data(1001, sid=1, ssn=1, payload=b"b" * 7, e=0))
        p.a2b(data(1002, sid=1, ssn=1, payload=b"c" * 5, b=0))
        # SSN 2 of stream 1 never appears (TSN 1003 is lost before the capture point)
        p.a2b(data(1004, sid=1, ssn=3, payload=b"d" * 4))
        p.a2b(data(1005, sid=1, ssn=4, payload=b"e" * 4))
        # stream 2: a first fragment, then PR-SCTP gives the message up (RFC 3758 3.5)
        p.a2b(data(1006, sid=2, ssn=0, payload=b"f" * 4, e=0))
        p.a2b(SCTPChunkForwardTSN(new_tsn=1006, skips=[SCTPForwardSkip(stream_id=2,
                                                                        stream_seq=0)]))
        p.a2b(data(1007, sid=2, ssn=1, payload=b"g" * 4))
        p.a2b(data(1009, sid=1, ssn=0, payload=b"u" * 3, u=1))
        p.a2b(data(1008, sid=3, ssn=0, payload=b"h" * 4, e=0))   # the capture ends before E

    rows = _scripted(script)
    got = [(r.sid, r.seq, r.unordered, r.size, r.status, r.fragments, r.tsn_first, r.tsn_last)
           for r in rows]
    assert got == [
        (1, 0, False, 10, "complete", 1, 1000, 1000),
        (1, 1, False, 12, "complete", 2, 1001, 1002),
        (2, 0, False, 4, "abandoned", 1, 1006, 1006),
        (2, 1, False, 4, "complete", 1, 1007, 1007),       # the FORWARD TSN explained SSN 0
        (1, 0, True, 3, "complete", 1, 1009, 1009),        # unordered: delivered at once
        (3, 0, False, 4, "incomplete", 1, 1008, 1008),
        (1, 3, False, 4, "gap", 1, 1004, 1004),            # SSN 2 never seen
        (1, 4, False, 4, "complete", 1, 1005, 1005),
    ]
    assert rows[1].data == b"b" * 7 + b"c" * 5 and rows[1].frames == [6, 7]
    assert rows[2].data is None and rows[5].data is None
    d = rows[0].to_dict()
    assert KEYS <= set(d) and d["sender"] == "10.0.0.1:5000" and d["mid"] is None


def test_message_with_a_lost_middle_fragment_is_one_row():
    """A DATA message whose middle fragment was lost before the capture point
    (seen in the kernel-lab PR-SCTP test): one abandoned row when a FORWARD TSN
    gives it up, one incomplete row when the capture ends, not one per run of
    TSNs (its fragments have consecutive TSNs, RFC 9260 6.9)."""
    from scapy.layers.sctp import SCTPChunkForwardTSN, SCTPForwardSkip
    from test_analysis_build import data

    def script(p):
        p.a2b(data(1000, sid=1, ssn=0, payload=b"a" * 10, e=0))
        # TSN 1001 lost
        p.a2b(data(1002, sid=1, ssn=0, payload=b"b" * 10, b=0, e=0))
        p.a2b(data(1003, sid=1, ssn=0, payload=b"c" * 10, b=0, e=0))
        p.a2b(SCTPChunkForwardTSN(new_tsn=1004, skips=[SCTPForwardSkip(stream_id=1,
                                                                        stream_seq=0)]))
        p.a2b(data(1005, sid=2, ssn=0, payload=b"d" * 10, e=0))
        # TSNs 1006, 1007 lost; the capture ends before E
        p.a2b(data(1008, sid=2, ssn=0, payload=b"e" * 10, b=0, e=0))

    rows = _scripted(script)
    got = [(r.sid, r.seq, r.status, r.fragments, r.size, r.tsn_first, r.tsn_last) for r in rows]
    assert got == [(1, 0, "abandoned", 3, 30, 1000, 1003),
                   (2, 0, "incomplete", 2, 20, 1005, 1008)]


def test_idata_messages_and_i_forward_tsn():
    from scapy.layers.sctp import SCTPChunkIForwardTSN, SCTPIForwardSkip
    from test_analysis_build import idata

    def script(p):
        # RFC 8260 2.1: B carries the PPID, the fragments after it their FSN (1, 2...)
        p.a2b(idata(1000, 1, 0, 46, b"A" * 8, e=0))
        p.a2b(idata(1001, 2, 0, 18, b"x" * 3))             # interleaved on stream 2
        p.a2b(idata(1002, 1, 0, 1, b"B" * 8, b=0))
        p.a2b(idata(1003, 1, 1, 46, b"C" * 8, e=0))
        p.a2b(SCTPChunkIForwardTSN(new_tsn=1003, skips=[SCTPIForwardSkip(stream_id=1,
                                                                         message_id=1)]))

    rows = _scripted(script)
    got = [(r.sid, r.seq, r.idata, r.ppid, r.size, r.status) for r in rows]
    assert got == [(2, 0, True, 18, 3, "complete"), (1, 0, True, 46, 16, "complete"),
                   (1, 1, True, 46, 8, "abandoned")]
    d = rows[1].to_dict()
    assert (d["mid"], d["ssn"], d["frames"]) == (0, None, [5, 7])
