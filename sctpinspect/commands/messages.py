"""``sctpinspect messages FILE``: one row per user message, in delivery order per stream."""
from __future__ import annotations

import json
import sys

from .. import argtypes

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

Several files, or a directory of them, are one trace (merged by time as
mergecap does, docs/scale.md): messages reassemble across the files of a
ring-buffer set.  --dask [ADDRESS] lists them from Dask tasks, one per shard
of associations, in the same order (not with -Y, --export or --follow).

Examples:
  sctpinspect messages trace.pcap
  sctpinspect messages --assoc 0 --stream 1 --json trace.pcapng
  sctpinspect messages -Y 'sctp.data_payload_proto_id == 46' trace.pcap
"""


def add_arguments(p) -> None:
    from ._analysis_common import common_arguments, dask_argument
    common_arguments(p)
    dask_argument(p)
    p.add_argument("--assoc", type=argtypes.INDEX, metavar="N",
                   help="only association N (the index `assoc` prints)")
    p.add_argument("--stream", type=argtypes.STREAM, metavar="S", help="only stream identifier S")
    p.add_argument("-Y", "--display-filter", metavar="FILTER",
                   help="only messages whose completing frame matches this display filter")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON array")
    p.add_argument("--export", metavar="DIR",
                   help="write each complete message's bytes to a file in DIR, with index.csv "
                        "and index.json")
    p.add_argument("--follow", action="store_true",
                   help="print the messages of one stream (--stream S, --assoc N, default 0) "
                        "both ways, like tshark's follow output")
    p.add_argument("--follow-format", choices=("ascii", "hex", "raw"), default="ascii",
                   help="--follow output: ascii (default), hex dump, or raw hex")


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
    from ..pipeline import Pipeline, compile_display_filter, open_records

    from ..sources.merge import capture_set
    from ._analysis_common import dask_files
    args.file, args.dask = dask_files(args.file, args.dask)
    paths = capture_set(args.file)
    if args.dask is not None and (args.display_filter or args.export or args.follow
                                  or paths == ["-"]):
        raise UserError("--dask lists messages of capture files: it takes no -Y, --export "
                        "or --follow, nor standard input")
    if args.follow and args.stream is None:
        raise UserError("--follow needs --stream S (and --assoc N when not association 0)")
    if args.follow and (args.json or args.export):
        raise UserError("--follow prints the payload itself: it takes neither --json nor --export")
    if args.follow and args.assoc is None:
        args.assoc = 0
    payload = bool(args.export or args.follow)
    predicate = compile_display_filter(args.display_filter)
    # analysis fields (sctp.assoc_index...) are added to the packets only when -Y names them
    annotate = needs_analysis(display_filter=args.display_filter)
    an = Analyzer(AnalysisOptions(annotate=annotate, keep_messages=False, keep_payload=payload))
    out = sys.stdout
    state = {"n": 0}

    export = _Export(args.export) if args.export else None
    if args.follow:
        follow = _Follow(out, an, args.assoc, args.stream, args.follow_format)
        emit = follow.emit
    elif args.json:
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
    if export is not None:
        show = emit

        def emit(row):
            if row.shown:
                export.write(row)
            row.data = None
            show(row)
    err = None
    done = None
    if args.dask is not None:       # the rows of sharded Dask tasks, in one process's order
        from ..scale.dask_run import messages_dask
        done = messages_dask(paths, args.dask or None)
    if done is not None:
        rows, an, err = done
        for row in rows:
            if keep is None or keep(row.assoc, row.sid):
                emit(row)
    else:                           # one process (or a cap over all associations reached)
        col = MessageCollector(an, emit, predicate=predicate, keep=keep, keep_payload=payload)
        pipe = Pipeline(open_records(paths), analyse=col.feed)
        try:
            for _pkt in pipe:
                pass
        except CaptureFileError as e:
            err = e
        col.finish()
    if args.assoc is not None and not (0 <= args.assoc < len(an.associations)) and err is None:
        raise UserError(f"no association {args.assoc}: the capture has "
                        f"{len(an.associations)} (numbered from 0)")
    if export is not None:
        export.close()
    if args.follow:
        follow.close()
    elif args.json:
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


INDEX_FIELDS = ("file", "assoc", "sender", "sid", "ssn", "mid", "ppid", "ppid_name", "unordered",
                "size", "tsn_first", "tsn_last", "fragments", "frames", "status", "first_time",
                "last_time")


class _Export:
    """``--export DIR``: one file per complete message, named
    ``NNNNNN-assocA-ep1to2-sidS-ssnN-ppidP.bin`` (``midN`` for I-DATA), plus
    index.csv / index.json with every listed message (``file`` empty when it has
    no bytes: incomplete, abandoned, or cut short by the capture's snap length)."""

    def __init__(self, path: str):
        import csv
        import os
        from ..errors import UserError
        try:
            os.makedirs(path, exist_ok=True)
            self.csv_file = open(os.path.join(path, "index.csv"), "w", newline="")
            self.json_file = open(os.path.join(path, "index.json"), "w")
        except OSError as e:
            raise UserError(f"cannot write to {path}: {e.strerror}") from None
        self.dir = path
        self.csv = csv.DictWriter(self.csv_file, INDEX_FIELDS)
        self.csv.writeheader()
        self.n = 0

    def write(self, row) -> None:
        import os
        d = row.to_dict()
        name = ""
        if row.data is not None:
            seq = ("mid" if row.idata else "ssn") + str(row.seq)
            name = (f"{self.n:06d}-assoc{row.assoc}-ep{row.side + 1}to{2 - row.side}-sid{row.sid}-"
                    f"{seq}-ppid{row.ppid}.bin")
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(row.data)
        d["file"] = name
        self.json_file.write(("[\n " if self.n == 0 else ",\n ") + json.dumps(d))
        d["frames"] = " ".join(map(str, row.frames))
        self.csv.writerow(d)
        self.n += 1

    def close(self) -> None:
        self.json_file.write("[]\n" if self.n == 0 else "\n]\n")
        self.json_file.close()
        self.csv_file.close()


SEPARATOR = "=" * 67


class _Follow:
    """``--follow``: the messages of one stream, both directions, in tshark's
    ``-z follow`` layout (Node 0 is the association's endpoint 1, Node 1's
    messages are indented by a tab).  Only messages with bytes are printed."""

    def __init__(self, out, analyzer, assoc: int, sid: int, fmt: str):
        self.out = out
        self.an = analyzer
        self.assoc = assoc
        self.sid = sid
        self.fmt = fmt
        self.started = False

    def _header(self) -> None:
        self.started = True
        nodes = []
        if self.assoc < len(self.an.associations):
            a = self.an.associations[self.assoc]
            for ep in a.ep:
                addr = ep.addresses[0] if ep.addresses else "?"
                nodes.append(f"[{addr}]:{ep.port}" if ":" in addr else f"{addr}:{ep.port}")
        else:
            nodes = ["?", "?"]
        w = self.out.write
        w(f"{SEPARATOR}\nFollow: sctp,{self.fmt}\nFilter: assoc {self.assoc}, stream {self.sid}\n")
        w(f"Node 0: {nodes[0]}\nNode 1: {nodes[1]}\n")

    def emit(self, row) -> None:
        if not row.shown or row.data is None:
            return
        if not self.started:
            self._header()
        data, ind, w = row.data, "\t" if row.side else "", self.out.write
        if self.fmt == "ascii":
            text = "".join(chr(b) if 32 <= b < 127 or b == 10 else "." for b in data)
            w(f"{ind}{len(data)}\n{text}\n")
        elif self.fmt == "raw":
            w(f"{ind}{data.hex()}\n")
        else:
            for off in range(0, len(data), 16):
                part = data[off:off + 16]
                hx = " ".join(f"{b:02x}" for b in part)
                asc = "".join(chr(b) if 32 <= b < 127 else "." for b in part)
                w(f"{ind}{off:08X}  {hx:<47}  {asc}\n")
        row.data = None

    def close(self) -> None:
        if not self.started:
            self._header()
        self.out.write(SEPARATOR + "\n")
