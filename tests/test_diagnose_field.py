"""The field-failure rules of issue 19 and the root-cause-first report.

Each scenario is built with the diagnostic captures' own packet builder
(captures/diag/make_diag_captures.py: RFC 9260 chunk layouts by struct, scapy for
the common header and IP) into tmp_path.  Frame numbers count the packets the
scenario sends: the handshake is frames 1-4 (INIT, INIT ACK, COOKIE ECHO, COOKIE
ACK), ``exchange(n=1)`` frames 5-8.  The expected rules, frames and causal links
follow from the construction and the RFC sections each rule names.
"""
from __future__ import annotations

import importlib.util
import json
import struct
import subprocess
import sys

import pytest

from conftest import REPO
from sctpinspect.diagnostics import RULES, Diagnoser, diagnose_file, diagnose_packets
from sctpinspect.diagnostics.chain import chains, link
from sctpinspect.diagnostics.rules import CAUSED_BY, THRESHOLDS
from sctpinspect.analysis import decode_file
from sctpinspect.errors import UserError

_spec = importlib.util.spec_from_file_location(
    "make_diag_captures", REPO / "captures" / "diag" / "make_diag_captures.py")
mk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mk)

A2, B2 = "10.0.1.1", "10.0.1.2"      # secondary addresses of A and B
BIG = b"x" * 1400                    # a DATA payload too big for a 1280-byte path

# the rules this file proves (tests/test_diagnose_rules.py counts them as tested)
FIELD_RULES = {"stall", "rwnd-deadlock", "heartbeat-ack-address", "secondary-path-abort",
               "abort-after-init-ack", "init-after-established", "cookie-echo-ignored",
               "zero-checksum-unrequested", "static-cookie", "forward-tsn-partial",
               "one-sided-checksum", "pmtu-blackhole"}


def multihomed():
    """Handshake announcing A = 10.0.0.1 + A2 and B = 10.0.0.2 + B2 (frames 1-4)."""
    c = mk.Conv()
    c.a(mk.init(params=mk.ipv4_param("10.0.0.1") + mk.ipv4_param(A2)), vtag=0)
    c.b(mk.init(mk.TB, params=mk.ipv4_param("10.0.0.2") + mk.ipv4_param(B2), ack=True))
    c.a(mk.COOKIE_ECHO).b(mk.COOKIE_ACK)
    return c


def rwnd_deadlock():
    """B's window drops to 0 (frame 6) and stays there; A probes with TSN 2 (7) and
    retransmits it (9, 11) after T3 timeouts; A gives up with ABORT (13)."""
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1, a_rwnd=0))
    c.a(mk.data(2, ssn=1), dt=1.0).b(mk.sack(1, a_rwnd=0))
    c.a(mk.data(2, ssn=1), dt=2.0).b(mk.sack(1, a_rwnd=0))
    c.a(mk.data(2, ssn=1), dt=4.0).b(mk.sack(1, a_rwnd=0))
    c.a(mk.abort(), dt=8.0)
    return c.out


def stall():
    """TSN 2 (frame 7) is lost again and again; B keeps SACKing cum 1 (window open)."""
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1))
    c.a(mk.data(2, ssn=1))
    c.a(mk.data(2, ssn=1), dt=1.0).b(mk.sack(1))
    c.a(mk.data(2, ssn=1), dt=2.0).b(mk.sack(1))
    return c.out


def stall_slow_path():
    """The SACK of TSN 1 comes 0.5 s after it (frame 6): one RTT sample, RTO = 0.5 + 4 x
    0.25 = 1.5 s (RFC 9260 6.3.1 C1); TSN 2 (7) is then lost again and again while B
    SACKs cum 1 at 1 s intervals (frames 9, 11, 13, 15, 17)."""
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1), dt=0.5)
    c.a(mk.data(2, ssn=1))
    for _ in range(5):
        c.a(mk.data(2, ssn=1), dt=1.0).b(mk.sack(1))
    return c.out


def stall_no_sample():
    """As :func:`stall`, but TSN 1 is retransmitted (6) before its SACK (7): Karn's rule
    (6.3.1 C5) leaves no RTT sample, so the RTO is RTO.Min."""
    c = mk.Conv().handshake()
    c.a(mk.data(1)).a(mk.data(1), dt=0.5).b(mk.sack(1))
    c.a(mk.data(2, ssn=1))
    c.a(mk.data(2, ssn=1), dt=1.0).b(mk.sack(1))
    c.a(mk.data(2, ssn=1), dt=2.0).b(mk.sack(1))
    return c.out


def pmtu_blackhole():
    """Small DATA (5) gets through; the big TSN 2 (7, 8, 10) never does, while B answers
    A's HEARTBEATs and SACKs."""
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1))
    c.a(mk.data(2, ssn=1, payload=BIG))
    c.a(mk.data(2, ssn=1, payload=BIG), dt=1.0).b(mk.sack(1))
    c.a(mk.data(2, ssn=1, payload=BIG), dt=2.0).b(mk.sack(1))
    c.a(mk.heartbeat(b"SMALLHB1")).b(mk.heartbeat(b"SMALLHB1", ack=True))
    return c.out


def heartbeat_ack_address():
    """A heartbeats B's secondary address B2 (frame 5); B answers from 10.0.0.2 (6)."""
    c = multihomed()
    c.a(mk.heartbeat(b"HBTOB2!!"), dst=B2)
    c.b(mk.heartbeat(b"HBTOB2!!", ack=True), dst="10.0.0.1")
    return c.out


def secondary_path_abort():
    """A heartbeats B2 (frame 9); a NAT sends that path to another host, which answers
    with an ABORT (T bit, reflected tag) from B2 (10)."""
    c = multihomed().exchange(n=1)
    c.a(mk.heartbeat(b"HBTOB2!!"), src=A2, dst=B2)
    c.b(mk.abort(t=True), vtag=mk.TB, src=B2, dst=A2)
    return c.out


def abort_after_init_ack():
    """A asks for 10 streams each way; B's INIT ACK (2) offers 1/1; A aborts (3)."""
    c = mk.Conv()
    c.a(mk.init(os_=10, mis=10), vtag=0)
    c.b(mk.init(mk.TB, 1, 1, 100, ack=True))
    c.a(mk.abort(mk.cause(12, b"peer offers too few streams")))
    return c.out


def init_after_established(abort=True):
    """A's INIT, delayed past the handshake, arrives again (frame 9, same Initiate Tag);
    B answers INIT ACK (10) and, a stack getting 5.2 wrong, ABORTs the live one (11)."""
    c = mk.Conv().handshake().exchange(n=1)
    c.a(mk.init(), vtag=0, dt=1.0)
    c.b(mk.init(mk.TB, ack=True))
    if abort:
        c.b(mk.abort(mk.cause(13, b"duplicate INIT")))
    return c.out


def cookie_echo_ignored():
    """B answers A's COOKIE ECHO (3) with COOKIE ACK (4); A sends COOKIE ECHO again (5)."""
    c = mk.Conv()
    c.a(mk.init(), vtag=0).b(mk.init(mk.TB, ack=True))
    c.a(mk.COOKIE_ECHO).b(mk.COOKIE_ACK)
    c.a(mk.COOKIE_ECHO, dt=1.0).b(mk.COOKIE_ACK)
    return c.out


ZCA = mk.param(0x8001, struct.pack("!I", 1))     # Zero Checksum Acceptable, EDMID 1


def zero_checksum_unrequested():
    """A offers Zero Checksum Acceptable, B does not; A still sends B a zero checksum
    (frame 5), which B never accepted (RFC 9653 5.2)."""
    c = mk.Conv()
    c.a(mk.init(params=ZCA), vtag=0).b(mk.init(mk.TB, ack=True))
    c.a(mk.COOKIE_ECHO).b(mk.COOKIE_ACK)
    c.a(mk.data(1), checksum=0).b(mk.sack(1))
    return c.out


def zero_checksum_negotiated():
    c = mk.Conv()
    c.a(mk.init(params=ZCA), vtag=0).b(mk.init(mk.TB, params=ZCA, ack=True))
    c.a(mk.COOKIE_ECHO).b(mk.COOKIE_ACK)
    c.a(mk.data(1), checksum=0).b(mk.sack(1), checksum=0)
    return c.out


def static_cookie():
    """Two associations (A port 5000, then 5001) whose INIT ACKs (frames 2, 13) carry the
    same State Cookie."""
    c = mk.Conv().handshake().exchange(n=1).close()
    d = mk.Conv(c.t + 1.0, a=("10.0.0.1", 5001)).handshake()
    return c.out + d.out


def forward_tsn_partial():
    """A sends a message in 3 fragments (TSNs 1-3, frames 5-7); TSN 2 is lost; A's FORWARD
    TSN (9) abandons 1-2 only; B aborts with a Protocol Violation (10)."""
    pr = mk.param(0xC000)
    c = mk.Conv().handshake(init_params=pr, ack_params=pr)
    c.a(mk.data(1, flags=2)).a(mk.data(2, flags=0)).a(mk.data(3, flags=1))
    c.b(mk.sack(1, gaps=[(2, 2)]))
    c.a(mk.chunk(192, 0, struct.pack("!I", 2)), dt=1.0)
    c.b(mk.abort(mk.cause(13, b"FORWARD TSN inside a fragmented message")))
    return c.out


def one_sided_checksum():
    """Every packet of A has a wrong CRC32c and goes unanswered: INIT (1, 2, 3)."""
    c = mk.Conv()
    for dt in (0.0, 1.0, 2.0):
        c.a(mk.init(), vtag=0, dt=dt, checksum=0x12345678)
    c.t += 10
    return c.out


def run_scenario(tmp_path, fn, **kw):
    path = str(mk.write(str(tmp_path / f"{fn.__name__}.pcap"), fn()))
    return diagnose_file(path, **kw), path


def by_rule(result):
    out = {}
    for f in result.findings:
        out.setdefault(f.rule, []).append(f)
    return out


def parent_of(result, f):
    for g, _depth, cause in chains([x for x in result.findings if x.association == f.association]):
        if g is f:
            return cause
    raise AssertionError(f)


# ---------------------------------------------------------------- each rule

def test_rwnd_deadlock_is_the_root_of_the_abort(tmp_path):
    r, _ = run_scenario(tmp_path, rwnd_deadlock)
    rules = by_rule(r)
    assert set(rules) == {"zero-window", "rwnd-deadlock", "stall", "retransmission", "abort"}
    [dl] = rules["rwnd-deadlock"]
    assert dl.frames[0] == 6 and dl.extra["probes"] == 3 and dl.extra["seconds"] >= 3.0
    # zero window, retransmissions, the stall and the ABORT are its effects
    for rid in ("zero-window", "retransmission", "stall", "abort"):
        assert parent_of(r, rules[rid][0]) is dl, rid
    [v] = r.verdicts().values()
    assert v.startswith("ABORT by 10.0.0.1:5000 in frame 13 after 2 T3-rtx timeouts: "
                        "the receiver's window stayed at 0 for ")
    assert "(rwnd-deadlock)" in v
    # the window opening again in time is no deadlock
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1, a_rwnd=0)).a(mk.data(2, ssn=1), dt=1.0)
    c.b(mk.sack(2, a_rwnd=4096), dt=0.5)
    path = mk.write(str(tmp_path / "recovers.pcap"), c.out)
    assert "rwnd-deadlock" not in diagnose_file(str(path)).rules()


def test_stall(tmp_path):
    r, _ = run_scenario(tmp_path, stall)
    rules = by_rule(r)
    assert set(rules) == {"stall", "retransmission"}
    [s] = rules["stall"]
    # cum 1 since the SACK of frame 6; certain at the second unchanged SACK (frame 11)
    assert s.frames == [6, 11] and s.extra["cum_tsn"] == 1 and s.extra["outstanding"] == 1
    assert parent_of(r, rules["retransmission"][0]) is s
    # below the threshold (stall.rtos x stall.rto) nothing; the threshold is an option
    d = Diagnoser(thresholds={"stall.rtos": 10})
    res = diagnose_packets(decode_file(str(tmp_path / "stall.pcap")), diagnoser=d)
    assert "stall" not in res.rules()


def test_stall_uses_the_measured_rto(tmp_path):
    # the fast LAN of `stall`: a sample far below RTO.Min, clamped to it
    r, _ = run_scenario(tmp_path, stall)
    [s] = by_rule(r)["stall"]
    assert s.extra["rto"] == 1.0 and s.extra["rto_from"] == "measured"
    assert "clamped to RTO.Min" in s.message
    # 0.5 s RTT: RTO 1.5 s, so 3 RTOs are 4.5 s; the SACKs 1, 2, 3, 4 s after the cum
    # ack stopped (frame 6) are not yet a stall, the one 5 s after (frame 17) is
    r, _ = run_scenario(tmp_path, stall_slow_path)
    rules = by_rule(r)
    [s] = rules["stall"]
    assert s.extra["rto"] == pytest.approx(1.5, abs=1e-4) and s.extra["rto_from"] == "measured"
    assert "SRTT 0.500 s, RTTVAR 0.250 s from 1 RTT sample" in s.message
    assert s.frames == [6, 17]
    # RTO.Max clamps it (here below the measured 1.5 s): 3.6 s, the SACK 4 s after (15)
    d = Diagnoser(thresholds={"stall.rto_max": 1.2})
    res = diagnose_packets(decode_file(str(tmp_path / "stall_slow_path.pcap")), diagnoser=d)
    [s] = [f for f in res.findings if f.rule == "stall"]
    assert s.extra["rto"] == 1.2 and "clamped to RTO.Max" in s.message and s.frames == [6, 15, 17]


def test_stall_without_rtt_sample_falls_back_to_rto_min(tmp_path):
    r, _ = run_scenario(tmp_path, stall_no_sample)
    [s] = by_rule(r)["stall"]
    assert s.extra["rto"] == 1.0 and s.extra["rto_from"] == "RTO.Min"
    assert "RTO.Min, no RTT sample" in s.message


def test_thresholds_are_named_and_checked():
    assert set(THRESHOLDS) >= {"stall.rtos", "stall.rto", "rwnd-deadlock.seconds",
                               "pmtu-blackhole.retransmissions", "pmtu-blackhole.min_bytes"}
    assert Diagnoser(thresholds={"stall.rtos": "5"}).thresholds["stall.rtos"] == 5
    with pytest.raises(UserError, match="unknown diagnose threshold 'stall.rots'"):
        Diagnoser(thresholds={"stall.rots": 5})
    with pytest.raises(UserError):
        Diagnoser(thresholds={"stall.rtos": "many"})


def test_pmtu_blackhole(tmp_path):
    r, _ = run_scenario(tmp_path, pmtu_blackhole)
    rules = by_rule(r)
    [p] = rules["pmtu-blackhole"]
    assert p.frames == [7, 8, 10] and p.extra["tsn"] == 2 and p.extra["transmissions"] == 3
    big, small = p.extra["size"], p.extra["largest_through"]
    assert big > 1400 > small > 0
    for rid in ("retransmission", "stall"):
        assert parent_of(r, rules[rid][0]) is p
    # the same losses with small packets are no black hole
    r2, _ = run_scenario(tmp_path, stall)
    assert "pmtu-blackhole" not in r2.rules()


def test_heartbeat_ack_address(tmp_path):
    r, _ = run_scenario(tmp_path, heartbeat_ack_address)
    [f] = by_rule(r)["heartbeat-ack-address"]
    assert f.frames == [5, 6] and B2 in f.message and "from 10.0.0.2" in f.message
    assert r.rules() == {"heartbeat-ack-address"}


def test_secondary_path_abort(tmp_path):
    r, _ = run_scenario(tmp_path, secondary_path_abort)
    rules = by_rule(r)
    [f] = rules["secondary-path-abort"]
    assert f.frames == [9, 10] and f"ABORT from {B2}" in f.message
    assert parent_of(r, rules["abort"][0]) is f
    [v] = r.verdicts().values()
    assert "(secondary-path-abort)" in v


def test_abort_after_init_ack(tmp_path):
    r, _ = run_scenario(tmp_path, abort_after_init_ack)
    rules = by_rule(r)
    assert set(rules) == {"abort-after-init-ack", "abort", "cause-user-abort", "stream-limit"}
    [f] = rules["abort-after-init-ack"]
    assert f.frames == [2, 3]
    assert "offered 1 outbound / 1 inbound streams (the INIT asked 10 / 10)" in f.message
    assert '"peer offers too few streams"' in f.message
    assert parent_of(r, rules["abort"][0]) is f
    assert parent_of(r, rules["cause-user-abort"][0]) is f
    # the streams negotiated down explain the refusal: root cause first
    assert parent_of(r, f) is rules["stream-limit"][0]
    [v] = r.verdicts().values()
    assert v.startswith("ABORT by 10.0.0.1:5000 in frame 3: ") and "(stream-limit)" in v


def test_init_after_established(tmp_path):
    r, _ = run_scenario(tmp_path, init_after_established)
    rules = by_rule(r)
    [f] = rules["init-after-established"]
    assert f.frames == [4, 9] and "0x0a0a0a0a" in f.message
    # a late INIT is not an unanswered or retransmitted INIT of the handshake
    assert "init-unanswered" not in rules
    assert parent_of(r, rules["abort"][0]) is f
    # the Protocol Violation text is quoted
    assert '"duplicate INIT"' in rules["cause-protocol-violation"][0].message


def test_cookie_echo_ignored(tmp_path):
    r, _ = run_scenario(tmp_path, cookie_echo_ignored)
    rules = by_rule(r)
    [f] = rules["cookie-echo-ignored"]
    assert f.frames == [4, 5] and "sent COOKIE ACK in frame 4" in f.message
    assert parent_of(r, rules["cookie-unanswered"][0]) is f


def test_zero_checksum_unrequested(tmp_path):
    r, _ = run_scenario(tmp_path, zero_checksum_unrequested)
    rules = by_rule(r)
    [f] = rules["zero-checksum-unrequested"]
    assert f.frames == [5] and f.message.startswith("10.0.0.1:5000 sends")
    assert parent_of(r, rules["checksum-zero"][0]) is f
    # negotiated both ways (RFC 9653 5.2): fine
    r2, _ = run_scenario(tmp_path, zero_checksum_negotiated)
    assert "zero-checksum-unrequested" not in r2.rules()


def test_static_cookie(tmp_path):
    r, _ = run_scenario(tmp_path, static_cookie)
    [f] = by_rule(r)["static-cookie"]
    assert f.association == 1 and f.frames == [2, 13] and f.extra["same_as_association"] == 0
    assert r.rules() == {"static-cookie"}


def two_cookies():
    """As :func:`static_cookie`, but the second INIT ACK's cookie differs in its last byte
    (same length)."""
    c = mk.Conv().handshake().exchange(n=1).close()
    d = mk.Conv(c.t + 1.0, a=("10.0.0.1", 5001))
    d.a(mk.init(), vtag=0).b(mk.init(mk.TB, ack=True).replace(b"COOKIE01", b"COOKIE02"))
    d.a(mk.COOKIE_ECHO).b(mk.COOKIE_ACK)
    return c.out + d.out


def test_static_cookie_compares_the_bytes(tmp_path):
    """Cookies of the same length that differ in one byte are different cookies; the cap
    on remembered cookies is counted and reported by analysis-capped."""
    from sctpinspect.diagnostics import field
    r, _ = run_scenario(tmp_path, two_cookies)
    assert "static-cookie" not in r.rules()
    old = field.MAX_COOKIES
    field.MAX_COOKIES = 1
    try:
        r, _ = run_scenario(tmp_path, two_cookies)
    finally:
        field.MAX_COOKIES = old
    [cap] = by_rule(r)["analysis-capped"]
    assert "state cookies" in cap.message



def test_forward_tsn_partial(tmp_path):
    r, _ = run_scenario(tmp_path, forward_tsn_partial)
    rules = by_rule(r)
    [f] = rules["forward-tsn-partial"]
    assert f.frames == [9] and "TSN 2 is a fragment without the E bit" in f.message
    assert parent_of(r, rules["abort"][0]) is f
    assert parent_of(r, rules["cause-protocol-violation"][0]) is rules["abort"][0]
    # a FORWARD TSN abandoning the whole message is fine
    pr = mk.param(0xC000)
    c = mk.Conv().handshake(init_params=pr, ack_params=pr)
    c.a(mk.data(1, flags=2)).a(mk.data(2, flags=1)).a(mk.data(3, ssn=1))
    c.b(mk.sack(0, gaps=[(3, 3)]))
    c.a(mk.chunk(192, 0, struct.pack("!IHH", 2, 0, 0)), dt=1.0).b(mk.sack(3))
    path = mk.write(str(tmp_path / "whole.pcap"), c.out)
    assert "forward-tsn-partial" not in diagnose_file(str(path)).rules()


def test_one_sided_checksum(tmp_path):
    r, _ = run_scenario(tmp_path, one_sided_checksum)
    rules = by_rule(r)
    [f] = rules["one-sided-checksum"]
    assert f.frames == [1] and "INIT sent 3 times" in f.message
    assert parent_of(r, rules["checksum-bad"][0]) is f
    assert parent_of(r, rules["init-unanswered"][0]) is f
    # bad checksums that the peer answers anyway are offload on the capturing host
    r2 = diagnose_file(str(mk.write(str(tmp_path / "off.pcap"), mk.checksum_bad_offload())))
    assert "one-sided-checksum" not in r2.rules()


def test_user_abort_reason_and_protocol_violation_text_are_printed(tmp_path):
    c = mk.Conv().handshake().exchange(n=1)
    c.b(mk.abort(mk.cause(12, b"shutting down: \x01bye")))
    r = diagnose_file(str(mk.write(str(tmp_path / "ua.pcap"), c.out)))
    text = r.text()
    assert 'User initiated ABORT cause "shutting down: \\x01bye"' in text
    c = mk.Conv().handshake().exchange(n=1)
    c.b(mk.error(mk.cause(13, b"Cumulative TSN Ack beyond the max TSN currently sent")))
    r = diagnose_file(str(mk.write(str(tmp_path / "pv.pcap"), c.out)))
    [f] = r.findings
    assert f.message.endswith('"Cumulative TSN Ack beyond the max TSN currently sent"')


# ---------------------------------------------------------------- chains and output

def test_causal_table_is_acyclic_and_names_rules():
    for effect, causes in CAUSED_BY.items():
        assert effect in RULES
        for c, mode in causes:
            assert c in RULES and mode in ("after", "same", "any")
    state = {}

    def visit(r):
        state[r] = 1
        for c, _ in CAUSED_BY.get(r, ()):
            assert state.get(c) != 1, f"cycle through {r} and {c}"
            if c not in state:
                visit(c)
        state[r] = 2
    for r in CAUSED_BY:
        if r not in state:
            visit(r)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", *args],
                          capture_output=True, text=True, cwd=str(REPO))


def test_text_says_the_root_cause_first(tmp_path):
    _, path = run_scenario(tmp_path, rwnd_deadlock)
    p = run_cli(path)
    assert p.returncode == 4, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("association 0:")
    assert lines[1].startswith("  verdict: ABORT by 10.0.0.1:5000")
    assert lines[2].startswith("  ERROR rwnd-deadlock")
    effects = [ln.strip().split()[2] for ln in lines if ln.strip().startswith("-> ")]
    # the effects under their root in the order they began (frames 6, 6, 9, 13)
    assert sorted(effects[:2]) == ["stall", "zero-window"]
    assert effects[2:] == ["retransmission", "abort"]
    assert p.stdout.count("caused by: rwnd-deadlock") == 4


def test_json_carries_the_verdict_and_the_chain(tmp_path):
    _, path = run_scenario(tmp_path, rwnd_deadlock)
    data = json.loads(run_cli("--json", path).stdout)
    assert data[0]["rule"] == "rwnd-deadlock" and data[0]["caused_by"] is None
    assert data[0]["verdict"].startswith("ABORT by 10.0.0.1:5000")
    assert [o["id"] for o in data] == list(range(len(data)))
    assert {o["rule"]: o["caused_by"] for o in data[1:]} == {
        "zero-window": 0, "retransmission": 0, "stall": 0, "abort": 0}
    assert all(o["depth"] == 1 for o in data[1:])
    assert [o["verdict"] is not None for o in data] == [True] + [False] * (len(data) - 1)


def test_link_respects_time_and_data_sender(tmp_path):
    # an ABORT before the zero window is not caused by it
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1, a_rwnd=0)).a(mk.data(2, ssn=1), dt=5.0).b(mk.sack(1, a_rwnd=0))
    c.a(mk.data(2, ssn=1), dt=1.0)
    fs = diagnose_file(str(mk.write(str(tmp_path / "zw.pcap"), c.out))).findings
    rules = {f.rule: f for f in fs}
    assert "rwnd-deadlock" in rules
    parents = link(fs)
    assert parents[id(rules["zero-window"])] is rules["rwnd-deadlock"]
    # retransmissions by B are not explained by B's own zero window towards A
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1, a_rwnd=0)).a(mk.data(2, ssn=1), dt=4.0).b(mk.sack(1, a_rwnd=0))
    c.b(mk.data(100)).b(mk.data(100), dt=1.0).a(mk.sack(100))
    fs = diagnose_file(str(mk.write(str(tmp_path / "zw2.pcap"), c.out))).findings
    rt = [f for f in fs if f.rule == "retransmission"]
    assert rt and all(link(fs).get(id(f)) is None for f in rt)


@pytest.mark.parametrize("name", ["clean", "retransmission_fast", "zero_window",
                                  "path_failover", "heartbeat_unanswered"])
def test_no_field_rule_on_the_plain_scenarios(tmp_path, name):
    r = diagnose_file(str(mk.write(str(tmp_path / f"{name}.pcap"), mk.SCENARIOS[name]())))
    assert not (r.rules() & FIELD_RULES)


def test_cli_set_overrides_a_threshold(tmp_path):
    _, path = run_scenario(tmp_path, stall)
    assert "ERROR stall" in run_cli(path).stdout
    p = run_cli("--set", "stall.rtos=10", "--json", path)
    assert p.returncode == 3 and "stall" not in {o["rule"] for o in json.loads(p.stdout)}
    p = run_cli("--set", "stall.rots=10", path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "stall.rots" in p.stderr
    p = run_cli("--set", "stall.rtos", path)
    assert p.returncode == 2 and "NAME=VALUE" in p.stderr
    assert "stall.rtos = 3" in run_cli("--rules").stdout


def test_tui_diagnostics_view_shows_the_verdict(tmp_path):
    from sctpinspect.tui.views import diagnostics_text
    _, path = run_scenario(tmp_path, rwnd_deadlock)

    class Store:
        pass
    store = Store()
    store.path = path
    text = diagnostics_text(store)           # the command's report (tui17: one streaming pass)
    assert "  verdict: ABORT by 10.0.0.1:5000" in text


def test_timeline_says_when(tmp_path):
    _, path = run_scenario(tmp_path, rwnd_deadlock)
    p = run_cli("--timeline", path)
    assert p.returncode == 4, p.stderr
    tl = p.stdout[p.stdout.index("  timeline:"):].splitlines()[1:]
    tl = [ln.split(None, 2) for ln in tl if ln.startswith("    ")]
    times = [float(x[0].lstrip("+")) for x in tl]
    assert times == sorted(times) and times[0] == 0.0
    text = [x[2] for x in tl]
    # the handshake, the window closing at frame 6 (+0.05 s), the RTO backoff of TSN 2
    # (frames 9 and 11, 2.01 and 6.02 s after its first transmission), the ABORT
    assert "frame 1       endpoint 1 CLOSED -> COOKIE-WAIT (send INIT)" in text
    assert "frame 6       10.0.0.2:6000 closes its window (a_rwnd 0)" in text
    assert any(t.startswith("frame 9 ") and "TSN 2 for the 2nd time, 2.010 s" in t for t in text)
    assert any(t.startswith("frame 11 ") and "TSN 2 for the 3rd time, 6.020 s" in t for t in text)
    assert text[-1] == "error abort certain (its frames from 13)"
    assert "timeline:" not in run_cli(path).stdout
    p = run_cli("--timeline", "--json", path)
    assert p.returncode == 2 and "--timeline" in p.stderr


def test_timeline_window_reopens(tmp_path):
    c = mk.Conv().handshake()
    c.a(mk.data(1)).b(mk.sack(1, a_rwnd=0)).b(mk.sack(1, a_rwnd=4096), dt=2.0)
    r = diagnose_file(str(mk.write(str(tmp_path / "zw.pcap"), c.out)))
    text = r.text(timeline=True)
    assert "frame 6       10.0.0.2:6000 closes its window (a_rwnd 0)" in text
    assert "frame 7       10.0.0.2:6000 opens its window again (a_rwnd 4096)" in text
