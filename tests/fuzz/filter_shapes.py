"""Deep and long display-filter expressions for the hypothesis target in
tests/test_filter_shapes.py (issue 18.1 'What to build'): the attack that
found RecursionError used 1,000 parentheses, 2,000 terms joined by && and
10,000 `not`; these strategies make those shapes and random mixes of them.

An expression is a tree: ("atom", i) | ("not", e) | ("and"|"or", [e, ...]) |
("paren", e) | ("nots", n, e) (n `not`s in a row).  ``render`` writes the
text, ``truth`` evaluates the tree from the atoms' own results (the oracle),
``depth`` counts every group and change of operator (an upper bound of what
the parser counts as a level).
"""
from __future__ import annotations

from hypothesis import strategies as st

# atoms that compile alone; a mix of true and false on the seed packets
ATOMS = [
    "sctp", "ip", "ipv6", "icmp", "udp",
    "sctp.port == 2905", "sctp.srcport != 2905", "ip.src == 10.0.0.1", "ip.addr == 10.0.0.0/8",
    "sctp.chunk_type == 1", "sctp.chunk_type in {0, 3, 6}", "sctp.verification_tag > 5",
    "sctp.data_tsn_raw >= 1000", "len(sctp.chunk_type) > 0", "frame.number <= 3",
    'frame contains "SCTP"', 'sctp.data_payload_proto_id == 46', "!sctp.data_sid",
]


def _atom():
    return st.integers(0, len(ATOMS) - 1).map(lambda i: ("atom", i))


def _small():
    return st.recursive(
        _atom(),
        lambda inner: st.one_of(
            inner.map(lambda e: ("not", e)),
            inner.map(lambda e: ("paren", e)),
            st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=4)),
        ),
        max_leaves=12)


@st.composite
def long_chain(draw):
    """2..3,000 terms joined by one operator (flat: the parser must not recurse)."""
    op = draw(st.sampled_from(["and", "or"]))
    n = draw(st.integers(2, 3000))
    base = draw(st.lists(_small(), min_size=1, max_size=5))
    return (op, [base[i % len(base)] for i in range(n)])


@st.composite
def deep_nest(draw):
    """Parentheses 1..300 deep, the operator alternating or not at each level."""
    depth = draw(st.integers(1, 300))
    alternate = draw(st.booleans())
    e = draw(_small())
    for level in range(depth):
        if alternate:
            op = "and" if level % 2 else "or"
            e = ("paren", (op, [draw(_atom()), e]))
        else:
            e = ("paren", e)
    return e


@st.composite
def many_nots(draw):
    return ("nots", draw(st.integers(1, 10000)), draw(_small()))


def expressions():
    return st.one_of(long_chain(), deep_nest(), many_nots(), _small(),
                     st.tuples(st.sampled_from(["and", "or"]),
                               st.lists(st.one_of(long_chain(), deep_nest(), many_nots(),
                                                  _small()), min_size=2, max_size=3)))


_SPELL = {"and": [" && ", " and "], "or": [" || ", " or "]}


def render(e, spell: int = 0) -> str:
    kind = e[0]
    if kind == "atom":
        return ATOMS[e[1]]
    if kind == "not":
        return ("!" if spell else "not ") + _wrap(e[1], spell)
    if kind == "nots":
        return ("!" * e[1] if spell else "not " * e[1]) + _wrap(e[2], spell)
    if kind == "paren":
        return "(" + render(e[1], spell) + ")"
    return _SPELL[kind][spell].join(_wrap(x, spell) for x in e[1])


def _wrap(e, spell):
    # operands that are themselves and/or chains get parentheses
    return "(" + render(e, spell) + ")" if e[0] in ("and", "or") else render(e, spell)


def truth(e, atom_values) -> bool:
    kind = e[0]
    if kind == "atom":
        return atom_values[e[1]]
    if kind == "not":
        return not truth(e[1], atom_values)
    if kind == "nots":
        return truth(e[2], atom_values) ^ (e[1] % 2 == 1)
    if kind == "paren":
        return truth(e[1], atom_values)
    vals = (truth(x, atom_values) for x in e[1])
    return all(vals) if kind == "and" else any(vals)


def depth(e) -> int:
    kind = e[0]
    if kind == "atom":
        return 0
    if kind in ("not", "paren"):
        return 1 + depth(e[1])
    if kind == "nots":
        return e[1] + depth(e[2])
    return 1 + max(depth(x) for x in e[1])
