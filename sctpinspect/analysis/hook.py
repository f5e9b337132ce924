"""How ``read`` (and any pipeline user) decides to run the analyzer.

Usage in a read pipeline::

    from sctpinspect.analysis.hook import analysis_hook
    pipe = Pipeline(records, options, predicate=predicate,
                    analyse=analysis_hook(fields=args.fields, display_filter=args.display_filter,
                                          verbose=args.verbose or args.format == "json"))

``analysis_hook`` returns ``Analyzer().feed`` when the output needs analysis
fields (``-e sctp.assoc_index``, ``-Y 'sctp.retransmission'``, ``-V``/JSON
trees), else None so plain reads stay fast.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

# Fields only the analysis stage produces.
ANALYSIS_FIELDS = frozenset({
    "sctp.assoc_index", "sctp.retransmission", "sctp.retransmission_time", "sctp.retransmitted",
    "sctp.retransmitted_count", "sctp.retransmitted_after_ack", "sctp.acked", "sctp.data_rtt",
    "sctp.ack", "sctp.ack_frame", "sctp.sack_rtt", "sctp.fragment", "sctp.fragments",
    "sctp.reassembled_in", "sctp.duplicate", "sctp.retransmission.expert",
    "sctp.retransmitted_after_ack.expert", "sctp.retransmission.more_than_twice",
})

# Fields only the diagnostics produce (the rule ids a frame proves).
DIAGNOSTIC_FIELDS = frozenset({"sctpinspect.rule"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def filter_names(display_filter: str | None) -> list[str]:
    """The dotted names a display filter's text mentions (fields, protocols)."""
    return _NAME.findall(display_filter) if display_filter else []


def _mentions(names: frozenset, fields, display_filter) -> bool:
    if fields and any(f in names for f in fields):
        return True
    return any(m in names for m in filter_names(display_filter))


def needs_analysis(fields: Iterable[str] | None = None, display_filter: str | None = None,
                   verbose: bool = False) -> bool:
    if verbose:
        return True
    return _mentions(ANALYSIS_FIELDS | DIAGNOSTIC_FIELDS, fields, display_filter)


def analysis_hook(fields=None, display_filter=None, verbose=False,
                  options=None) -> Callable | None:
    """``Analyzer(options).feed`` if the output needs analysis fields, else None;
    ``Diagnoser().feed`` (which runs the analysis too) when it asks for
    ``sctpinspect.rule``."""
    if not needs_analysis(fields, display_filter, verbose):
        return None
    from .core import AnalysisOptions, Analyzer
    if options is None:     # the fields need no Message records: keep none (memory flat)
        options = AnalysisOptions(keep_messages=False)
    if _mentions(DIAGNOSTIC_FIELDS, fields, display_filter):
        from ..diagnostics.engine import Diagnoser
        return Diagnoser(Analyzer(options)).feed
    return Analyzer(options).feed
