"""``read -2`` against ``tshark -2`` frame by frame on every project and public capture.

Both run with ``-o sctp.tsn_analysis:TRUE -o sctp.association_index:TRUE
-o sctp.relative_tsns:FALSE``; the analysis fields that need a second pass
(sctp.acked, sctp.data_rtt, sctp.retransmitted, sctp.retransmitted_after_ack,
sctp.fragment, sctp.fragments, sctp.reassembled_in, sctp.duplicate) must be
printed identically, ``-E occurrence=a``.  The differences are listed in
DIFFERENCES with the RFC reason (also in docs/fidelity.md); each is checked
to still differ, and where the capture shows it, our value is checked
against the packets themselves.
"""
from __future__ import annotations

import subprocess

import pytest

from conftest import CAPTURES, PUBLIC, project_captures, public_captures
from sctpinspect.analysis.twopass import LATE_FIELDS, LateFacts, first_pass, wanted
from sctpinspect.cli import main

FIELDS = ["frame.number", "sctp.acked", "sctp.data_rtt", "sctp.retransmitted",
          "sctp.retransmitted_after_ack", "sctp.fragment", "sctp.fragments",
          "sctp.reassembled_in", "sctp.duplicate"]
OPTS = ["-o", "sctp.tsn_analysis:TRUE", "-o", "sctp.association_index:TRUE",
        "-o", "sctp.relative_tsns:FALSE"]

GX = "magma/gx_gy_combined_03_210505_132953-1.pcapng"
M3UA = "arkime/m3ua_synthetic.pcap"
LOSSY = "lossy-retransmissions.pcapng"

# (capture, frame) -> why we differ from tshark -2
DIFFERENCES = {
    # RFC 9260 3.3.4: Gap Ack Block Start and End are inclusive offsets from the Cumulative
    # TSN Ack; SACK 49 (cum 636346470, block 2-2) acknowledges TSN 636346472 of frame 48.
    # tshark ignores the one-TSN block and credits SACK 51 (block 2-3).
    (LOSSY, 48): "one-TSN gap block",
    # RFC 9260 3.3.4: the Cumulative TSN Ack of SACK 20 (1040264882) acknowledges the TSN of
    # frame 19; the capture starts mid-association and tshark does not count the first SACK
    # it sees for that direction, crediting SACK 22.
    (GX, 19): "first SACK of a mid-capture association",
    # Synthetic capture: every packet after the INIT has Verification Tag 0, which only an INIT
    # may carry (RFC 9260 8.5: the receiver discards such packets); associations on the same
    # ports then cannot be told apart and the two analyses group the DATA differently.
    **{(M3UA, f): "Verification Tag 0 outside INIT" for f in (5, 10, 15, 20, 65, 66, 67)},
}


def _all() -> list[str]:
    return [str(p) for p in project_captures()] + [str(p) for p in public_captures()]


def _key(path: str) -> str:
    return path.split("/public/", 1)[-1].rsplit("/captures/", 1)[-1]


def _tshark(tshark, path, *extra):
    args = [tshark, "-2", "-n", "-r", path, *OPTS, "-T", "fields", "-E", "occurrence=a", *extra]
    for f in FIELDS:
        args += ["-e", f]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()


def _ours(capsys, path, *extra):
    argv = ["read", "-2", "-T", "fields", "-E", "occurrence=a", *extra]
    for f in FIELDS:
        argv += ["-e", f]
    capsys.readouterr()
    assert main(argv + [path]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("path", _all(), ids=_key)
def test_two_pass_fields_match_tshark(tshark, capsys, path):
    theirs = _tshark(tshark, path)
    mine = _ours(capsys, path)
    assert len(mine) == len(theirs)
    key = _key(path)
    differ = {int(m.split("\t")[0]) for m, t in zip(mine, theirs) if m != t}
    listed = {f for (c, f) in DIFFERENCES if c == key}
    assert differ == listed


def test_two_pass_adds_what_one_pass_cannot(capsys):
    """Without -2 the facts about later frames are missing (as tshark without -2)."""
    path = str(CAPTURES / "fragmented.pcapng")
    one = _read(capsys, ["read", "-T", "fields", "-e", "sctp.acked", "-e", "sctp.reassembled_in",
                         path])
    two = _read(capsys, ["read", "-2", "-T", "fields", "-e", "sctp.acked",
                         "-e", "sctp.reassembled_in", path])
    assert not any(x.strip() for x in one)
    assert two[4] == "6\t8"            # frame 5: acked by the SACK in 6, message completed in 8


def _read(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out.splitlines()


def _packet_fields(tshark, path, frames, *fields):
    args = [tshark, "-n", "-r", path, "-o", "sctp.relative_tsns:FALSE", "-T", "fields",
            "-E", "occurrence=a"]
    for f in ("frame.number",) + fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = {int(r.split("\t")[0]): r.split("\t")[1:] for r in out.splitlines()}
    return [rows[f] for f in frames]


def test_gap_block_difference_is_ours_right(tshark, capsys):
    path = str(CAPTURES / LOSSY)
    (tsn,), (cum, start, end) = _packet_fields(tshark, path, [48], "sctp.data_tsn_raw"), \
        _packet_fields(tshark, path, [49], "sctp.sack_cumulative_tsn_ack_raw",
                       "sctp.sack_gap_block_start", "sctp.sack_gap_block_end")[0]
    assert int(cum) + int(start) <= int(tsn[0]) <= int(cum) + int(end)
    mine = _ours(capsys, path)[47].split("\t")
    assert mine[1] == "49"


def test_mid_capture_sack_difference_is_ours_right(tshark, capsys):
    path = str(PUBLIC / GX)
    (tsn, _), (_, cum) = _packet_fields(tshark, path, [19, 20], "sctp.data_tsn_raw",
                                        "sctp.sack_cumulative_tsn_ack_raw")
    assert tsn and tsn == cum          # SACK 20 acknowledges exactly frame 19's TSN
    mine = _ours(capsys, path)[18].split("\t")
    assert mine[1] == "20"


def test_out_of_order_fragments_one_pass(tshark, capsys):
    """Issue 18 point 9: the first fragment (B) arrives after the last (E); the
    sctp.fragments tree belongs to the frame that completes the message."""
    path = str(PUBLIC / "open5gs/nonipsec_reg.pcapng")
    out = subprocess.run([tshark, "-n", "-r", path, *OPTS, "-T", "fields", "-e", "sctp.fragment",
                          "-e", "sctp.fragments"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    mine = _read(capsys, ["read", "-T", "fields", "-e", "sctp.fragment", "-e", "sctp.fragments",
                          path])
    assert out[32] == "33,30\t1"
    assert mine == out


def test_first_pass_keeps_only_what_the_output_names():
    from sctpinspect.pipeline import open_records
    path = str(CAPTURES / LOSSY)
    names = wanted(["frame.number", "sctp.acked"], None, everything=False)
    assert names == ["sctp.acked"]
    facts = first_pass(open_records(path), None, names)
    kept = {n for lst in facts.by_frame.values() for _k, n, _v in lst}
    assert kept == {"sctp.acked"}
    assert facts.retransmissions == {}           # released after the first pass
    everything = first_pass(open_records(path), None, wanted(None, None, everything=True))
    kept = {n for lst in everything.by_frame.values() for _k, n, _v in lst}
    assert kept <= set(LATE_FIELDS) and {"sctp.acked", "sctp.data_rtt",
                                          "sctp.retransmitted"} <= kept
    assert everything.count > facts.count


def test_second_pass_forgets_each_frame():
    from sctpinspect.pipeline import Pipeline, open_records
    path = str(CAPTURES / "fragmented.pcapng")
    facts = first_pass(open_records(path), None)
    assert facts.by_frame
    for _pkt, _shown in Pipeline(open_records(path), analyse=facts.apply):
        pass
    assert facts.by_frame == {}


def test_retransmitted_count_keeps_the_final_value():
    f = LateFacts()
    f._add(7, 0, "sctp.retransmitted_count", 1)
    f._add(7, 0, "sctp.retransmitted_count", 2)
    assert f.by_frame[7] == [(0, "sctp.retransmitted_count", 2)]


def test_two_pass_needs_a_file(capsys):
    assert main(["read", "-2", "-"]) == 2
    assert "give a capture file" in capsys.readouterr().err
