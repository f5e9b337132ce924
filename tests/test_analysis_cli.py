"""The assoc / streams / flow commands and the read-pipeline hook."""
import json

import pytest

from conftest import PUBLIC
from sctpinspect.analysis.hook import analysis_hook, needs_analysis
from sctpinspect.cli import main
from sctpinspect.pipeline import Pipeline, open_records
from sctpinspect.registry import format_tshark

ADDIP = str(PUBLIC / "pkts/sctp-addip.cap")
FORCES3 = str(PUBLIC / "tcpdump/forces3.pcap")


def test_assoc_text_and_json(capsys):
    assert main(["assoc", FORCES3]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "#" and len(lines) == 1 + 6
    assert main(["assoc", "--json", ADDIP]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    ep1, ep2 = rows[0]["endpoints"]
    # from the capture's INIT / INIT ACK (tshark -V): vtags and ports
    assert (ep1["port"], ep2["port"]) == (6666, 9999)
    assert (ep1["vtag"], ep2["vtag"]) == (0x71b81d1f, 0x48e63127)
    assert (ep1["state"], ep2["state"]) == ("CLOSED", "CLOSED")
    assert rows[0]["streams_out"] == [10, 10]


def test_streams_filter_and_bad_index(capsys):
    assert main(["streams", "--assoc", "0", "--json", ADDIP]) == 0
    rows = json.loads(capsys.readouterr().out)
    # frames 5..33: ep1 sends 26-byte messages, ep2 1000-byte ones, all on stream 0, PPID 0
    by = {r["sender"]: r for r in rows}
    assert by[1]["sid"] == 0 and by[1]["bytes"] == 26 * by[1]["messages"]
    assert by[2]["bytes"] == 1000 * by[2]["messages"]
    assert main(["streams", "--assoc", "7", ADDIP]) == 2
    err = capsys.readouterr().err
    assert "no association 7" in err and "Traceback" not in err


def test_flow_ladder_has_one_column_per_address(capsys):
    assert main(["flow", "--assoc", "0", ADDIP]) == 0
    out = capsys.readouterr().out.splitlines()
    for addr in ("192.168.0.101", "192.168.0.102", "192.168.0.100"):
        assert addr in out[0]
    arrows = [l for l in out[2:] if "--" in l]
    assert len(arrows) >= 38            # at least one arrow per frame, one per chunk
    assert "COOKIE-WAIT" in out[2] and "5.1 A" in out[2]


def test_missing_file_is_one_line(capsys):
    assert main(["assoc", "/nonexistent.pcap"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_hook_selects_analysis_only_when_needed():
    assert not needs_analysis(["frame.number", "sctp.data_tsn"], "sctp.chunk_type == 0")
    assert needs_analysis(["sctp.assoc_index"])
    assert needs_analysis(None, "sctp.retransmission && ip.src == 1.2.3.4")
    assert analysis_hook(["sctp.srcport"]) is None


def test_pipeline_with_hook_fills_fields():
    pipe = Pipeline(open_records(FORCES3), analyse=analysis_hook(["sctp.assoc_index"]))
    idx = [format_tshark("sctp.assoc_index", p.sctp.get("sctp.assoc_index"))
           for p, _ in pipe if p.sctp is not None]
    assert idx[0] == "0" and len(set(idx)) == 6
