"""AST -> a Python closure ``predicate(packet) -> bool``.

Everything that can be decided once is decided at compile time: field types
come from the registry, literal values are converted to the field's value
domain (ints, bools, address integers, bytes, compiled regexes), and each
relation becomes a closure specialised for its operator.  Per packet the
predicate walks the packet's field trees once, keeping only the names the
filter mentions, then runs the closures over that small index.

Semantics are Wireshark 4.0's: a field may occur several times per frame;
``==``, ``<``, ``contains``, ``matches``, ``~=`` and ``in`` are true when *any*
occurrence satisfies them, ``!=`` when the field is present and *all*
occurrences differ, ``===`` when it is present and all are equal.  A relation
on an absent field is false; ``!`` / ``not`` negate the whole relation.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from decimal import Decimal, InvalidOperation

import regex

from .. import registry as R
from ..decode.values import CompactValues
from ..model import Field
from . import fields as F
from .errors import FilterError
from .parser import looks_like_field, parse, unknown_name

# Longest one `matches` search may run on one value, seconds (docs/robustness.md).
MATCH_TIMEOUT = 1.0

_INT_MAX = {R.FT_UINT8: 0xFF, R.FT_UINT16: 0xFFFF, R.FT_UINT24: 0xFFFFFF,
            R.FT_UINT32: 0xFFFFFFFF, R.FT_UINT64: 0xFFFFFFFFFFFFFFFF,
            R.FT_FRAMENUM: 0xFFFFFFFF, R.FT_INT32: 0x7FFFFFFF}
_INTS = frozenset(_INT_MAX)
_FLOATS = frozenset({R.FT_RELATIVE_TIME, R.FT_DOUBLE, R.FT_ABSOLUTE_TIME})
_BYTESLIKE = frozenset({R.FT_BYTES, R.FT_PROTOCOL, R.FT_ETHER})
_STRINGS = frozenset({R.FT_STRING, R.FT_STRINGZ})
_SLICEABLE = _BYTESLIKE | _STRINGS | {R.FT_IPv4, R.FT_IPv6}

# Type classes for "compatible types" checks between two fields.
def _tclass(ft: str) -> str:
    if ft in _INTS or ft == R.FT_BOOLEAN:
        return "int"
    if ft in _FLOATS:
        return "float"
    if ft in _BYTESLIKE:
        return "bytes"
    if ft in _STRINGS:
        return "str"
    return ft


# Top-level layer names whose subtrees hold only that protocol's fields, so a
# filter that names none of them can skip walking them.
_PRUNABLE = frozenset({"frame", "eth", "sll", "sll2", "null", "vlan", "ip", "ipv6", "udp", "sctp"})
_EMPTY: tuple = ()


# --------------------------------------------------------------------------
# Packet values -> comparable values
# --------------------------------------------------------------------------
_ip4_cache: dict = {}
_ip6_cache: dict = {}


def _ip4(v):
    if isinstance(v, int):
        return v
    r = _ip4_cache.get(v)
    if r is None:
        try:
            if isinstance(v, str):
                r = int.from_bytes(socket.inet_aton(v), "big")
            elif isinstance(v, (bytes, bytearray)):
                r = int.from_bytes(v, "big")
            else:
                r = int(ipaddress.IPv4Address(v))
        except (OSError, ValueError, TypeError):
            return None
        if len(_ip4_cache) > 65536:
            _ip4_cache.clear()
        _ip4_cache[v] = r
    return r


def _ip6(v):
    if isinstance(v, int):
        return v
    r = _ip6_cache.get(v)
    if r is None:
        try:
            if isinstance(v, (bytes, bytearray)):
                r = int.from_bytes(v, "big")
            else:
                r = int(ipaddress.IPv6Address(v if isinstance(v, str) else str(v)))
        except (ValueError, TypeError):
            return None
        if len(_ip6_cache) > 65536:
            _ip6_cache.clear()
        _ip6_cache[v] = r
    return r


def _decimal(v):
    """Times are compared exactly, as Decimals (the decoder stores Decimal seconds)."""
    if v is None or isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        return Decimal(repr(v))
    return Decimal(v)


def _as_bytes(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, str):
        h = v.replace(":", "").replace("-", "").replace(".", "")
        try:
            return bytes.fromhex(h)
        except ValueError:
            return v.encode()
    return None


def _layer_bytes(pkt, f):
    """The bytes a protocol layer covers (frame data, or a reassembly buffer)."""
    data = pkt.record.data
    bufs = pkt.buffers
    if bufs:
        src = bufs.get("layer:" + f.name)
        if isinstance(src, str):
            src = bufs.get(src)
        if isinstance(src, (bytes, bytearray)):
            data = src
    return bytes(data[f.offset:f.offset + f.length])


def _normaliser(ftype: str):
    """Function (pkt, Field) -> comparable value (None = not comparable)."""
    if ftype in _INTS:
        return lambda pkt, f: f.value if type(f.value) is int else (
            int(f.value) if f.value is not None else None)
    if ftype == R.FT_BOOLEAN:
        return lambda pkt, f: None if f.value is None else (1 if f.value else 0)
    if ftype in _FLOATS:
        return lambda pkt, f: _decimal(f.value)
    if ftype == R.FT_IPv4:
        return lambda pkt, f: _ip4(f.value)
    if ftype == R.FT_IPv6:
        return lambda pkt, f: _ip6(f.value)
    if ftype == R.FT_PROTOCOL:
        return _layer_bytes
    if ftype in _BYTESLIKE:
        return lambda pkt, f: _as_bytes(f.value)
    if ftype in _STRINGS:
        return lambda pkt, f: None if f.value is None else str(f.value)
    return lambda pkt, f: f.value


def _to_slice_bytes(ftype: str, v):
    if v is None:
        return None
    if ftype in _STRINGS:
        return v.encode()
    if ftype == R.FT_IPv4:
        return v.to_bytes(4, "big")
    if ftype == R.FT_IPv6:
        return v.to_bytes(16, "big")
    return v


def _slicer(ranges):
    """bytes -> bytes of the slice, or None when the range is out of bounds."""
    def cut(b: bytes):
        n = len(b)
        out = b""
        for start, end in ranges:
            s = start + n if start < 0 else start
            e = n if end is None else (end + n if end < 0 else end)
            if s < 0 or e > n or s >= e:
                return None
            out += b[s:e]
        return out
    return cut


# --------------------------------------------------------------------------
# Literals -> values of a field type
# --------------------------------------------------------------------------
_NUM_RE = re.compile(r"-?(0[xX][0-9A-Fa-f]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_BYTES_SEP_RE = re.compile(r"[0-9A-Fa-f]{1,2}([:.\-][0-9A-Fa-f]{1,2})+\Z")
_BYTES_RUN_RE = re.compile(r"(0[xX])?([0-9A-Fa-f]{2})+\Z")


def _parse_int(text: str):
    if not _NUM_RE.match(text):
        return None
    neg = text.startswith("-")
    t = text[1:] if neg else text
    if t[:2] in ("0x", "0X"):
        v = int(t, 16)
    elif t[:2] in ("0b", "0B"):
        v = int(t[2:], 2)
    elif len(t) > 1 and t[0] == "0":
        v = int(t, 8)
    else:
        v = int(t)
    return -v if neg else v


class Literal:
    """A converted constant: ``value`` plus, for CIDR, a ``mask``."""

    __slots__ = ("value", "mask")

    def __init__(self, value, mask=None):
        self.value = value
        self.mask = mask


def convert_literal(tok, ftype: str, spec, fname: str) -> Literal:
    """Convert a WORD/STRING/CHAR token to the value domain of ``ftype``."""
    kind = tok.kind
    text = tok.text
    val = tok.value
    col, ln = tok.col, tok.length
    tname = F.type_name(ftype)

    def err(msg):
        return FilterError(msg, col, ln)

    if ftype in _INTS:
        if kind == "CHAR":
            return Literal(val)
        strings = spec.strings if spec is not None else None
        if kind == "WORD":
            v = _parse_int(text)
            if v is not None:
                if v > _INT_MAX[ftype]:
                    raise err(f'"{text}" too big for this field, maximum {_INT_MAX[ftype]}.')
                return Literal(v)
        if strings:
            want = (val if kind == "STRING" else text).lower()
            for num, name in strings.items():
                if str(name).lower() == want:
                    return Literal(num)
            raise err(f'"{val if kind == "STRING" else text}" cannot be found among the '
                      f"possible values for {fname}.")
        if kind == "STRING":
            raise err(f'{tname} cannot be converted from a string ("{val}").')
        raise err(f'"{text}" is not a valid number.')
    if ftype == R.FT_BOOLEAN:
        if kind == "WORD":
            v = _parse_int(text)
            if v is not None:
                return Literal(1 if v else 0)
            if text.lower() == "true":
                return Literal(1)
            if text.lower() == "false":
                return Literal(0)
        shown = val if kind == "STRING" else text
        raise err(f'"{shown}" cannot be found among the possible values for {fname}.')
    if ftype in _FLOATS:
        if kind == "WORD":
            iv = _parse_int(text)
            if iv is not None:
                return Literal(Decimal(iv))
            try:
                d = Decimal(text)
                if d.is_finite():
                    return Literal(d)
            except InvalidOperation:
                pass
            raise err(f'"{text}" is not a valid number.')
        raise err(f'{tname} cannot be converted from a string ("{val}").')
    if ftype == R.FT_IPv4:
        if kind != "WORD":
            raise err(f'{tname} cannot be converted from a string ("{val}").')
        addr, _, bits = text.partition("/")
        parts = addr.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise err(f'"{text}" is not a valid hostname or IPv4 address.')
        a = _ip4(addr)
        if a is None:        # e.g. "09.0.0.0": inet_aton reads a leading 0 as octal
            raise err(f'"{text}" is not a valid hostname or IPv4 address.')
        if bits:
            if not bits.isdigit() or int(bits) > 32:
                raise err(f"Netmask bits in a CIDR IPv4 address should be <= 32, not {bits}")
            mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
            return Literal(a & mask, mask)
        return Literal(a)
    if ftype == R.FT_IPv6:
        if kind != "WORD":
            raise err(f'{tname} cannot be converted from a string ("{val}").')
        addr, _, bits = text.partition("/")
        try:
            a = int(ipaddress.IPv6Address(addr))
        except ValueError:
            raise err(f'"{text}" is not a valid hostname or IPv6 address.') from None
        if bits:
            if not bits.isdigit() or int(bits) > 128:
                raise err(f"Prefix in a IPv6 address should be <= 128, not {bits}")
            mask = ((1 << 128) - 1) ^ ((1 << (128 - int(bits))) - 1)
            return Literal(a & mask, mask)
        return Literal(a)
    if ftype in _BYTESLIKE:
        if kind == "STRING":
            return Literal(val.encode("utf-8", "surrogateescape"))
        if kind == "CHAR":
            return Literal(bytes([val & 0xFF]))
        if _BYTES_SEP_RE.match(text):
            return Literal(bytes(int(p, 16) for p in re.split(r"[:.\-]", text)))
        m = _BYTES_RUN_RE.match(text)
        if m:
            return Literal(bytes.fromhex(text[2:] if m.group(1) else text))
        if len(text) == 1 and text in "0123456789abcdefABCDEF":
            return Literal(bytes([int(text, 16)]))
        raise err(f'"{text}" is not a valid byte string.')
    if ftype in _STRINGS:
        if kind == "CHAR":
            return Literal(chr(val))
        return Literal(val if kind == "STRING" else text)
    raise err(f"{fname} (type={tname}) cannot be compared with a value.")


# --------------------------------------------------------------------------
# The compiler
# --------------------------------------------------------------------------
class Operand:
    """A compiled field/function/slice: ``get(pkt, idx) -> list`` of values."""

    __slots__ = ("get", "ftype", "spec", "name", "tok", "is_field")

    def __init__(self, get, ftype, spec, name, tok, is_field=True):
        self.get = get
        self.ftype = ftype
        self.spec = spec
        self.name = name
        self.tok = tok
        self.is_field = is_field


def _virtual(name):
    """Fallback values for frame fields when the decoder did not emit them."""
    if name == "frame.number":
        return lambda pkt: [pkt.record.number]
    if name == "frame.len":
        return lambda pkt: [pkt.record.wirelen]
    if name == "frame.cap_len":
        return lambda pkt: [len(pkt.record.data)]
    return None


class Compiler:
    def __init__(self):
        self.needed: set[str] = set()

    # ---- operands ------------------------------------------------------
    def fields_getter(self, name: str):
        """(pkt, idx) -> list of Field objects named ``name`` (with alias/virtual fallbacks)."""
        self.needed.add(name)
        alias = F.ALIASES.get(name)
        virt = _virtual(name)
        if alias:
            self.needed.update(alias)
            a, b = alias

            def get(pkt, idx):
                fs = idx.get(name)
                if fs is not None:
                    return fs
                x = idx.get(a)
                y = idx.get(b)
                if x is None:
                    return y or _EMPTY
                return x + y if y else x
            return get

        def get(pkt, idx):
            fs = idx.get(name)
            if fs is None:
                an = pkt.analysis
                if an and name in an:
                    v = an[name]
                    vals = v if isinstance(v, (list, tuple)) else [v]
                    return [Field(name, x, 0, 0) for x in vals]
                return _EMPTY
            return fs
        if virt is not None:
            def get_v(pkt, idx, _get=get):
                fs = _get(pkt, idx)
                if fs:
                    return fs
                return [Field(name, x, 0, 0) for x in virt(pkt)]
            return get_v
        return get

    def operand(self, term) -> Operand:
        kind = term[0]
        if kind == "field":
            _, name, tok, slc = term
            spec = F.lookup(name)
            ftype = spec.ftype
            getf = self.fields_getter(name)
            norm = _normaliser(ftype)
            if slc is not None:
                if ftype not in _SLICEABLE:
                    raise FilterError(f'"{name}" is a {F.type_name(ftype)} and cannot be '
                                      "sliced into a sequence of bytes.", tok.col, tok.length)
                cut = _slicer(slc)

                def get(pkt, idx):
                    out = []
                    for f in getf(pkt, idx):
                        b = _to_slice_bytes(ftype, norm(pkt, f))
                        if b is not None:
                            s = cut(b)
                            if s is not None:
                                out.append(s)
                    return out
                return Operand(get, R.FT_BYTES, None, name, tok)
            if ftype in _INTS:
                def get(pkt, idx):
                    fs = getf(pkt, idx)
                    if not fs:
                        return _EMPTY
                    return [f.value for f in fs if f.value is not None]
            else:
                def get(pkt, idx):
                    fs = getf(pkt, idx)
                    if not fs:
                        return _EMPTY
                    out = []
                    for f in fs:
                        v = norm(pkt, f)
                        if v is not None:
                            out.append(v)
                    return out
            return Operand(get, ftype, spec, name, tok)
        if kind == "func":
            return self.function(term)
        if kind == "bitand":
            return self.bitand(term)
        raise AssertionError(kind)  # pragma: no cover - literals handled by callers

    def bitand(self, term) -> Operand:
        _, lterm, mterm, tok = term
        left = self._left(lterm, "&")
        if left.ftype not in _INTS and left.ftype != R.FT_BOOLEAN:
            raise FilterError(f"{left.name} (type={F.type_name(left.ftype)}) cannot participate "
                              "in & operation.", left.tok.col, left.tok.length)
        if mterm[0] != "lit":
            t = mterm[2]
            raise FilterError("Only a constant can be used as a bit mask.", t.col, t.length)
        mask = convert_literal(mterm[1], left.ftype, None, left.name).value
        get = left.get

        def g(pkt, idx):
            return [v & mask for v in get(pkt, idx)]
        return Operand(g, left.ftype, left.spec, left.name, left.tok, False)

    def function(self, term) -> Operand:
        _, fname, args, tok, slc = term
        if len(args) != 1:
            raise FilterError(f"Function {fname}() takes exactly one argument.", tok.col, tok.length)
        arg = args[0]
        if arg[0] == "lit":
            t = arg[1]
            raise FilterError(f"Only fields can be used as parameter for {fname}()"
                              if t.kind != "WORD" else
                              f'"{t.text}" is neither a field nor a protocol name.',
                              t.col, t.length)
        if arg[0] == "field" and arg[3] is None:
            name = arg[1]
            ftype = F.lookup(name).ftype
            getf = self.fields_getter(name)
            norm = _normaliser(ftype)
        else:
            inner = self.operand(arg)
            getf = None
            ftype = inner.ftype
            name = inner.name
        if fname == "count":
            if getf is None:
                raise FilterError("Only fields can be used as parameter for count()",
                                  tok.col, tok.length)

            def get(pkt, idx):
                n = len(getf(pkt, idx))
                return [n] if n else _EMPTY
            return Operand(get, R.FT_UINT32, None, f"count({name})", tok, False)
        if fname == "len":
            if getf is None:
                def get(pkt, idx):
                    return [len(v) for v in inner.get(pkt, idx)]
            else:
                def get(pkt, idx):
                    out = []
                    for f in getf(pkt, idx):
                        v = norm(pkt, f)
                        if isinstance(v, (bytes, str)):
                            out.append(len(v))
                        else:
                            out.append(f.length)
                    return out
            return Operand(get, R.FT_UINT32, None, f"len({name})", tok, False)
        # upper / lower / string
        if fname in ("upper", "lower") and ftype not in _STRINGS:
            raise FilterError(f"Only string type fields can be used as parameter for {fname}()",
                              tok.col, tok.length)
        src = inner.get if getf is None else (lambda pkt, idx: [
            v for v in (norm(pkt, f) for f in getf(pkt, idx)) if v is not None])
        if fname == "upper":
            def get(pkt, idx):
                return [v.upper() for v in src(pkt, idx)]
        elif fname == "lower":
            def get(pkt, idx):
                return [v.lower() for v in src(pkt, idx)]
        else:  # string(): the value as tshark -T fields prints it
            def get(pkt, idx):
                return [R.format_tshark(name, f.value) for f in getf(pkt, idx)] if getf else \
                    [str(v) for v in src(pkt, idx)]
        return Operand(get, R.FT_STRING, None, f"{fname}({name})", tok, False)

    # ---- nodes -----------------------------------------------------------
    def node(self, n):
        k = n[0]
        # and/or are n-ary (the parser flattens chains); any()/all() over a
        # generator short-circuit left to right like Wireshark's && and ||.
        if k == "or":
            parts = [self.node(c) for c in n[1:]]
            if len(parts) == 2:
                a, b = parts
                return lambda pkt, idx: a(pkt, idx) or b(pkt, idx)
            return lambda pkt, idx: any(p(pkt, idx) for p in parts)
        if k == "and":
            parts = [self.node(c) for c in n[1:]]
            if len(parts) == 2:
                a, b = parts
                return lambda pkt, idx: a(pkt, idx) and b(pkt, idx)
            return lambda pkt, idx: all(p(pkt, idx) for p in parts)
        if k == "not":
            a = self.node(n[1])
            return lambda pkt, idx: not a(pkt, idx)
        if k == "test":
            return self.test(n[1])
        if k == "rel":
            return self.relation(n)
        if k == "in":
            return self.membership(n)
        raise AssertionError(k)  # pragma: no cover

    def test(self, term):
        if term[0] == "field" and term[3] is None:
            getf = self.fields_getter(term[1])
            return lambda pkt, idx: bool(getf(pkt, idx))
        op = self.operand(term)
        get = op.get
        if op.ftype == R.FT_BOOLEAN or term[0] == "bitand":
            return lambda pkt, idx: any(get(pkt, idx))
        return lambda pkt, idx: bool(get(pkt, idx))

    def _left(self, term, opname):
        if term[0] == "lit":
            t = term[1]
            if t.kind == "WORD" and looks_like_field(t.text):
                raise unknown_name(t)
            raise FilterError(f'Left side of "{opname}" expression must be a field or '
                              f"function, not {t.text}.", t.col, t.length)
        return self.operand(term)

    def relation(self, n):
        _, op, lterm, rterm, optok = n
        left = self._left(lterm, optok.text)
        ft = left.ftype
        if op == "contains" and ft not in _BYTESLIKE | _STRINGS:
            raise FilterError(f"{left.name} (type={F.type_name(ft)}) cannot participate in "
                              f"{optok.text} comparison.", left.tok.col, left.tok.length)
        if op == "matches":
            if ft not in _BYTESLIKE | _STRINGS:
                raise FilterError(f"{left.name} (type={F.type_name(ft)}) cannot participate in "
                                  f"{optok.text} comparison.", left.tok.col, left.tok.length)
            return self.matches(left, rterm)
        if ft == R.FT_NONE:
            raise FilterError(f"{left.name} (type={F.type_name(ft)}) cannot participate in "
                              f"{optok.text} comparison.", left.tok.col, left.tok.length)
        if rterm[0] == "lit":
            lit = convert_literal(rterm[1], ft, left.spec, left.name)
            return _const_rel(op, left.get, lit, ft)
        right = self.operand(rterm)
        if _tclass(right.ftype) != _tclass(ft):
            raise FilterError(f"{left.name} and {right.name} are not of compatible types.",
                              right.tok.col, right.tok.length)
        return _pair_rel(op, left.get, right.get)

    def matches(self, left, rterm):
        if rterm[0] != "lit" or rterm[1].kind != "STRING":
            t = _first_token(rterm)     # a field, a literal, or a term such as `a & 3`
            raise FilterError(f'"{t.text}" is not a valid regular expression: '
                              "matches needs a quoted string.", t.col, t.length)
        tok = rterm[1]
        pat = tok.value
        flags = re.IGNORECASE | re.DOTALL
        if pat.startswith("(?-i)"):  # PCRE's "case-sensitive from here"
            pat = pat[5:]
            flags &= ~re.IGNORECASE
        try:
            re.compile(pat, flags)       # Python's wording for a bad pattern (test_filter_errors)
        except re.error as e:
            raise FilterError(f"Regex compilation error: {e.msg}.", tok.col, tok.length) from None
        # Matched with the `regex` package, whose search takes a timeout: Python's
        # re has no match limit, so `(a+)+$` on a long payload backtracked for
        # hours (issue 18.7f).  Past MATCH_TIMEOUT on one value the filter stops
        # with one sentence instead of hanging (docs/filters.md).
        rx = regex.compile(pat, (regex.IGNORECASE if flags & re.IGNORECASE else 0) | regex.DOTALL)
        text, col, length = tok.text, tok.col, tok.length

        def search(v, _search=rx.search):
            try:
                return _search(v, timeout=MATCH_TIMEOUT)
            except TimeoutError:
                # a FilterError (exit 2, the fuzz target's only allowed exception), one line
                raise FilterError(f"matches {text}: the regular expression ran longer than "
                                  f"{MATCH_TIMEOUT:g} s on one value (catastrophic backtracking); "
                                  "simplify it (nested repetition such as (a|aa)+ is the usual "
                                  "cause)", col, length) from None
        get = left.get
        if left.ftype in _STRINGS:
            return lambda pkt, idx: any(search(v) for v in get(pkt, idx))
        return lambda pkt, idx: any(search(v.decode("latin-1")) for v in get(pkt, idx))

    def membership(self, n):
        _, lterm, items, negated, tok = n
        left = self._left(lterm, "in")
        ft = left.ftype
        consts = []
        ranges = []
        masks = []
        for lo, hi in items:
            if lo[0] != "lit" or (hi is not None and hi[0] != "lit"):
                t = (lo if lo[0] != "lit" else hi)[2]
                raise FilterError("Only values can be used in a set.", t.col, t.length)
            a = convert_literal(lo[1], ft, left.spec, left.name)
            if hi is None:
                (masks if a.mask is not None else consts).append(a)
            else:
                b = convert_literal(hi[1], ft, left.spec, left.name)
                ranges.append((a.value, b.value))
        cset = {c.value for c in consts}
        mlist = [(m.value, m.mask) for m in masks]
        get = left.get

        def member(pkt, idx):
            for v in get(pkt, idx):
                if v in cset:
                    return True
                for lo_, hi_ in ranges:
                    if lo_ <= v <= hi_:
                        return True
                for net, mask in mlist:
                    if v & mask == net:
                        return True
            return False
        if negated:
            return lambda pkt, idx: not member(pkt, idx)
        return member


def _const_rel(op, get, lit: Literal, ft):
    c = lit.value
    if lit.mask is not None:
        mask = lit.mask
        if op == "any_eq":
            return lambda pkt, idx: any(v & mask == c for v in get(pkt, idx))
        if op == "all_ne":
            def f(pkt, idx):
                vs = get(pkt, idx)
                return bool(vs) and all(v & mask != c for v in vs)
            return f
        if op == "all_eq":
            def f(pkt, idx):
                vs = get(pkt, idx)
                return bool(vs) and all(v & mask == c for v in vs)
            return f
        if op == "any_ne":
            return lambda pkt, idx: any(v & mask != c for v in get(pkt, idx))
        # ordering against a network: compare with the network address
    if op == "any_eq":
        return lambda pkt, idx: c in get(pkt, idx)
    if op == "all_ne":
        def f(pkt, idx):
            vs = get(pkt, idx)
            return bool(vs) and c not in vs
        return f
    if op == "all_eq":
        def f(pkt, idx):
            vs = get(pkt, idx)
            return bool(vs) and all(v == c for v in vs)
        return f
    if op == "any_ne":
        return lambda pkt, idx: any(v != c for v in get(pkt, idx))
    if op == "lt":
        return lambda pkt, idx: any(v < c for v in get(pkt, idx))
    if op == "le":
        return lambda pkt, idx: any(v <= c for v in get(pkt, idx))
    if op == "gt":
        return lambda pkt, idx: any(v > c for v in get(pkt, idx))
    if op == "ge":
        return lambda pkt, idx: any(v >= c for v in get(pkt, idx))
    if op == "contains":
        if ft in _STRINGS and isinstance(c, bytes):
            c = c.decode("utf-8", "surrogateescape")
        return lambda pkt, idx: any(c in v for v in get(pkt, idx))
    raise AssertionError(op)  # pragma: no cover


_PAIR_OPS = {
    "any_eq": lambda a, b: a == b, "any_ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "contains": lambda a, b: b in a,
}


def _pair_rel(op, lget, rget):
    if op == "all_ne":
        def f(pkt, idx):
            ls, rs = lget(pkt, idx), rget(pkt, idx)
            return bool(ls) and bool(rs) and not any(a == b for a in ls for b in rs)
        return f
    if op == "all_eq":
        def f(pkt, idx):
            ls, rs = lget(pkt, idx), rget(pkt, idx)
            return bool(ls) and bool(rs) and all(a == b for a in ls for b in rs)
        return f
    cmp = _PAIR_OPS[op]

    def g(pkt, idx):
        rs = rget(pkt, idx)
        if not rs:
            return False
        return any(cmp(a, b) for a in lget(pkt, idx) for b in rs)
    return g


def _make_predicate(root, needed: frozenset):
    """Wrap the compiled tree: index the packet's fields once, then evaluate."""
    prefixes = {n.split(".", 1)[0] for n in needed}
    prune = prefixes <= _PRUNABLE  # every needed name lives in a known layer
    skip = _PRUNABLE - prefixes if prune else frozenset()

    compact = CompactValues(needed)
    if compact.ok:
        usable = compact.usable
        collect = compact.collect

        def predicate(pkt) -> bool:
            if usable(pkt):
                # a compact record answers every needed name: no tree is built
                idx = {n: [_protocol_field(pkt, n) if v is None and n in _COMPACT_LAYERS
                           else Field(n, v, 0, 0) for v in vs]
                       for n, vs in collect(pkt).items()}
                return bool(root(pkt, idx))
            return tree_predicate(pkt)
    else:
        predicate = None

    def tree_predicate(pkt) -> bool:
        idx = {}
        get = idx.get
        # Any/all semantics do not depend on occurrence order, so the walk
        # need not keep tree order (no reversed() per subtree).
        stack = [layer for layer in pkt.layers if layer.name not in skip]
        pop = stack.pop
        push = stack.extend
        while stack:
            f = pop()
            n = f.name
            if n in needed:
                lst = get(n)
                if lst is None:
                    idx[n] = [f]
                else:
                    lst.append(f)
            c = f.children
            if c:
                push(c)
        return bool(root(pkt, idx))
    return predicate or tree_predicate


_COMPACT_LAYERS = frozenset(("frame", "sctp"))


def _protocol_field(pkt, name):
    """The protocol item of a compact record (its bytes are what ``sctp contains``
    and slices of ``sctp``/``frame`` compare)."""
    if name == "sctp":               # a compact record's chunks run to the packet's end
        last = pkt.chunks[-1]
        return Field(name, None, pkt.sctp_offset, last.offset + last.length - pkt.sctp_offset)
    return Field(name, None, 0, len(pkt.record.data))


def compile_filter(text: str):
    """Compile a Wireshark display filter into ``predicate(Packet) -> bool``.

    Raises :class:`FilterError` (a UserError) with Wireshark's message and the
    column of the offending token.
    """
    F.load_decoders()
    try:
        ast = parse(text)
        comp = Compiler()
        root = comp.node(ast)
    except FilterError as e:
        raise e.with_text(text)
    return _make_predicate(root, frozenset(comp.needed))


def check_filter(text: str) -> FilterError | None:
    """The error ``text`` would raise, or None if it compiles (for live validation)."""
    try:
        compile_filter(text)
    except FilterError as e:
        return e
    return None


def _first_token(term):
    """The first token of a parsed term (nested tuples of tokens and names)."""
    if hasattr(term, "text") and hasattr(term, "col"):
        return term
    if isinstance(term, (tuple, list)):
        for part in term:
            t = _first_token(part)
            if t is not None:
                return t
    return None
