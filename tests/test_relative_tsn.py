"""`read --relative-tsn` against tshark's default (relative TSNs on).

tshark numbers TSNs from each direction's Initial TSN (or the first TSN it
sees); with the option, sctpinspect adds the same relative fields beside the
absolute ``*_raw`` ones that it always prints.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import project_captures, public_captures

FIELDS = ["frame.number", "sctp.data_tsn", "sctp.data_tsn_raw", "sctp.sack_cumulative_tsn_ack",
          "sctp.sack_cumulative_tsn_ack_raw", "sctp.sack_gap_block_start_tsn",
          "sctp.sack_gap_block_end_tsn"]
# Where tshark cannot match a packet to a half-association (captures that start
# mid-association with a SACK first, or synthetic files with inconsistent tags)
# it leaves the relative field out; sctpinspect numbers from the first TSN it
# sees.  These files are listed in docs/fidelity.md ("Relative TSNs").
NO_HALF_ASSOC = {"m3ua_synthetic.pcap", "bbbb.pcap", "mm.pcap",
                 "gx_gy_combined_03_210505_132953-1.pcapng",
                 "gx_gy_combined_06_210505_133132-1.pcapng"}
CAPTURES = [p for p in public_captures() + project_captures()
            if p.name not in NO_HALF_ASSOC]


def _ef():
    return [a for f in FIELDS for a in ("-e", f)]


@pytest.mark.tshark
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_relative_tsns_equal_tshark_default(path, tshark):
    ref = subprocess.run([tshark, "-r", str(path), "-T", "fields", *_ef()],
                         capture_output=True, text=True, check=True).stdout
    ours = subprocess.run([sys.executable, "-m", "sctpinspect", "read", str(path), "--relative-tsn",
                           "-T", "fields", *_ef()], capture_output=True, text=True).stdout
    ref_rows = [r for r in ref.splitlines() if any(r.split("\t")[1:])]
    our_rows = [r for r in ours.splitlines() if any(r.split("\t")[1:])]
    assert our_rows == ref_rows


def test_relative_tsn_starts_at_zero_for_each_direction():
    from conftest import CAPTURES as DIR
    out = subprocess.run([sys.executable, "-m", "sctpinspect", "read",
                          str(DIR / "clean-association.pcapng"), "--relative-tsn",
                          "-T", "fields", "-e", "sctp.data_tsn", "-e", "ip.src"],
                         capture_output=True, text=True, check=True).stdout
    first = {}
    for row in out.splitlines():
        tsns, src = row.split("\t")
        if tsns and src not in first:
            first[src] = tsns.split(",")[0]
    assert first and set(first.values()) == {"0"}
