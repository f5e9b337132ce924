"""Fast paths of ``read`` give what the full decode tree gives.

* ``model.LAZY_COLLECTORS``: for every unbuilt LazyField of every frame (public
  captures, project captures, and randomly mutated/truncated SCTP frames), the
  collector's names and values must be exactly the names and values (same
  types: ``True`` is not ``1``) of the fields the builder then makes (its
  children and their subtrees, before the tail it keeps), in tree order;
* ``FieldsPrinter.collect`` (which uses the collectors) must equal a plain
  walk of the fully built tree for every registered field name;
* the summary line's common-case path must equal its general path.

The reference is the built tree, i.e. the same decoder's slow path, which the
tshark comparisons (tests/test_tshark_diff.py) hold to tshark.
"""
from __future__ import annotations

import random

import pytest

from conftest import project_captures, public_captures
from sctpinspect import registry
from sctpinspect.decode import Decoder
from sctpinspect.decode import frame as _frame  # noqa: F401  (registers the frame.* fields)
from sctpinspect.model import LAZY_COLLECTORS, LazyField, Record, _get_children
from sctpinspect.output.fields import FieldsPrinter
from sctpinspect.output.text import SummaryPrinter
from sctpinspect.sources import open_capture

ALL_NAMES = sorted(registry.FIELDS)


def _records():
    for path in public_captures() + project_captures():
        yield from open_capture(path)


def _mutated(n=3000, seed=11):
    """Frames of the project captures with random byte changes and truncations
    in the SCTP part (checksums then mostly fail: also run without verification)."""
    rnd = random.Random(seed)
    base = [r for p in project_captures() for r in open_capture(p)]
    for i in range(n):
        r = base[rnd.randrange(len(base))]
        d = bytearray(r.data)
        if len(d) < 40:
            continue
        k = rnd.random()
        if k < 0.6:
            for _ in range(rnd.randint(1, 3)):
                d[rnd.randrange(len(d) - 20, len(d))] = rnd.randrange(256)
        else:
            d = d[:rnd.randrange(len(d) // 2, len(d))]
        yield Record(i + 1, r.ts_ns, bytes(d), r.wirelen if rnd.random() < 0.5 else len(d), r.linktype,
                     r.interface, r.comment, r.direction)


def _lazy_nodes(pkt):
    """Every unbuilt LazyField reachable without building anything."""
    stack = list(pkt.layers)
    while stack:
        f = stack.pop()
        if isinstance(f, LazyField) and f._build is not None:
            yield f
            stack.extend(_get_children(f) or ())
        else:
            stack.extend(f.children or ())


def _check_collectors(pkt, want):
    checked = 0
    for node in list(_lazy_nodes(pkt)):
        b = node._build
        col = LAZY_COLLECTORS.get(b[1])
        if col is None:
            continue
        r = col(node, b, want)
        if r is None:
            continue
        names, values, tail = r
        tail = list(tail) if tail else []
        kids = node.children              # builds it
        n = len(kids) - len(tail)
        assert kids[n:] == tail, (pkt.number, node.name)
        got = [(nm, type(v), v) for nm, v in zip(names, values)]
        exp = [(f.name, type(f.value), f.value) for k in kids[:n] for f in k.walk()]
        assert len(names) == len(values), (pkt.number, node.name)
        assert got == exp, (pkt.number, node.name)
        checked += 1
    return checked


@pytest.mark.parametrize("verify", [True, False])
def test_collectors_match_built_trees(verify):
    from sctpinspect.decode import DecodeOptions
    dec = Decoder(DecodeOptions(verify_checksum=verify))
    want = set(ALL_NAMES)
    checked = 0
    for rec in list(_records()) + list(_mutated()):
        checked += _check_collectors(dec.decode(rec), want)
    assert checked > 3000      # frame, sctp header and chunk collectors were all exercised


def _walk_values(pkt, names):
    out = {}
    for f in pkt.walk():
        if f.name in names:
            out.setdefault(f.name, []).append(f.value)
    return out


def test_fields_collect_equals_full_walk():
    fp = FieldsPrinter(ALL_NAMES)
    names = set(ALL_NAMES)
    d1, d2 = Decoder(), Decoder()
    n = 0
    for rec in list(_records()) + list(_mutated(1500, 5)):
        got = fp.collect(d1.decode(rec))
        exp = _walk_values(d2.decode(rec), names)
        assert got == exp, rec.number
        assert {k: [type(v) for v in vs] for k, vs in got.items()} == \
            {k: [type(v) for v in vs] for k, vs in exp.items()}, rec.number
        n += 1
    assert n > 5000


def test_summary_fast_line_equals_general_line():
    sp = SummaryPrinter()
    dec = Decoder()
    fast = 0
    for rec in list(_records()) + list(_mutated(1500, 3)):
        pkt = dec.decode(rec)
        if sp.time.first is None:
            sp.time.first = rec.ts_ns
        if pkt.sctp is None and pkt.icmp is None:
            continue
        line = sp.line(pkt)
        assert line == sp._line(pkt), rec.number
        fast += line is not None and bool(pkt.chunks) and not pkt.notes
    assert fast > 1000
