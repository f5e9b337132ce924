"""``sctpinspect messages FILE``: one row per user message, in delivery order per stream."""
from __future__ import annotations

import json
import sys

HELP = "user messages: SID, SSN/MID, PPID, size, TSN range, frames, status; export or follow them"

DESCRIPTION = """\
One row per user message reassembled from DATA (RFC 9260 6.9) or I-DATA
(RFC 8260) chunks, in the order the receiver would deliver it on its stream:
unordered messages when complete, ordered ones by SSN (DATA) or MID (I-DATA).

  assoc  sender (address:port of the sending endpoint)  sid  ssn/mid  ppid
  u (unordered)  size  TSN first-last  fragments  frames  first/last time  status

status: complete; gap (complete, but SSN/MID numbers before it were never
seen); abandoned (its fragments were given up by FORWARD TSN / I-FORWARD TSN,
RFC 3758, RFC 8260 3.3); incomplete (fragments still missing when the
capture ends).  Retransmitted fragments are counted once.  Rows of different
streams interleave in the order they become deliverable; --assoc/--stream
pick one.  -Y FILTER keeps the messages whose completing frame (tshark's
"reassembled in" frame; for abandoned ones, the FORWARD TSN frame) matches;
incomplete messages have no such frame and are listed only without -Y.

Examples:
  sctpinspect messages trace.pcap
  sctpinspect messages --assoc 0 --stream 1 --json trace.pcapng
  sctpinspect messages -Y 'sctp.data_payload_proto_id == 46' trace.pcap
"""


def add_arguments(p) -> None:
    from ._analysis_common import common_arguments
    common_arguments(p)
    p.add_argument("--assoc", type=int, metavar="N",
                   help="only association N (the index `assoc` prints)")
    p.add_argument("--stream", type=int, metavar="S", help="only stream identifier S")
    p.add_argument("-Y", "--display-filter", metavar="FILTER",
                   help="only messages whose completing frame matches this display filter")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON array")


def _time(t) -> str:
    return "-" if t is None else f"{t:.6f}"


def _frames(frames: list) -> str:
    if len(frames) <= 4:
        return ",".join(map(str, frames))
    return f"{frames[0]},{frames[1]},...,{frames[-1]} ({len(frames)})"


HEADER = ("assoc", "sender", "sid", "ssn/mid", "ppid", "u", "size", "tsn", "frags", "frames",
          "first time", "last time", "status")


def _cells(r) -> tuple:
    from ..decode.sctp.names import PPIDS
    ppid = "-" if r.ppid is None else (f"{r.ppid} {PPIDS[r.ppid]}" if r.ppid in PPIDS
                                       else str(r.ppid))
    seq = ("mid " if r.idata else "") + str(r.seq)
    tsn = str(r.tsn_first) if r.tsn_first == r.tsn_last else f"{r.tsn_first}-{r.tsn_last}"
    return (str(r.assoc), r.sender, str(r.sid), seq, ppid, "u" if r.unordered else "",
            str(r.size), tsn, str(r.fragments), _frames(r.frames), _time(r.first_time),
            _time(r.last_time), r.status)


WIDTHS = (5, 21, 5, 10, 20, 1, 7, 21, 5, 20, 17, 17, 10)


def _line(cells) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, WIDTHS)).rstrip()


def run(args) -> int:
    from ..analysis.core import AnalysisOptions, Analyzer
    from ..analysis.hook import needs_analysis
    from ..analysis.messages import MessageCollector
    from ..errors import CaptureFileError, UserError
    from ..pipeline import Pipeline, check_readable, compile_display_filter, open_records

    check_readable(args.file)
    predicate = compile_display_filter(args.display_filter)
    # analysis fields (sctp.assoc_index...) are added to the packets only when -Y names them
    annotate = needs_analysis(display_filter=args.display_filter)
    an = Analyzer(AnalysisOptions(annotate=annotate, keep_messages=False))
    out = sys.stdout
    state = {"n": 0}

    if args.json:
        def emit(row):
            if not row.shown:
                return
            out.write("[\n " if state["n"] == 0 else ",\n ")
            out.write(json.dumps(row.to_dict()))
            state["n"] += 1
    else:
        def emit(row):
            if not row.shown:
                return
            if state["n"] == 0:
                out.write(_line(HEADER) + "\n")
            out.write(_line(_cells(row)) + "\n")
            state["n"] += 1

    keep = None
    if args.assoc is not None or args.stream is not None:
        a, s = args.assoc, args.stream
        keep = lambda ai, sid: (a is None or ai == a) and (s is None or sid == s)  # noqa: E731
    col = MessageCollector(an, emit, predicate=predicate, keep=keep)
    pipe = Pipeline(open_records(args.file), analyse=col.feed)
    err = None
    try:
        for _pkt in pipe:
            pass
    except CaptureFileError as e:
        err = e
    col.finish()
    if args.assoc is not None and not (0 <= args.assoc < len(an.associations)) and err is None:
        raise UserError(f"no association {args.assoc}: the capture has "
                        f"{len(an.associations)} (numbered from 0)")
    if args.json:
        out.write("[]\n" if state["n"] == 0 else "\n]\n")
    elif state["n"] == 0:
        print("no user messages" + (f" in association {args.assoc}" if args.assoc is not None
                                    else "") + (f" on stream {args.stream}"
                                                if args.stream is not None else "")
              + (" matching the filter" if predicate is not None else "")
              + ("" if args.assoc is not None or args.stream is not None else " in this capture"))
    lost = an.evicted.get("fragments", 0)
    if lost:
        print(f"sctpinspect: note: {lost} pending fragments were dropped by the reassembly caps; "
              "their messages are not listed", file=sys.stderr)
    if err is not None:
        raise err
    return 0
