"""``sctpinspect craft``: build one SCTP packet by hand (scapy) and send it
through a raw IP socket, for what kernel SCTP sockets cannot send."""
from __future__ import annotations

import argparse
import json
import sys
import time

from .. import argtypes as A
from ..errors import UserError
from ..sock.cli import parse_u32, payload_from, streams_arg

HELP = "build one SCTP packet by hand and send it over a raw socket"
DESCRIPTION = """\
Build one SCTP packet that a kernel SCTP socket would never send -- an INIT
with chosen parameters, a wrong verification tag, a bad checksum, an unknown
chunk type, an ABORT with chosen causes, DATA with a chosen TSN -- and send it
through a raw IP socket (protocol 132) to DEST, then print what comes back
(SCTP from that peer or an ICMP error quoting the packet), decoded.

KIND is one of:
  init     INIT (tag 0) with --init-tag, --streams, --tsn, --a-rwnd, --addr, --ext
  abort    ABORT with --cause CODE[:HEX] (repeat) and --t-bit
  data     DATA with --tsn, --sid, --ssn, --ppid and a payload
  chunk    any chunk: --chunk-type, --chunk-flags and --hex value (e.g. an unknown type)

Safety: the packet goes only to DEST, which must be an IP address typed
literally; --dry-run prints it without sending; -w writes it to a pcap.

examples:
  sctpinspect craft init 192.0.2.2:5000 --streams 17,17 --ext forward-tsn,re-config
  sctpinspect craft init 192.0.2.2:5000 --vtag 0x1234 --dry-run      # INIT with a wrong vtag
  sctpinspect craft abort 192.0.2.2:5000 --vtag 0xcafe --cause 12:6279652e
  sctpinspect craft data 192.0.2.2:5000 hello --tsn 100 --sid 3 --ppid 46 --bad-checksum
  sctpinspect craft chunk [2001:db8::2]:5000 --chunk-type 0x7f --hex 00010203 -w x.pcap

Sending needs root (raw sockets)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["init", "abort", "data", "chunk"], metavar="KIND",
                   help="init, abort, data or chunk (see above)")
    p.add_argument("dest", metavar="DEST:PORT", help="destination address (literal) and port "
                   "(IPv6 as [ADDR]:PORT)")
    p.add_argument("message", metavar="MESSAGE", nargs="?", help="DATA payload as text")
    h = p.add_argument_group("common header")
    h.add_argument("--sport", metavar="N", type=A.PORT, help="source port (default random 49152+)")
    h.add_argument("--vtag", metavar="TAG", help="verification tag (default: 0 for init, "
                   "random otherwise)")
    h.add_argument("--bad-checksum", action="store_true",
                   help="write a wrong CRC32c (the right one minus 1)")
    h.add_argument("--checksum", metavar="X", help="write this checksum value instead of CRC32c")
    i = p.add_argument_group("init")
    i.add_argument("--init-tag", metavar="TAG", help="Initiate Tag (default random)")
    i.add_argument("--streams", metavar="OUT,IN", type=streams_arg, default=(10, 10),
                   help="outbound streams and maximum inbound streams (default 10,10)")
    i.add_argument("--tsn", metavar="N", help="initial TSN (init) or the DATA TSN "
                   "(default random / 1)")
    i.add_argument("--a-rwnd", metavar="N", default="106496",
                   help="advertised receiver window credit (default 106496)")
    i.add_argument("--addr", metavar="ADDR", action="append", default=[],
                   help="an IPv4/IPv6 address parameter (repeat)")
    i.add_argument("--ext", metavar="LIST", action="append", default=[],
                   help="Supported Extensions parameter: chunk types or names "
                        "(forward-tsn, asconf, asconf-ack, auth, re-config, i-data, "
                        "i-forward-tsn), comma separated")
    i.add_argument("--forward-tsn-supported", action="store_true",
                   help="add the Forward-TSN-Supported parameter (RFC 3758)")
    a = p.add_argument_group("abort")
    a.add_argument("--cause", metavar="CODE[:HEX]", action="append", default=[],
                   help="an error cause (repeat), e.g. 12:6279652e")
    a.add_argument("--t-bit", action="store_true", help="set the T bit (reflected tag)")
    d = p.add_argument_group("data")
    d.add_argument("--sid", metavar="N", type=A.STREAM, default=0, help="stream identifier")
    d.add_argument("--ssn", metavar="N", type=A.SSN, default=0, help="stream sequence number")
    d.add_argument("--ppid", metavar="N", default="0", help="payload protocol identifier")
    d.add_argument("--unordered", action="store_true", help="U bit")
    d.add_argument("--hex", metavar="HEX", help="payload (data) or chunk value (chunk) as hex")
    d.add_argument("--file", metavar="F", help="payload read from a file")
    c = p.add_argument_group("chunk")
    c.add_argument("--chunk-type", metavar="N", default="0x7f",
                   help="chunk type (default 0x7f: unassigned, 'stop, report')")
    c.add_argument("--chunk-flags", metavar="N", default="0", help="chunk flags")
    o = p.add_argument_group("sending and output")
    o.add_argument("--dry-run", action="store_true",
                   help="print the packet (hex and decode) without sending")
    o.add_argument("-w", metavar="FILE", dest="write",
                   help="write the packet (and replies) to a pcap file")
    o.add_argument("--src", metavar="ADDR", help="source address to send from (must be local)")
    o.add_argument("--wait", metavar="S", type=A.SECONDS, default=2.0,
                   help="seconds to wait for replies (default 2; 0: do not wait)")
    o.add_argument("-V", dest="verbose", action="store_true", help="print decode trees")
    o.add_argument("--json", action="store_true", help="one JSON object per packet")


def _u(text, what, bits=32):
    v = parse_u32(text, what)
    if bits < 32 and v >= 1 << bits:
        raise UserError(f"{what} {text} does not fit in {bits} bits")
    return v


def _parse_dest(text: str) -> tuple[str, int]:
    from .. import craft as K
    from ..sock.addr import parse_port
    t = text.strip()
    if t.startswith("["):
        end = t.find("]")
        if end < 0 or not t[end + 1:].startswith(":"):
            raise UserError(f"{text!r}: expected [IPV6]:PORT")
        return K.literal_address(t[1:end]), parse_port(t[end + 2:])
    if t.count(":") != 1:
        raise UserError(f"{text!r}: expected ADDR:PORT (IPv6 as [ADDR]:PORT)")
    host, port = t.split(":")
    return K.literal_address(host), parse_port(port)


def build(args):
    # scapy is imported here, not at module level: every `sctpinspect` start
    # builds all command parsers and scapy alone takes seconds to import
    from .. import craft as K
    dst, dport = _parse_dest(args.dest)
    sport = args.sport if args.sport is not None else K.ephemeral_port()
    if not 0 <= sport <= 65535:
        raise UserError(f"--sport {sport} is outside 0..65535")
    if args.src:
        src = K.literal_address(args.src)
        if (":" in src) != (":" in dst):
            raise UserError("--src and DEST must be both IPv4 or both IPv6")
    else:
        src = K.route_source(dst)
    checksum = _u(args.checksum, "--checksum") if args.checksum is not None else None
    if args.bad_checksum and checksum is not None:
        raise UserError("give --bad-checksum or --checksum, not both")
    payload = payload_from(args.message, args.hex if args.kind != "chunk" else None, args.file)
    kw = {}
    if args.kind == "init":
        kw = dict(init_tag=_u(args.init_tag, "--init-tag") if args.init_tag else None,
                  a_rwnd=_u(args.a_rwnd, "--a-rwnd"), streams=tuple(args.streams),
                  tsn=_u(args.tsn, "--tsn") if args.tsn else None, addrs=args.addr,
                  extensions=K.parse_extensions(args.ext), forward_tsn=args.forward_tsn_supported)
    elif args.kind == "abort":
        kw = dict(causes=K.cause_bytes(args.cause), t_bit=args.t_bit)
    elif args.kind == "data":
        if payload is None:
            raise UserError("DATA needs a payload: MESSAGE, --hex or --file")
        if not 0 <= args.sid <= 65535 or not 0 <= args.ssn <= 65535:
            raise UserError("--sid and --ssn are 0..65535")
        kw = dict(tsn=_u(args.tsn, "--tsn") if args.tsn else None, sid=args.sid, ssn=args.ssn,
                  ppid=_u(args.ppid, "--ppid"), payload=payload, unordered=args.unordered)
    else:
        kw = dict(chunk_type=_u(args.chunk_type, "--chunk-type", 8),
                  chunk_flags=_u(args.chunk_flags, "--chunk-flags", 8),
                  value=payload_from(None, args.hex, args.file) or b"")
    # the builders and their RFC defaults live in sctpinspect/craft.py (shared with the TUI)
    return K.craft_packet(args.kind, dst, dport, sport=sport, src=src,
                          vtag=_u(args.vtag, "--vtag") if args.vtag is not None else None,
                          checksum=checksum, bad_checksum=args.bad_checksum, **kw)


class _Show:
    def __init__(self, args):
        from ..output.text import SummaryPrinter
        self.args = args
        self.summary = SummaryPrinter("r")
        self.n = 0

    def packet(self, label: str, data: bytes, ts: float) -> None:
        from .. import craft as K
        from ..output.jsonout import packet_dict
        from ..output.tree import tree_text
        self.n += 1
        pkt = K.decode_ip(data, self.n, ts)
        self.summary.seen(pkt)
        if self.args.json:
            d = packet_dict(pkt)
            d["direction"] = label
            d["hex"] = data.hex()
            sys.stdout.write(json.dumps(d, default=str) + "\n")
        else:
            sys.stdout.write(f"{label}: {self.summary.line(pkt)}\n")
            if label == "crafted" or self.args.verbose:
                sys.stdout.write(f"  hex: {data.hex()}\n")
            if self.args.verbose:
                sys.stdout.write(tree_text(pkt))
        self.summary.after(pkt)
        sys.stdout.flush()


def run(args) -> int:
    from .. import craft as K
    crafted = build(args)
    show = _Show(args)
    ip = crafted.ip_bytes()
    now = time.time()
    records = [(now, ip)]
    if args.dry_run:
        show.packet("crafted", ip, now)
    else:
        t0, replies = K.send_packet(crafted, wait=max(0.0, args.wait), bind_src=args.src)
        records = [(t0, ip)] + replies
        show.packet("sent", ip, t0)
        for ts, data in replies:
            show.packet("reply", data, ts)
        if args.wait > 0 and not replies:
            msg = f"no reply from {crafted.dst} within {args.wait:g} s"
            if args.json:
                sys.stdout.write(json.dumps({"kind": "no_reply", "message": msg}) + "\n")
            else:
                sys.stdout.write(msg + "\n")
    if args.write:
        K.write_pcap(args.write, records)
    return 0
