"""``diagnose --timeline``: when things happened, per association.

Made at the end from what is already kept: the analysis' state transitions and
path changes (``Association.transitions`` / ``path_changes``, bounded by
``max_events``), the field rules' window and retransmission events (at most 64
per association, :class:`~sctpinspect.diagnostics.field._Flow`), and the first
frame of every finding.  Times are relative to the association's first packet.
"""
from __future__ import annotations


def events(assoc, flow, findings) -> tuple:
    """``([(time, frame or None, text)], dropped)`` of one association, in time order."""
    out = []
    for t in assoc.transitions:
        if t.get("unexpected"):
            continue
        out.append((t.get("time"), t["frame"],
                    f"endpoint {t['endpoint']} {t['from']} -> {t['to']} ({t['event']})"))
    for frame, ts, sender, a, b in assoc.path_changes:
        out.append((ts, frame, f"endpoint {sender} moves DATA from path {a[0]} -> {a[1]} to "
                               f"{b[0]} -> {b[1]}"))
    dropped = assoc.events_dropped
    if flow is not None:
        out.extend(flow.events)
        dropped += flow.events_dropped
    end = assoc.last_ts
    for f in findings:
        if f.frames:
            # when the finding became certain (end-of-capture ones: the association's end)
            ts = f.first_ts if f.first_ts is not None else end
            out.append((ts, max(f.frames) if f.first_ts is None else None,
                        f"{f.severity} {f.rule} certain (its frames from {min(f.frames)})"))
    out.sort(key=lambda e: (e[0] if e[0] is not None else float("inf"),
                            e[1] if e[1] is not None else 1 << 62))
    return out, dropped


def timeline_lines(assoc, flow, findings) -> list:
    evs, dropped = events(assoc, flow, findings)
    t0 = assoc.first_ts
    lines = ["  timeline:"]
    for ts, frame, text in evs:
        when = f"+{ts - t0:.6f} s" if ts is not None else "        ?   "
        where = f"frame {frame:<7d}" if frame is not None else " " * 13
        lines.append(f"    {when:>14s}  {where} {text}")
    if dropped:
        lines.append(f"    ... {dropped} more events not kept (caps per association)")
    return lines
