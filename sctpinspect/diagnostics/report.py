"""Whole-capture diagnosis and its text / JSON presentation."""
from __future__ import annotations

from typing import Callable, Iterable

from ..model import Packet
from .chain import chains, verdict
from .engine import Diagnoser, Finding, filter_findings
from .rules import INFO, RULES, SEVERITY_RANK

_ORDER = {"error": 0, "warn": 1, "info": 2}


class DiagnosisResult:
    """Findings of one capture.  ``frames``/``sctp_packets`` are counts;
    ``matched`` the frames the display filter kept (None: no filter)."""

    def __init__(self, diagnoser: Diagnoser, frames: int, matched: set | None = None,
                 min_severity: str = INFO):
        self.diagnoser = diagnoser
        self.associations = diagnoser.analyzer.associations
        self.frames = frames
        self.matched = matched
        self.min_severity = min_severity
        found = filter_findings(diagnoser.findings, min_severity)
        if matched is not None:
            found = [f for f in found if any(fr in matched for fr in f.frames)]
        self.findings: list[Finding] = found
        self.by_frame = {}
        for f in found:
            for fr in f.frames:
                lst = self.by_frame.setdefault(fr, [])
                if f.rule not in lst:
                    lst.append(f.rule)

    @property
    def worst(self) -> str | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__)

    def exit_status(self) -> int:
        """0: nothing above info; 3: warnings (no errors); 4: at least one error."""
        w = self.worst
        return {None: 0, "info": 0, "warn": 3, "error": 4}[w]

    def to_json(self) -> list:
        """The findings root cause first (per association, as ``text()`` orders them); each
        has an ``id`` (its position in this list), ``caused_by`` (the id of the finding
        that explains it, or null), ``depth`` and ``verdict``: the association's verdict line on
        its first finding when it has anything above info, null elsewhere."""
        out = []
        ids = {}
        for k, ordered, verdict in _association_chains(self.findings):
            first = True
            for f, depth, cause in ordered:
                d = f.to_dict()
                ids[id(f)] = d["id"] = len(out)
                d["caused_by"] = ids.get(id(cause)) if cause is not None else None
                d["depth"] = depth
                d["verdict"] = verdict if first and verdict else None
                first = False
                out.append(d)
        return out

    def verdicts(self) -> dict:
        """association index -> verdict line (associations with something above info)."""
        return {k: v for k, _, v in _association_chains(self.findings) if k is not None and v}

    def text(self, timeline: bool = False) -> str:
        """The report; with ``timeline``, each association's timeline after its findings."""
        tl = None
        if timeline:
            from .timeline import timeline_lines
            flows = self.diagnoser.field.flows

            def tl(k, fs):
                return timeline_lines(self.associations[k], flows.get(k), fs)
        return format_findings(self.findings, self.associations, self.frames, tl)

    def rules(self) -> set:
        return {f.rule for f in self.findings}


def _frames_text(frames: list, count: int) -> str:
    s = ", ".join(str(x) for x in frames[:12])
    if len(frames) > 12:
        s += f", ... ({len(frames)} listed)"
    return s


def _association_chains(findings: list) -> list:
    """``[(association or None, [(finding, depth, cause)], verdict)]``: associations in
    index order, capture-wide findings last; within each, root cause first."""
    groups: dict = {}
    for f in findings:
        groups.setdefault(f.association, []).append(f)
    keys = sorted((k for k in groups if k is not None)) + ([None] if None in groups else [])
    out = []
    for k in keys:
        fs = sorted(groups[k], key=lambda f: (_ORDER[f.severity], f.frames[0] if f.frames else 0))
        if k is None:
            out.append((None, [(f, 0, None) for f in fs], None))
            continue
        ordered = chains(fs)
        out.append((k, ordered, verdict(ordered)))
    return out


def format_findings(findings: list, associations=(), frames: int | None = None,
                    timeline=None) -> str:
    """Findings grouped by association (capture-wide ones last); in each, a verdict line
    (the root cause of the worst chain), then the chains root cause first, each effect
    indented under the finding that explains it."""
    out = []
    for k, ordered, why in _association_chains(findings):
        if k is not None:
            a = associations[k] if k < len(associations) else None
            head = f"association {k}: {ordered[0][0].assoc_label}"
            if a is not None:
                head += (f"  (frames {a.first_frame}-{a.last_frame}, {a.packets} packets, "
                         f"states {a.state[0]}/{a.state[1]})")
        else:
            head = "not in any association"
        out.append(head)
        if why:
            out.append(f"  verdict: {why}")
        for f, depth, cause in ordered:
            pad = "    " * depth
            n = f" x{f.count}" if f.count > 1 else ""
            arrow = "-> " if depth else ""
            out.append(f"  {pad}{arrow}{f.severity.upper():5s} {f.rule}{n}  [{f.rfc}]")
            ind = "        " + pad + ("   " if depth else "")
            if cause is not None:
                out.append(f"{ind}caused by: {cause.rule}")
            if k is None and f.assoc_label:
                out.append(f"{ind}{f.assoc_label}")
            out.append(f"{ind}{f.message}")
            if f.frames:
                out.append(f"{ind}frames: {_frames_text(f.frames, f.count)}")
            out.append(f"{ind}next: {f.hint}")
        if timeline is not None and k is not None and k < len(associations):
            out.extend(timeline(k, [f for f, _, _ in ordered]))
        out.append("")
    if not findings:
        out.append("no findings" + (f" ({frames} frames checked)" if frames is not None else ""))
    else:
        c = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warn", "info")}
        out.append(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: "
                   f"{c['error']} error, {c['warn']} warn, {c['info']} info")
    return "\n".join(out)


def diagnose_packets(packets: Iterable[Packet], predicate: Callable | None = None,
                     min_severity: str = INFO, diagnoser: Diagnoser | None = None,
                     on_finding: Callable | None = None) -> DiagnosisResult:
    """Run the diagnoser over decoded packets.  ``predicate`` (a display filter)
    keeps the findings that have at least one frame it matches; it sees each
    packet after the diagnoser, so it can test ``sctpinspect.rule``."""
    d = diagnoser or Diagnoser()
    matched = set() if predicate is not None else None
    n = 0
    feed = d.feed
    for pkt in packets:
        n += 1
        new = feed(pkt)
        if on_finding is not None:
            for f in new:
                on_finding(f)
        if matched is not None and predicate(pkt):
            matched.add(pkt.number)
    for f in d.finish():
        if on_finding is not None:
            on_finding(f)
    return DiagnosisResult(d, n, matched, min_severity)


def diagnose_file(path: str, display_filter: str | None = None, min_severity: str = INFO,
                  decode_options=None) -> DiagnosisResult:
    """Decode, analyse and diagnose a capture file in one streaming pass."""
    from ..analysis.api import decode_file
    from ..pipeline import compile_display_filter
    predicate = compile_display_filter(display_filter)
    return diagnose_packets(decode_file(path, decode_options), predicate, min_severity)


__all__ = ["DiagnosisResult", "diagnose_file", "diagnose_packets", "format_findings", "RULES"]
