"""``sctpinspect send``: set up an SCTP association with the kernel's SCTP
stack and send messages on chosen streams with chosen PPIDs."""
from __future__ import annotations

from .. import argtypes as A

import argparse
import time

from ..errors import UserError
from ..sock import SctpEndpoint, endpoint_text, parse_address, parse_hostport
from ..sock.cli import Printer, parse_u32, payload_from, streams_arg
from ..sock.events import AssocChange, Message

HELP = "send SCTP messages through the kernel's SCTP stack"
DESCRIPTION = """\
Set up an SCTP association to HOST:PORT with this kernel's SCTP stack, send
MESSAGE (or --hex / --file) COUNT times on the chosen stream with the chosen
payload protocol identifier, print every event (association up, peer address
changes, remote errors, shutdown ...) and every message received, then shut
the association down gracefully (or --abort it).

Without a payload the association is only set up and shut down.

examples:
  sctpinspect send 192.0.2.2:5000 hello --stream 3 --ppid 101
  sctpinspect send [2001:db8::2]:3868 --hex 0100001c... --ppid 46 --expect-reply
  sctpinspect send 192.0.2.2:5000 tick --count 100 --rate 10 --unordered --ttl 200
  sctpinspect send 192.0.2.2:5000 hi --bind 192.0.2.1 --bind 198.51.100.1 \\
      --peer 198.51.100.2          # multihomed on both ends
  sctpinspect send 192.0.2.2:5000 bye --abort --json

Needs a kernel with SCTP (modprobe sctp).  See docs/send.md."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dest", metavar="HOST:PORT", help="the peer (IPv6 as [ADDR]:PORT)")
    p.add_argument("message", metavar="MESSAGE", nargs="?", help="payload as text (UTF-8)")
    g = p.add_argument_group("payload")
    g.add_argument("--hex", metavar="HEX", help="payload as hex digits (spaces and colons ignored)")
    g.add_argument("--file", metavar="F", help="payload read from file F (one message)")
    g.add_argument("--stream", metavar="N", type=A.STREAM, default=0,
                   help="stream identifier to send on (default 0)")
    g.add_argument("--ppid", metavar="N", default="0",
                   help="payload protocol identifier, decimal or 0x.. (default 0)")
    g.add_argument("--unordered", action="store_true",
                   help="send unordered (DATA chunk U bit)")
    g.add_argument("--ttl", metavar="MS", type=A.TTL_MS,
                   help="PR-SCTP timed reliability: give up on the message after MS "
                        "milliseconds (SCTP_PR_SCTP_TTL; the peer must support PR-SCTP)")
    g.add_argument("--count", metavar="N", type=A.COUNT, default=1,
                   help="send the message N times (default 1)")
    g.add_argument("--rate", metavar="PER_S", type=A.RATE,
                   help="at most PER_S messages per second (default: as fast as possible)")
    a = p.add_argument_group("association")
    a.add_argument("--bind", metavar="ADDR", action="append", default=[],
                   help="local address (repeat for multihoming: SCTP_SOCKOPT_BINDX_ADD)")
    a.add_argument("--sport", metavar="PORT", type=A.PORT, default=0,
                   help="local port (default: any)")
    a.add_argument("--peer", metavar="ADDR", action="append", default=[],
                   help="another address of the peer (repeat; SCTP_SOCKOPT_CONNECTX)")
    a.add_argument("--streams", metavar="OUT,IN", type=streams_arg,
                   help="outbound streams asked for and inbound streams allowed in INIT "
                        "(SCTP_INITMSG; default: the kernel's, 10 out)")
    a.add_argument("--init-attempts", metavar="N", type=A.ATTEMPTS, default=4,
                   help="INIT transmissions before giving up (default 4)")
    a.add_argument("--one-to-many", action="store_true",
                   help="use a one-to-many (SOCK_SEQPACKET) socket instead of one-to-one")
    a.add_argument("--timeout", metavar="S", type=A.SECONDS, default=10.0,
                   help="seconds to wait for the association, a reply, or the shutdown "
                        "(default 10)")
    o = p.add_argument_group("behaviour and output")
    o.add_argument("--expect-reply", action="store_true",
                   help="after each message wait for one message back and print it")
    o.add_argument("--abort", action="store_true",
                   help="end with ABORT (SCTP_ABORT) instead of a graceful SHUTDOWN")
    o.add_argument("--linger", metavar="S", type=A.SECONDS, default=0.0,
                   help="keep reading events for S seconds before ending (default 0)")
    o.add_argument("--json", action="store_true", help="one JSON object per line")


def _drain(ep: SctpEndpoint, out: Printer, timeout: float = 0.0, want_message=False):
    """Print what is waiting; with ``want_message`` wait (up to timeout) for a message."""
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        item = ep.recv(left if (want_message and left > 0) else 0)
        if item is None:
            return None
        out.item(item)
        if want_message and isinstance(item, Message):
            return item


def run(args) -> int:
    host, port = parse_hostport(args.dest)
    if port == 0:
        raise UserError(f"{args.dest}: port 0 cannot be connected to")
    peers = [parse_address(a, "--peer") for a in args.peer]
    binds = [parse_address(a, "--bind") for a in args.bind]
    payload = payload_from(args.message, args.hex, args.file)
    ppid = parse_u32(args.ppid, "--ppid")
    if not 0 <= args.stream <= 65535:
        raise UserError(f"--stream {args.stream} is outside 0..65535")
    if args.count < 1:
        raise UserError("--count must be at least 1")
    if args.rate is not None and args.rate <= 0:
        raise UserError("--rate must be above 0 messages per second")
    if args.ttl is not None and not 0 <= args.ttl <= 0xFFFFFFFF:
        raise UserError("--ttl must be 0 or more milliseconds")
    if payload is not None and len(payload) == 0:
        raise UserError("SCTP cannot send an empty message: give at least one byte")
    out = Printer(args.json)

    ep = SctpEndpoint.for_addresses([host, *peers, *binds], one_to_many=args.one_to_many,
                                    streams=args.streams, max_attempts=args.init_attempts)
    with ep:
        if binds or args.sport:
            ep.bind(binds, args.sport)
        up = ep.connect([host, *peers], port, timeout=args.timeout)
        out.item(up)
        assoc = up.assoc_id if args.one_to_many else None
        _drain(ep, out)
        if payload is not None:
            interval = 1.0 / args.rate if args.rate else 0.0
            start = time.monotonic()
            for n in range(args.count):
                if interval:
                    wait = start + n * interval - time.monotonic()
                    if wait > 0:
                        _drain(ep, out)
                        time.sleep(wait)
                sent = ep.send(payload, sid=args.stream, ppid=ppid, unordered=args.unordered,
                               ttl=args.ttl, assoc_id=assoc)
                out.raw({"kind": "sent", "n": n + 1, "assoc_id": up.assoc_id,
                         "sid": args.stream, "ppid": ppid, "unordered": args.unordered,
                         "ttl": args.ttl, "length": sent},
                        f"sent #{n + 1} sid={args.stream} ppid={ppid}"
                        f"{' unordered' if args.unordered else ''}"
                        f"{f' ttl={args.ttl}ms' if args.ttl is not None else ''} {sent} bytes")
                if args.expect_reply:
                    if _drain(ep, out, args.timeout, want_message=True) is None:
                        raise UserError(f"no reply from {endpoint_text(host, port)} within "
                                        f"{args.timeout:g} s")
                else:
                    _drain(ep, out)
        if args.linger > 0:
            end = time.monotonic() + args.linger
            while (left := end - time.monotonic()) > 0:
                item = ep.recv(left)
                if item is None:
                    break
                out.item(item)
        if args.abort:
            ep.abort(assoc)
            out.raw({"kind": "abort", "assoc_id": up.assoc_id},
                    f"sent ABORT on assoc={up.assoc_id}")
        else:
            ended = False
            for item in ep.shutdown(assoc, timeout=args.timeout):
                out.item(item)
                if isinstance(item, AssocChange) and item.state == "SHUTDOWN_COMP":
                    ended = True
            if not ended and not args.one_to_many:
                # a one-to-one socket may see the peer's close as end of file only
                pass
    return 0
