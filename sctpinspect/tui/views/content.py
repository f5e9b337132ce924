"""Content builders of the analysis views (pure functions of the store/analyzer).

Kept apart from the widgets so tests can compare them with what the ``assoc``,
``streams`` and ``flow`` commands print (same library calls underneath).
"""
from __future__ import annotations

from ...analysis.report import assoc_row, ladder


def findings(a) -> list[str]:
    """Short findings about one association (shown in the Associations view)."""
    out = []
    d1, d2 = a.dirs
    if a.inferred:
        out.append("started mid-capture")
    if a.end_reason == "ABORT":
        out.append("aborted")
    if a.restarted_in is not None:
        out.append(f"restarted as #{a.restarted_in}")
    if a.collision_frame:
        out.append(f"INIT collision (frame {a.collision_frame})")
    for i, d in enumerate((d1, d2)):
        if d.retransmissions:
            out.append(f"ep{i + 1} retransmitted {d.retransmissions}")
        if d.zero_windows:
            out.append(f"ep{i + 1} zero window x{len(d.zero_windows)}")
        missing = sum(s.missing for s in d.streams.values())
        if missing:
            out.append(f"ep{i + 1} {missing} SSN/MID missing")
        if d.duplicates_count:
            out.append(f"ep{i + 1} {d.duplicates_count} duplicate TSNs reported")
    if len(a.paths) > 2:
        out.append(f"{len(a.paths)} paths")
    if a.path_changes:
        out.append(f"{len(a.path_changes)} path changes")
    return out


ASSOC_COLUMNS = [("assoc_index", "#"), ("endpoint1", "endpoint 1"), ("endpoint2", "endpoint 2"),
                 ("vtag1", "vtag 1"), ("vtag2", "vtag 2"), ("state1", "state 1"),
                 ("state2", "state 2"), ("streams", "streams 1/2"), ("msgs_1to2", "msgs 1>2"),
                 ("bytes_1to2", "bytes 1>2"), ("msgs_2to1", "msgs 2>1"),
                 ("bytes_2to1", "bytes 2>1"), ("retrans", "retrans 1/2"), ("frames", "frames"),
                 ("end", "end"), ("findings", "findings")]


def endpoint_text(ep) -> str:
    """``10.0.0.1,10.0.0.2:5000``; IPv6 addresses in brackets (``[2001:db8::1]:5000``)."""
    addrs = ",".join(f"[{x}]" if ":" in x else x for x in ep.addresses) or "?"
    return f"{addrs}:{ep.port}"


def ppids_text(ppids: dict) -> str:
    """``0 ×6, 46 ×2`` (PPID and message count; ``0x6`` read as hex)."""
    return ", ".join(f"{p} ×{n}" for p, n in ppids.items()) or "-"


def assoc_rows(analyzer) -> list[dict]:
    rows = []
    if analyzer is None:
        return rows
    for a in list(analyzer.associations):
        r = assoc_row(a)
        r["endpoint1"], r["endpoint2"] = endpoint_text(a.ep[0]), endpoint_text(a.ep[1])
        r["findings"] = "; ".join(findings(a)) or "-"
        rows.append(r)
    return rows


def stream_rows(analyzer, index: int) -> list[dict]:
    """The ``streams --assoc N`` rows (AnalysisResult.streams) of association ``index``."""
    from ...analysis.api import AnalysisResult
    if analyzer is None or index is None or index >= len(analyzer.associations):
        return []
    res = AnalysisResult.__new__(AnalysisResult)
    res.associations = analyzer.associations
    return AnalysisResult.streams(res, index)


def message_rows(analyzer, index: int, limit: int = 5000) -> list:
    if analyzer is None:
        return []
    return [m for m in analyzer.messages if m.assoc == index][:limit]


def message_payload(store, msg) -> bytes:
    """Reassemble a message's payload from its frames (DATA: TSN range; I-DATA: SID/MID)."""
    parts = {}
    for fr in sorted(set(msg.frames)):
        try:
            p = store.packet(fr - 1)
        except (OSError, ValueError):
            continue
        for c in p.chunks:
            if msg.idata:
                if c.type != 64 or c.get("sctp.data_sid") != msg.sid or \
                        c.get("sctp.data_mid") != msg.seq:
                    continue
                key = c.get("sctp.data_fsn", 0) if not (c.flags & 2) else -1
            else:
                if c.type != 0 or c.get("sctp.data_sid") != msg.sid:
                    continue
                tsn = c.get("sctp.data_tsn_raw")
                if tsn is None or ((tsn - msg.first_tsn) & 0xFFFFFFFF) > \
                        ((msg.last_tsn - msg.first_tsn) & 0xFFFFFFFF):
                    continue
                key = (tsn - msg.first_tsn) & 0xFFFFFFFF
            pl = c.find("sctpinspect.payload")
            if pl is not None and key not in parts:
                parts[key] = bytes(pl.value)
    return b"".join(parts[k] for k in sorted(parts))


def flow_lines(store, index: int, limit: int = 3000, width: int = 30):
    """(header lines, [(text, frame_index)]) of the ladder of association ``index``.

    Each packet is drawn with :func:`sctpinspect.analysis.report.ladder` (the
    ``flow`` command's renderer) so every line maps back to its frame.
    """
    an = store.analyzer
    if an is None or index is None or index >= len(an.associations):
        return [], []
    assoc = an.associations[index]
    header: list[str] = []
    rows = []
    for i in store.frames_of_assoc(index, limit):
        try:
            p = store.packet(i)
        except (OSError, ValueError):
            continue
        text = ladder(assoc, [p], width)
        lines = text.split("\n")
        if not header:
            header = lines[:2]
        for ln in lines[2:]:
            rows.append((ln, i))
    if not header:
        header = ladder(assoc, [], width).split("\n")[:2]
    return header, rows


def diagnostics_text(store, progress=None, stop=None) -> str:
    """The ``diagnose`` report of the store's file, as the command prints it.

    One streaming pass (decode, analyse, diagnose) like ``sctpinspect
    diagnose``; ``progress(frames_done)`` is called as it goes, ``stop`` (an
    Event) ends it early.  A damaged or cut capture gives the findings of the
    frames before the damage, then the one-line error (the command's stdout
    then stderr), never "diagnostics failed".
    """
    from ...analysis.api import decode_file
    from ...analysis.core import AnalysisOptions, Analyzer
    from ...diagnostics import diagnose_packets
    from ...diagnostics.engine import Diagnoser
    from ...errors import CaptureFileError
    err = []

    def packets():
        n = 0
        try:
            for pkt in decode_file(store.path):
                n += 1
                if progress is not None and n % 500 == 0:
                    progress(n)
                if stop is not None and stop.is_set():
                    return
                yield pkt
        except CaptureFileError as e:
            err.append(str(e))
        except OSError as e:
            err.append(f"{store.path}: {e.strerror or e}")
        if progress is not None:
            progress(n)

    diagnoser = Diagnoser(Analyzer(AnalysisOptions(annotate=False, keep_messages=False)),
                          annotate=False)
    result = diagnose_packets(packets(), None, "info", diagnoser)
    if err and not result.frames:
        return err[0]                   # not a capture: the error alone, as the command
    text = result.text()
    if err:
        text += "\n\n" + err[0]
    return text
