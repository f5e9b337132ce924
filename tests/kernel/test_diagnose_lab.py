"""Diagnose captures that a real Linux SCTP stack makes (run inside the lab VM).

Each test provokes a situation (no listener, INIT or COOKIE ACK dropped with
iptables' sctp match, loss with netem, SO_LINGER 0 abort, an extension
enabled on one side only), captures it with dumpcap and checks that
``diagnose`` names it, with the frames the capture holds for it (checked with
tshark where a frame number matters).
"""
from __future__ import annotations

import sys
import textwrap

import pytest

from sctpinspect.diagnostics import diagnose_file
from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel


def _rules(r):
    out = {}
    for f in r.findings:
        out.setdefault(f.rule, []).append(f)
    return out


_CHUNKS: dict = {}


def _frames(pcap, flt):
    """Frames holding a chunk of the type in ``flt`` ("sctp.chunk_type == N"): one
    tshark run per capture (tshark is slow in the emulated VM)."""
    rows = _CHUNKS.get(str(pcap))
    if rows is None:
        rows = _CHUNKS[str(pcap)] = [(int(f), {int(x) for x in t.split(",") if x})
                                     for f, t in tshark_rows(pcap, ["frame.number",
                                                                    "sctp.chunk_type"])]
    want = int(flt.split("==")[1])
    return [f for f, types in rows if want in types]


def _fast_timers(t):
    for key, val in (("rto_min", 100), ("rto_initial", 200), ("rto_max", 400),
                     ("max_init_retransmits", 3)):
        t.sysctl(None, f"net.sctp.{key}", val)


def test_clean_association_raises_nothing_above_info(topology, tmp_path):
    t = topology()
    pcap = tmp_path / "clean.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000)
        cli = t.client(port=5000, messages=["0:18:100", "1:46:3000"])
        crec, srec = cli.result(), srv.result()
    assert crec["error"] is None and srec["error"] is None
    r = diagnose_file(str(pcap), min_severity="warn")
    assert r.findings == [], [f.to_dict() for f in r.findings]


def test_no_listener_init_aborted(topology, tmp_path):
    t = topology()
    pcap = tmp_path / "nolisten.pcapng"
    with t.capture("client0", str(pcap)):
        crec = t.client(port=5999, messages=["0:0:=x"], timeout=10).result()
    assert crec["error"] == "ECONNREFUSED"
    r = _rules(diagnose_file(str(pcap)))
    [f] = r["init-aborted"]
    inits = _frames(pcap, "sctp.chunk_type == 1")
    aborts = _frames(pcap, "sctp.chunk_type == 6")
    assert f.frames == [inits[-1], aborts[0]]
    assert "abort" not in r


def test_init_dropped_by_firewall(topology, tmp_path):
    t = topology()
    _fast_timers(t)
    t.ns("server", ["iptables", "-A", "INPUT", "-p", "sctp", "-m", "sctp",
                    "--chunk-types", "any", "INIT", "-j", "DROP"])
    pcap = tmp_path / "initdrop.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000, timeout=5)
        crec = t.client(port=5000, messages=["0:0:=x"], timeout=15).result(timeout=60)
    assert crec["error"] is not None
    r = _rules(diagnose_file(str(pcap)))
    [f] = r["init-unanswered"]
    inits = _frames(pcap, "sctp.chunk_type == 1")
    assert len(inits) >= 2 and f.frames == inits
    assert f.severity == "error" and f"{len(inits)} INITs" in f.message


def test_cookie_ack_dropped(topology, tmp_path):
    t = topology()
    _fast_timers(t)
    t.ns("client", ["iptables", "-A", "INPUT", "-p", "sctp", "-m", "sctp",
                    "--chunk-types", "any", "COOKIE_ACK", "-j", "DROP"])
    pcap = tmp_path / "cookiedrop.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000, timeout=5)
        crec = t.client(port=5000, messages=["0:0:=x"], timeout=15).result(timeout=60)
    r = _rules(diagnose_file(str(pcap)))
    echoes = _frames(pcap, "sctp.chunk_type == 10")
    assert len(echoes) >= 2
    [f] = r["cookie-unanswered"]
    assert set(echoes) <= set(f.frames)
    assert "retransmitted" in f.message or "never answered" in f.message


def test_loss_gives_retransmissions(topology, tmp_path):
    t = topology()
    # SACKs from the server are lost: with a short RTO and a pause between messages the
    # client's T3-rtx retransmits DATA the capture on client0 has already seen once
    # (max_retrans raised: under an emulated CPU beside other work, 30 % loss with a
    # 400 ms RTO.Max can reach the default 10 retransmissions and end in ETIMEDOUT)
    for key, val in (("rto_min", 100), ("rto_initial", 200), ("rto_max", 400),
                     ("association_max_retrans", 100), ("path_max_retrans", 50)):
        t.sysctl(None, f"net.sctp.{key}", val)
    t.netem("server0", loss=30)
    pcap = tmp_path / "loss.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000, timeout=90)
        cli = t.client(port=5000, messages=["0:18:1000"], repeat=25, interval=0.3, timeout=90)
        crec, srec = cli.result(timeout=120), srv.result(timeout=120)
    assert crec["error"] is None and srec["error"] is None
    r = _rules(diagnose_file(str(pcap)))
    retrans = r.get("retransmission", [])
    assert retrans, "30 % SACK loss with a 200 ms RTO must cause retransmissions"
    tsns = []
    for (row,) in tshark_rows(pcap, ["sctp.data_tsn_raw"], "ip.src == %s && sctp.chunk_type == 0"
                              % t.client_host.addrs[0]):
        tsns += row.split(",")
    f = [x for x in retrans if x.message.startswith(t.client_host.addrs[0])][0]
    assert f.extra["t3"] + f.extra["fast"] == len(tsns) - len(set(tsns))


_LINGER_SERVER = textwrap.dedent("""
    import socket, struct, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 5002)); s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()   # SO_LINGER 0: ABORT (RFC 6458 8.1.4)
""")


def test_so_linger_zero_abort(topology, tmp_path):
    import subprocess
    t = topology()
    pcap = tmp_path / "linger.pcapng"
    with t.capture("client0", str(pcap)):
        p = t.popen("server", [sys.executable, "-c", _LINGER_SERVER], stdout=subprocess.PIPE,
                    text=True)
        assert p.stdout.readline().strip() == "ready"
        client = textwrap.dedent(f"""
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
            s.connect(("{t.server_host.addrs[0]}", 5002)); s.send(b"hello")
            time.sleep(1.0)
        """)
        t.ns("client", [sys.executable, "-c", client])
        p.wait(timeout=20)
    r = _rules(diagnose_file(str(pcap)))
    [f] = r["abort"]
    aborts = _frames(pcap, "sctp.chunk_type == 6")
    assert f.frames == aborts[:1]
    assert f.message.startswith(f"{t.server_host.addrs[0]}:5002 aborted")
    # Linux puts a User Initiated Abort cause in it
    assert "cause-user-abort" in r


def test_extensions_on_one_side_only(topology, tmp_path):
    t = topology()
    for key in ("auth_enable", "reconf_enable", "addip_enable"):
        t.sysctl("client", f"net.sctp.{key}", 1)
    pcap = tmp_path / "ext.pcapng"
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000)
        crec = t.client(port=5000, messages=["0:0:=x"]).result()
        srec = srv.result()
    assert crec["error"] is None and srec["error"] is None
    r = _rules(diagnose_file(str(pcap)))
    keys = {f.key for f in r["extension-mismatch"]}
    assert {"AUTH", "RE-CONFIG", "ASCONF"} <= keys
    init = _frames(pcap, "sctp.chunk_type == 1")[0]
    initack = _frames(pcap, "sctp.chunk_type == 2")[0]
    assert all(f.frames == [init, initack] for f in r["extension-mismatch"])
    # nothing else is wrong with that association
    assert not [f for f in diagnose_file(str(pcap), min_severity="warn").findings]
