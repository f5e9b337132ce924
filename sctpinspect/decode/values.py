"""Field values read from a compact record, without building its tree.

One reader for every presenter that asks for fields by their Wireshark name
(``-T fields`` in output/fields.py, display filters in filter/compiler.py):
the values come from the layers' own collectors (the frame layer's
``frame_values``, the common header's ``header_values``, each chunk's row
``collect`` in decode/sctp/chunks.py), so they are exactly what the built tree
would hold (tests/test_compact.py compares both on every capture).
"""
from __future__ import annotations

from .frame import frame_values
from .sctp.chunks import _collect_chunk
from .sctp.packet import HEADER_NAMES, header_values

# protocols whose fields a compact record holds (link and IP layers are not kept)
COMPACT_PROTOCOLS = ("frame", "sctp", "sctpinspect")


_MAX_PLANS = 4096     # cached plans per names tuple; names built per chunk would grow it

class CompactValues:
    """``collect(pkt) -> {name: [values in tree order]}`` for the names asked for.

    ``ok`` is False when a name belongs to another protocol (eth, ip, a payload
    dissector): the caller then reads the tree.  ``usable(pkt)`` says whether a
    packet can be read this way (decoded compactly, no analysis fields added to
    its header).
    """

    __slots__ = ("index", "ok", "want_frame", "_plans")

    def __init__(self, names):
        self.index = {n: True for n in names}
        self.ok = all(n.split(".", 1)[0] in COMPACT_PROTOCOLS for n in names)
        self.want_frame = any(n == "frame" or n.startswith("frame.") for n in names)
        self._plans: dict = {}     # id(names tuple) -> (names, ((i, name) asked for...))

    @staticmethod
    def usable(pkt) -> bool:
        return pkt._layers is None and pkt._extra is None

    def _plan(self, names: tuple) -> tuple:
        # kept per names object (collectors reuse one per node shape); holding
        # ``names`` keeps its id from being reused
        index = self.index
        plan = (names, tuple((i, n) for i, n in enumerate(names) if n in index))
        plans = self._plans
        if len(plans) >= _MAX_PLANS:   # names made per chunk (gap blocks...): bounded
            plans.clear()
        plans[id(names)] = plan
        return plan

    def collect(self, pkt) -> dict:
        index = self.index
        found: dict = {}
        get = found.get
        plans = self._plans

        def put(names, values):
            plan = plans.get(id(names))
            if plan is None or plan[0] is not names:
                plan = self._plan(names)
            for i, name in plan[1]:
                vals = get(name)
                if vals is None:
                    found[name] = [values[i]]
                else:
                    vals.append(values[i])

        if self.want_frame:
            if "frame" in index:
                found["frame"] = [None]
            put(*frame_values(pkt.record, pkt.first_ns, index))
        if "sctp" in index:
            found["sctp"] = [None]
        put(HEADER_NAMES, header_values(pkt.sport, pkt.dport, pkt.vtag, pkt.checksum,
                                        pkt.checksum_status))
        for ch in pkt.chunks:
            if "sctp.chunk" in index:
                vals = get("sctp.chunk")
                if vals is None:
                    found["sctp.chunk"] = [ch.type]
                else:
                    vals.append(ch.type)
            r = _collect_chunk(ch, ch._build, index) if ch._build is not None else None
            if r is None:                     # a chunk whose row has no collector: its tree
                for f in ch.children:
                    for g in f.walk():
                        if g.name in index:
                            vals = get(g.name)
                            if vals is None:
                                found[g.name] = [g.value]
                            else:
                                vals.append(g.value)
                continue
            put(r[0], r[1])
        return found
