"""The decoded-packet model shared by every stage of the pipeline.

source -> decode -> analyse -> present.  A source yields :class:`Record`s; the
decoder turns each into a :class:`Packet` whose protocol layers are trees of
:class:`Field`s; analysis adds fields and notes; presenters only read.

Every field carries its Wireshark display-filter name (``sctp.data_tsn``), its
value, and the byte offset and length *in the frame* so that a UI can
highlight it.  Field names and types are declared in
:mod:`sctpinspect.registry`.

Hot path: these classes use ``__slots__`` and positional constructors because
hundreds of thousands of packets are decoded per run.
"""
from __future__ import annotations

from typing import Any, Iterator

# Expert-note severities, in Wireshark's order (chat < note < warn < error).
CHAT, NOTE, WARN, ERROR = "chat", "note", "warn", "error"
SEVERITY_RANK = {CHAT: 0, NOTE: 1, WARN: 2, ERROR: 3}


class Field:
    """One decoded item: a named value at ``offset``/``length`` in the frame.

    ``name`` is the Wireshark filter name (``sctp.chunk_type``), or a
    protocol/subtree name (``sctp``, ``sctp.chunk``, ``sctp.parameter``).
    ``show`` optionally overrides the text line shown in the detail tree; when
    None the tree uses the registry label and formatted value.
    """

    __slots__ = ("name", "value", "offset", "length", "show", "children")

    def __init__(self, name: str, value: Any, offset: int, length: int,
                 show: str | None = None, children: list | None = None):
        self.name = name
        self.value = value
        self.offset = offset
        self.length = length
        self.show = show
        self.children = children

    def add(self, name: str, value: Any, offset: int, length: int,
            show: str | None = None) -> "Field":
        """Append a child field and return it."""
        f = Field(name, value, offset, length, show)
        if self.children is None:
            self.children = [f]
        else:
            self.children.append(f)
        return f

    def append(self, field: "Field") -> "Field":
        if self.children is None:
            self.children = [field]
        else:
            self.children.append(field)
        return field

    def get(self, name: str, default: Any = None) -> Any:
        """Value of the first *direct* child called ``name``."""
        if self.children:
            for c in self.children:
                if c.name == name:
                    return c.value
        return default

    def find(self, name: str) -> "Field | None":
        """First field called ``name`` in this subtree (depth first)."""
        for f in self.walk():
            if f.name == name:
                return f
        return None

    def all(self, name: str) -> list:
        """Values of every field called ``name`` in this subtree, in tree order."""
        return [f.value for f in self.walk() if f.name == name]

    def walk(self) -> Iterator["Field"]:
        """This field and all its descendants, depth first, in tree order."""
        stack = [self]
        pop = stack.pop
        push = stack.extend
        while stack:
            f = pop()
            yield f
            c = f.children      # one read: it may be a LazyField property
            if c:
                push(c[::-1])

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        n = len(self.children) if self.children else 0
        return f"Field({self.name!r}, {self.value!r}, @{self.offset}+{self.length}, {n} children)"


# The base class's slot descriptors.  Lazy subclasses below override
# ``children``/``show`` with properties and keep the real storage in these slots.
_CHILDREN = Field.children
_SHOW = Field.show
_get_children = _CHILDREN.__get__
_set_children = _CHILDREN.__set__
_get_show = _SHOW.__get__
_set_show = _SHOW.__set__


class LazyField(Field):
    """A Field whose ``children`` (and ``show`` text) are made on first access.

    Why: a frame decodes into ~60 Field objects, but a summary line or a
    ``-T fields`` line with sctp fields reads only a few of them; building the
    frame/eth/ip/udp/sctp-header subtrees only when something reads them makes
    decoding several times cheaper.  To every reader a LazyField is a Field:
    ``children``/``show`` are properties that build once, then read the base
    class slots.

    ``_build`` is None once built, else a tuple ``(show_fn, children_fn,
    *args)``: ``children_fn(field, build)`` fills the raw children slot through
    :data:`_set_children` (it may find the slot already holding a list of
    fields decoded eagerly after its own, e.g. the chunks of the sctp layer,
    and must keep them after the fields it adds).

    Deferred show text: when the raw show slot holds a tuple ``t``, the text is
    ``t[0](field, t)``, made on first read.  A layer passes its build tuple as
    both (so ``show_fn`` is ``build[0]``); a chunk's decode function may set
    ``chunk.show = (fn, values...)`` instead of formatting a string nobody
    reads.  A None ``show_fn`` means the children builder sets the show text.
    """

    __slots__ = ("_build",)

    def __init__(self, name: str, value: Any, offset: int, length: int, build: tuple,
                 children: list | None = None):
        self.name = name
        self.value = value
        self.offset = offset
        self.length = length
        _set_show(self, build if build[0] is not None else None)
        _set_children(self, children)
        self._build = build

    def materialize(self) -> None:
        """Build the children now (no-op when built)."""
        b = self._build
        if b is not None:
            self._build = None
            b[1](self, b)

    @property
    def children(self):
        if self._build is not None:
            self.materialize()
        return _get_children(self)

    @children.setter
    def children(self, value):
        if self._build is not None:
            self.materialize()
        _set_children(self, value)

    @property
    def show(self):
        v = _get_show(self)
        if v is None and self._build is not None:
            self.materialize()
            v = _get_show(self)
        if v.__class__ is tuple:
            v = v[0](self, v)
            _set_show(self, v)
        return v

    @show.setter
    def show(self, value):
        if self._build is not None:
            self.materialize()
        _set_show(self, value)


# Lazy-tree collectors, for readers that want a few named values (``-T fields``)
# without building subtrees: ``LAZY_COLLECTORS[builder]`` (the ``build[1]`` of a
# LazyField) is ``fn(field, build, want) -> (names, values, tail)``, or None when
# it cannot answer for this node (then the reader builds it).  ``names`` and
# ``values`` are the names and values of every field the builder would make, in
# tree order (``values[i]`` is what the built field called ``names[i]`` would
# hold); ``names`` is a tuple the collector reuses for every node of the same
# shape (readers may cache per-shape work by its identity).  ``want``, the
# names asked for, lets a collector leave out costly values nobody asked for.
# ``tail`` is the list of fields the built node keeps after them (or None).
# Decoders register their builders' collectors next to the builders;
# tests/test_lazy_collectors.py checks every collector against the built tree.
LAZY_COLLECTORS: dict = {}


# Names of the fields only the analysis adds (analysis/fields.py fills it): an
# unbuilt chunk holds them in ``Chunk.ann`` or not at all.
GENERATED: set = set()


class Chunk(LazyField):
    """An SCTP chunk: its header, its compact values, and (on demand) its tree.

    ``type``/``flags``/``clen`` are the chunk header; ``offset``/``length`` the
    bytes it covers in the frame (including padding actually present).
    ``row`` is its :data:`~sctpinspect.decode.sctp.chunks.CHUNK_TYPES` entry;
    ``v`` the compact values the row's decode gives (``row.names`` says
    which Wireshark field each position is, None for lists and non-fields;
    a None value means the field is absent), read by summaries, filters and
    the analysis without any tree.  ``ann`` holds what the analysis adds
    (``(where, name, value)``, see :meth:`annotate`), ``rel`` the relative-TSN
    base when tshark's relative TSNs are shown.

    A chunk the decoder vouched for (no expert note) is unbuilt (``_build``
    set): its ``sctp.chunk`` subtree is made from the frame's bytes the first
    time something reads ``children``/``show``, with ``ann`` and ``rel``
    applied.  One object per chunk serves both views.
    """

    __slots__ = ("type", "flags", "clen", "v", "row", "ann", "rel")

    def __init__(self, ctype: int, flags: int, clen: int, offset: int, length: int,
                 show: str | None = None, row=None, v=None):
        self.name = "sctp.chunk"
        self.value = ctype
        self.offset = offset
        self.length = length
        _set_show(self, show)
        _set_children(self, [])
        self._build = None
        self.type = ctype
        self.flags = flags
        self.clen = clen
        self.v = v
        self.row = row
        self.ann = None
        self.rel = None

    def get(self, name: str, default: Any = None) -> Any:
        """Value of the first *direct* child called ``name``: from the compact
        values for the row's fields, from the annotations, else the tree."""
        row = self.row
        if row is not None:
            i = row.index.get(name)
            if i is not None:
                v = self.v
                if v is not None:
                    x = v[i]
                    return default if x is None else x
                if self._build is not None:
                    return default
        ann = self.ann
        if ann is not None:
            for where, n, value in ann:
                if where is None and n == name:
                    return value
        if self._build is not None and name in GENERATED:
            return default          # an analysis field: only ever in ``ann`` on an unbuilt chunk
        for c in self.children or ():
            if c.name == name:
                return c.value
        return default

    def annotate(self, name: str, value: Any, where=None) -> Field | None:
        """Add a generated (analysis) field: under the chunk (``where`` None)
        or under its first child called ``where``.  On an unbuilt chunk the
        field is remembered and made with the tree; returns the Field when
        the tree exists."""
        if self._build is not None:
            if self.ann is None:
                self.ann = [(where, name, value)]
            else:
                self.ann.append((where, name, value))
            return None
        return _attach(self, where, name, value)


def _attach(ch, where, name, value):
    """Append the generated field ``name`` under ``ch`` or its child ``where``
    (a field name, or ``(field name, k)`` for its k-th occurrence); with a
    None ``name``, ``value`` is a generated Field subtree to append (offsets
    of -1 in it become the parent's)."""
    parent = ch
    if where is not None:
        if where.__class__ is tuple:
            wname, k = where
        else:
            wname, k = where, 0
        parent = None
        for f in ch.walk():
            if f.name == wname:
                if k == 0:
                    parent = f
                    break
                k -= 1
        if parent is None:
            parent = ch
    if name is None:
        off = parent.offset
        for f in value.walk():
            if f.offset < 0:
                f.offset = off
        return parent.append(value)
    return parent.add(name, value, parent.offset, 0)


def apply_annotations(ch) -> None:
    """Make the remembered generated fields of a just-built chunk."""
    ann = ch.ann
    if ann:
        for where, name, value in ann:
            _attach(ch, where, name, value)


class Note:
    """An expert note: what is wrong, where, and which rule says so.

    ``offset``/``length`` locate it in the frame; ``rfc`` cites the rule
    (``"RFC 9260 3.2"``); ``key`` is a stable machine id
    (``"sctp.chunk_length.bad"``) that diagnostics and tests match on.
    """

    __slots__ = ("severity", "group", "message", "offset", "length", "rfc", "key")

    def __init__(self, severity: str, group: str, message: str, offset: int = 0,
                 length: int = 0, rfc: str | None = None, key: str | None = None):
        self.severity = severity
        self.group = group
        self.message = message
        self.offset = offset
        self.length = length
        self.rfc = rfc
        self.key = key

    def as_dict(self) -> dict:
        return {"severity": self.severity, "group": self.group, "message": self.message,
                "offset": self.offset, "length": self.length, "rfc": self.rfc, "key": self.key}

    def __repr__(self) -> str:  # pragma: no cover
        return f"Note({self.severity}, {self.key or self.group}: {self.message} @{self.offset})"


class Record:
    """One frame as a source delivers it, before decoding.

    ``number`` is the 1-based record number in the file (or capture order);
    ``ts`` seconds since the epoch as float; ``ts_ns`` the exact integer
    nanoseconds; ``linktype`` the LINKTYPE_* value; ``direction`` is
    "in"/"out"/None (pcapng epb_flags or PACKET_OUTGOING on a live socket).
    """

    __slots__ = ("number", "ts_ns", "data", "wirelen", "linktype", "interface",
                 "comment", "direction", "offset")

    def __init__(self, number: int, ts_ns: int, data: bytes, wirelen: int, linktype: int,
                 interface: int = 0, comment: str | None = None, direction: str | None = None,
                 offset: int = 0):
        self.number = number
        self.ts_ns = ts_ns
        self.data = data
        self.wirelen = wirelen
        self.linktype = linktype
        self.interface = interface
        self.comment = comment
        self.direction = direction
        self.offset = offset  # byte offset of the record in its file, for error messages

    @property
    def ts(self) -> float:
        return self.ts_ns / 1e9


# The decoder installs this: ``build_layers(pkt) -> list of layer Fields`` for a
# packet decoded compactly (its tree is made from the frame's bytes on first use).
LAYER_BUILDER = None


class Packet:
    """A decoded frame: the compact record, and its protocol tree on demand.

    Quick attributes give the SCTP view that summaries, filters and the
    analysis need without any tree; they describe the *outer* SCTP packet
    (``is_sctp`` False when the frame carries none).  ``chunks`` holds the
    :class:`Chunk` records with their compact values.

    ``layers``: top-level protocol trees in order (``frame``, ``eth``/``sll``,
    ``ip``/``ipv6``, optionally ``udp``, ``sctp``; for an ICMP error quoting an
    SCTP packet: ``icmp``/``icmpv6`` whose subtree holds the quoted ``sctp``).
    A frame the decoder vouched for (whole IPv4/IPv6 SCTP packet, every chunk
    clean, so no expert note beyond the checksum's) is decoded compactly and
    its layers are built from its bytes the first time something reads
    ``layers`` or ``sctp``; every other frame gets its layers at once.

    ``checksum_status``: "good", "bad", "zero" (offload / RFC 9653, not an
    error), "adler32" (legacy RFC 2960 checksum that verifies), "unverified"
    (verification off or packet truncated).
    """

    __slots__ = ("record", "_layers", "notes", "ip_version", "src", "dst",
                 "sport", "dport", "vtag", "checksum", "checksum_expected",
                 "checksum_status", "chunks", "_sctp", "sctp_offset", "encap",
                 "icmp", "analysis", "buffers", "first_ns", "assoc_index", "_extra",
                 "_reuse")

    def __init__(self, record: Record):
        self.record = record
        self._layers: list[Field] | None = []
        self.notes: list[Note] = []
        self.ip_version = 0
        self.src: str | None = None
        self.dst: str | None = None
        self.sport = 0
        self.dport = 0
        self.vtag = 0
        self.checksum = 0
        self.checksum_expected: int | None = None
        self.checksum_status: str | None = None
        self.chunks: list[Chunk] = []
        self._sctp: Field | None = None       # the outer sctp layer
        self.sctp_offset = -1
        self.encap: str | None = None        # "udp" for RFC 6951 SCTP over UDP
        self.icmp: Field | None = None       # ICMP layer quoting an SCTP header
        self.analysis: dict | None = None    # filled by sctpinspect.analysis
        # Extra byte sources, as Wireshark has them: {"Reassembled IPv4": bytes}.
        # Fields of a layer decoded from such a buffer carry offsets into it;
        # the layer Field's name is recorded in ``buffers`` under "layer:<name>".
        self.buffers: dict | None = None
        self.first_ns = 0                    # the capture's first timestamp (frame.time_relative)
        self.assoc_index: int | None = None  # set by the analysis (sctp.assoc_index)
        self._extra = None                   # generated sctp-layer fields waiting for the tree
        self._reuse = None                   # chunks a lazy tree build adopts

    # -- the tree, on demand ------------------------------------------------
    @property
    def layers(self) -> list:
        ls = self._layers
        if ls is None:
            ls = self._layers = LAYER_BUILDER(self)
            ex = self._extra
            if ex:
                self._extra = None
                for f, after_vtag in ex:
                    self.add_sctp_field(f, after_vtag)
        return ls

    @layers.setter
    def layers(self, value):
        self._layers = value

    @property
    def sctp(self) -> Field | None:
        """The outer ``sctp`` layer Field (builds the tree of a compact packet)."""
        if self._layers is None:
            self.layers
        return self._sctp

    @sctp.setter
    def sctp(self, layer):
        self._sctp = layer

    @property
    def built(self) -> bool:
        """Whether the layers exist (False for a compact packet never shown)."""
        return self._layers is not None

    def add_sctp_field(self, f: Field, after_vtag: bool = False) -> None:
        """Add a generated field to the outer sctp layer (after the
        verification tag, as tshark places ``sctp.assoc_index``, or last); on
        a compact packet it is made with the tree."""
        if self._layers is None:
            if self._extra is None:
                self._extra = [(f, after_vtag)]
            else:
                self._extra.append((f, after_vtag))
            return
        layer = self._sctp
        if layer is None:
            return
        ch = layer.children
        if ch is None:
            layer.children = [f]
            return
        if after_vtag:
            for i, c in enumerate(ch):
                if c.name == "sctp.verification_tag":
                    ch.insert(i + 1, f)
                    return
        ch.append(f)

    def sctp_fields(self) -> list:
        """The generated sctp-layer fields waiting for the tree (compact packet)."""
        return [f for f, _a in self._extra] if self._extra else []

    # -- convenient views -------------------------------------------------
    @property
    def is_sctp(self) -> bool:
        return self.sctp_offset >= 0

    @property
    def number(self) -> int:
        return self.record.number

    @property
    def ts(self) -> float:
        return self.record.ts_ns / 1e9

    @property
    def data(self) -> bytes:
        return self.record.data

    def note(self, severity: str, group: str, message: str, offset: int = 0,
             length: int = 0, rfc: str | None = None, key: str | None = None) -> Note:
        n = Note(severity, group, message, offset, length, rfc, key)
        self.notes.append(n)
        return n

    def walk(self) -> Iterator[Field]:
        """Every field of every layer, depth first, in tree (= tshark) order."""
        # One generator for the whole frame (not one per layer): walks are hot.
        stack = self.layers[::-1]
        pop = stack.pop
        push = stack.extend
        while stack:
            f = pop()
            yield f
            c = f.children
            if c:
                push(c[::-1])

    def values(self, name: str) -> list:
        """All values of the field ``name`` in the frame, in tree order."""
        return [f.value for f in self.walk() if f.name == name]

    def first(self, name: str, default: Any = None) -> Any:
        for f in self.walk():
            if f.name == name:
                return f.value
        return default

    def layer(self, name: str) -> Field | None:
        for layer in self.layers:
            if layer.name == name:
                return layer
        return None
