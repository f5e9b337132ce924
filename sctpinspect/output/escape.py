"""Escape what a terminal would interpret in text output (issue 18.7f).

Packets carry attacker-chosen bytes (a DCEP label, a Diameter string) that
reach the -V tree and summary lines; raw ESC sequences would drive the user's
terminal.  Like tshark, text output shows such characters escaped: C0 controls
(tab and newline included: one tree line stays one line), DEL, C1 controls and
the Unicode bidirectional overrides become ``\\xNN`` / ``\\uNNNN``.  JSON output
is escaped by the JSON encoder; -T fields keeps tshark's raw values.
"""
from __future__ import annotations

import re

_NONPRINT = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _esc(m) -> str:
    c = ord(m.group())
    return "\\x%02x" % c if c < 0x100 else "\\u%04x" % c


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (unchanged, and fast, when clean)."""
    if _NONPRINT.search(text) is None:
        return text
    return _NONPRINT.sub(_esc, text)
