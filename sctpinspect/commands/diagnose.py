"""``sctpinspect diagnose FILE``: why do two SCTP stacks fail to talk?"""
from __future__ import annotations

import json
import sys

from ..errors import CaptureFileError, UserError

HELP = "find interop problems in a capture (rule catalogue with RFC sections and proving frames)"

DESCRIPTION = """\
Decode and analyse a capture, then run the diagnostic rule catalogue over it
(see docs/diagnostics.md for every rule): bad/zero/Adler-32 checksums, wrong
verification tags and T bits, out-of-the-blue packets, INITs or COOKIE ECHOs
never answered, INIT answered by ABORT, stale cookies, collisions, restarts,
ABORTs and every error cause, extensions offered by one side only, streams
negotiated down, DATA on invalid streams, unknown chunks and parameters,
byte-swapped PPIDs, abort loops, retransmissions (T3 vs fast), duplicate
TSNs, zero windows, unanswered heartbeats, path failovers, incomplete
shutdowns, ICMP errors about SCTP packets, and malformed packets.

Findings are printed grouped by association, worst first.  Each gives the
rule id, severity (info < warn < error), the RFC section behind it, what was
seen, the frames that prove it (open them with `sctpinspect read -Y
'frame.number == N' -V`), and what to check next.  A finding is reported
once per association and subject, with a count ("x12").

  --json               a JSON array of findings: rule, severity, rfc,
                       association (the sctp.assoc_index, null when none),
                       endpoints, frames, count, message, hint (+ details)
  -Y FILTER            keep only findings with at least one frame matching
                       the display filter (the whole capture is still
                       analysed, so associations stay correct); the filter
                       may use sctpinspect.rule, e.g. -Y 'sctpinspect.rule
                       == "abort"' (findings certain only at end of capture,
                       like init-unanswered, have no rule field in packets)
  --min-severity LEVEL only findings at LEVEL or worse (info, warn, error)
  --timeline           after each association's findings, its timeline: state
                       changes, window events, RTO backoffs, path changes and
                       the first frame of each finding, with times
  --set NAME=VALUE     override a rule threshold (repeatable), e.g.
                       --set stall.rtos=5 (see --rules for the names)
  --rules              print the rule catalogue and exit
  --workers N          diagnose in N processes, sharded by association
                       (default: one per CPU, at most 4, for a file of 16 MiB
                       or more); the findings are the same as in one process

Several files, or a directory of them, are one trace (merged by time as
mergecap does, docs/scale.md), so an association of a ring-buffer set is
judged whole.

Exit status: 0 when no finding above info is shown; 3 when the worst shown
finding is a warning; 4 when at least one error is shown; 1 when the file is
missing, unreadable or corrupt (findings from the frames before the damage
are printed first); 2 for bad options.

Examples:
  sctpinspect diagnose trace.pcapng
  sctpinspect diagnose --min-severity warn trace.pcap
  sctpinspect diagnose --json trace.pcap | jq '.[] | select(.rule == "abort")'
  sctpinspect diagnose -Y 'ip.addr == 10.0.0.1' trace.pcap
"""


def add_arguments(p) -> None:
    from ._analysis_common import MANY_HELP
    p.add_argument("file", metavar="FILE", nargs="*", help=MANY_HELP)
    p.add_argument("--json", action="store_true", help="print the findings as a JSON array")
    p.add_argument("-Y", dest="display_filter", metavar="FILTER",
                   help="keep findings with at least one frame matching this display filter")
    p.add_argument("--min-severity", choices=("info", "warn", "error"), default="info",
                   help="show only findings at this severity or worse (default info: all)")
    p.add_argument("--no-checksum", action="store_true",
                   help="do not verify CRC32c (the checksum rules then stay silent)")
    p.add_argument("--rules", action="store_true", help="list the rule catalogue and exit")
    p.add_argument("--timeline", action="store_true",
                   help="print each association's timeline after its findings (text output)")
    p.add_argument("--set", dest="thresholds", action="append", default=[], metavar="NAME=VALUE",
                   help="override a rule threshold, e.g. --set stall.rtos=5 (repeatable)")
    from ._analysis_common import workers_argument
    workers_argument(p)


def rules_table() -> str:
    from ..diagnostics.rules import RULES
    lines = []
    w = max(len(r) for r in RULES)
    for r in RULES.values():
        lines.append(f"{r.id:{w}s}  {r.severity:5s}  {r.rfc}")
        lines.append(f"{'':{w}s}  {r.explanation}")
    from ..diagnostics.rules import THRESHOLDS
    lines.append("")
    lines.append("thresholds (--set NAME=VALUE):")
    for k, (v, meaning) in THRESHOLDS.items():
        lines.append(f"  {k} = {v}  ({meaning})")
    return "\n".join(lines)


def run(args) -> int:
    if args.rules:
        print(rules_table())
        return 0
    if not args.file:
        raise UserError("diagnose needs a capture FILE (or - for standard input)")
    from ..analysis.api import decode_file
    from ..decode import DecodeOptions
    from ..diagnostics import diagnose_packets
    from ..pipeline import compile_display_filter
    from ..sources.merge import capture_set

    if args.timeline and args.json:
        raise UserError("--timeline is for the text report, not --json")
    paths = capture_set(args.file)
    predicate = compile_display_filter(args.display_filter)
    opts = DecodeOptions(verify_checksum=not args.no_checksum)
    err = None
    holder = {}

    def packets():
        try:
            for pkt in decode_file(paths, opts):
                holder["read"] = True
                yield pkt
        except CaptureFileError as e:   # diagnose what was read, then report the damage
            holder["err"] = e

    # The analysis adds its fields to the packets only when a display filter may read them.
    from ..analysis.core import AnalysisOptions, Analyzer
    from ..diagnostics.engine import Diagnoser
    marks = predicate is not None
    overrides = {}
    for item in args.thresholds:
        name, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"--set needs NAME=VALUE, not {item!r}")
        overrides[name.strip()] = value.strip()

    def make_diagnoser():
        return Diagnoser(Analyzer(AnalysisOptions(annotate=marks, keep_messages=False)),
                         annotate=marks, thresholds=overrides)
    diagnoser = make_diagnoser()      # also checks the --set names before any work
    result = None
    shards = _shards(paths, args)
    if shards > 1:
        from ..analysis.shard import diagnose_sharded
        from ..diagnostics import DiagnosisResult
        from ..pipeline import check_readable, open_records
        one = paths[0] if len(paths) == 1 else paths
        if not isinstance(one, list):
            check_readable(one)
        merged = diagnose_sharded(lambda: open_records(one), opts, shards, make_diagnoser,
                                  predicate)
        if merged is not None:
            d, frames, matched, err = merged
            if err is not None:
                holder["err"] = err
            if frames:
                holder["read"] = True
            result = DiagnosisResult(d, frames, matched, args.min_severity)
    if result is None:
        result = diagnose_packets(packets(), predicate, args.min_severity, diagnoser)
    err = holder.get("err")
    if err is not None and not holder.get("read"):
        # Not a capture (or damaged before its first frame): "no findings" would
        # read as a verdict on traffic that was never seen; the error alone.
        raise err
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=1, default=_default)
        sys.stdout.write("\n")
    else:
        print(result.text(timeline=args.timeline))
    sys.stdout.flush()
    if err is not None:
        raise err
    return result.exit_status()


def _shards(paths, args) -> int:
    """Processes for the diagnosis (analysis/shard.py): --workers, else one per CPU for
    a big file; one for standard input and for --timeline (which reads the live state
    of every association, which the shards do not send back)."""
    if args.timeline or paths == ["-"] or "-" in paths:
        return 1
    if args.workers is not None:
        return max(1, args.workers)
    from ..analysis.shard import default_shards
    return default_shards(paths[0] if len(paths) == 1 else paths)


def _default(o):
    if isinstance(o, (bytes, bytearray)):
        return o.hex()
    if isinstance(o, (tuple, set, frozenset)):
        return list(o)
    return str(o)
