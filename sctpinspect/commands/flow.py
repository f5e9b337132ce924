"""``sctpinspect flow FILE --assoc N``: ladder diagram of one association."""
from __future__ import annotations

from .. import argtypes as A

HELP = "ladder diagram of one association: one arrow per chunk, one column per address"

DESCRIPTION = """\
Draw the chunks of one association as a text ladder (like Wireshark's flow
graph):  a column per address of each endpoint (so a multihomed association
shows which path carried each chunk), one arrow per chunk from the source
address to the destination address, with the frame number and the time since
the association's first packet on the left and, at the right, the endpoint
state changes the packet caused with the RFC 9260 section behind each, and
"path change" when DATA moved to another path.

  frame   time        10.0.0.1        10.0.1.1        10.0.0.2
                      ep1:5000        ep1:5000        ep2:6000
      1    0.000000   |------ INIT itag=0x... -------->|   ep1 CLOSED->COOKIE-WAIT (RFC 9260 5.1 A)

Find N with `sctpinspect assoc FILE`.

Examples:
  sctpinspect flow --assoc 0 trace.pcap
  sctpinspect flow --assoc 3 --width 40 trace.pcapng | less -S
"""


def add_arguments(p) -> None:
    from ._analysis_common import common_arguments
    common_arguments(p, many=False)
    p.add_argument("--assoc", type=A.INDEX, metavar="N", required=True,
                   help="the association to draw (index shown by `assoc`)")
    p.add_argument("--width", type=A.WIDTH, default=34, metavar="COLS",
                   help="width of each address column (default 34)")


def run(args) -> int:
    from ..analysis.report import ladder_lines
    from ._analysis_common import pick_assoc, rereadable, run_analysis
    n = args.assoc
    if not rereadable(args.file):
        # standard input or a FIFO cannot be read twice: keep the association's packets
        result, err = run_analysis(
            args.file, keep=lambda p: p.analysis is not None and p.analysis.get("assoc_index") == n)
        packets = result.kept_packets
    else:
        # two passes, memory flat in the file size: the first finds the
        # association's addresses (the ladder's columns), the second draws its
        # chunks as the packets stream by
        result, err = run_analysis(args.file)
        packets = _association_packets(args.file, n)
    (assoc,) = pick_assoc(result, n)
    width = max(12, args.width)
    for line in ladder_lines(assoc, packets, width):
        print(line)
    if err is not None:
        raise err
    return 0


def _association_packets(path: str, n: int):
    """The analysed packets of association ``n`` of ``path``, streamed (the
    damage the first pass reported ends this pass at the same frame)."""
    from ..analysis import Analyzer, AnalysisOptions
    from ..errors import CaptureFileError
    from ..pipeline import Pipeline, open_records
    an = Analyzer(AnalysisOptions(annotate=False, keep_messages=False))
    try:
        for pkt, _shown in Pipeline(open_records(path), analyse=an.feed):
            info = pkt.analysis
            if info is not None and info.get("assoc_index") == n:
                yield pkt
    except CaptureFileError:
        return
