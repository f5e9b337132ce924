"""``sctpinspect capture -i IFACE``: capture SCTP live, print it like ``read``, write pcapng."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from .. import argtypes as A
from ..errors import UserError

HELP = "capture SCTP live from a network interface (AF_PACKET), print it like `read`, write pcapng"

DESCRIPTION = """\
Capture SCTP packets from a network interface and print them as they arrive,
with the same lines as `sctpinspect read` (or -V trees, -T json, -T fields).

Only SCTP reaches the program: a kernel BPF filter passes IPv4 protocol 132,
IPv6 next header 132 (also after up to two extension headers), SCTP over UDP
(RFC 6951, --udp-port, default 9899), ICMP errors quoting SCTP, and the same
inside an 802.1Q tag.  -f adds a capture filter in tcpdump's pcap-filter
syntax (`man pcap-filter`), compiled by libpcap and ANDed with that filter.

On `lo` every packet passes the capture point twice (leaving and arriving);
like tcpdump, it is shown once.  `-i any` captures on all interfaces with
Linux cooked (SLL2) headers.

With -w the packets are written to a pcapng file (nanosecond timestamps, an
Interface Statistics Block with the kernel's drop count at the end); -b
rotates files like dumpcap (out_00001_20250101120000.pcapng, ...).  Ctrl-C or
SIGTERM stops the capture after writing every packet already seen (exit 0).
At the end a line on stderr says "N packets captured, M dropped by kernel";
on a terminal a status line shows the counts while capturing.  Kernel drops
mean the program could not keep up: use -q, -w without printing, a larger
-B, or a narrower -f.

Capturing needs the CAP_NET_RAW capability: run as root, or
  sudo setcap cap_net_raw,cap_net_admin=eip $(which python3)

Exit status: 0 when the capture ends (by -c, -a, Ctrl-C or SIGTERM); 1 when
capturing is not permitted, the interface does not exist or the output file
cannot be written (or the disk fills up: the file keeps what was written);
2 for bad options.

Examples:
  sctpinspect capture -i eth0
  sctpinspect capture -i any -f 'sctp port 38412' -w n2.pcapng
  sctpinspect capture -i lo -c 100 -T fields -e frame.number -e sctp.data_tsn
  sctpinspect capture -i eth0 -q -w ring.pcapng -b filesize:10000,files:5
  sctpinspect capture -i eth0 -a duration:60 -Y 'sctp.chunk_type == 6'
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--interface", required=True, metavar="IFACE",
                   help="interface to capture on, or 'any' for all of them")
    p.add_argument("-f", dest="capture_filter", metavar="FILTER",
                   help="capture filter, pcap-filter syntax as tcpdump (e.g. 'host 10.0.0.1 and "
                        "sctp port 36412'); applied in the kernel together with the SCTP filter")
    p.add_argument("-w", dest="write", metavar="FILE",
                   help="write the captured packets to this pcapng file")
    p.add_argument("-c", "--count", type=A.COUNT, metavar="N", help="stop after N packets captured")
    p.add_argument("-a", dest="autostop", action="append", metavar="duration:SECONDS",
                   help="stop after SECONDS (also packets:N); like tshark -a")
    p.add_argument("-b", dest="ringbuffer", action="append", metavar="KEY:VALUE",
                   help="with -w: start a new file at filesize:KB (1 kB = 1000 bytes) or "
                        "duration:SECONDS, keep the newest files:N; comma-separated or "
                        "repeated, like dumpcap -b")
    p.add_argument("-B", dest="buffer_mb", type=A.BUFFER_MIB, default=32, metavar="MiB",
                   help="kernel capture ring size in MiB (default 32); bigger absorbs bursts")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not print packets (only the final counts)")
    p.add_argument("-p", "--no-promiscuous-mode", dest="promisc", action="store_false",
                   help="do not put the interface in promiscuous mode")
    p.add_argument("-t", dest="time_mode", default="r", metavar="FORMAT",
                   choices=("r", "a", "ad", "u", "ud", "d", "dd", "e"),
                   help="time column as tshark -t (r relative to the first packet, a absolute, "
                        "ad with date, u/ud UTC, d/dd delta, e epoch)")
    p.add_argument("-V", "--verbose", action="store_true",
                   help="print the full decode tree of each packet")
    p.add_argument("--field-names", action="store_true",
                   help="with -V: show each tree line's display-filter name")
    p.add_argument("-T", dest="format", default="text", choices=("text", "json", "fields"),
                   help="output format as in `read`: text, json (one object per packet), "
                        "fields (needs -e)")
    p.add_argument("-e", dest="fields", action="append", metavar="FIELD",
                   help="with -T fields: a field to print (repeatable)")
    p.add_argument("-E", dest="field_options", action="append", metavar="OPT=VALUE",
                   help="with -T fields: tshark -E options (header, separator, occurrence, ...)")
    p.add_argument("-Y", dest="display_filter", metavar="FILTER",
                   help="display filter (Wireshark syntax): print only matching packets; "
                        "-w still writes every captured packet")
    p.add_argument("--relative-tsn", action="store_true",
                   help="show TSNs relative to the first one seen (tshark's default)")
    p.add_argument("--no-checksum", action="store_true", help="do not verify CRC32c checksums")
    p.add_argument("--udp-port", type=A.UDP_PORT, action="append", metavar="N",
                   help="UDP port carrying SCTP over UDP, RFC 6951 (default 9899; repeatable)")
    p.add_argument("--diagnose", action="store_true",
                   help="run the `diagnose` rules live: a [diagnose] line when a finding becomes "
                        "certain, the full report at the end (see docs/diagnostics.md)")


# Upper bounds of -a/-b values (docs/cli.md): durations at most a year, as the
# other seconds options (sctpinspect/argtypes.py); sizes at most 2**40 kB.
_KEY_MAX = {"duration": 31_536_000, "filesize": 2 ** 40}


def _key_values(items, option: str, allowed: dict) -> dict:
    out = {}
    for item in items or []:
        for part in item.split(","):
            key, sep, value = part.partition(":")
            key = key.strip()
            if not sep or key not in allowed:
                raise UserError(f"{option} {part!r}: expected one of "
                                + ", ".join(f"{k}:{v}" for k, v in allowed.items()))
            try:
                num = float(value) if key == "duration" else int(value)
            except ValueError:
                raise UserError(f"{option} {part!r}: {value!r} is not a number") from None
            if not 0 < num <= _KEY_MAX.get(key, 2 ** 63 - 1):   # also refuses nan and inf
                raise UserError(f"{option} {part!r}: the value must be a number above 0 "
                                f"and at most {_KEY_MAX.get(key, 2 ** 63 - 1)}")
            out[key] = num
    return out


class _Status:
    """The stderr status line on a terminal (and drop warnings when not)."""

    def __init__(self, iface: str):
        self.tty = sys.stderr.isatty()
        self.iface = iface
        self.last = 0.0
        self.reported_drops = 0
        self.shown = False

    def update(self, stats, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        if self.tty:
            sys.stderr.write(f"\rCapturing on {self.iface}: {stats.captured} packets, "
                             f"{stats.kernel_dropped} dropped by kernel\x1b[K")
            sys.stderr.flush()
            self.shown = True
        elif stats.kernel_dropped > self.reported_drops:
            sys.stdout.flush()
            print(f"sctpinspect: the kernel dropped {stats.kernel_dropped - self.reported_drops} "
                  f"packets (total {stats.kernel_dropped}): not keeping up", file=sys.stderr)
            self.reported_drops = stats.kernel_dropped

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


class _Printer:
    """Turns captured Records into the same output as `read`."""

    def __init__(self, args):
        from ..decode import Decoder
        from ..pipeline import compile_display_filter
        from .read import _decode_options
        self.fmt = args.format
        self.verbose = args.verbose
        self.field_names = args.field_names
        self.predicate = compile_display_filter(args.display_filter)
        if self.fmt == "fields":
            from ..output.fields import FieldOptions, FieldsPrinter, known_field
            self.fields = FieldsPrinter(args.fields or [], FieldOptions.parse(args.field_options))
            bad = [f for f in self.fields.names if not known_field(f)]
            if bad:
                raise UserError(f"unknown field{'s' if len(bad) > 1 else ''}: {', '.join(bad)} "
                                "(`sctpinspect read -V --field-names` shows the names)")
        elif args.fields or args.field_options:
            raise UserError("-e and -E need -T fields")
        from ..output.text import SummaryPrinter
        self.summary = SummaryPrinter(args.time_mode)
        if self.fmt == "json":
            from ..output.jsonout import packet_json
            self.packet_json = packet_json
        elif self.verbose:
            from ..output.tree import tree_text
            self.tree_text = tree_text
        self.decoder = Decoder(_decode_options(args))
        self.started = False
        self.bom = ""            # -E bom=y without a header: prefix of the first line
        self.diag = None
        self.found = None
        if getattr(args, "diagnose", False):
            from ..diagnostics.live import LiveDiagnose
            self.diag = LiveDiagnose()

    def _diagnose(self, pkt) -> None:
        self.found = self.diag.lines(pkt)

    def lines(self, records) -> list[str]:
        """The output lines of one batch of captured records (one Pipeline
        pass: decode, live diagnostics, display filter)."""
        from ..pipeline import Pipeline
        out = []
        t = self.summary.time
        if not self.started and self.fmt == "fields":
            self.started = True
            o = self.fields.opt
            if o.header:
                out.append(self.fields.header())
            elif o.bom:
                self.bom = "\ufeff"     # as tshark: it starts the first line (no line of its own)
        pipe = Pipeline(records, decoder=self.decoder, predicate=self.predicate,
                        analyse=self._diagnose if self.diag is not None else None)
        for pkt, shown in pipe:
            ts = pkt.record.ts_ns
            if t.first is None:
                t.first = ts
            if shown:
                if self.fmt == "fields":
                    out.append(self.bom + self.fields.line(pkt))
                    self.bom = ""
                elif pkt.is_sctp or pkt.icmp is not None:
                    if self.fmt == "json":
                        out.append(self.packet_json(pkt, self.summary.chunk_summary, t.format(ts)))
                    elif self.verbose:
                        out.append(self.tree_text(pkt, self.field_names))
                    else:
                        out.append(self.summary.line(pkt))
            if self.found:
                out.extend(self.found)
                self.found = None
            t.prev = ts
        return out


def run(args) -> int:
    from ..capture import LiveCapture
    from ..capture.writer import CaptureWriter

    if args.count is not None and args.count < 1:
        raise UserError(f"-c {args.count}: the packet count must be at least 1")
    auto = _key_values(args.autostop, "-a", {"duration": "SECONDS", "packets": "N"})
    ring = _key_values(args.ringbuffer, "-b", {"filesize": "KB", "files": "N",
                                               "duration": "SECONDS"})
    if ring and not args.write:
        raise UserError("-b (ring buffer) needs -w FILE")
    if args.write == "-":
        raise UserError("-w - (standard output) is not supported; give a file name")
    if args.buffer_mb <= 0:
        raise UserError("-B must be a positive size in MiB")
    limit = args.count or auto.get("packets")
    printer = None if args.quiet else _Printer(args)

    cap = LiveCapture(args.interface, args.capture_filter, buffer_mb=args.buffer_mb,
                      udp_port=(args.udp_port or [9899])[0], promisc=args.promisc)
    writer = None
    try:
        if args.write:
            if os.path.isdir(args.write):
                raise UserError(f"cannot write {args.write}: is a directory", exit_code=1)
            writer = CaptureWriter(args.write, cap.linktype, args.interface, cap.snaplen,
                                   filesize_kb=ring.get("filesize"),
                                   duration_s=ring.get("duration"), files=ring.get("files"),
                                   stats=lambda: (cap.update_stats().kernel_received,
                                                  cap.stats.kernel_dropped))
        return _loop(cap, writer, printer, limit, auto.get("duration"), args)
    finally:
        cap.stop()
        cap.join(5)
        cap.close()


def _loop(cap, writer, printer, limit, duration, args) -> int:
    status = _Status(args.interface)
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        cap.stop()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    out = sys.stdout
    if not status.tty:
        # Tell a supervising script (and the tests) that packets are now being captured.
        print(f"Capturing on {args.interface}", file=sys.stderr, flush=True)
    else:
        status.update(cap.stats, force=True)
    deadline = time.monotonic() + duration if duration else None
    taken = 0
    error = None
    cap.start()
    try:
        while True:
            batch = cap.get_batch(timeout=0.2)
            if batch is None:
                break
            if limit is not None and taken + len(batch) > limit:
                batch = batch[:limit - taken]
            if batch:
                taken += len(batch)
                if writer is not None:
                    try:
                        for rec in batch:
                            writer.write(rec)
                        writer.flush()
                    except UserError as e:
                        error = e
                        cap.stop()
                        break
                if printer is not None:
                    lines = printer.lines(batch)
                    if lines:
                        status.clear()
                        out.write("\n".join(lines) + "\n")
                        out.flush()
            if limit is not None and taken >= limit:
                cap.stop()
            if deadline is not None and time.monotonic() >= deadline:
                cap.stop()
            cap.update_stats()
            status.update(cap.stats)
        if cap.error is not None and error is None:
            raise cap.error
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        cap.stop()
        cap.join(5)
        cap.update_stats()
        if writer is not None:
            try:
                writer.close()
            except UserError as e:
                error = error or e
        status.clear()
        st = cap.stats
        try:
            out.flush()
        except BrokenPipeError:
            pass
        print(f"{taken} packet{'s' if taken != 1 else ''} captured, "
              f"{st.kernel_dropped} dropped by kernel", file=sys.stderr)
        if printer is not None and printer.diag is not None:
            print(printer.diag.report(), flush=True)
    if error is not None:
        raise error
    return 0
