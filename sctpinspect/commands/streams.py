"""``sctpinspect streams FILE``: per-stream statistics of each association."""
from __future__ import annotations

from .. import argtypes as A

HELP = "per-stream statistics: messages, bytes, ordered/unordered, PPIDs, SSN/MID gaps"

DESCRIPTION = """\
For every association (or only --assoc N) and each direction, one row per
stream that carried user messages:

  assoc  from ep  streams out  sid  msgs  bytes  ordered  unordered  ppids
  next SSN/MID  missing  late  frames

"streams out" is the number of outbound streams negotiated for that sender
(min of its INIT/INIT ACK "Number of Outbound Streams" and the peer's
"Number of Inbound Streams", RFC 9260 5.1.1); "?" when the handshake was not
captured.  Messages are reassembled from DATA fragments (B/E bits on
consecutive TSNs, RFC 9260 6.9) and from I-DATA fragments (MID/FSN, RFC
8260); retransmitted chunks are counted once.  "ppids" lists payload
protocol identifiers as PPIDxCOUNT.  For ordered messages the SSN (DATA) or
MID (I-DATA) sequence is checked: "missing" counts numbers skipped (lost
before the capture point, or abandoned by FORWARD TSN without notice),
"late" those that arrived after a higher one.

Several files, or a directory of them, are one trace (merged by time as
mergecap does); --dask [ADDRESS] runs the analysis as Dask tasks with the
same output (docs/scale.md).

Examples:
  sctpinspect streams trace.pcap
  sctpinspect streams --assoc 2 --json trace.pcapng
"""


def add_arguments(p) -> None:
    from ._analysis_common import common_arguments, dask_argument, workers_argument
    common_arguments(p)
    workers_argument(p)
    dask_argument(p)
    p.add_argument("--assoc", type=A.INDEX, metavar="N",
                   help="only association N (the index `assoc` prints)")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON array")


def run(args) -> int:
    from ..analysis.report import streams_table
    from ._analysis_common import dump_json, pick_assoc, run_analysis
    result, err = run_analysis(args.file, workers=args.workers, dask=args.dask)
    if result is not None:
        pick_assoc(result, args.assoc)
        rows = result.streams(args.assoc)
        if args.json:
            dump_json(rows)
        elif rows:
            print(streams_table(rows))
        else:
            print("no user messages" + (f" in association {args.assoc}"
                                        if args.assoc is not None else " in this capture"))
    if err is not None:
        raise err
    return 0
