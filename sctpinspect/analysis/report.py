"""Text renderings of analysis results: association table, stream table, ladder diagram.

Pure functions of an :class:`~sctpinspect.analysis.api.AnalysisResult` (and, for
the ladder, the association's Packets), shared by the CLI commands and the TUI.
"""
from __future__ import annotations

from .core import DATA, I_DATA, Association
from .states import chunk_name


def _tag(v) -> str:
    return "?" if v is None else "0x%08x" % v


def _endpoint(ep) -> str:
    addrs = ",".join(ep.addresses) if ep.addresses else "?"
    return f"{addrs}:{ep.port}"


def _num(v) -> str:
    return "?" if v is None else str(v)


def assoc_row(a: Association) -> dict:
    """The figures of one ``assoc`` row (also the JSON row, plus full details)."""
    d1, d2 = a.dirs
    return {
        "assoc_index": a.index,
        "endpoint1": _endpoint(a.ep[0]), "endpoint2": _endpoint(a.ep[1]),
        "vtag1": _tag(a.ep[0].vtag), "vtag2": _tag(a.ep[1].vtag),
        "state1": a.ep[0].state, "state2": a.ep[1].state,
        "streams": f"{_num(a.streams_negotiated(0))}/{_num(a.streams_negotiated(1))}",
        "msgs_1to2": d1.messages, "bytes_1to2": d1.message_bytes,
        "msgs_2to1": d2.messages, "bytes_2to1": d2.message_bytes,
        "retrans": f"{d1.retransmissions}/{d2.retransmissions}",
        "frames": f"{a.first_frame}-{a.last_frame}",
        "duration": "%.6f" % (a.last_ts - a.first_ts),
        "end": (a.end_reason or "open") + (" (mid-capture)" if a.inferred else ""),
    }


_ASSOC_COLS = [("assoc_index", "#"), ("endpoint1", "endpoint 1"), ("endpoint2", "endpoint 2"),
               ("vtag1", "vtag 1"), ("vtag2", "vtag 2"), ("state1", "state 1"),
               ("state2", "state 2"), ("streams", "streams 1/2"), ("msgs_1to2", "msgs 1>2"),
               ("bytes_1to2", "bytes 1>2"), ("msgs_2to1", "msgs 2>1"), ("bytes_2to1", "bytes 2>1"),
               ("retrans", "retrans 1/2"), ("frames", "frames"), ("duration", "duration"),
               ("end", "end")]


def table(rows: list[dict], cols: list[tuple]) -> str:
    """Left-aligned text table with a header line."""
    cells = [[h for _, h in cols]] + [[str(r[k]) for k, _ in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(cols))).rstrip()
                     for c in cells)


def assoc_table(associations) -> str:
    return table([assoc_row(a) for a in associations], _ASSOC_COLS)


_STREAM_COLS = [("assoc_index", "assoc"), ("sender", "from ep"), ("streams_out", "streams out"),
                ("sid", "sid"), ("messages", "msgs"), ("bytes", "bytes"), ("ordered", "ordered"),
                ("unordered", "unordered"), ("ppids", "ppids"), ("seq", "next SSN/MID"),
                ("missing", "missing"), ("reordered", "late"), ("frames", "frames")]


def streams_table(rows: list[dict]) -> str:
    out = []
    for r in rows:
        r = dict(r)
        r["ppids"] = ",".join(f"{p}x{n}" for p, n in r["ppids"].items()) or "-"
        r["seq"] = _num(r["next_seq"])
        r["streams_out"] = _num(r["streams_out"])
        r["frames"] = f"{r['first_frame']}-{r['last_frame']}"
        out.append(r)
    return table(out, _STREAM_COLS)


# ---------------------------------------------------------------------------- ladder

def chunk_label(c, retx: int | None = None) -> str:
    """Short text for one chunk on a ladder arrow (``retx``: the frame of the
    first transmission when the chunk retransmits it)."""
    name = chunk_name(c.type)
    g = c.get
    if c.type in (DATA, I_DATA):
        tsn = g("sctp.data_tsn_raw", g("sctp.data_tsn"))
        seq = (f"MID={g('sctp.data_mid')}" if c.type == I_DATA else f"SSN={g('sctp.data_ssn')}")
        be = "".join(x for x, bit in (("U", 4), ("B", 2), ("E", 1)) if c.flags & bit)
        s = f"{name} TSN={tsn} SID={g('sctp.data_sid')} {seq} {be} len={max(0, c.clen - 16)}"
        if retx is None:
            retx = c.get("sctp.retransmission")
        if retx is not None:
            s += f" (retx of #{retx})"
        return s
    if c.type in (3, 16):
        cum = g("sctp.sack_cumulative_tsn_ack_raw", g("sctp.sack_cumulative_tsn_ack",
                g("sctp.nr_sack_cumulative_tsn_ack")))
        rwnd = g("sctp.sack_a_rwnd", g("sctp.nr_sack_a_rwnd"))
        gaps = g("sctp.sack_number_of_gap_blocks", 0) or 0
        s = f"{name} cum={cum} a_rwnd={rwnd}"
        return s + (f" gaps={gaps}" if gaps else "")
    if c.type == 1:
        return (f"{name} itag={_tag(g('sctp.init_initiate_tag'))} "
                f"OS={g('sctp.init_nr_out_streams')} MIS={g('sctp.init_nr_in_streams')}")
    if c.type == 2:
        return (f"{name} itag={_tag(g('sctp.initack_initiate_tag'))} "
                f"OS={g('sctp.initack_nr_out_streams')} MIS={g('sctp.initack_nr_in_streams')}")
    if c.type in (6, 14):
        return name + (" (T)" if c.flags & 1 else "")
    if c.type == 192:
        return f"{name} new cum={g('sctp.forward_tsn_tsn')}"
    return name


def ladder(assoc: Association, packets, width: int = 26) -> str:
    """Flow diagram: one column per address of each endpoint, one arrow per chunk.

    ``packets`` are the association's Packets in capture order (already analysed).
    """
    return "\n".join(ladder_lines(assoc, packets, width))


def ladder_lines(assoc: Association, packets, width: int = 26):
    """:func:`ladder` line by line, reading ``packets`` (any iterable) as it goes."""
    cols = []      # (endpoint index, address)
    for i, ep in enumerate(assoc.ep):
        for addr in ep.addresses:
            cols.append((i, addr))
    if not cols:
        return
    colw = max(width, max(len(a) for _, a in cols) + 2)
    left = 20
    pos = {c: left + 4 + k * colw for k, c in enumerate(cols)}
    total = left + 5 + colw * (len(cols) - 1)
    head1 = [" "] * (total + 40)
    head2 = [" "] * (total + 40)
    _put(head1, 0, " frame        time")
    for (i, addr), x in pos.items():
        _put(head1, max(left, x - len(addr) // 2), addr)
        tag = f"ep{i + 1}:{assoc.ep[i].port}"
        _put(head2, max(left, x - len(tag) // 2), tag)
    yield "".join(head1).rstrip()
    yield "".join(head2).rstrip()
    t0 = assoc.first_ts
    for pkt in packets:
        info = pkt.analysis or {}
        s = 1 if info.get("sender") == 2 else 0
        xs = pos.get((s, pkt.src))
        xd = pos.get((1 - s, pkt.dst))
        if xs is None or xd is None:
            continue
        trans = info.get("transitions", [])
        retx = {k: first for k, _tsn, first, _d in info.get("retransmitted", ()) if first}
        for k, c in enumerate(pkt.chunks):
            row = [" "] * total
            for x in pos.values():
                row[x] = "|"
            prefix = f"{pkt.number:>6} {pkt.ts - t0:11.6f}" if k == 0 else ""
            _put(row, 0, prefix)
            lo, hi = min(xs, xd), max(xs, xd)
            for x in range(lo + 1, hi):
                row[x] = "-"
            if xd > xs:
                row[xd - 1] = ">"
            else:
                row[xd + 1] = "<"
            label = chunk_label(c, retx.get(k))
            room = hi - lo - 7          # keep "|<-" and "->|" visible, a space each side
            if len(label) > room:
                label = label[:max(0, room - 1)] + "…" if room > 1 else ""
            if label:
                _put(row, lo + 3 + (room - len(label)) // 2, f" {label} ")
            text = "".join(row).rstrip()
            if k == len(pkt.chunks) - 1:
                notes = [f"ep{t['endpoint']} {t['from']}->{t['to']} ({t['rfc']})"
                         for t in trans if not t.get("unexpected")]
                if info.get("path_change"):
                    notes.append("path change")
                if notes:
                    text += "   " + "; ".join(notes)
            yield text


def _put(row: list, x: int, text: str) -> None:
    for i, ch in enumerate(text):
        if 0 <= x + i < len(row):
            row[x + i] = ch
