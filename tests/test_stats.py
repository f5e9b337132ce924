"""``sctpinspect stats`` and ``read -q -z ...`` against tshark 4.0's own ``-z`` output.

``read -q -z sctp,stat -z conv,sctp -z endpoints,sctp`` must print what
``tshark -q -z ...`` prints, byte for byte, on every project and public
capture, except where tshark is wrong; there the test shows tshark's defect
and checks our answer with a second tshark run that does define the same
thing (docs/fidelity.md lists each):

- a packet whose dissection raised an exception (a malformed chunk or
  payload) never reaches tshark's SCTP taps: ours counts it; without those
  frames (tshark's ``_ws.malformed``) the tables are equal;
- a packet with no chunk at all is not tapped by tshark: ours counts it;
- tshark's ``sctp,stat`` keeps at most 2,048 chunks of a packet
  (MAXIMUM_NUMBER_OF_TVBS): ours counts all;
- tshark's ``-z sctp,stat,FILTER`` ignores FILTER: ours equals tshark's
  table of the file tshark itself filtered.

``stats`` (one block per association) is checked against tshark's per-path
tables summed over the association's paths and against ``tshark -2`` fields
(TSNs, a_rwnd, sctp.data_rtt).
"""
from __future__ import annotations

import json
import subprocess
from collections import Counter, defaultdict

import pytest

from conftest import CAPTURES, project_captures, public_captures
from sctpinspect.cli import main

Z = ["sctp,stat", "conv,sctp", "endpoints,sctp"]
MULTIHOMED = str(CAPTURES / "multihomed-failover.pcapng")
LOSSY = str(CAPTURES / "lossy-retransmissions.pcapng")

# captures where tshark's tables are wrong, and how (see the module docstring)
MALFORMED = {"pcapsctpspliter/mm.pcap", "pkts/sctp-www.cap"}
NO_CHUNKS = {"suricata-verify/sctp-pkt-too-small/input.pcap", "zeek/cisco-fabric-path.pcap"}
MAX_CHUNKS = {"suricata-verify/sctp-max-chunks/sctp-max-chunks.pcap"}


def _all() -> list[str]:
    return [str(p) for p in project_captures()] + [str(p) for p in public_captures()]


def _name(path: str) -> str:
    return path.split("/public/", 1)[-1]


def _tshark_z(tshark, path, z=Z, extra=()):
    args = [tshark, "-q", "-n", "-r", path, *extra]
    for spec in z:
        args += ["-z", spec]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _ours(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


def _read_z(capsys, path, z=Z, extra=()):
    argv = ["read", "-q", *extra]
    for spec in z:
        argv += ["-z", spec]
    return _ours(capsys, argv + [path])


def _tshark_frames(tshark, path, flt) -> list[int]:
    out = subprocess.run([tshark, "-n", "-r", path, "-Y", flt, "-T", "fields", "-e",
                          "frame.number"], capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("path", _all(), ids=_name)
def test_z_tables_match_tshark(tshark, capsys, path):
    name = _name(path)
    theirs = _tshark_z(tshark, path)
    mine = _read_z(capsys, path)
    if name in MALFORMED:
        bad = _tshark_frames(tshark, path, "_ws.malformed && sctp")
        assert bad and mine != theirs
        keep = "!(frame.number in {%s})" % " ".join(map(str, bad))
        assert _read_z(capsys, path, extra=["-Y", keep]) == theirs
    elif name in NO_CHUNKS:
        assert mine != theirs
        assert _read_z(capsys, path, extra=["-Y", "sctp.chunk_type"]) == theirs
    elif name in MAX_CHUNKS:
        # the ABORT column: tshark stops at 2048 chunks; the packet has many more
        types = subprocess.run([tshark, "-n", "-r", path, "-T", "fields", "-E", "occurrence=a",
                                "-e", "sctp.chunk_type"], capture_output=True, text=True,
                               check=True).stdout.split(",")
        row = lambda text: [ln for ln in text.splitlines() if ln.startswith("|      192.0.2.1")]
        (t_row,), (m_row,) = row(theirs), row(mine)
        assert int(t_row.split("|")[13]) == 2048
        assert int(m_row.split("|")[13]) == len(types) > 2048
        assert [ln for ln in mine.splitlines() if ln not in (m_row,)] == \
               [ln for ln in theirs.splitlines() if ln not in (t_row,)]
    else:
        assert mine == theirs


def test_sctp_stat_filter_works_unlike_tshark(tshark, capsys, tmp_path):
    """tshark's -z sctp,stat,FILTER prints the unfiltered table; ours the
    table tshark prints for the file tshark filtered with the same filter."""
    flt = "ip.src == 198.51.100.1"
    unfiltered = _tshark_z(tshark, MULTIHOMED, ["sctp,stat"])
    assert _tshark_z(tshark, MULTIHOMED, [f"sctp,stat,{flt}"]) == unfiltered   # the defect
    cut = tmp_path / "cut.pcapng"
    subprocess.run([tshark, "-n", "-r", MULTIHOMED, "-Y", flt, "-w", str(cut)],
                   capture_output=True, check=True)
    expected = _tshark_z(tshark, str(cut), ["sctp,stat"])
    mine = _read_z(capsys, MULTIHOMED, [f"sctp,stat,{flt}"])
    assert mine == expected != unfiltered
    # -Y selects the same packets
    assert _read_z(capsys, MULTIHOMED, ["sctp,stat"], ["-Y", flt]) == expected


@pytest.mark.parametrize("spec", ["conv,sctp,ip.src == 198.51.100.1",
                                  "endpoints,sctp,sctp.chunk_type == 0"])
def test_conv_and_endpoints_filters_as_tshark(tshark, capsys, spec):
    assert _read_z(capsys, MULTIHOMED, [spec]) == _tshark_z(tshark, MULTIHOMED, [spec])


def test_expert_retransmissions_as_tshark(tshark, capsys):
    theirs = _tshark_z(tshark, LOSSY, ["expert"])
    mine = _read_z(capsys, LOSSY, ["expert"])
    assert mine == theirs       # the capture's only expert info is SCTP's Retransmitted TSN


def _stats(capsys, path, *extra) -> dict:
    return json.loads(_ours(capsys, ["stats", "--json", *extra, path]))


def _tshark_stat_rows(text: str) -> list:
    rows = []
    for ln in text.splitlines():
        cells = [c.strip() for c in ln.split("|")[1:-1]]
        if len(cells) == 14 and cells[1].isdigit():
            rows.append((cells[0], int(cells[1]), cells[2], int(cells[3]), list(map(int, cells[4:]))))
    return rows


COLUMNS = ["DATA", "SACK", "HEARTBEAT", "HEARTBEAT ACK", "INIT", "INIT ACK", "COOKIE ECHO",
           "COOKIE ACK", "ABORT", "ERROR"]


def test_multihomed_association_is_one_row(tshark, capsys):
    """tshark: four sctp,stat rows and two conversations; stats: one association
    whose directions are tshark's rows summed over both paths."""
    s = _stats(capsys, MULTIHOMED)
    (a,) = s["associations"]
    e1, e2 = a["endpoints"]
    assert sorted(e1["addresses"]) == ["192.0.2.1", "198.51.100.1"]
    assert sorted(e2["addresses"]) == ["192.0.2.2", "198.51.100.2"]
    rows = _tshark_stat_rows(_tshark_z(tshark, MULTIHOMED, ["sctp,stat"]))
    assert len(rows) == 4
    conv = _tshark_z(tshark, MULTIHOMED, ["conv,sctp"])
    assert conv.count("<->") == 2
    for d, (ep, peer) in zip(a["directions"], ((e1, e2), (e2, e1))):
        mine = [d["chunks"].get(c, 0) for c in COLUMNS]
        theirs = [0] * 10
        for src, sport, dst, dport, counts in rows:
            if src in ep["addresses"] and sport == ep["port"]:
                theirs = [x + y for x, y in zip(theirs, counts)]
        assert mine == theirs
    # packets and bytes each way: tshark's endpoint rows summed over the addresses
    eps = _tshark_z(tshark, MULTIHOMED, ["endpoints,sctp"])
    tx = Counter()
    for ln in eps.splitlines()[4:-1]:
        addr, port, _p, _b, txp, txb, _rp, _rb = ln.split()
        tx[addr] += int(txp)
        tx[addr + "b"] += int(txb)
    for d, ep in zip(a["directions"], (e1, e2)):
        assert d["packets"] == sum(tx[x] for x in ep["addresses"])
        assert d["bytes"] == sum(tx[x + "b"] for x in ep["addresses"])


# (capture, TSN) -> the SACK frame that first acknowledges it, where tshark credits a
# later one: in lossy-retransmissions, SACK 49 (cum 636346470, gap block 2-2) acks TSN
# 636346472 (RFC 9260 3.3.4: the block's Start and End are inclusive offsets from the
# Cumulative TSN Ack); tshark ignores a one-TSN gap block and credits SACK 51 (gap 2-3)
RTT_DIFFERENCES = {("lossy-retransmissions.pcapng", "636346472"): "49"}


def _fields(tshark, path, *fields, two_pass=False):
    args = [tshark, "-n", "-r", path, "-o", "sctp.relative_tsns:FALSE",
            "-o", "sctp.tsn_analysis:TRUE", "-Y", "sctp", "-T", "fields", "-E", "occurrence=a"]
    if two_pass:
        args.insert(1, "-2")
    for f in ("ip.src", "sctp.srcport") + fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [ln.split("\t") for ln in out.splitlines()]


@pytest.mark.parametrize("path", [str(CAPTURES / "clean-association.pcapng"),
                                  str(CAPTURES / "fragmented.pcapng"), MULTIHOMED, LOSSY],
                         ids=lambda p: p.rsplit("/", 1)[-1])
def test_tsn_rwnd_rtt_against_tshark_fields(tshark, capsys, path):
    """TSN range (sctp.data_tsn_raw), a_rwnd min/max (INIT/INIT ACK/SACK), and the
    RTT samples: tshark -2's sctp.data_rtt, without the TSNs tshark marks
    sctp.retransmitted (Karn's rule, RFC 9260 6.3.1 C5)."""
    s = _stats(capsys, path)
    (a,) = s["associations"]
    side = {}
    for i, e in enumerate(a["endpoints"]):
        for addr in e["addresses"]:
            side[(addr, str(e["port"]))] = i
    tsns, rwnd, rtts = defaultdict(list), defaultdict(list), defaultdict(list)
    for src, port, tsn, sack_rwnd, init_rwnd, ack_rwnd in _fields(
            tshark, path, "sctp.data_tsn_raw", "sctp.sack_a_rwnd",
            "sctp.init_credit", "sctp.initack_credit"):
        i = side[(src, port)]
        tsns[i] += [int(x) for x in tsn.split(",") if x]
        rwnd[i] += [int(x) for x in ",".join((sack_rwnd, init_rwnd, ack_rwnd)).split(",") if x]
    rows = _fields(tshark, path, "sctp.data_tsn_raw", "sctp.data_rtt", "frame.number",
                   "frame.time_relative", two_pass=True)
    sent = Counter(x for r in rows for x in r[2].split(",") if x)
    when = {r[4]: float(r[5]) for r in rows}
    for src, port, tsn, rtt, frame, _t in rows:
        if not rtt:
            continue
        # tshark -2 puts the RTT on each DATA chunk the SACK acks, the first
        # transmission and the retransmissions alike; a TSN sent more than once
        # gives no sample (Karn)
        tsn, rtt = tsn.split(","), rtt.split(",")
        assert len(tsn) == len(rtt)        # every chunk of these captures is acked
        for t, r in zip(tsn, rtt):
            if sent[t] == 1:
                ack = RTT_DIFFERENCES.get((path.rsplit("/", 1)[-1], t))
                rtts[side[(src, port)]].append(float(r) if ack is None
                                               else when[ack] - when[frame])
    for i, d in enumerate(a["directions"]):
        if tsns[i]:
            assert (d["tsn_first"], d["tsn_last"]) == (min(tsns[i]), max(tsns[i]))
        else:
            assert d["tsn_first"] is None
        assert (d["a_rwnd_min"], d["a_rwnd_max"]) == \
               ((min(rwnd[i]), max(rwnd[i])) if rwnd[i] else (None, None))
        assert d["rtt_samples"] == len(rtts[i])
        if rtts[i]:
            assert d["rtt_min"] == pytest.approx(min(rtts[i]), abs=1e-9)
            assert d["rtt_max"] == pytest.approx(max(rtts[i]), abs=1e-9)
            assert d["rtt_avg"] == pytest.approx(sum(rtts[i]) / len(rtts[i]), abs=1e-9)
    # retransmissions: tshark's sctp.retransmission occurrences
    retx = sum(len([x for x in r[2].split(",") if x])
               for r in _fields(tshark, path, "sctp.retransmission"))
    assert sum(d["retransmissions"] for d in a["directions"]) == retx


def test_chunk_totals_match_tshark_on_every_capture(tshark, capsys):
    """Every chunk of every packet, by type: the sum over all associations equals
    tshark's count of sctp.chunk_type occurrences (the decode tree, not the tap)."""
    for path in _all():
        s = _stats(capsys, path)
        mine = Counter()
        for a in s["associations"]:
            for d in a["directions"]:
                mine.update(d["chunks"])
        out = subprocess.run([tshark, "-n", "-r", path, "-Y", "sctp && !icmp && !icmpv6",
                              "-T", "fields", "-E", "occurrence=a", "-e", "sctp.chunk_type"],
                             capture_output=True, text=True, check=True).stdout
        theirs = Counter(int(x) for x in out.replace("\n", ",").split(",") if x)
        from sctpinspect.analysis.states import chunk_name
        assert mine == Counter({chunk_name(t): n for t, n in theirs.items()}), path


def test_filter_counts_only_matching_packets(tshark, capsys):
    flt = "ip.src == 198.51.100.1"
    s = _stats(capsys, MULTIHOMED, "-Y", flt)
    (a,) = s["associations"]
    assert a["assoc"] == 0
    d1, d2 = a["directions"]
    eps = _tshark_z(tshark, MULTIHOMED, [f"endpoints,sctp,{flt}"])
    row = next(ln.split() for ln in eps.splitlines() if ln.startswith("198.51.100.1 "))
    assert (d1["packets"], d1["bytes"]) == (int(row[4]), int(row[5]))
    assert d2["packets"] == 0 and s["counted"] == int(row[4])


def test_text_output_and_errors(capsys, tmp_path):
    out = _ours(capsys, ["stats", MULTIHOMED])
    assert "association 0:" in out and "192.0.2.1, 198.51.100.1" in out
    assert "Retransmitted TSN" in out
    assert main(["stats", str(tmp_path / "missing.pcap")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["read", "-z", "io,stat,1", MULTIHOMED]) == 2
    assert "unknown statistic" in capsys.readouterr().err
    assert main(["read", "-q", "-z", "io,stat,1", MULTIHOMED]) == 2
    assert "unknown statistic" in capsys.readouterr().err


@pytest.mark.parametrize("path", [str(p) for p in project_captures()]
                         + [p for p in map(str, public_captures())
                            if _name(p) in ("open5gs/nonipsec_reg.pcapng",
                                            "tcpdump/sctp-heartbeat.pcap")], ids=_name)
def test_z_without_q_prints_packets_then_tables(tshark, capsys, path):
    """``read -z`` without ``-q``, as tshark: the packet lines, then the tables.
    tshark's own output ends with exactly its ``-q`` tables; ours is our packet
    lines followed by the tables tshark prints."""
    for z in (["sctp,stat"], Z, ["endpoints,sctp", "conv,sctp"]):
        args = [tshark, "-n", "-r", path]
        for spec in z:
            args += ["-z", spec]
        theirs = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        tables = _tshark_z(tshark, path, z)
        assert tables and theirs.endswith(tables) and len(theirs) > len(tables)
        packets = _ours(capsys, ["read", path])
        argv = ["read"]
        for spec in z:
            argv += ["-z", spec]
        assert _ours(capsys, argv + [path]) == packets + tables
    # with -Y: the lines and the tables of the frames it selects (as with -q)
    flt = "sctp.chunk_type == 0"
    ours = _ours(capsys, ["read", "-Y", flt, "-z", "sctp,stat", path])
    assert ours == _ours(capsys, ["read", "-Y", flt, path]) + \
        _read_z(capsys, path, ["sctp,stat"], ["-Y", flt])
