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

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def needs_analysis(fields: Iterable[str] | None = None, display_filter: str | None = None,
                   verbose: bool = False) -> bool:
    if verbose:
        return True
    if fields and any(f in ANALYSIS_FIELDS for f in fields):
        return True
    if display_filter and any(m in ANALYSIS_FIELDS for m in _NAME.findall(display_filter)):
        return True
    return False


def analysis_hook(fields=None, display_filter=None, verbose=False,
                  options=None) -> Callable | None:
    """``Analyzer(options).feed`` if the output needs analysis fields, else None."""
    if not needs_analysis(fields, display_filter, verbose):
        return None
    from .core import Analyzer
    return Analyzer(options).feed
