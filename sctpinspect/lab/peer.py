"""Small kernel SCTP peers for the lab, run inside a network namespace.

Usually started through :meth:`sctpinspect.lab.topology.Topology.server` /
``.client`` (``ip netns exec NS python -m sctpinspect.lab.peer ...``).  A peer
prints ``READY <port>`` once listening/bound, then, when done, one JSON line:
its *record* of the truth, to compare with a capture::

    {"role": "server", "style": "stream", "local": [...], "peers": [...],
     "assoc_ids": [...], "error": null,
     "sent":     [{"sid", "ppid", "flags", "size", "payload"(hex), "assoc_id"}],
     "received": [{"sid", "ssn", "ppid", "tsn", "cumtsn", "flags", "assoc_id",
                   "size", "payload"(hex)}],
     "events":   [{"type": "assoc_change", "state": "COMM_UP", ...}, ...]}

Messages are given as ``SID:PPID:SIZE`` (deterministic payload of SIZE bytes,
see :func:`payload`) or ``SID:PPID:=text``.

Examples::

    python -m sctpinspect.lab.peer server --bind 192.0.2.2 --port 5000
    python -m sctpinspect.lab.peer client --connect 192.0.2.2 --port 5000 \\
        -m 0:18:100 -m 1:46:200 -m 2:60:300
"""
from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
import threading
import time

from . import sctp_socket as s


def payload(index: int, sid: int, ppid: int, size: int) -> bytes:
    """Deterministic, human-readable payload of exactly ``size`` bytes."""
    head = f"msg {index} sid {sid} ppid {ppid} ".encode()
    body = (head + bytes(range(0x41, 0x5b)) * (size // 26 + 1))
    return body[:size]


def _avp(code: int, value: bytes, flags: int = 0x40) -> bytes:
    """One Diameter AVP (RFC 6733 4.1), padded to 4 bytes."""
    n = 8 + len(value)
    return (code.to_bytes(4, "big") + bytes([flags]) + n.to_bytes(3, "big") + value
            + b"\0" * (-n % 4))


def diameter(index: int, size: int) -> bytes:
    """A well-formed Diameter Credit-Control-Request (RFC 6733 3, RFC 4006) of
    ``size`` bytes (a multiple of 4, at least 120): the usual AVPs, then
    Route-Record AVPs, then one Session-Id-like UTF8String filler to the size."""
    avps = [_avp(263, f"pcrf.example.net;{index};1".encode()),       # Session-Id
            _avp(258, (4).to_bytes(4, "big")),                       # Auth-Application-Id
            _avp(264, b"pgw.example.net"),                           # Origin-Host
            _avp(296, b"example.net"),                               # Origin-Realm
            _avp(283, b"example.com"),                               # Destination-Realm
            _avp(416, (2).to_bytes(4, "big")),                       # CC-Request-Type
            _avp(415, (index & 0xFFFFFFFF).to_bytes(4, "big"))]      # CC-Request-Number
    body = b"".join(avps)
    rr = _avp(282, b"dra%d.example.net" % (index % 10))              # Route-Record
    while 20 + len(body) + len(rr) + 12 <= size:
        body += rr
    rest = size - 20 - len(body)
    if rest >= 8:
        body += _avp(1, b"x" * (rest - 8))[:rest]                    # User-Name filler
    hdr = (bytes([1]) + (20 + len(body)).to_bytes(3, "big") + bytes([0x80])
           + (272).to_bytes(3, "big") + (4).to_bytes(4, "big")
           + (index & 0xFFFFFFFF).to_bytes(4, "big") + ((index * 7) & 0xFFFFFFFF).to_bytes(4, "big"))
    return (hdr + body)[:size]


def m3ua(index: int, size: int) -> bytes:
    """A well-formed M3UA DATA message (RFC 4666 3.3.1) of ``size`` bytes
    (a multiple of 4, at least 40): Protocol Data with a routing label and an
    SCCP UDT (ITU-T Q.713) carrying filler user data."""
    sccp_data_len = size - 8 - 4 - 12 - 5 - 4 - 4
    sccp = (bytes([0x09, 0x00, 3, 5, 7]) + bytes([2, 0x42, 6]) + bytes([2, 0x42, 7])
            + bytes([sccp_data_len & 0xFF]) + bytes((index + i) & 0xFF for i in range(sccp_data_len)))
    label = ((100).to_bytes(4, "big") + (200).to_bytes(4, "big")
             + bytes([3, 2, 0, index & 0x0F]))                        # OPC, DPC, SI=SCCP, NI, MP, SLS
    pd = label + sccp
    param = (0x0210).to_bytes(2, "big") + (4 + len(pd)).to_bytes(2, "big") + pd
    param += b"\0" * (-len(param) % 4)
    msg = bytes([1, 0, 1, 1]) + (8 + len(param)).to_bytes(4, "big") + param
    return (msg + b"\0" * size)[:size]


def parse_message(spec: str, index: int) -> tuple[int, int, bytes]:
    """``SID:PPID:SIZE`` (text payload), ``SID:PPID:=text``, or ``SID:PPID:pSIZE``:
    a protocol-shaped payload (Diameter for PPID 46, M3UA for PPID 3)."""
    sid, ppid, rest = spec.split(":", 2)
    sid, ppid = int(sid), int(ppid)
    if rest.startswith("="):
        data = rest[1:].encode()
    elif rest.startswith("p") and ppid in (3, 46):
        data = (m3ua if ppid == 3 else diameter)(index, int(rest[1:]))
    else:
        data = payload(index, sid, ppid, int(rest.lstrip("p")))
    return sid, ppid, data


class Recorder:
    def __init__(self, role: str, style: str):
        self.rec = {"role": role, "style": style, "local": [], "peers": [], "assoc_ids": [],
                    "error": None, "sent": [], "received": [], "events": []}

    def sent(self, sid, ppid, data, flags=0, assoc_id=0):
        self.rec["sent"].append({"sid": sid, "ppid": ppid, "flags": flags, "size": len(data),
                                 "payload": data.hex(), "assoc_id": assoc_id})

    def handle(self, data, flags, info) -> dict | None:
        """Record one recvmsg() result; returns the event dict for notifications."""
        if flags & s.MSG_NOTIFICATION:
            ev = s.parse_notification(data)
            self.rec["events"].append(ev)
            aid = ev.get("assoc_id")
            if ev.get("state") == "COMM_UP" and aid not in self.rec["assoc_ids"]:
                self.rec["assoc_ids"].append(aid)
            return ev
        entry = dict(info or {})
        entry.update(size=len(data), payload=data.hex(), eor=bool(flags & socket.MSG_EOR))
        self.rec["received"].append(entry)
        return None


def _ready(port: int) -> None:
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()


def run_server(a, ready=_ready) -> dict:
    """Serve as ``a`` (parsed arguments) says; ``ready(port)`` once listening; the record."""
    r = Recorder("server", a.style)
    one_to_many = a.style == "seqpacket"
    sock = s.sctp_socket(one_to_many)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.set_initmsg(sock, a.streams, a.streams)
    if a.interleave:
        s.enable_interleaving(sock)
    if a.prsctp:
        s.enable_prsctp(sock)
    s.subscribe(sock)
    s.bindx(sock, a.bind, a.port)
    r.rec["local"] = [a for a in a.bind]
    sock.listen(8)
    sock.settimeout(a.timeout)
    ready(sock.getsockname()[1])
    try:
        if one_to_many:
            ended = 0
            while ended < a.assocs:
                data, flags, info, addr = s.recv(sock)
                ev = r.handle(data, flags, info)
                if ev is not None:
                    if ev.get("state") == "COMM_UP" and addr:
                        r.rec["peers"].append(list(addr)[:2])
                    if ev.get("state") in ("SHUTDOWN_COMP", "COMM_LOST", "CANT_STR_ASSOC"):
                        ended += 1
                elif a.echo:
                    d = bytes.fromhex(r.rec["received"][-1]["payload"])
                    s.send(sock, d, info["sid"], info["ppid"], assoc_id=info["assoc_id"])
                    r.sent(info["sid"], info["ppid"], d, assoc_id=info["assoc_id"])
        else:
            def serve(conn):
                try:
                    while True:
                        data, flags, info, _ = s.recv(conn)
                        if not data and not flags & s.MSG_NOTIFICATION:
                            break  # peer shut down (EOF)
                        ev = r.handle(data, flags, info)
                        if ev is not None:
                            if ev.get("state") in ("SHUTDOWN_COMP", "COMM_LOST"):
                                break
                        elif a.echo:
                            s.send(conn, data, info["sid"], info["ppid"])
                            r.sent(info["sid"], info["ppid"], data)
                except OSError as e:
                    r.rec["error"] = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
                finally:
                    conn.close()

            # each accepted association is served at once, in its own thread: an echo
            # client waits for its answers, so serving them one after the other stalls
            # every client but the first
            threads = []
            for _ in range(a.assocs):
                conn, addr = sock.accept()
                conn.settimeout(a.timeout)
                s.subscribe(conn)
                r.rec["peers"].append(list(addr)[:2])
                t = threading.Thread(target=serve, args=(conn,), daemon=True)
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
    except OSError as e:
        r.rec["error"] = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
    finally:
        sock.close()
    return r.rec


def run_client(a, ready=_ready) -> dict:
    """Connect, send, shut down as ``a`` says; ``ready(port)`` once bound; the record."""
    r = Recorder("client", a.style)
    one_to_many = a.style == "seqpacket"
    sock = s.sctp_socket(one_to_many)
    s.set_initmsg(sock, a.streams, a.streams)
    if a.interleave:
        s.enable_interleaving(sock)
    if a.prsctp:
        s.enable_prsctp(sock)
    s.subscribe(sock)
    sock.setsockopt(s.SOL_SCTP, s.SCTP_NODELAY, 1)
    if a.bind:
        s.bindx(sock, a.bind, a.sport)
        r.rec["local"] = list(a.bind)
    sock.settimeout(a.timeout)
    dest = (a.connect[0], a.port)
    ready(sock.getsockname()[1] if a.bind else 0)
    assoc_id = 0
    messages = [parse_message(m, i) for i, m in enumerate(a.message * a.repeat)]
    try:
        if not one_to_many:
            sock.connect(dest)
            r.rec["peers"].append(list(dest))
        else:
            if not messages:
                raise SystemExit("a one-to-many client needs at least one message")
        for i, (sid, ppid, data) in enumerate(messages):
            if i and a.interval:
                time.sleep(a.interval)
            pr = _prinfo(a, sid)
            s.send(sock, data, sid, ppid, assoc_id=assoc_id,
                   to=dest if one_to_many and assoc_id == 0 else None, prinfo=pr)
            r.sent(sid, ppid, data, assoc_id=assoc_id)
            if pr is not None:
                r.rec["sent"][-1]["pr"] = list(pr)
            if one_to_many and assoc_id == 0:
                # learn the association id from COMM_UP before sending more
                while not r.rec["assoc_ids"]:
                    d, f, info, _ = s.recv(sock)
                    r.handle(d, f, info)
                assoc_id = r.rec["assoc_ids"][0]
                r.rec["sent"][-1]["assoc_id"] = assoc_id
                r.rec["peers"].append(list(dest))
            if a.echo:
                while True:
                    d, f, info, _ = s.recv(sock)
                    if r.handle(d, f, info) is None:
                        break
        # graceful shutdown, then wait for SHUTDOWN_COMP
        if one_to_many:
            s.send(sock, b"", 0, 0, flags=s.SCTP_EOF, assoc_id=assoc_id)
        else:
            sock.shutdown(socket.SHUT_WR)
        while True:
            d, f, info, _ = s.recv(sock)
            if not d and not f & s.MSG_NOTIFICATION:
                break
            ev = r.handle(d, f, info)
            if ev and ev.get("state") in ("SHUTDOWN_COMP", "COMM_LOST"):
                break
    except OSError as e:
        r.rec["error"] = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
    finally:
        sock.close()
    return r.rec


def _prinfo(a, sid: int):
    """The PR-SCTP policy of a message on stream ``sid`` (``--pr-policy``, ``--pr-sid``)."""
    if not getattr(a, "pr_policy", None) or (a.pr_sid and sid not in a.pr_sid):
        return None
    return (a.pr_policy, a.pr_value)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sctpinspect.lab.peer",
                                description="Kernel SCTP lab peer that records what it "
                                            "sent and received as one JSON line.")
    sub = p.add_subparsers(dest="role", required=True)
    for name in ("server", "client"):
        q = sub.add_parser(name)
        q.add_argument("--style", choices=["stream", "seqpacket"], default="stream",
                       help="one-to-one (SOCK_STREAM) or one-to-many (SOCK_SEQPACKET)")
        q.add_argument("--port", type=int, default=5000,
                       help="server: port to listen on; client: port to connect to")
        q.add_argument("--bind", action="append", default=[],
                       help="local address (repeat for multihoming)")
        q.add_argument("--streams", type=int, default=10, help="INITMSG OS and MIS")
        q.add_argument("--echo", action="store_true",
                       help="server echoes each message; client waits for the echo")
        q.add_argument("--timeout", type=float, default=30.0, help="socket timeout, s")
        q.add_argument("--interleave", action="store_true",
                       help="offer I-DATA, RFC 8260 (needs sysctl net.sctp.intl_enable=1)")
        q.add_argument("--prsctp", action="store_true",
                       help="offer PR-SCTP, RFC 3758 (SCTP_PR_SUPPORTED)")
    srv = sub.choices["server"]
    srv.add_argument("--assocs", type=int, default=1,
                     help="exit after this many associations have ended")
    cli = sub.choices["client"]
    cli.add_argument("--connect", action="append", required=True, help="server address")
    cli.add_argument("--sport", type=int, default=0, help="local port (with --bind)")
    cli.add_argument("-m", "--message", action="append", default=[],
                     help="SID:PPID:SIZE or SID:PPID:=text (repeatable, sent in order)")
    cli.add_argument("--repeat", type=int, default=1, help="send the message list N times")
    cli.add_argument("--interval", type=float, default=0.0, help="pause between messages, s")
    cli.add_argument("--pr-policy", choices=["ttl", "rtx", "prio"],
                     help="PR-SCTP policy of each message (an SCTP_PRINFO cmsg, RFC 7496): "
                          "ttl (--pr-value ms), rtx (--pr-value retransmissions), prio")
    cli.add_argument("--pr-value", type=int, default=0, help="value of --pr-policy")
    cli.add_argument("--pr-sid", type=int, action="append", default=[],
                     help="only messages on this stream get --pr-policy (repeatable; "
                          "default all)")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    if a.role == "server" and not a.bind:
        a.bind = ["0.0.0.0"]
    rec = (run_server if a.role == "server" else run_client)(a)
    sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
