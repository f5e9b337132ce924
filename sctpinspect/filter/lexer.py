"""Tokenizer for Wireshark 4.0 display filters.

Hand-written (no lexer library): the language needs context that generic
lexers handle awkwardly -- ``[0:4]`` after a field is a slice while ``01:02``
elsewhere is a byte string, ``{1..3}`` splits a word at ``..`` -- and every
token must carry its column so errors can point at it the way Wireshark's
filter bar does.
"""
from __future__ import annotations

import re

from .errors import FilterError

# Token kinds
WORD = "WORD"          # unquoted literal or field name: sctp.port, 10.0.0.0/8, 01:02, INIT
STRING = "STRING"      # "quoted"
CHAR = "CHAR"          # 'a'
OP = "OP"              # comparison / logical operators, brackets, punctuation
SLICE = "SLICE"        # the text between [ and ] after a field
EOF = "EOF"

# Characters of an unquoted literal (fields, numbers, addresses, byte strings,
# value names, CIDR): Wireshark's scanner accepts about the same set.
_WORD_RE = re.compile(r"[A-Za-z0-9_.:/\-+]+")
_OPS = ("===", "==", "!=", "~=", "<=", ">=", "&&", "||", "..", "&",
        "<", ">", "!", "~", "(", ")", "{", "}", ",", "[", "]")

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
            "v": "\v", "\\": "\\", '"': '"', "'": "'"}


class Token:
    __slots__ = ("kind", "text", "col", "end", "value")

    def __init__(self, kind: str, text: str, col: int, end: int, value=None):
        self.kind = kind
        self.text = text      # source text (for WORD/OP: the literal text)
        self.col = col        # 0-based column of the first character
        self.end = end        # column after the last character
        self.value = value    # decoded value for STRING/CHAR

    @property
    def length(self) -> int:
        return max(1, self.end - self.col)

    def is_op(self, *texts: str) -> bool:
        return self.kind == OP and self.text in texts

    def __repr__(self) -> str:  # pragma: no cover
        return f"Token({self.kind}, {self.text!r}, {self.col})"


def _unescape(body: str, start: int, raw: bool) -> str:
    """Decode a quoted string's escapes; ``start`` is the column of ``body[0]``."""
    if raw or "\\" not in body:
        return body
    out = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < n else ""
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "x" and re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2:i + 4]):
            m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2:i + 4])
            out.append(chr(int(m.group(), 16)))
            i += 2 + len(m.group())
        elif e in "01234567" and e:
            m = re.match(r"[0-7]{1,3}", body[i + 1:i + 4])
            out.append(chr(int(m.group(), 8) & 0xFF))
            i += 1 + len(m.group())
        else:
            raise FilterError(f"\\{e} is not a valid character escape sequence",
                              start + i, 2)
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises FilterError at the offending column."""
    toks: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        # Slice after a field / function / protocol: [ ... ]
        if c == "[" and toks and (toks[-1].kind == WORD or toks[-1].is_op(")", "]")):
            j = text.find("]", i + 1)
            if j < 0:
                raise FilterError("The right bracket was missing from a slice.", n, 1)
            body = text[i + 1:j]
            if not body.strip():
                raise FilterError('"]" was unexpected in this context.', j, 1)
            lead = len(body) - len(body.lstrip())
            toks.append(Token(SLICE, body.strip(), i + 1 + lead, i + 1 + lead + len(body.strip())))
            i = j + 1
            continue
        if c == '"' or (c in "rR" and text[i + 1:i + 2] == '"'):
            raw = c != '"'
            q = i + 1 if raw else i
            j = q + 1
            while j < n and text[j] != '"':
                j += 2 if (text[j] == "\\" and not raw) else 1
            if j >= n:
                raise FilterError("The final quote was missing from a quoted string.", n, 1)
            body = text[q + 1:j]
            toks.append(Token(STRING, text[i:j + 1], i, j + 1, _unescape(body, q + 1, raw)))
            i = j + 1
            continue
        if c == "'":
            m = re.match(r"'(\\x[0-9A-Fa-f]{1,2}|\\[0-7]{1,3}|\\.|[^\\'])'", text[i:])
            if not m:
                raise FilterError(f'"{c}" was unexpected in this context.', i, 1)
            ch = _unescape(m.group(1), i + 1, False)
            toks.append(Token(CHAR, m.group(), i, i + len(m.group()), ord(ch)))
            i += len(m.group())
            continue
        m = _WORD_RE.match(text, i)
        if m and not text.startswith("..", i):
            w = m.group()
            # "1..3" inside a set: split the range operator out of the word.
            k = w.find("..")
            if k > 0:
                w = w[:k]
            toks.append(Token(WORD, w, i, i + len(w)))
            i += len(w)
            continue
        for op in _OPS:
            if text.startswith(op, i):
                toks.append(Token(OP, op, i, i + len(op)))
                i += len(op)
                break
        else:
            raise FilterError(f'"{c}" was unexpected in this context.', i, 1)
    toks.append(Token(EOF, "", n, n))
    return toks
