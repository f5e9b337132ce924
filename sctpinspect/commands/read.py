"""``sctpinspect read FILE``: decode a capture file and print its SCTP packets."""
from __future__ import annotations

import argparse
import os
import sys

from .. import argtypes as A
from ..errors import CaptureFileError, UserError

HELP = "decode a pcap/pcapng file and print its SCTP packets (summary, -V tree, JSON, tshark-style fields)"

DESCRIPTION = """\
Decode a pcap or pcapng file (or standard input with `-`) and print one line
per SCTP packet:

  number  time  src:sport -> dst:dport  vtag  [checksum mark]  chunks...  [notes]

for example

      5    0.001251 192.168.170.8:7 -> 192.168.170.56:7 vtag=0xce0c78b4 DATA(tsn=0 sid=0 ssn=0 ppid=0 len=16) ...

Frames that carry no SCTP are skipped and counted in a last line on stderr
("1894 frames, 23 SCTP").  CRC32c checksums are verified (unlike Wireshark's
default): a wrong one shows "[CRC bad, expected 0x...]", an all-zero one
"[CRC zero]" (checksum offload, or RFC 9653 zero checksum), a legacy RFC 2960
Adler-32 one "[Adler-32]".  Expert notes (malformed chunks, protocol rule
violations) follow the chunks in brackets.

Output formats:
  -V                  the full decode tree of every layer, indented like
                      Wireshark; add --field-names to see each line's
                      display-filter name
  -T json             one JSON object per packet (JSON Lines) with the chunks,
                      their fields, the notes and the whole tree with byte
                      offsets and lengths
  -T fields -e F ...  the values of the given fields, one line for EVERY frame
                      of the file (SCTP or not, so frame numbers line up),
                      byte for byte what `tshark -T fields` prints; -E options
                      as tshark: header=y|n, separator=/t|/s|<char>,
                      occurrence=f|l|a|N, aggregator=,|/s|<char>,
                      quote=d|s|n, bom=y|n

TSNs are absolute by default (as stacks log them): `-e sctp.data_tsn_raw`
(and the summary line) print the absolute TSN, while `-e sctp.data_tsn`, as in
tshark, is the TSN relative to the first one of its direction and is filled
only with --relative-tsn (tshark's default; compare with
`tshark -o sctp.relative_tsns:FALSE` otherwise).

Exit status: 0 on success; 1 when the file is missing, unreadable or corrupt
(every good record before the damage is printed first, then a one-line error
giving the byte offset); 2 for bad options.

Examples:
  sctpinspect read trace.pcapng
  sctpinspect read -V --field-names -c 1 trace.pcap
  sctpinspect read -Y 'sctp.chunk_type == 6' trace.pcap
  sctpinspect read -T fields -E header=y -e frame.number -e sctp.data_tsn_raw trace.pcap
  sctpinspect read --relative-tsn -T fields -e frame.number -e sctp.data_tsn trace.pcap
  tcpdump -w - -i eth0 sctp | sctpinspect read -
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="pcap or pcapng file, or - for standard input")
    p.add_argument("-c", "--count", type=A.COUNT, metavar="N",
                   help="stop after N packets shown (in -T fields mode: N frames, like tshark -c)")
    p.add_argument("-t", dest="time_mode", default="r", metavar="FORMAT",
                   choices=("r", "a", "ad", "u", "ud", "d", "dd", "e"),
                   help="time column as tshark -t: r relative to the first frame (default), "
                        "a absolute local time, ad with date, u/ud in UTC, d delta from the "
                        "previous frame, dd from the previous shown packet, e epoch seconds")
    p.add_argument("-V", "--verbose", action="store_true",
                   help="print the full decode tree of each packet")
    p.add_argument("--field-names", action="store_true",
                   help="with -V: show each tree line's display-filter name")
    p.add_argument("-T", dest="format", default="text", choices=("text", "json", "fields"),
                   help="output format: text (default; summary lines, or the tree with -V), "
                        "json (one object per packet), fields (tshark -T fields, needs -e)")
    p.add_argument("-e", dest="fields", action="append", metavar="FIELD",
                   help="with -T fields: a field to print, Wireshark name (repeatable)")
    p.add_argument("-E", dest="field_options", action="append", metavar="OPT=VALUE",
                   help="with -T fields: header=y|n separator=/t|/s|C occurrence=f|l|a|N "
                        "aggregator=,|/s|C quote=d|s|n bom=y|n (repeatable)")
    p.add_argument("-Y", dest="display_filter", metavar="FILTER",
                   help="display filter, Wireshark syntax (e.g. 'sctp.chunk_type == 1 && ip.src == 10.0.0.1')")
    p.add_argument("--decode-as", action="append", metavar="ppid:N=NAME|port:N=NAME",
                   help="decode user messages with PPID or SCTP port N as NAME (m3ua, diameter, "
                        "dcep, ...; `none` turns a dissector off), like Wireshark's Decode As; "
                        "repeatable")
    p.add_argument("--tshark", action="store_true",
                   help="with -V or -T json: add tshark's decode (run through pyshark, alongside "
                        "ours) of the payloads no native dissector knows: S1AP, NGAP, X2AP, "
                        "SCCP/TCAP/MAP above M3UA, ...; needs tshark installed and a file, not -")
    p.add_argument("--relative-tsn", action="store_true",
                   help="TSNs relative to the first one of each direction, as tshark's default: "
                        "fills sctp.data_tsn, sctp.sack_cumulative_tsn_ack, ... (the absolute "
                        "values stay in the *_raw fields)")
    p.add_argument("--no-checksum", action="store_true",
                   help="do not verify CRC32c checksums (faster; checksum status 'unverified')")
    p.add_argument("--udp-port", type=A.UDP_PORT, action="append", metavar="N",
                   help="UDP port carrying SCTP over UDP, RFC 6951 (default 9899; repeatable)")
    p.add_argument("--workers", type=A.WORKERS, metavar="N",
                   help="make the summary lines of a big file in N worker processes besides "
                        "this one (default: one per CPU, at most 4, for a file of 16 MiB or "
                        "more on a machine with 2 or more CPUs, else 0; 0 = never). Only the plain summary with the "
                        "default time column uses them; the output is the same")
    p.add_argument("-2", dest="two_pass", action="store_true",
                   help="two passes, as tshark -2: the analysis fields about later frames "
                        "(sctp.acked, sctp.data_rtt, sctp.retransmitted, sctp.reassembled_in) "
                        "land on the DATA chunk they describe; needs a file, not -")
    # An option spelled like a negative number (-2) makes argparse read every
    # negative number as an option ("--workers -1: expected one argument"); -2 is
    # still matched as itself, and a negative value reaches its option's range check.
    p._has_negative_number_optionals.clear()
    p.add_argument("-q", dest="quiet", action="store_true",
                   help="print no packets (with -z: only the statistics), as tshark -q")
    p.add_argument("-z", dest="stats", action="append", metavar="STAT",
                   help="print a statistic in tshark's layout (after the packets; with -q alone): sctp,stat, conv,sctp, "
                        "endpoints,sctp, expert, each with an optional ,FILTER (repeatable; "
                        "see `sctpinspect stats` for one row per association)")
    p.add_argument("--no-progress", action="store_true",
                   help="never show the progress bar (it appears only for long reads, "
                        "on a terminal, when stdout is redirected)")


def _decode_options(args):
    from ..decode import DecodeOptions
    ports = tuple(args.udp_port) if args.udp_port else (9899,)
    for port in ports:
        if not 0 < port < 65536:
            raise UserError(f"--udp-port {port}: not a UDP port (1-65535)")
    return DecodeOptions(verify_checksum=not args.no_checksum, udp_ports=ports,
                         relative_tsn=args.relative_tsn)


def _chain(first, second):
    def both(pkt):
        first(pkt)
        second(pkt)
    return both


def run(args) -> int:
    from ..output.progress import ReadProgress
    from ..pipeline import Pipeline, compile_display_filter, open_records, stderr_line

    if args.workers is not None and not 0 <= args.workers <= 64:
        raise UserError(f"--workers {args.workers}: use a number from 0 to 64")
    if args.count is not None and args.count < 1:
        raise UserError(f"-c {args.count}: the packet count must be at least 1")
    fmt = args.format
    if fmt == "fields":
        from ..output.fields import FieldOptions, FieldsPrinter
        printer = FieldsPrinter(args.fields or [], FieldOptions.parse(args.field_options))
    elif args.fields or args.field_options:
        raise UserError("-e and -E need -T fields")
    options = _decode_options(args)
    if args.two_pass and args.file == "-":
        raise UserError("-2 reads the file twice: give a capture file, not -")
    if args.quiet:
        from .stats import run_read_taps
        return run_read_taps(args, options)
    taps = None
    if args.stats:          # -z without -q: the packets, then the tables (as tshark)
        from .stats import make_taps
        taps, taps_analyse = make_taps(args.stats)
    from ..payload import needs_payload, payload_hook
    decode_as = None
    if args.decode_as:
        from dissectors import parse_decode_as_list
        decode_as = parse_decode_as_list(args.decode_as)     # UserError on bad input
    if args.tshark:
        if not (args.verbose or fmt == "json"):
            raise UserError("--tshark adds tshark's payload layers to the tree: use it with -V "
                            "or -T json")
        if args.file == "-":
            raise UserError("--tshark needs a capture file: tshark reads the file alongside")
        from dissectors.tshark_bridge import tshark_path
        tshark_path()                                       # UserError when it is missing
    payload = (payload_hook(decode_as, bridge=args.file if args.tshark else None)
               if args.tshark or needs_payload(args.fields, args.display_filter,
                                               args.verbose or fmt == "json", decode_as)
               else None)
    predicate = compile_display_filter(args.display_filter)
    linktypes: list = []    # the first record's link type, for the final line
    records = _first_linktype(open_records(args.file), linktypes)
    progress = ReadProgress(args.file, enabled=False if args.no_progress else None)
    from ..analysis.hook import analysis_hook   # None unless the output needs analysis fields
    if args.relative_tsn:   # relative TSNs need each direction's Initial TSN: the analysis has it
        from ..analysis.core import AnalysisOptions, Analyzer
        analyse = Analyzer(AnalysisOptions(relative_tsn=True)).feed
    else:
        analyse = analysis_hook(fields=args.fields, display_filter=args.display_filter,
                                verbose=args.verbose or fmt == "json")
    if taps is not None and taps_analyse and analyse is None:
        from ..analysis.core import AnalysisOptions, Analyzer
        analyse = Analyzer(AnalysisOptions(annotate=True, keep_messages=False)).feed
    if args.two_pass:       # tshark -2: facts about earlier frames from a first pass
        from ..analysis.twopass import first_pass, wanted
        facts = first_pass(open_records(args.file), options,
                           wanted(args.fields, args.display_filter, args.verbose or fmt == "json"))
        analyse = facts.apply if analyse is None else _chain(analyse, facts.apply)
    if payload is not None:
        analyse = payload if analyse is None else _chain(analyse, payload)
    pipe = Pipeline(records, options, predicate=predicate, analyse=analyse,
                    on_record=(lambda r: progress.tick(r.offset)) if progress.enabled else None)
    if taps is not None:
        from .stats import TapPipe
        pipe = TapPipe(pipe, taps)      # every frame also to the taps: no worker processes
    if fmt == "fields":
        from ..output.fields import known_field
        bad = [f for f in printer.names if not known_field(f)]
        if bad:
            raise UserError(f"unknown field{'s' if len(bad) > 1 else ''}: {', '.join(bad)} "
                            "(names are Wireshark's display-filter names; `sctpinspect read -V "
                            "--field-names` shows them)")

    out = sys.stdout
    buf: list[str] = []
    every = 1 if _live_input(args.file) else _BLOCK     # a pipe: each packet as it arrives
    limit = args.count
    shown = [0]          # lines printed so far; a list so it survives a CaptureFileError
    try:
        try:
            if fmt == "fields":
                _run_fields(pipe, printer, buf, out, limit, shown, every)
            else:
                _run_packets(pipe, args, buf, out, limit, shown, every)
        finally:
            if buf:
                out.write("\n".join(buf) + "\n")
            out.flush()
            progress.close()
            if payload is not None and hasattr(payload, "close"):
                payload.close()                             # stops tshark (--tshark) early
    except CaptureFileError:
        if taps is not None:                # the tables of the good frames, then the error
            from .stats import render_taps
            out.write(render_taps(taps))
            out.flush()
        stderr_line(_counts(pipe, shown[0], linktypes))
        raise
    except KeyboardInterrupt:
        # Ctrl-C: what was read is printed (the finally above), then the counts
        stderr_line(_counts(pipe, shown[0], linktypes))
        raise
    if taps is not None:
        from .stats import render_taps
        out.write(render_taps(taps))
        out.flush()
    if fmt != "fields":
        stderr_line(_counts(pipe, shown[0], linktypes))
    return 0


def _first_linktype(records, seen: list):
    """Pass the records through, noting the first one's link type (no per-record cost)."""
    it = iter(records)
    for rec in it:
        seen.append(rec.linktype)
        yield rec
        break
    yield from it


def _counts(pipe, shown: int, linktypes=()) -> str:
    from ..decode.link import LINKTYPES
    from ..output.text import summary_counts
    line = summary_counts(pipe.frames, pipe.sctp, pipe.icmp, shown)
    if linktypes and linktypes[0] not in LINKTYPES and not pipe.sctp:
        line += (f" (link type {linktypes[0]} is not decoded: sctpinspect reads Ethernet, "
                 "raw IP, Linux cooked, BSD loopback/null)")
    return line


_BLOCK = 2048          # lines written at once from a file
_BLOCK_CHARS = 1 << 20  # ... or fewer, once -V / -T json text reaches 1 MiB


def _live_input(path: str) -> bool:
    """Standard input or a FIFO that is not a regular file: packets come as
    they are captured (tcpdump -w - | sctpinspect read -), so each line is
    written and flushed at once, as tshark does."""
    import stat
    try:
        st = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)
    except (OSError, ValueError, AttributeError):
        return path == "-"
    return not stat.S_ISREG(st.st_mode)


def _write_lines(buf, out, every) -> None:
    """Write the buffered lines; ``every == 1`` (a live input) flushes each line."""
    text = "\n".join(buf) + "\n"
    buf.clear()          # before writing: a Ctrl-C in the write must not print it twice
    out.write(text)
    if every == 1:
        out.flush()


def _run_fields(pipe, printer, buf, out, limit, counter, every=2048) -> None:
    append = buf.append
    line = printer.line
    if printer.opt.header:
        append(printer.header())
    elif printer.opt.bom:
        out.write("\ufeff")      # as tshark: the BOM starts the first line, not a line of its own
    n = 0
    for pkt, shown in pipe:
        if not shown:
            continue
        append(line(pkt))
        n += 1
        counter[0] = n
        if len(buf) >= every:
            _write_lines(buf, out, every)
        if limit is not None and n >= limit:
            break


def _run_packets(pipe, args, buf, out, limit, counter, every=2048) -> None:
    from ..output.text import SummaryPrinter
    summary = SummaryPrinter(args.time_mode)
    fmt = args.format
    t = summary.time
    if fmt == "text" and not args.verbose and pipe.analyse is None and pipe.predicate is None \
            and getattr(pipe, "taps", None) is None:
        # Plain summary lines of a big file: worker processes make them (the
        # output is what this process alone prints); after a damaged file or
        # a dead worker this process goes on from the first frame not printed.
        from ..output.workers import default_workers, summary_with_workers
        workers = default_workers(args.file) if args.workers is None else args.workers
        if workers and t.mode == "r" and os.path.isfile(args.file):
            if summary_with_workers(pipe, args.file, workers, summary, out, limit, counter):
                return
    if fmt == "json":
        from ..output.jsonout import packet_json
    elif args.verbose:
        from ..output.tree import tree_text
    append = buf.append
    field_names = args.field_names
    line = summary.line
    n = counter[0]
    held = 0             # characters of tree / JSON text in ``buf``
    if limit is not None and n >= limit:
        return
    for pkt, shown in pipe:
        if t.first is None:
            t.first = pkt.record.ts_ns
        if shown and (pkt.sctp_offset >= 0 or pkt.icmp is not None):
            if fmt == "json":
                text = packet_json(pkt, summary.chunk_summary, t.format(pkt.record.ts_ns))
                held += len(text)
                append(text)
            elif args.verbose:
                text = tree_text(pkt, field_names)
                held += len(text)
                append(text)
            else:
                append(line(pkt))
            n += 1
            counter[0] = n
            # a block is 2,048 lines, or less text than _BLOCK_CHARS: a -V tree or a JSON
            # object of a packet with thousands of chunks is tens of KB, so 2,048 of them
            # held at once made the memory grow with the packets' size (issue 18 shapes)
            if len(buf) >= every or held >= _BLOCK_CHARS:
                held = 0
                _write_lines(buf, out, every)
            if limit is not None and n >= limit:
                break
        t.prev = pkt.record.ts_ns
