"""``sctpinspect assoc FILE``: one row per SCTP association."""
from __future__ import annotations

HELP = "list the SCTP associations of a capture: endpoints, vtags, states, streams, traffic"

DESCRIPTION = """\
List every SCTP association in a capture file, one row each:

  #  endpoint 1  endpoint 2  vtag 1  vtag 2  state 1  state 2  streams 1/2
     msgs/bytes each way  retransmissions  first-last frame  duration  end

Associations are found the way RFC 9260 defines them, not by address pair:
the two Verification Tags exchanged in INIT / INIT ACK, the ports, and every
address each endpoint announced (INIT / INIT ACK address parameters, ASCONF
Add/Delete IP), so all paths of a multihomed association are one row.
Endpoint 1 is the sender of the first packet seen (the initiator when the
INIT is captured).  A capture that starts mid-association still works: the
tags are learnt from the traffic and the row says "(mid-capture)"; "?" marks
what was never seen.  A restart (RFC 9260 5.2.2) or a new INIT after the
previous association ended starts a new row.  "#" is the association index,
the value of the sctp.assoc_index field (0-based like Wireshark's), usable in
`read -Y 'sctp.assoc_index == N'`, `streams --assoc N` and `flow --assoc N`.

States are each endpoint's RFC 9260 state after the last packet (CLOSED,
COOKIE-WAIT, COOKIE-ECHOED, ESTABLISHED, SHUTDOWN-SENT, SHUTDOWN-RECEIVED,
SHUTDOWN-ACK-SENT), as deduced from the chunks on the wire; "streams 1/2"
is the number of outbound streams each endpoint may use, min(its OS, the
peer's MIS).  "msgs"/"bytes" count reassembled user messages and their
payload bytes; "retrans" counts retransmitted DATA chunks by each endpoint.

--json prints every detail: announced and deleted addresses, per-direction
TSN figures, streams, paths (with heartbeat RTTs), path changes, zero-window
stalls, FORWARD TSN skips and the list of state transitions with the RFC
section behind each.

Several files, or a directory of them, are one trace: merged by time as
mergecap does, so the associations of a ring-buffer set are stitched across
its files and frames are numbered as in the merged file.  --dask [ADDRESS]
runs the analysis as Dask tasks, one per shard of associations, on a
LocalCluster of this machine's cores or on the scheduler at ADDRESS
(tcp://host:8786), with the same output (docs/scale.md).

Examples:
  sctpinspect assoc trace.pcapng
  sctpinspect assoc ring_00001_20261203101500.pcapng ring_00002_20261203101600.pcapng
  sctpinspect assoc --dask ring_00001_20261203101500.pcapng ring_00002_20261203101600.pcapng
  sctpinspect assoc --json trace.pcap | jq '.[0].endpoints'
"""


def add_arguments(p) -> None:
    from ._analysis_common import common_arguments, dask_argument, workers_argument
    common_arguments(p)
    workers_argument(p)
    dask_argument(p)
    p.add_argument("--json", action="store_true", help="print the associations as a JSON array")


def run(args) -> int:
    from ..analysis.report import assoc_table
    from ._analysis_common import dump_json, run_analysis
    result, err = run_analysis(args.file, workers=args.workers, dask=args.dask)
    if result is not None:
        if args.json:
            dump_json([a.to_dict() for a in result.associations])
        elif result.associations:
            print(assoc_table(result.associations))
        else:
            print("no SCTP association in this capture")
        if result.evicted and not args.json:
            # memory caps (AnalysisOptions) dropped state: say so, never silently
            print("analysis memory caps reached, dropped: " + ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in sorted(result.evicted.items())))
    if err is not None:
        raise err
    return 0
