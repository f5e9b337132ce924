"""``sctpinspect stats FILE``: per-association, per-endpoint and expert statistics."""
from __future__ import annotations

import sys

from ..errors import CaptureFileError, UserError

HELP = "statistics: per association (all paths), per endpoint, expert summary (tshark -z, fixed)"

DESCRIPTION = """\
Three tables, made in one streaming pass over the compact records:

  associations  one block per association, whatever its number of paths
                (RFC 9260 6.4: a multihomed association is one association):
                every address of each endpoint, then per direction packets,
                bytes (frame length), chunks by type counting every bundled
                chunk, DATA TSN range, retransmissions, RTT min/avg/max from
                the SACK that first acknowledges each TSN (retransmitted TSNs
                give no sample: Karn's rule, RFC 9260 6.3.1 C5), a_rwnd
                min/max advertised (INIT, INIT ACK, SACK, NR-SACK) and the
                duration
  endpoints     one row per endpoint (port and its set of addresses)
  expert        the expert notes by severity, group, protocol and summary
                with their count and RFC rule, like `tshark -z expert`

-Y FILTER selects the packets that are counted (associations are still found
from every packet, so a filter on one path keeps the association's index).
Unlike `tshark -z sctp,stat,FILTER`, the filter works.  `sctpinspect read -q
-z sctp,stat | -z conv,sctp | -z endpoints,sctp | -z expert` print tshark's
own layouts (see docs/fidelity.md for where they differ on purpose).

Several files, or a directory of them, are one trace (merged by time as
mergecap does, docs/scale.md).

Examples:
  sctpinspect stats trace.pcapng
  sctpinspect stats -Y 'ip.src == 192.0.2.1' --json trace.pcapng
"""


def add_arguments(p) -> None:
    from ._analysis_common import common_arguments
    common_arguments(p)
    p.add_argument("-Y", "--display-filter", metavar="FILTER",
                   help="count only the packets matching this display filter")
    p.add_argument("--json", action="store_true",
                   help="print {associations, endpoints, expert, ...} as one JSON object")


def collect(path: str, display_filter: str | None = None, decode_options=None):
    """(StatsCollector, Pipeline, CaptureFileError or None) for ``path``."""
    from ..analysis.core import AnalysisOptions, Analyzer
    from ..analysis.stats import StatsCollector
    from ..pipeline import Pipeline, compile_display_filter, open_records
    predicate = compile_display_filter(display_filter)
    # annotate: the analysis' expert notes (Retransmitted TSN, ...) and the fields a
    # filter may name; keep_messages off: stats needs no Message records
    an = Analyzer(AnalysisOptions(annotate=True, keep_messages=False))
    col = StatsCollector(an)
    pipe = Pipeline(open_records(path), decode_options, analyse=col.feed, predicate=predicate)
    error = None
    try:
        for pkt, shown in pipe:
            if shown:
                col.count(pkt)
    except CaptureFileError as e:
        error = e
    return col, pipe, error


def run(args) -> int:
    from ..sources.merge import capture_set
    paths = capture_set(args.file)          # several files / a directory: one trace
    col, pipe, error = collect(paths if len(paths) > 1 else paths[0], args.display_filter)
    if args.json:
        from ._analysis_common import dump_json
        dump_json({"frames": pipe.frames, "sctp_packets": pipe.sctp, "counted": col.packets,
                   "filter": args.display_filter, "associations": col.associations(),
                   "endpoints": col.endpoints(), "expert": col.expert(),
                   "rtt_samples_dropped_karn": col.karn_dropped,
                   "evicted": dict(col.analyzer.evicted)})
    else:
        sys.stdout.write(render_text(col, pipe, args.display_filter))
    if error is not None:
        raise error
    return 0


def _ms(x) -> str:
    return "-" if x is None else f"{x * 1000:.3f}"


def _n(x) -> str:
    return "-" if x is None else str(x)


def render_text(col, pipe, display_filter=None) -> str:
    out = [f"{pipe.frames} frames, {pipe.sctp} SCTP packets, {col.packets} counted"
           + (f" (filter: {display_filter})" if display_filter else "")]
    assocs = col.associations()
    out.append("")
    out.append(f"Associations ({len(assocs)})")
    out.append("=" * 72)
    for a in assocs:
        e1, e2 = a["endpoints"]
        out.append(f"association {a['assoc']}: frames {a['first_frame']}-{a['last_frame']}, "
                   f"{a['duration']:.6f} s, states {a['state'][0]}/{a['state'][1]}"
                   + (f", ended by {a['end']}" if a["end"] else ""))
        for e in (e1, e2):
            out.append(f"  endpoint {e['endpoint']}: port {e['port']}, "
                       f"{', '.join(e['addresses']) or '-'}")
        d1, d2 = a["directions"]
        rows = [("packets", d1["packets"], d2["packets"]), ("bytes", d1["bytes"], d2["bytes"])]
        names = sorted(set(d1["chunks"]) | set(d2["chunks"]))
        rows += [(f"{n} chunks", d1["chunks"].get(n, 0), d2["chunks"].get(n, 0)) for n in names]
        rows += [
            ("user data bytes", d1["data_bytes"], d2["data_bytes"]),
            ("TSN range", _range(d1), _range(d2)),
            ("retransmissions", d1["retransmissions"], d2["retransmissions"]),
            ("RTT samples", d1["rtt_samples"], d2["rtt_samples"]),
            ("RTT min/avg/max ms", _rtt(d1), _rtt(d2)),
            ("a_rwnd min/max", _rwnd(d1), _rwnd(d2)),
        ]
        out.append(f"  {'':26} {'endpoint 1 -> 2':>24} {'endpoint 2 -> 1':>24}")
        for label, x, y in rows:
            out.append(f"  {label:26} {str(x):>24} {str(y):>24}")
        out.append("")
    eps = col.endpoints()
    out.append(f"Endpoints ({len(eps)})")
    out.append("=" * 72)
    out.append(f"{'port':>5}  {'assocs':>6} {'packets':>8} {'bytes':>10} {'tx pkts':>8} "
               f"{'tx bytes':>10} {'rx pkts':>8} {'rx bytes':>10} {'retx':>5}  addresses")
    for e in eps:
        out.append(f"{e['port']:5}  {len(e['associations']):6} {e['packets']:8} {e['bytes']:10} "
                   f"{e['tx_packets']:8} {e['tx_bytes']:10} {e['rx_packets']:8} "
                   f"{e['rx_bytes']:10} {e['retransmissions']:5}  {', '.join(e['addresses'])}")
    out.append("")
    ex = col.expert()
    out.append(f"Expert ({sum(r['count'] for r in ex)})")
    out.append("=" * 72)
    out.append(f"{'count':>7}  {'severity':8} {'group':12} {'protocol':8} {'rule':16} summary")
    for r in ex:
        out.append(f"{r['count']:7}  {r['severity']:8} {r['group']:12} {r['protocol']:8} "
                   f"{r['rfc'] or '-':16} {r['summary']}")
    return "\n".join(out) + "\n"


def _range(d) -> str:
    if d["tsn_first"] is None:
        return "-"
    return f"{d['tsn_first']}-{d['tsn_last']}"


def _rtt(d) -> str:
    if not d["rtt_samples"]:
        return "-"
    return f"{_ms(d['rtt_min'])}/{_ms(d['rtt_avg'])}/{_ms(d['rtt_max'])}"


def _rwnd(d) -> str:
    if d["a_rwnd_min"] is None:
        return "-"
    return f"{d['a_rwnd_min']}/{d['a_rwnd_max']}"


# ----------------------------------------------------------------------- read -q -z
def make_taps(specs) -> tuple[list, bool]:
    """The taps of ``-z`` options (UserError for an unknown one) and whether they
    need the analysis (the expert tap, or a ``,FILTER`` on analysis fields)."""
    from ..analysis.stats import ExpertTap, parse_z
    from ..pipeline import compile_display_filter
    taps = []
    for spec in specs or ():
        hit = parse_z(spec)
        if hit is None:
            raise UserError(f"-z {spec}: unknown statistic (sctpinspect knows sctp,stat, "
                            "conv,sctp, endpoints,sctp, expert, each with an optional ,FILTER)")
        cls, text = hit
        taps.append(cls(text, compile_display_filter(text)))
    return taps, any(isinstance(t, ExpertTap) or getattr(t, "predicate", None) for t in taps)


def feed_taps(taps, pkt, shown: bool) -> None:
    """One frame to the taps: counted when shown (-Y), else only its time noted."""
    for t in taps:
        if shown:
            t.feed(pkt)
        elif hasattr(t, "frame"):
            t.frame(pkt)       # relative times count from the file's first frame


def render_taps(taps) -> str:
    """The tables, in the reverse order of the -z options (as tshark)."""
    return "".join(t.render() for t in reversed(taps))


class TapPipe:
    """A :class:`~sctpinspect.pipeline.Pipeline` whose frames also go to ``-z`` taps
    (``read -z`` without ``-q``: the packets, then the tables, as tshark)."""

    def __init__(self, pipe, taps):
        self.pipe = pipe
        self.taps = taps

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def __iter__(self):
        taps = self.taps
        for pkt, shown in self.pipe:
            feed_taps(taps, pkt, shown)
            yield pkt, shown


def run_read_taps(args, decode_options) -> int:
    """``sctpinspect read -q [-z STAT ...] [-Y FILTER] FILE``: tshark's -z tables.

    As tshark, the tables print in the reverse order of the -z options.
    -Y (and a ``,FILTER`` suffix) select the packets the tables count
    (tshark's taps ignore -Y in a one-pass read)."""
    from ..pipeline import Pipeline, compile_display_filter, open_records, stderr_line
    taps, needs_analysis = make_taps(args.stats)
    predicate = compile_display_filter(args.display_filter)
    analyse = None
    if needs_analysis or args.display_filter:
        from ..analysis.core import AnalysisOptions, Analyzer
        analyse = Analyzer(AnalysisOptions(annotate=True, keep_messages=False)).feed
    pipe = Pipeline(open_records(args.file), decode_options, analyse=analyse, predicate=predicate)
    error = None
    n = 0
    try:
        for pkt, shown in pipe:
            if shown and pkt.sctp_offset >= 0:
                n += 1
            feed_taps(taps, pkt, shown)
    except CaptureFileError as e:
        error = e
    sys.stdout.write(render_taps(taps))
    from .read import _counts
    stderr_line(_counts(pipe, n))
    if error is not None:
        raise error
    return 0
