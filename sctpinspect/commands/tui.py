"""``sctpinspect tui FILE`` / ``sctpinspect FILE`` / ``sctpinspect -i IFACE``: the terminal UI."""
from __future__ import annotations

HELP = "interactive terminal UI (also `sctpinspect FILE` and `sctpinspect -i IFACE`)"

DESCRIPTION = """\
Open a capture file, or capture live, in a Wireshark-like terminal UI:

  1 Packets       packet list (coloured by chunk kind), detail tree, hex pane
  2 Associations  one row per association; Enter filters the list to it
  3 Streams       per-stream figures and reassembled messages (payload, hex,
                  payload-dissector tree)
  4 Flow          ladder diagram; Enter on an arrow selects its packet
  5 TSN graph     TSN and SACK cumulative TSN ack over time, per direction
  6 Diagnostics   findings of `sctpinspect diagnose` when available
  7 Send          kernel SCTP client/server: connect or listen, send on a
                  stream with a PPID, shut down, abort; events log (F5-F9)

Keys: / display filter (Wireshark syntax, checked as you type), Ctrl+L clear
it, Ctrl+S save the capture or the filtered packets as pcapng, n field names,
? help, Ctrl+P command palette, q quit.  Big files open at once: packets are
indexed and analysed in the background and decoded only when shown.

Live mode (-i IFACE, needs CAP_NET_RAW): every packet is written to a pcapng
file (-w, default /tmp/sctpinspect-IFACE-TIME.pcapng) which is flushed and
closed on quit; the list follows new packets until you scroll up (End
resumes), p pauses the view, the status line shows kernel drops.

Examples:
  sctpinspect trace.pcapng
  sctpinspect trace.pcap -Y 'sctp.chunk_type == 6'
  sudo sctpinspect -i eth0 -f 'sctp port 38412' -w ngap.pcapng
"""


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", nargs="?", help="pcap or pcapng file to open")
    p.add_argument("-i", "--interface", metavar="IFACE", help="capture live on IFACE (or any)")
    p.add_argument("-f", dest="capture_filter", metavar="FILTER",
                   help="capture filter (pcap-filter syntax) for -i, ANDed with SCTP")
    p.add_argument("-w", dest="write", metavar="FILE",
                   help="with -i: pcapng file the live capture is written to")
    p.add_argument("-Y", "--display-filter", metavar="FILTER",
                   help="display filter to apply on opening (Wireshark syntax)")
    p.add_argument("--no-analysis", action="store_true",
                   help="do not analyse associations in the background (packet list only)")


def run(args) -> int:
    from ..errors import UserError
    if args.display_filter:
        from ..filter import FilterError, check_filter
        try:
            check_filter(args.display_filter)
        except FilterError as e:
            raise UserError(f"display filter {args.display_filter!r}: {e}") from None
    if args.interface and args.file:
        raise UserError("give either a FILE or -i IFACE, not both")
    if not args.interface and not args.file:
        raise UserError("give a capture FILE to open, or -i IFACE to capture live")
    from ..tui.app import SctpInspectApp
    if args.interface:
        from ..capture import LiveCapture
        src = LiveCapture(args.interface, args.capture_filter)   # UserError when not allowed
        src.start()
        app = SctpInspectApp(live_source=src, live_path=args.write,
                             initial_filter=args.display_filter)
    else:
        from ..pipeline import check_readable
        from ..sources import open_capture
        check_readable(args.file)
        it = open_capture(args.file)            # a non-capture fails here, with one sentence
        close = getattr(it, "close", None)
        if close:
            close()
        app = SctpInspectApp(args.file, initial_filter=args.display_filter,
                             analyse=not args.no_analysis)
    try:
        app.run()
    finally:
        app.shutdown()
    if app.live is not None:
        import sys
        print(f"sctpinspect: live capture saved to {app.live.out_path}", file=sys.stderr)
    return 0
