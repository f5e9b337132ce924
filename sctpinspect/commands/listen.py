"""``sctpinspect listen``: accept SCTP associations with the kernel's SCTP stack
and print every event and message (optionally echoing messages back)."""
from __future__ import annotations

from .. import argtypes as A

import argparse
import select
import time

from ..errors import UserError
from ..sock import SctpEndpoint, SctpError, endpoint_text, parse_address, parse_hostport
from ..sock.cli import Printer, streams_arg
from ..sock.events import AssocChange, Message, Notification

HELP = "accept SCTP associations and print what arrives"
DESCRIPTION = """\
Listen on [ADDR:]PORT with this kernel's SCTP stack, accept associations and
print each event (association up / down, peer address changes, shutdown ...)
and each message with its stream, SSN, PPID, TSN and flags.

One-to-one (default): each association is accepted on its own socket.
--one-to-many: one SOCK_SEQPACKET socket receives from every association,
and each message says which association (assoc_id) it came from.

examples:
  sctpinspect listen 5000
  sctpinspect listen 192.0.2.2:5000 --bind 198.51.100.2 --echo     # multihomed
  sctpinspect listen [::]:3868 --one-to-many --json
  sctpinspect listen 5000 --count 10 --streams 16,16

Needs a kernel with SCTP (modprobe sctp).  See docs/send.md."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("listen", metavar="[ADDR:]PORT",
                   help="port to listen on, optionally with the first local address "
                        "(IPv6 as [ADDR]:PORT; default all addresses)")
    p.add_argument("--bind", metavar="ADDR", action="append", default=[],
                   help="another local address (repeat for multihoming)")
    p.add_argument("--one-to-many", action="store_true",
                   help="one SOCK_SEQPACKET socket for every association")
    p.add_argument("--echo", action="store_true",
                   help="send each message back on the same stream with the same PPID")
    p.add_argument("--count", metavar="N", type=A.COUNT,
                   help="exit after receiving N messages (default: run until Ctrl-C)")
    p.add_argument("--assocs", metavar="N", type=A.COUNT,
                   help="exit after N associations have ended")
    p.add_argument("--streams", metavar="OUT,IN", type=streams_arg,
                   help="outbound streams offered and inbound streams allowed (SCTP_INITMSG)")
    p.add_argument("--timeout", metavar="S", type=A.SECONDS,
                   help="exit after S seconds without any event or message")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


class _Server:
    def __init__(self, args, out: Printer):
        self.args, self.out = args, out
        self.messages = 0
        self.ended = 0

    def handle(self, ep: SctpEndpoint, item) -> None:
        self.out.item(item)
        if isinstance(item, Message):
            self.messages += 1
            if self.args.echo:
                try:
                    ep.send(item.data, sid=item.sid or 0, ppid=item.ppid or 0,
                            unordered=item.unordered,
                            assoc_id=item.assoc_id if ep.one_to_many else None)
                except SctpError as e:
                    self.out.raw({"kind": "error", "assoc_id": item.assoc_id,
                                  "message": str(e)}, f"echo failed: {e}")
        elif isinstance(item, AssocChange) and item.state in (
                "COMM_LOST", "SHUTDOWN_COMP", "CANT_STR_ASSOC"):
            self.ended += 1

    def done(self) -> bool:
        a = self.args
        return (a.count is not None and self.messages >= a.count) or \
            (a.assocs is not None and self.ended >= a.assocs)


def run(args) -> int:
    host, port = parse_hostport(args.listen, default_host="")
    binds = ([host] if host else []) + [parse_address(a, "--bind") for a in args.bind]
    if port == 0:
        raise UserError("listen on a port from 1 to 65535")
    if args.count is not None and args.count < 1:
        raise UserError("--count must be at least 1")
    out = Printer(args.json)
    lst = SctpEndpoint.for_addresses(binds or ["0.0.0.0"], one_to_many=args.one_to_many,
                                     streams=args.streams)
    srv = _Server(args, out)
    conns: dict[int, SctpEndpoint] = {}
    try:
        lst.bind(binds, port)
        lst.listen()
        shown = binds or ["::" if lst.family == 10 else "0.0.0.0"]
        out.raw({"kind": "listening", "addresses": shown, "port": port,
                 "style": "one-to-many" if args.one_to_many else "one-to-one"},
                f"listening on {', '.join(endpoint_text(a, port) for a in shown)} "
                f"({'one-to-many' if args.one_to_many else 'one-to-one'})")
        last = time.monotonic()
        while not srv.done():
            if args.timeout is not None and time.monotonic() - last > args.timeout:
                out.raw({"kind": "timeout", "seconds": args.timeout},
                        f"nothing for {args.timeout:g} s: exiting")
                break
            poller = select.poll()
            poller.register(lst.fileno(), select.POLLIN)
            for fd in conns:
                poller.register(fd, select.POLLIN)
            ready = poller.poll(500)
            if ready:
                last = time.monotonic()
            for fd, _ev in ready:
                if fd == lst.fileno():
                    if args.one_to_many:
                        item = lst.recv(0)
                        if item is not None:
                            srv.handle(lst, item)
                    else:
                        try:
                            ep, peer = lst.accept()
                        except BlockingIOError:
                            continue
                        conns[ep.fileno()] = ep
                        out.raw({"kind": "accepted", "peer": endpoint_text(peer[0], peer[1])},
                                f"accepted association from {endpoint_text(peer[0], peer[1])}")
                    continue
                ep = conns[fd]
                try:
                    item = ep.recv(0)
                except SctpError as e:
                    out.raw({"kind": "error", "message": str(e)}, f"error: {e}")
                    item = Notification("peer_closed")
                    srv.ended += 1
                    ep.close()
                    del conns[fd]
                    continue
                if item is None:
                    continue
                srv.handle(ep, item)
                end = isinstance(item, AssocChange) and item.state in ("SHUTDOWN_COMP",
                                                                       "COMM_LOST")
                if getattr(item, "type", None) == "peer_closed":
                    # the peer shut down: read the SHUTDOWN_COMP that follows, then close
                    try:
                        for more in ep.events(0.5):
                            srv.handle(ep, more)
                    except SctpError:
                        pass        # the socket is finished (ENOTCONN after end of file)
                    end = True
                if end:
                    ep.close()
                    del conns[fd]
                if srv.done():
                    break
    finally:
        for ep in conns.values():
            ep.close()
        lst.close()
    return 0
