"""``read -T fields``: print chosen fields the way ``tshark -T fields`` does.

tshark 4.0 behaviour reproduced here (checked with tshark 4.0.17, see
tests/test_tshark_diff.py):

* one line per frame, SCTP or not, so frame numbers line up;
* ``-E occurrence=a`` (default) joins every occurrence with the aggregator
  (``,`` by default); ``f``/``l`` keep the first/last one.  A number ``N`` keeps
  the N-th occurrence (1-based; negative counts from the end) -- an
  sctpinspect extension, tshark 4.0 rejects it;
* a frame without the field prints an empty column, never quoted;
* ``-E quote=d|s`` wraps each *non-empty* column (all its occurrences
  together) in double/single quotes;
* ``-E header=y`` prints the field names, unquoted, joined by the separator;
* values are formatted by :func:`sctpinspect.registry.format_tshark`
  (booleans ``1``/``0``, hex with Wireshark's width, bytes as plain hex).

Hot path: a frame's trees are walked once, and only names that were asked for
are kept; per-field formatters are chosen once, up front.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from .. import registry
from ..decode.values import CompactValues
from ..model import LAZY_COLLECTORS, LazyField
from ..errors import UserError

# Fields tshark derives from the frame itself.  If the decoder's ``frame``
# layer does not carry one of them, it is computed from the Record.
_FRAME_FALLBACK = {
    "frame.number": lambda rec, ctx: rec.number,
    "frame.len": lambda rec, ctx: rec.wirelen,
    "frame.cap_len": lambda rec, ctx: len(rec.data),
    "frame.time_epoch": lambda rec, ctx: "%d.%09d" % divmod(rec.ts_ns, 1_000_000_000),
    "frame.time_relative": lambda rec, ctx: _rel(rec.ts_ns - ctx.first_ts_ns),
}


def _rel(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    s, frac = divmod(abs(ns), 1_000_000_000)
    return "%s%d.%09d" % (sign, s, frac)


_MAX_PLANS = 4096     # cached plans per names tuple; names built per chunk would grow it

class _Ctx:
    __slots__ = ("first_ts_ns",)

    def __init__(self):
        self.first_ts_ns = None


# tshark 4.0 (print.c, output_fields_set_option): one character, the first of
# the value; "/" followed by t (separator only) or s is a tab or a space, "/"
# followed by anything else a backslash.  "-E separator=ab" is "a", "/tab" a tab,
# "-E aggregator=/t" a backslash (tests/test_hardening.py compares with tshark).
_SLASH = {"separator": {"t": "\t", "s": " "}, "aggregator": {"s": " "}}


def _parse_char(opt: str, value: str, allow_comma_word: bool = False) -> str:
    if value == "":
        raise UserError(f"-E {opt}= needs a value (/t, /s or a character)")
    if value[0] == "/":
        return _SLASH[opt].get(value[1:2], "\\")
    return value[0]


class FieldOptions:
    """The ``-E`` options of tshark's fields output."""

    __slots__ = ("header", "separator", "occurrence", "aggregator", "quote", "bom")

    def __init__(self):
        self.header = False
        self.separator = "\t"
        self.occurrence = "a"      # "a", "f", "l" or an int (1-based, <0 from the end)
        self.aggregator = ","
        self.quote = ""            # "", '"' or "'"
        self.bom = False

    @classmethod
    def parse(cls, items: list[str] | None) -> "FieldOptions":
        """Parse ``-E key=value`` strings; raises UserError with tshark's vocabulary."""
        o = cls()
        for item in items or ():
            key, eq, val = item.partition("=")
            if not eq:
                raise UserError(f"-E {item}: expected key=value, e.g. -E header=y")
            key = key.strip().lower()
            if key == "header":
                o.header = _yes_no(key, val)
            elif key == "bom":
                o.bom = _yes_no(key, val)
            elif key == "separator":
                o.separator = _parse_char(key, val)
            elif key == "aggregator":
                o.aggregator = _parse_char(key, val)
            elif key == "occurrence":
                if val in ("a", "f", "l"):
                    o.occurrence = val
                else:
                    try:
                        n = int(val)
                    except ValueError:
                        n = 0
                    if n == 0:
                        raise UserError(f"-E occurrence={val}: use f (first), l (last), a (all) "
                                        "or a non-zero occurrence number")
                    o.occurrence = n
            elif key == "quote":
                if val not in ("d", "s", "n"):
                    raise UserError(f"-E quote={val}: use d (double quotes), s (single) or n (none)")
                o.quote = {"d": '"', "s": "'", "n": ""}[val]
            else:
                raise UserError(f"-E {key}: unknown option (known: header, separator, occurrence, "
                                "aggregator, quote, bom)")
        return o


def _yes_no(key: str, val: str) -> bool:
    v = val.lower()
    if v in ("y", "yes", "1", "true"):
        return True
    if v in ("n", "no", "0", "false"):
        return False
    raise UserError(f"-E {key}={val}: use y or n")


def formatter_for(name: str) -> Callable:
    """A one-argument function formatting a value of ``name`` like tshark.

    Common integer fields get a direct ``str``/``%`` formatter (the hot path);
    everything else goes through :func:`registry.format_tshark`.  The test
    suite checks both give the same text for every registered field.
    """
    s = registry.spec(name)
    if s is not None:
        width = registry._HEX_WIDTH.get(s.ftype)
        if width is not None:
            if s.base in (registry.BASE_HEX, registry.BASE_HEX_DEC):
                return ("0x%%0%dx" % width).__mod__
            if s.base != registry.BASE_OCT:     # BASE_DEC, BASE_DEC_HEX, BASE_PT_SCTP...
                return _int_str
        elif s.ftype == registry.FT_FRAMENUM:
            return _int_str
        elif s.ftype == registry.FT_BOOLEAN:
            return _bool_str
    return partial(registry.format_tshark, name)


def _int_str(v) -> str:
    # ints are the common case; anything else (None, odd types) goes the slow way
    return str(v) if v.__class__ is int else ("" if v is None else str(v))


def _bool_str(v) -> str:
    return "1" if v else "0"


def known_field(name: str) -> bool:
    return name in registry.FIELDS or name in _FRAME_FALLBACK


# Top-level layers whose subtree holds only fields of the listed protocols
# (the ``ipv6`` layer also carries Wireshark's ``ip.version``): when no requested
# field belongs to them they are not walked at all.  tests/test_read_cli.py checks
# this table on every public capture.
PRUNABLE_LAYERS = {
    "frame": ("frame",), "eth": ("eth",), "sll": ("sll",), "sll2": ("sll2",),
    "null": ("null",), "vlan": ("vlan",), "ip": ("ip",), "ipv6": ("ipv6", "ip"),
    "udp": ("udp",),
}


class FieldsPrinter:
    """Formats one line per frame for the requested fields."""

    def __init__(self, names: list[str], options: FieldOptions | None = None):
        if not names:
            raise UserError("-T fields needs at least one -e FIELD (e.g. -e frame.number -e sctp.data_tsn)")
        self.names = list(names)
        self.opt = options or FieldOptions()
        registry.load_core_fields()      # the formatters below depend on the specs
        # name -> column indexes.  A field asked for twice fills only its last
        # column, the earlier ones stay empty: what tshark 4.0 prints.
        self.index: dict[str, tuple] = {}
        for i, n in enumerate(self.names):
            self.index[n] = (i,)
        self.fmt = [formatter_for(n) for n in self.names]
        self.fallback = [(i, n, _FRAME_FALLBACK[n]) for i, n in enumerate(self.names)
                         if n in _FRAME_FALLBACK]
        protos = {n.split(".", 1)[0] for n in self.names}
        self.skip_layers = frozenset(layer for layer, holds in PRUNABLE_LAYERS.items()
                                     if not protos.intersection(holds))
        self.empty = [""] * len(self.names)
        self.ctx = _Ctx()
        self._plans: dict = {}    # id(names) -> (names, ((i, name) asked for...)), see collect
        # a compact packet's values can be read without its layers when no field
        # of the link or IP layers is asked for (see _collect_compact)
        self._compact = CompactValues(self.names)
        self.compact_ok = self._compact.ok
        self._clean = None

    def _plan(self, names: tuple) -> tuple:
        """For a collector's names tuple: the (position, name) pairs asked for.
        Kept per names object (collectors reuse one per node shape); holding
        ``names`` keeps its id from being reused."""
        index = self.index
        plan = (names, tuple((i, n) for i, n in enumerate(names) if n in index))
        plans = self._plans
        if len(plans) >= _MAX_PLANS:   # names made per chunk (gap blocks...): bounded
            plans.clear()
        plans[id(names)] = plan
        return plan

    def header(self) -> str:
        return ("\ufeff" if self.opt.bom else "") + self.opt.separator.join(self.names)

    def collect(self, pkt) -> dict:
        """``{name: [values in tree order]}`` for the requested names present in the frame."""
        if self.compact_ok and pkt._layers is None and pkt._extra is None:
            return self._collect_compact(pkt)
        index = self.index
        skip = self.skip_layers
        found: dict = {}
        get = found.get
        collectors = LAZY_COLLECTORS
        plans = self._plans
        # Iterative depth-first walk; hand-written instead of Field.walk() because
        # a generator per node costs ~3x more on the 500k-packet path.
        stack = [layer for layer in reversed(pkt.layers) if layer.name not in skip]
        pop = stack.pop
        push = stack.extend
        while stack:
            f = pop()
            name = f.name
            if name in index:
                vals = get(name)
                if vals is None:
                    found[name] = [f.value]
                else:
                    vals.append(f.value)
            if isinstance(f, LazyField):
                # An unbuilt subtree: its collector gives the values the built
                # fields would have, without building them (model.LAZY_COLLECTORS).
                b = f._build
                if b is not None:
                    col = collectors.get(b[1])
                    if col is not None:
                        r = col(f, b, index)
                        if r is not None:
                            names, values, tail = r
                            plan = plans.get(id(names))
                            if plan is None or plan[0] is not names:
                                plan = self._plan(names)
                            for i, name in plan[1]:
                                vals = get(name)
                                if vals is None:
                                    found[name] = [values[i]]
                                else:
                                    vals.append(values[i])
                            if tail:
                                push(tail[::-1])
                            continue
            ch = f.children
            if ch:
                push(ch[::-1])
        return found

    def _collect_compact(self, pkt) -> dict:
        """:meth:`collect` for a packet decoded compactly (no tree yet), when
        every requested field is of the frame or SCTP (decode/values.py)."""
        return self._compact.collect(pkt)

    def line(self, pkt) -> str:
        if self.compact_ok and pkt._layers is None and pkt._extra is None:
            # values of a compact record are of their field's type: the faster formatter
            clean = self._clean
            if clean is None:
                clean = self._clean = self.clean_formatter() or self.format
            return clean(self._collect_compact(pkt), pkt.record)
        return self.format(self.collect(pkt), pkt.record)

    def clean_formatter(self) -> Callable | None:
        """A faster :meth:`format` for values that are all ints, bools or
        bytes of their field's type (what a compact packet's record holds): ``str`` itself formats the integer columns.  None unless the
        options are the defaults (all occurrences, no quotes)."""
        o = self.opt
        if o.occurrence != "a" or o.quote:
            return None
        per_name = {n: (str if self.fmt[cols[0]] is _int_str else self.fmt[cols[0]])
                    for n, cols in self.index.items()}
        index = self.index
        agg = o.aggregator
        sep = o.separator
        empty = self.empty
        fallback = self.fallback
        ctx = self.ctx

        def format_clean(found: dict, rec) -> str:
            if ctx.first_ts_ns is None:
                ctx.first_ts_ns = rec.ts_ns
            for i, name, fn in fallback:
                if name not in found:
                    found[name] = [fn(rec, ctx)]
            out = empty.copy()
            for name, vals in found.items():
                f = per_name[name]
                text = f(vals[0]) if len(vals) == 1 else agg.join(map(f, vals))
                for i in index[name]:
                    out[i] = text
            return sep.join(out)

        return format_clean

    def format(self, found: dict, rec) -> str:
        """The line of frame ``rec`` from its ``{name: [values]}`` (``found``
        is completed with the frame fields the tree did not carry)."""
        ctx = self.ctx
        if ctx.first_ts_ns is None:
            ctx.first_ts_ns = rec.ts_ns
        for i, name, fn in self.fallback:
            if name not in found:
                found[name] = [fn(rec, ctx)]
        o = self.opt
        occ = o.occurrence
        agg = o.aggregator
        q = o.quote
        fmts = self.fmt
        index = self.index
        out = self.empty.copy()
        if occ == "a" and not q:     # the default options: the common case, fewer tests
            for name, vals in found.items():
                for i in index[name]:
                    fmt = fmts[i]
                    out[i] = fmt(vals[0]) if len(vals) == 1 else agg.join([fmt(v) for v in vals])
            return o.separator.join(out)
        for name, vals in found.items():
            for i in index[name]:
                fmt = fmts[i]
                if occ == "a":
                    text = fmt(vals[0]) if len(vals) == 1 else agg.join([fmt(v) for v in vals])
                elif occ == "f":
                    text = fmt(vals[0])
                elif occ == "l":
                    text = fmt(vals[-1])
                else:
                    k = occ - 1 if occ > 0 else len(vals) + occ
                    text = fmt(vals[k]) if 0 <= k < len(vals) else ""
                if q and text:
                    text = q + text + q
                out[i] = text
        return o.separator.join(out)
