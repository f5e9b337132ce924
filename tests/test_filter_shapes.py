"""Hypothesis target for the display-filter language with deep and long
expressions (issue 18, 'What to build'; the shapes in tests/fuzz/filter_shapes.py):
no filter text raises anything but FilterError, a FilterError for nesting
names the limit and comes only for text nested more than MAX_NESTING deep, and
a filter that compiles gives, on every seed packet, the value the expression
tree gives from its atoms' own results (the oracle: each atom compiled alone)."""
from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import filter_shapes as F  # noqa: E402
from targets import _filter_packets  # noqa: E402

from sctpinspect.filter import FilterError, compile_filter  # noqa: E402
from sctpinspect.filter.parser import MAX_NESTING  # noqa: E402

ATOM_PREDS = [compile_filter(a) for a in F.ATOMS]


def _render(e, spell):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))     # the test's own recursive writer, not the parser
    try:
        return F.render(e, spell), F.depth(e)
    finally:
        sys.setrecursionlimit(old)


def test_atoms_take_both_values():
    """The oracle means something only if the atoms differ across packets."""
    pkts = _filter_packets()
    vals = {tuple(p(pkt) for p in ATOM_PREDS) for pkt in pkts}
    assert len(vals) > 1
    assert any(any(v) for v in vals) and any(not all(v) for v in vals)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(F.expressions(), st.integers(0, 1))
def test_deep_and_long_filters(e, spell):
    text, depth = _render(e, spell)
    try:
        pred = compile_filter(text)
    except FilterError as err:
        msg = str(err)
        assert f"nests more than {MAX_NESTING} levels" in msg, msg[:300]
        assert depth > MAX_NESTING, (depth, text[:200])
        return
    for pkt in _filter_packets():
        atoms = [p(pkt) for p in ATOM_PREDS]
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20000))
        try:
            want = F.truth(e, atoms)
        finally:
            sys.setrecursionlimit(old)
        assert pred(pkt) is want or pred(pkt) == want, text[:300]
