"""Interop diagnostics: a rule catalogue run over analysed SCTP traffic.

* :data:`RULES` -- the catalogue (:mod:`.rules`): id, severity, RFC section,
  explanation, what to check next;
* :class:`Diagnoser` -- streaming engine: ``feed(pkt)`` per packet (runs the
  Analyzer too), returns findings as they become certain; ``finish()`` at end;
* :func:`diagnose_file` / :func:`diagnose_packets` -- whole capture, returns a
  :class:`DiagnosisResult` (``findings``, ``text()``, ``to_json()``,
  ``by_frame``).

See docs/diagnostics.md.
"""
from .engine import Diagnoser, Finding, assoc_label, filter_findings
from .report import DiagnosisResult, diagnose_file, diagnose_packets, format_findings
from .rules import CAUSE_RULES, ERROR, INFO, RULES, SEVERITY_RANK, WARN, Rule

__all__ = ["Diagnoser", "Finding", "DiagnosisResult", "diagnose_file", "diagnose_packets",
           "format_findings", "filter_findings", "assoc_label", "RULES", "CAUSE_RULES", "Rule",
           "INFO", "WARN", "ERROR", "SEVERITY_RANK"]
