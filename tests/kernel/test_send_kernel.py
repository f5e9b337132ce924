"""``sctpinspect send`` / ``listen`` / ``craft`` and the SctpEndpoint API
against real kernel SCTP (lab VM).  The truth is what the kernel peer
received (SCTP_RCVINFO), the notifications the kernel raised, and the wire
(capture decoded by the project, cross-checked with tshark)."""
from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time

import pytest

from sctpinspect.lab.tshark import tshark_rows
from sctpinspect.sock import SctpEndpoint, SctpError

pytestmark = pytest.mark.kernel
PY = sys.executable


def _cmd(*argv):
    return [PY, "-m", "sctpinspect", *argv]


class Proc:
    """A command in a lab namespace whose JSON lines we read as they come."""

    def __init__(self, t, host, argv):
        self.p = t.popen(host, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[dict] = []
        self._buf = b""

    def wait_for(self, pred, timeout=60.0):
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while True:
            for d in self.lines:
                if pred(d):
                    return d
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; got {self.lines}")
            if select.select([fd], [], [], min(left, 1.0))[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    if self.p.poll() is not None:
                        err = self.p.stderr.read().decode()
                        raise AssertionError(f"exited {self.p.returncode}: {err} {self.lines}")
                    continue
                self._buf += chunk
                *full, self._buf = self._buf.split(b"\n")
                self.lines += [json.loads(x) for x in full if x.strip()]

    def finish(self, timeout=90.0):
        out, err = self.p.communicate(timeout=timeout)
        self.lines += [json.loads(x) for x in (self._buf + out).split(b"\n") if x.strip()]
        return self.p.returncode, err.decode()


def _listen(t, *extra, port=5000, addr=None):
    where = f"{addr}:{port}" if addr else f"{port}"
    srv = Proc(t, "server", _cmd("listen", where, "--json", *extra))
    srv.wait_for(lambda d: d["kind"] == "listening")
    return srv


def _send(t, *argv, host="client"):
    p = subprocess.run(["ip", "netns", "exec", t.host(host).netns, *_cmd("send", *argv)],
                       capture_output=True, text=True, timeout=90)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return p.returncode, lines, p.stderr


def _ours(pcap, fields, flt=None):
    argv = _cmd("read", str(pcap), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,")
    for f in fields:
        argv += ["-e", f]
    if flt:
        argv += ["-Y", flt]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [line.split("\t") for line in p.stdout.splitlines()]


def test_send_stream_ppid_unordered_ttl_on_the_wire(topology, tmp_path):
    t = topology()
    for dev in ("client0", "server0"):
        t.checksum_offload(dev, on=False)
    pcap = tmp_path / "send.pcap"
    with t.capture("client0", str(pcap), tool="tcpdump"):
        srv = _listen(t, "--count", "3")
        rc, a, err = _send(t, "192.0.2.2:5000", "hello", "--stream", "3", "--ppid", "101",
                           "--json")
        assert rc == 0, err
        rc, b, err = _send(t, "192.0.2.2:5000", "loose", "--unordered", "--ppid", "7", "--json")
        assert rc == 0, err
        rc, c, err = _send(t, "192.0.2.2:5000", "timed", "--ttl", "5000", "--stream", "1",
                           "--json")
        assert rc == 0, err
        rc, serr = srv.finish()
    assert rc == 0, serr
    # the sender saw the association come up and shut down cleanly
    for out in (a, b, c):
        kinds = [(d["kind"], d.get("state")) for d in out]
        assert kinds[0] == ("event", "COMM_UP"), out
        assert ("event", "SHUTDOWN_COMP") in kinds, out
    assert a[0]["outbound_streams"] == 10
    # the kernel peer received what was sent (SCTP_RCVINFO)
    got = [(m["sid"], m["ppid"], m["unordered"], m["text"]) for m in srv.lines
           if m["kind"] == "message"]
    assert got == [(3, 101, False, "hello"), (0, 7, True, "loose"), (1, 0, False, "timed")]
    ups = [d for d in srv.lines if d.get("state") == "COMM_UP"]
    assert len(ups) == 3
    # the wire, decoded by the project and by tshark
    fields = ["sctp.data_sid", "sctp.data_payload_proto_id", "sctp.data_u_bit"]
    mine = _ours(pcap, fields, "sctp.chunk_type == 0")
    assert mine == tshark_rows(pcap, fields, "sctp.chunk_type == 0")
    assert mine == [["0x0003", "101", "0"], ["0x0000", "7", "1"], ["0x0001", "0", "0"]]
    # PR-SCTP: both INIT and INIT ACK offer Forward-TSN-Supported (0xc000)
    params = _ours(pcap, ["sctp.chunk_type", "sctp.parameter_type"],
                   "sctp.chunk_type == 1 or sctp.chunk_type == 2")
    assert len(params) == 6 and all("0xc000" in p[1] for p in params), params


def test_one_to_many_listener_reports_each_association(topology):
    t = topology()
    srv = _listen(t, "--one-to-many", "--count", "2", "--echo")
    outs = []
    for n in range(2):
        rc, out, err = _send(t, "192.0.2.2:5000", f"client {n}", "--stream", str(n),
                             "--ppid", str(200 + n), "--expect-reply", "--json",
                             *(["--one-to-many"] if n else []))
        assert rc == 0, err
        outs.append(out)
    rc, serr = srv.finish()
    assert rc == 0, serr
    msgs = [m for m in srv.lines if m["kind"] == "message"]
    ups = [d for d in srv.lines if d.get("state") == "COMM_UP"]
    assert len({d["assoc_id"] for d in ups}) == 2
    assert [(m["assoc_id"], m["sid"], m["ppid"], m["text"]) for m in msgs] == \
        [(ups[0]["assoc_id"], 0, 200, "client 0"), (ups[1]["assoc_id"], 1, 201, "client 1")]
    for n, out in enumerate(outs):   # each client got its echo, same stream and PPID
        echo = [d for d in out if d["kind"] == "message"]
        assert [(e["sid"], e["ppid"], e["text"]) for e in echo] == [(n, 200 + n, f"client {n}")]


def test_peer_addr_change_on_multihomed_path_cut(topology):
    t = topology(paths=2)
    for k, v in (("net.sctp.hb_interval", 300), ("net.sctp.rto_initial", 200),
                 ("net.sctp.rto_min", 100), ("net.sctp.rto_max", 400),
                 ("net.sctp.path_max_retrans", 1)):
        t.sysctl("client", k, v)
    srv = _listen(t, "--bind", "198.51.100.2", port=5000, addr="192.0.2.2")  # both addresses
    cli = Proc(t, "client", _cmd("send", "192.0.2.2:5000", "hi", "--bind", "192.0.2.1",
                                 "--bind", "198.51.100.1", "--peer", "198.51.100.2",
                                 "--linger", "25", "--abort", "--json"))
    cli.wait_for(lambda d: d.get("state") == "COMM_UP")
    cli.wait_for(lambda d: d["kind"] == "sent")
    t.cut(0)
    ev = cli.wait_for(lambda d: d.get("type") == "peer_addr_change"
                      and d.get("address") == "192.0.2.2", timeout=40)
    assert ev["state"] in ("ADDR_UNREACHABLE", "ADDR_POTENTIALLY_FAILED"), ev
    t.restore(0)
    cli.p.kill()
    srv.p.kill()


def test_craft_init_gets_init_ack(topology, tmp_path):
    t = topology()
    for dev in ("client0", "server0"):
        t.checksum_offload(dev, on=False)
    pcap = tmp_path / "craft.pcap"
    with t.capture("client0", str(pcap), tool="tcpdump"):
        srv = _listen(t, port=5000)
        p = subprocess.run(["ip", "netns", "exec", t.host("client").netns,
                            *_cmd("craft", "init", "192.0.2.2:5000", "--sport", "42000",
                                  "--init-tag", "0x11111111", "--streams", "7,7", "--wait", "3",
                                  "--json")], capture_output=True, text=True, timeout=90)
        srv.p.kill()
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [d["direction"] for d in lines][:2] == ["sent", "reply"], lines
    reply = lines[1]
    assert reply["chunks"][0]["type"] == 2 and reply["vtag"] == 0x11111111
    rows = _ours(pcap, ["sctp.chunk_type", "sctp.verification_tag"], "sctp.srcport == 42000 "
                 "or sctp.dstport == 42000")
    assert rows[:2] == [["1", "0x00000000"], ["2", "0x11111111"]], rows


# ------------------------------------------------------------------ errors (API, loopback)

def _server(port, **kw):
    srv = SctpEndpoint(socket.AF_INET, one_to_many=True, **kw)
    srv.bind(["127.0.0.1"], port)
    srv.listen()
    return srv


def test_refused_association_sentence():
    with SctpEndpoint() as ep:
        with pytest.raises(SctpError) as e:
            ep.connect(["127.0.0.1"], 5999, timeout=20)
    assert str(e.value).startswith("the association with 127.0.0.1:5999 was refused")
    assert e.value.errno == 111


def test_address_not_local_sentence():
    with SctpEndpoint() as ep:
        with pytest.raises(SctpError, match="192.0.2.99: it is not an address of this host "
                                            r"\(EADDRNOTAVAIL\)"):
            ep.bind(["192.0.2.99"])


def test_stream_above_negotiated_and_too_big_message():
    with _server(6001, streams=(10, 4)) as srv:
        with SctpEndpoint(streams=(16, 16)) as ep:
            up = ep.connect(["127.0.0.1"], 6001, timeout=20)
            assert up.state == "COMM_UP" and up.outbound_streams == 4   # peer's MIS
            with pytest.raises(SctpError, match=r"stream 4 does not exist: the association has "
                                                r"4 outbound streams \(0-3\)"):
                ep.send(b"x", sid=4)
            ep.send(b"ok", sid=3, ppid=5)
            got = None
            for _ in range(10):
                got = srv.recv(5)
                if got is not None and got.kind == "message":
                    break
            assert (got.sid, got.ppid, got.data) == (3, 5, b"ok")
            ep.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            with pytest.raises(SctpError, match="larger than the socket can take .*EMSGSIZE"):
                ep.send(bytes(1 << 20))


def test_cli_refused_and_stream_errors_are_sentences():
    p = subprocess.run(_cmd("send", "127.0.0.1:5998", "x"), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("sctpinspect: the association with 127.0.0.1:5998 was refused")
    with _server(6002):
        p = subprocess.run(_cmd("send", "127.0.0.1:6002", "x", "--stream", "12"),
                           capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "stream 12 does not exist: the association has 10 outbound streams" in p.stderr


def test_abort_flag_sends_abort_with_user_cause():
    with _server(6003) as srv:
        with SctpEndpoint(one_to_many=True) as ep:
            ep.connect(["127.0.0.1"], 6003, timeout=20)
            ep.abort(reason=b"bye.")
            lost = None
            for _ in range(10):
                item = srv.recv(5)
                if item is not None and getattr(item, "state", None) == "COMM_LOST":
                    lost = item
                    break
    assert lost is not None
    # the server's COMM_LOST carries the ABORT's User-Initiated Abort cause (12)
    assert [c["code"] for c in lost.causes] == [12]
    assert bytes.fromhex(lost.causes[0]["info_hex"]) == b"bye."
