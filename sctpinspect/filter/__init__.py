"""Display filters in Wireshark 4.0 syntax.

    >>> pred = compile_filter("sctp.chunk_type == INIT && ip.addr == 10.0.0.0/8")
    >>> [p for p in packets if pred(p)]

``compile_filter(text)`` parses and type-checks once and returns a fast
``predicate(Packet) -> bool``; errors are :class:`FilterError` (a
``UserError``) whose text shows the filter with a caret under the problem.
``check_filter(text)`` returns that error or None (live validation in the TUI).
See docs/filters.md for the language.
"""
from .compiler import check_filter, compile_filter
from .errors import FilterError

__all__ = ["compile_filter", "check_filter", "FilterError"]
