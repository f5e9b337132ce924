"""Recursive-descent parser: tokens -> a small AST of tuples.

Grammar (Wireshark 4.0; ``and`` binds tighter than ``or``, ``not`` tighter
than ``and``)::

    expr     := and_expr (("||" | "or") and_expr)*      (parsed with a stack, see expr())
    and_expr := unary (("&&" | "and") unary)*
    unary    := ("!" | "not") unary | "(" expr ")" | relation
    relation := bitand [ relop bitand
                     | ["not"] "in" "{" item ("," item)* "}"
                     | ("contains" | "matches" | "~") term ]
    bitand   := term ("&" term)*
    item     := term [".." term]
    term     := WORD ["[" slice "]"] | FUNC "(" term ("," term)* ")" ["[" slice "]"]
              | STRING | CHAR

Hand-written rather than generated (lark, ply): ~150 lines, no dependency, and
exact control over which token an error points at.

AST nodes:
  ("or", a, b, ...) ("and", a, b, ...) ("not", a)   n-ary, flattened
  ("test", term)                      presence / boolean function
  ("rel", op, left, right, op_tok)    op is the canonical name: any_eq, all_ne...
  ("in", term, items, negated, tok)   items: [(lo_term, hi_term | None)]
Terms:
  ("field", name, tok, slice)         slice: list of (start, end|None) or None
  ("lit", tok)                        WORD / STRING / CHAR token
  ("func", name, [terms], tok, slice)
  ("bitand", term, mask_term, tok)
"""
from __future__ import annotations

import difflib
import re

from .. import registry as R
from . import fields as F
from .errors import FilterError
from .lexer import CHAR, EOF, OP, SLICE, STRING, WORD, Token, tokenize

# Deepest tree the parser builds (docs/robustness.md).  Chains of one operator,
# redundant parentheses and repeated ``not`` do not count; what counts is
# nesting that changes operator, parentheses and function calls.  The compiled
# filter is evaluated by nested Python calls (about 2 frames per level), so the
# limit keeps it far below the interpreter's recursion limit (1000) even when
# called from deep inside the TUI.
MAX_NESTING = 100

# Operator spellings -> canonical names.
RELOPS = {
    "==": "any_eq", "eq": "any_eq", "any_eq": "any_eq",
    "!=": "all_ne", "ne": "all_ne", "all_ne": "all_ne",
    "===": "all_eq", "all_eq": "all_eq",
    "~=": "any_ne", "any_ne": "any_ne",
    "<": "lt", "lt": "lt", "<=": "le", "le": "le",
    ">": "gt", "gt": "gt", ">=": "ge", "ge": "ge",
    "contains": "contains", "matches": "matches", "~": "matches",
}
FUNCTIONS = {"len", "count", "upper", "lower", "string"}


def _unexpected(tok: Token) -> FilterError:
    if tok.kind == EOF:
        return FilterError("Unexpected end of filter expression.", tok.col, 1)
    text = tok.text if tok.kind != SLICE else "["
    return FilterError(f'"{text}" was unexpected in this context.', tok.col, tok.length)


_FIELDLIKE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*\Z")


def looks_like_field(text: str) -> bool:
    """A word that can only be meant as a field name (not a number, address, bytes)."""
    return bool(_FIELDLIKE.match(text)) and "." in text


def unknown_name(tok: Token) -> FilterError:
    """'"x" is neither a field nor a protocol name.' with a suggestion when one is close."""
    msg = f'"{tok.text}" is neither a field nor a protocol name.'
    if tok.kind == WORD:
        names = list(R.FIELDS) + [n for n, *_ in F.BUILTIN] + list(F.PROTOCOLS)
        close = difflib.get_close_matches(tok.text, names, n=1, cutoff=0.8)
        if close:
            msg += f" Did you mean {close[0]}?"
    return FilterError(msg, tok.col, tok.length)


def parse_slice(tok: Token) -> list:
    """``0:4``, ``2-5``, ``:3``, ``4:``, ``-1``, ``0:2,4`` -> [(start, end|None)].

    ``end`` is exclusive; negative numbers count from the end (Python rules,
    which are Wireshark's).
    """
    out = []
    col = tok.col
    for part in tok.text.split(","):
        p = part.strip()
        pcol = col + (len(part) - len(part.lstrip()))
        col += len(part) + 1

        def num(s: str) -> int:
            try:
                return int(s, 0) if s.lstrip("-")[:2].lower() in ("0x", "0b", "0o") else int(s)
            except ValueError:
                raise FilterError(f'"{p}" is not a valid number.', pcol, len(p)) from None

        if ":" in p:
            a, b = p.split(":", 1)
            start = num(a) if a.strip() else 0
            if b.strip():
                length = num(b)
                if length <= 0:
                    raise FilterError(f"Range {p} isn't valid because length {length} "
                                      "isn't positive", pcol, len(p))
                end = start + length
                if start < 0 and end >= 0:
                    end = None
                out.append((start, end))
            else:
                out.append((start, None))
        elif "-" in p.lstrip("-"):
            neg = p.startswith("-")
            a, b = p[1:].split("-", 1) if neg else p.split("-", 1)
            start = num(("-" if neg else "") + a)
            last = num(b)
            if (start >= 0) == (last >= 0) and last < start:
                raise FilterError(f"Range {p} isn't valid because {last} is less than {start}",
                                  pcol, len(p))
            end = last + 1
            out.append((start, end if end != 0 else None))
        else:
            start = num(p)
            out.append((start, start + 1 if start != -1 else None))
    return out


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.calls = 0          # open function calls (len(upper(...)))

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def word_is(self, *words: str) -> bool:
        t = self.tok
        return t.kind == WORD and t.text in words

    def parse(self):
        if self.tok.kind == EOF:
            raise FilterError("The filter is empty.", 0, 1)
        node = self.expr()
        if self.tok.kind != EOF:
            raise _unexpected(self.tok)
        return node

    def expr(self):
        """``or``/``and``/``not``/parentheses with an explicit stack, not one
        Python call per operator: 2,000 terms joined by ``&&``, 1,000 redundant
        parentheses or 10,000 ``not`` parse in linear time (issue 18.1).

        Chains of one operator become one n-ary node, redundant parentheses add
        nothing and ``not not x`` is ``x``, so the tree (which the compiler and
        the evaluator walk recursively) is only as deep as the *alternation* of
        operators; that depth is bounded by ``MAX_NESTING``.
        """
        # One frame per open parenthesis: [or_terms, and_terms, nots, open_tok].
        # Terms are (node, depth) pairs.
        frames = [[[], [], 0, None]]
        nots = 0
        while True:
            # ---- an operand: not* ( "(" | relation )
            t = self.tok
            while t.is_op("!") or (t.kind == WORD and t.text == "not"):
                self.next()
                nots += 1
                t = self.tok
            if t.is_op("("):
                self.next()
                frames.append([[], [], nots, t])   # a list, not a call: any depth
                nots = 0
                continue
            operand = (self.relation(), 1)
            if nots & 1:
                operand = _wrap("not", [operand], t)
            nots = 0
            frames[-1][1].append(operand)
            # ---- after an operand: && / || / ")" / end
            while True:
                t = self.tok
                if t.is_op("&&") or self.word_is("and"):
                    self.next()
                    break
                if t.is_op("||") or self.word_is("or"):
                    self.next()
                    f = frames[-1]
                    f[0].append(_join("and", f[1], t))
                    f[1] = []
                    break
                if t.is_op(")") and len(frames) > 1:
                    self.next()
                    ors, ands, fnots, open_tok = frames.pop()
                    group = _join("or", ors + [_join("and", ands, open_tok)], open_tok)
                    if fnots & 1:
                        group = _wrap("not", [group], open_tok)
                    frames[-1][1].append(group)
                    continue
                if len(frames) > 1:          # unclosed "(" or a stray token inside
                    raise _unexpected(t)
                ors, ands, _, _ = frames[0]
                return _join("or", ors + [_join("and", ands, t)], t)[0]

    def relation(self):
        left = self.bitand()
        t = self.tok
        if t.kind == OP and t.text in RELOPS or t.kind == WORD and t.text in RELOPS:
            self.next()
            right = self.bitand()
            return ("rel", RELOPS[t.text], left, right, t)
        negated = False
        if t.kind == WORD and t.text == "not" and self.toks[self.i + 1].kind == WORD \
                and self.toks[self.i + 1].text == "in":
            self.next()
            negated = True
            t = self.tok
        if t.kind == WORD and t.text == "in":
            self.next()
            return ("in", left, self.set_items(), negated, t)
        if left[0] == "lit":
            raise unknown_name(left[1])
        return ("test", left)

    def bitand(self):
        """``field & mask`` (4.0): the field's bits under the mask; true when nonzero."""
        left = self.term()
        while self.tok.is_op("&"):
            t = self.next()
            left = ("bitand", left, self.term(), t)
        return left

    def set_items(self):
        if not self.tok.is_op("{"):
            raise _unexpected(self.tok)
        self.next()
        items = []
        while True:
            lo = self.term()
            hi = None
            if self.tok.is_op(".."):
                self.next()
                hi = self.term()
            items.append((lo, hi))
            if self.tok.is_op(","):
                self.next()
                continue
            if self.tok.is_op("}"):
                self.next()
                return items
            raise _unexpected(self.tok)

    def term(self):
        t = self.tok
        if t.kind in (STRING, CHAR):
            self.next()
            return ("lit", t)
        if t.kind != WORD or t.text in ("and", "or", "not", "in") or t.text in RELOPS:
            raise _unexpected(t)
        self.next()
        if t.text in FUNCTIONS and self.tok.is_op("("):
            self.next()
            self.calls += 1
            if self.calls > MAX_NESTING:
                raise _too_deep(t)
            args = [self.term()]
            while self.tok.is_op(","):
                self.next()
                args.append(self.term())
            if not self.tok.is_op(")"):
                raise _unexpected(self.tok)
            self.next()
            self.calls -= 1
            return ("func", t.text, args, t, self.slice())
        if F.lookup(t.text) is not None:
            return ("field", t.text, t, self.slice())
        if self.tok.kind == SLICE:
            raise unknown_name(t)
        return ("lit", t)

    def slice(self):
        if self.tok.kind == SLICE:
            return parse_slice(self.next())
        return None


def _too_deep(tok: Token) -> FilterError:
    return FilterError(f"The filter nests more than {MAX_NESTING} levels deep "
                       "(parentheses, functions, or alternating and/or/not); "
                       "sctpinspect's limit, see docs/robustness.md.", tok.col, tok.length)


def _wrap(kind: str, terms: list, tok: Token):
    """An n-ary node over (node, depth) terms, as a (node, depth) pair."""
    if kind == "not" and terms[0][0][0] == "not":      # not not x -> x
        return terms[0][0][1], terms[0][1] - 1
    depth = 1 + max(d for _, d in terms)
    if depth > MAX_NESTING:
        raise _too_deep(tok)
    return (kind, *(n for n, _ in terms)), depth


def _join(kind: str, terms: list, tok: Token):
    """One term stays itself; several become one flat ``and``/``or`` node
    (children of the same kind are spliced in: ``(a && b) && c`` is ``a && b && c``,
    same order, same short-circuit)."""
    if len(terms) == 1:
        return terms[0]
    flat = []
    for n, d in terms:
        if n[0] == kind:
            flat.extend((c, d - 1) for c in n[1:])
        else:
            flat.append((n, d))
    return _wrap(kind, flat, tok)


def parse(text: str):
    return Parser(text).parse()
