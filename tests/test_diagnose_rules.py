"""Every diagnostic rule against a capture that shows it.

Crafted captures (RFC 9260 byte layouts, scapy-wrapped) are built into
tmp_path by captures/diag/make_diag_captures.py; each scenario states what it
contains, so the expected rule set and the proving frames follow from the
construction (frame numbers count the packets the scenario sends).  Public
captures cover what their MANIFEST notes say they contain.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import PUBLIC, REPO
from sctpinspect.diagnostics import RULES, CAUSE_RULES, Diagnoser, diagnose_file
from sctpinspect.analysis import decode_file
from test_diagnose_field import FIELD_RULES

_spec = importlib.util.spec_from_file_location(
    "make_diag_captures", REPO / "captures" / "diag" / "make_diag_captures.py")
mk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mk)


def build(tmp_path, name, packets):
    return str(mk.write(str(tmp_path / f"{name}.pcap"), packets))


def findings(tmp_path, name, packets=None, **kw):
    packets = packets if packets is not None else mk.SCENARIOS[name]()
    return diagnose_file(build(tmp_path, name, packets), **kw).findings


def by_rule(fs):
    out = {}
    for f in fs:
        out.setdefault(f.rule, []).append(f)
    return out


# scenario -> exactly the rules it must raise (and no other)
EXPECTED = {
    "clean": set(),
    "checksum_bad_offload": {"checksum-bad"},
    "checksum_bad_mixed": {"checksum-bad"},
    "checksum_zero": {"checksum-zero"},
    "vtag_mismatch": {"vtag-mismatch"},
    "vtag_init_nonzero": {"vtag-init-nonzero"},
    "vtag_tbit_abort": {"vtag-tbit"},
    # the receiver discards the SHUTDOWN COMPLETE, so the shutdown never completes
    "vtag_tbit_shutdown_complete": {"vtag-tbit", "shutdown-incomplete"},
    "ootb": {"ootb"},
    "init_unanswered": {"init-unanswered"},
    "init_retransmitted": {"init-unanswered"},
    "init_aborted": {"init-aborted"},
    "cookie_unanswered": {"cookie-unanswered"},
    "stale_cookie": {"stale-cookie", "cause-stale-cookie"},
    # the restarting INIT is not answered in this capture
    "restart": {"restart", "init-unanswered"},
    "abort_user": {"abort", "cause-user-abort"},
    "extension_mismatch": {"extension-mismatch"},
    "unrecognized_extension_chunk": {"extension-mismatch", "cause-unrecognized-chunk"},
    "stream_limit": {"stream-limit", "data-invalid-stream"},
    "unknown_chunk": {"unknown-chunk"},
    "unknown_param": {"unknown-param"},
    "ppid_byte_order": {"ppid-byte-order"},
    "abort_loop": {"abort-loop", "init-aborted"},
    "retransmission_t3": {"retransmission"},
    "retransmission_fast": {"retransmission"},
    "duplicate_tsn": {"duplicate-tsn", "retransmission"},
    "zero_window": {"zero-window"},
    "heartbeat_unanswered": {"heartbeat-unanswered"},
    "path_failover": {"path-failover", "retransmission"},
    "shutdown_incomplete": {"shutdown-incomplete"},
    "icmp_unreachable": {"icmp-unreachable", "init-unanswered"},
    "malformed": {"malformed"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_raises_exactly_its_rules(tmp_path, name):
    fs = findings(tmp_path, name)
    assert {f.rule for f in fs} == EXPECTED[name]
    for f in fs:
        assert f.frames, f
        assert f.rfc == RULES[f.rule].rfc and f.hint == RULES[f.rule].next


# cause code -> (rule, a text the decoded cause must put in the message)
@pytest.mark.parametrize("code", sorted(mk.CAUSE_INFO))
def test_every_error_cause_has_its_rule(tmp_path, code):
    fs = findings(tmp_path, f"cause_{code}", mk.error_cause(code))
    rule = CAUSE_RULES[code][0]
    hits = [f for f in fs if f.rule == rule]
    assert len(hits) == 1
    # ERROR is packet 9 (4 handshake + 4 exchange), sent by B
    assert hits[0].frames == [9]
    assert hits[0].message.startswith("ERROR from 10.0.0.2:6000")


def test_checksum_offload_heuristic(tmp_path):
    [f] = findings(tmp_path, "checksum_bad_offload")
    # A (10.0.0.1) sent frames 1, 3, 5: all bad; B's are all good
    assert f.frames == [1, 3, 5] and f.count == 3
    assert f.extra["offload_suspected"] is True and f.severity == "warn"
    assert "offload" in f.message and "10.0.0.1" in f.message
    [g] = findings(tmp_path, "checksum_bad_mixed")
    # one bad packet (frame 7) among good ones from the same host: not offload
    assert g.frames == [7] and g.severity == "error"
    assert "offload_suspected" not in g.extra and "not offload" in g.message


def test_zero_checksum_is_info_and_never_bad(tmp_path):
    fs = findings(tmp_path, "checksum_zero")
    assert [(f.rule, f.severity) for f in fs] == [("checksum-zero", "info")] * 2
    assert sorted(f.frames[0] for f in fs) == [5, 6]


def test_vtag_mismatch_details(tmp_path):
    [f] = findings(tmp_path, "vtag_mismatch")
    assert f.association == 0
    # packet 9 carries the bad tag, 10 is B's ABORT (T bit), 11 repeats the bad tag
    assert f.frames == [9, 10, 11]
    assert f.extra["answered_by_abort"] == 10
    assert "0x12345678" in f.message and f"0x{mk.TB:08x}" in f.message


def test_vtag_tbit_and_init_nonzero(tmp_path):
    [f] = findings(tmp_path, "vtag_tbit_abort")
    assert f.frames == [9] and "T bit set" in f.message
    [g] = by_rule(findings(tmp_path, "vtag_tbit_shutdown_complete"))["vtag-tbit"]
    assert g.frames == [11] and "T bit clear" in g.message
    [h] = findings(tmp_path, "vtag_init_nonzero")
    assert h.frames == [1] and "0x55555555" in h.message


def test_handshake_rules(tmp_path):
    [f] = findings(tmp_path, "init_unanswered")
    assert f.frames == [1, 2, 3] and f.severity == "error"
    assert "+0.000, +1.000, +3.000" in f.message
    [g] = findings(tmp_path, "init_retransmitted")
    assert g.severity == "warn" and g.frames == [1, 2] and "retransmitted 1 times" in g.message
    [h] = findings(tmp_path, "init_aborted")
    assert h.frames == [1, 2] and "no cause" in h.message
    [c] = findings(tmp_path, "cookie_unanswered")
    assert c.frames == [3, 4, 5] and "never answered" in c.message
    s = by_rule(findings(tmp_path, "stale_cookie"))["stale-cookie"][0]
    assert s.frames == [3, 4] and "10000000" in s.message


def test_restart_and_abort(tmp_path):
    r = by_rule(findings(tmp_path, "restart"))
    assert r["restart"][0].association == 0 and r["restart"][0].frames == [9]
    assert r["init-unanswered"][0].association == 1
    a = by_rule(findings(tmp_path, "abort_user"))["abort"][0]
    assert a.frames == [9] and "10.0.0.2:6000 aborted" in a.message
    assert "User initiated ABORT" in a.message


def test_negotiation_rules(tmp_path):
    fs = findings(tmp_path, "extension_mismatch")
    offered = {f.key for f in fs if isinstance(f.key, str)}
    assert offered == {"RE-CONFIG", "ASCONF", "PR-SCTP", "ECN"}
    rejected = [f for f in fs if f.key == ("rejected", 0x8000)]
    assert rejected and rejected[0].severity == "warn" and "ECN" in rejected[0].message
    fs = by_rule(findings(tmp_path, "stream_limit"))
    assert "asked for 10 outbound streams" in fs["stream-limit"][0].message
    d = fs["data-invalid-stream"][0]
    assert d.frames == [7] and "stream 5" in d.message and "0-1" in d.message
    us = findings(tmp_path, "unknown_chunk")
    assert [u.frames for u in us] == [[5], [6]]
    msgs = " ".join(f.message for f in findings(tmp_path, "unknown_chunk"))
    assert "112" in msgs and "240" in msgs       # 0x70 and 0xF0
    ps = findings(tmp_path, "unknown_param")
    assert {f.rule for f in ps} == {"unknown-param"} and len(ps) == 2
    [p] = findings(tmp_path, "ppid_byte_order")
    assert p.frames == [5] and "301989888" in p.message and "S1AP" in p.message


def test_abort_loop(tmp_path):
    [loop] = by_rule(findings(tmp_path, "abort_loop"))["abort-loop"]
    assert loop.association is None and loop.count == 4
    assert loop.frames == [2, 4, 6, 8]


def test_data_transfer_rules(tmp_path):
    [t3] = findings(tmp_path, "retransmission_t3")
    assert (t3.extra["t3"], t3.extra["fast"]) == (1, 0) and t3.frames == [6]
    [fast] = findings(tmp_path, "retransmission_fast")
    assert (fast.extra["t3"], fast.extra["fast"]) == (0, 1) and fast.frames == [13]
    d = by_rule(findings(tmp_path, "duplicate_tsn"))["duplicate-tsn"][0]
    assert d.frames == [8] and d.extra["duplicates"] == 1
    [z] = findings(tmp_path, "zero_window")
    assert z.frames == [6] and z.extra["stalls"] == [{"frame": 6, "end_frame": 7, "seconds": 2.0}]
    [h] = findings(tmp_path, "heartbeat_unanswered")
    assert h.frames == [5]
    p = by_rule(findings(tmp_path, "path_failover"))["path-failover"][0]
    assert p.frames == [8] and "10.0.1.1 -> 10.0.1.2" in p.message
    [s] = findings(tmp_path, "shutdown_incomplete")
    assert s.frames == [9]


def test_icmp_unreachable(tmp_path):
    fs = by_rule(findings(tmp_path, "icmp_unreachable"))["icmp-unreachable"]
    msgs = sorted(f.message for f in fs)
    assert len(fs) == 4
    assert any("protocol unreachable" in m for m in msgs)
    assert any("fragmentation needed (MTU 1280)" in m for m in msgs)
    assert any(m.startswith("ICMPv6 port unreachable") for m in msgs)
    assert all(f.association is not None for f in fs)


def test_malformed_says_where(tmp_path):
    [m] = findings(tmp_path, "malformed")
    assert m.frames == [5] and "Chunk length (200)" in m.message and "RFC 9260" in m.message


def test_streaming_emits_when_certain(tmp_path):
    """feed() reports a finding at the packet that makes it certain; finish() the rest."""
    path = build(tmp_path, "x", mk.init_unanswered() + mk.vtag_mismatch())
    d = Diagnoser()
    when = {}
    for pkt in decode_file(path):
        for f in d.feed(pkt):
            when.setdefault(f.rule, pkt.number)
    end = {f.rule for f in d.finish()}
    assert when["init-unanswered"] == 2        # certain at the first retransmission
    assert when["vtag-mismatch"] == 3 + 9       # the 9th packet of the second scenario
    assert "init-unanswered" not in end         # already reported; updated, not repeated


def test_rule_field_in_packets_and_display_filter(tmp_path):
    from sctpinspect.filter import compile_filter
    path = build(tmp_path, "v", mk.vtag_mismatch())
    d = Diagnoser()
    pred = compile_filter('sctpinspect.rule == "vtag-mismatch"')
    hits = []
    for pkt in decode_file(path):
        d.feed(pkt)
        if pred(pkt):
            hits.append(pkt.number)
    assert hits == [9, 10, 11]
    r = diagnose_file(path, display_filter="frame.number == 4")
    assert r.findings == []
    r = diagnose_file(path, display_filter="frame.number == 10")
    assert [f.rule for f in r.findings] == ["vtag-mismatch"]


def test_every_rule_is_tested():
    covered = set().union(*EXPECTED.values()) | {CAUSE_RULES[c][0] for c in mk.CAUSE_INFO}
    covered |= {"init-collision", "checksum-adler32"}     # public captures below
    covered |= {"analysis-capped"}                       # tests/test_floods.py
    covered |= {"idata-fsn-from-zero"}                   # tests/test_diagnose_idata_fsn.py
    covered |= FIELD_RULES                               # tests/test_diagnose_field.py
    assert set(RULES) <= covered, set(RULES) - covered


# ---------------------------------------------------------------- public captures

def test_public_init_collision_and_abort_loop():
    r = diagnose_file(str(PUBLIC / "pkts/sctp_init_collision.cap"))
    rules = by_rule(r.findings)
    # MANIFEST: INIT collision + ABORT; 8 INITs answered by ABORT before it
    assert len(rules["init-aborted"]) == 8
    assert rules["abort-loop"][0].count == 8
    col = rules["init-collision"][0]
    assert col.frames == [17, 18] and col.severity == "info"


def test_public_bad_checksums_mm():
    r = diagnose_file(str(PUBLIC / "pcapsctpspliter/mm.pcap"))
    [f] = by_rule(r.findings)["checksum-bad"]
    assert f.frames == [1, 2]


@pytest.mark.parametrize("path", ["tcpdump/isup.pcap", "pkts/sctp.cap"])
def test_public_adler32(path):
    r = diagnose_file(str(PUBLIC / path))
    assert "checksum-adler32" in r.rules() and "checksum-bad" not in r.rules()


CLEAN_PUBLIC = ["tcpdump/forces1.pcap", "tcpdump/forces2.pcap", "tcpdump/forces3.pcap",
                "pkts/sctp-test.cap", "pkts/sctp001.pcap", "pkts/sctp-addip.cap",
                "pcapsctpspliter/bbbb.pcap", "pypacker/packets_diameter.pcap",
                "open5gs/testregistration.pcapng", "open5gs/volte.pcapng",
                "magma/gx_gy_combined_06_210505_133132-1.pcapng",
                "magma/gx_gy_combined_03_210505_132953-1.pcapng", "magma/nsa_connection.pcap",
                "suricata-verify/sctp-keywords/input.pcap"]


@pytest.mark.parametrize("path", CLEAN_PUBLIC)
def test_clean_public_captures_raise_nothing_above_info(path):
    r = diagnose_file(str(PUBLIC / path), min_severity="warn")
    assert r.findings == [], [f.to_dict() for f in r.findings]


def test_clean_project_capture():
    p = REPO / "captures" / "clean-association.pcapng"
    if not p.exists():
        pytest.skip("captures/clean-association.pcapng not made yet")
    assert diagnose_file(str(p), min_severity="warn").findings == []


# ---------------------------------------------------------------- command line

def run(*args):
    return subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", *args],
                          capture_output=True, text=True)


def test_cli_json_and_exit_status(tmp_path):
    path = build(tmp_path, "abort", mk.abort_user())
    p = run("--json", path)
    assert p.returncode == 4, p.stderr
    data = json.loads(p.stdout)
    for obj in data:
        assert {"rule", "severity", "rfc", "association", "frames", "message", "hint"} <= set(obj)
    assert {o["rule"] for o in data} == {"abort", "cause-user-abort"}
    p = run("--min-severity", "error", "--json", path)
    assert [o["rule"] for o in json.loads(p.stdout)] == ["abort"]
    clean = build(tmp_path, "clean", mk.clean())
    p = run(clean)
    assert p.returncode == 0 and "no findings" in p.stdout
    warn = build(tmp_path, "z", mk.zero_window())
    assert run(warn).returncode == 3


def test_cli_text_groups_by_association(tmp_path):
    path = build(tmp_path, "two", mk.abort_user() + mk.init_unanswered())
    p = run(path)
    out = p.stdout
    assert out.index("association 0:") < out.index("abort") < out.index("association 1:")
    assert "frames: 9" in out and "next:" in out and "[RFC 9260 9.1]" in out


def test_cli_errors_are_one_sentence(tmp_path):
    p = run(str(tmp_path / "missing.pcap"))
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "no such file" in p.stderr
    p = run("-Y", "sctp.chunk_type ==", str(PUBLIC / "pkts/sctp001.pcap"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = run("--rules")
    assert p.returncode == 0 and all(r in p.stdout for r in RULES)


# ---------------------------------------------------------------- kernel-lab project captures

def _tshark_frames(tshark, path, flt):
    out = subprocess.run([tshark, "-n", "-r", str(path), "-o", "sctp.relative_tsns:FALSE",
                          "-Y", flt, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


def _project(name):
    p = REPO / "captures" / name
    if not p.exists():
        pytest.skip(f"captures/{name} not made")
    return p


def test_kernel_capture_init_abort(tshark):
    p = _project("init-abort.pcapng")
    [f] = diagnose_file(str(p)).findings
    assert f.rule == "init-aborted"
    assert f.frames == _tshark_frames(tshark, p, "sctp.chunk_type == 1 || sctp.chunk_type == 6")


def test_kernel_capture_lossy(tshark):
    p = _project("lossy-retransmissions.pcapng")
    rules = by_rule(diagnose_file(str(p)).findings)
    [r] = rules["retransmission"]
    # tshark's sctp.retransmission marks the retransmitted DATA chunks
    assert r.frames == _tshark_frames(tshark, p, "sctp.retransmission")
    inits = _tshark_frames(tshark, p, "sctp.chunk_type == 1")
    if len(inits) > 1:      # the INIT itself was lost once
        [i] = rules["init-unanswered"]
        assert i.severity == "warn" and i.frames == inits
    else:
        assert "init-unanswered" not in rules
    shutdowns = _tshark_frames(tshark, p, "sctp.chunk_type == 7")
    if _tshark_frames(tshark, p, "sctp.chunk_type == 14"):
        assert "shutdown-incomplete" not in rules
    else:                   # the SHUTDOWN COMPLETE was lost
        assert rules["shutdown-incomplete"][0].frames == shutdowns[:1]


def test_kernel_capture_multihomed_failover(tshark):
    p = _project("multihomed-failover.pcapng")
    rules = by_rule(diagnose_file(str(p)).findings)
    [pf] = rules["path-failover"]
    assert "198.51.100.1 -> 198.51.100.2" in pf.message
    hb = rules["heartbeat-unanswered"][0]
    acked = set(_tshark_frames(tshark, p, "sctp.chunk_type == 4"))
    assert set(hb.frames) <= acked
