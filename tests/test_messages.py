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
