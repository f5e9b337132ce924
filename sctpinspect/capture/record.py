"""Minimal recorder: ``python -m sctpinspect.capture.record IFACE FILE [FILTER]``.

Captures SCTP on IFACE into a pcapng FILE until SIGINT/SIGTERM, like
``capture -q -w`` but importing only the capture engine and the pcapng
writer (no decoder, printers or other commands): it starts in a fraction of
the time, which matters in the slow lab VM and when benchmarking the engine.
Prints "Capturing on IFACE" on stderr once packets are being received and
"N packets captured, M dropped by kernel" at the end.
"""
from __future__ import annotations

import signal
import sys

from ..errors import UserError
from .engine import LiveCapture
from .writer import CaptureWriter


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    try:
        cap = LiveCapture(argv[0], argv[2] if len(argv) == 3 else None)
        w = CaptureWriter(argv[1], cap.linktype, argv[0], cap.snaplen,
                          stats=lambda: (cap.update_stats().kernel_received,
                                         cap.stats.kernel_dropped))
    except UserError as e:
        print(f"sctpinspect: {e}", file=sys.stderr)
        return e.exit_code
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: cap.stop())
    print(f"Capturing on {argv[0]}", file=sys.stderr, flush=True)
    cap.start()
    n = 0
    try:
        while True:
            batch = cap.get_batch(timeout=0.2)
            if batch is None:
                break
            for rec in batch:
                w.write(rec)
            n += len(batch)
            if batch:
                w.flush()
    except UserError as e:
        print(f"sctpinspect: {e}", file=sys.stderr)
        return e.exit_code
    finally:
        cap.stop()
        cap.join(5)
        w.close()
        cap.update_stats()
        print(f"{n} packets captured, {cap.stats.kernel_dropped} dropped by kernel",
              file=sys.stderr)
        cap.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
