"""Findings during a live capture (``sctpinspect capture --diagnose``).

``LiveDiagnose.lines(pkt)`` feeds one decoded packet (the Analyzer runs
inside) and returns one ``[diagnose]`` line per finding that became certain
with it; ``report()`` runs the end-of-capture checks and returns the full
report grouped by association (what ``sctpinspect diagnose`` prints).
"""
from __future__ import annotations

from .engine import Diagnoser, Finding
from .report import format_findings


def finding_line(f: Finding, frame: int) -> str:
    where = f" assoc {f.association}" if f.association is not None else ""
    return f"[diagnose] frame {frame}{where}: {f.severity} {f.rule} [{f.rfc}] {f.message}"


class LiveDiagnose:
    def __init__(self):
        self.diagnoser = Diagnoser()
        self.frames = 0

    def lines(self, pkt) -> list[str]:
        self.frames += 1
        return [finding_line(f, pkt.number) for f in self.diagnoser.feed(pkt)]

    def report(self) -> str:
        self.diagnoser.finish()
        return format_findings(self.diagnoser.findings, self.diagnoser.analyzer.associations,
                               self.frames)
