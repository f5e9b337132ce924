"""``read -T json``: one JSON object per packet (JSON Lines).

Each object carries the SCTP view (number, time, addresses, ports, vtag,
checksum status, chunks with their fields, expert notes) and ``layers``: the
full decode tree, each node ``{"name", "value", "offset", "length"}`` plus
``"show"`` (the tree text) and ``"children"`` when present, so a tool can map
every value back to its bytes.

Values: integers stay integers, bytes become lower-case hex strings,
addresses are strings.  Field names are Wireshark's display-filter names.
"""
from __future__ import annotations

import json

from ..registry import tree_line


def _value(v):
    if v is None or v.__class__ in (int, str, bool, float):
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (int, float, str)):        # int/str subclasses (IntEnum, ...)
        return v
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    return str(v)


def field_dict(f) -> dict:
    d = {"name": f.name, "value": _value(f.value), "offset": f.offset, "length": f.length,
         "show": tree_line(f)}
    if f.children:
        d["children"] = [field_dict(c) for c in f.children]
    return d


def _chunk_fields(chunk) -> dict:
    """Every valued field under the chunk, by name; a repeated name gives a list."""
    acc: dict = {}
    for f in chunk.walk():
        if f is chunk or f.value is None:
            continue
        acc.setdefault(f.name, []).append(_value(f.value))
    return {k: (v[0] if len(v) == 1 else v) for k, v in acc.items()}


def packet_dict(pkt, chunk_summary=None, time_text: str | None = None) -> dict:
    rec = pkt.record
    d = {
        "number": rec.number,
        "time": "%d.%09d" % divmod(rec.ts_ns, 1_000_000_000),
        "src": pkt.src, "dst": pkt.dst, "sport": pkt.sport, "dport": pkt.dport,
        "vtag": pkt.vtag, "checksum": pkt.checksum,
        "checksum_status": pkt.checksum_status,
        "checksum_expected": pkt.checksum_expected,
    }
    if time_text is not None:
        d["time_shown"] = time_text
    if pkt.encap:
        d["encap"] = pkt.encap
    chunks = []
    for c in pkt.chunks:
        cd = {"type": c.type, "flags": c.flags, "length": c.clen, "offset": c.offset,
              "bytes": c.length}
        if chunk_summary is not None:
            cd["summary"] = chunk_summary(c)
        cd["fields"] = _chunk_fields(c)
        chunks.append(cd)
    d["chunks"] = chunks
    d["notes"] = [n.as_dict() for n in pkt.notes]
    if pkt.analysis:
        d["analysis"] = {k: _value(v) for k, v in pkt.analysis.items()}
    d["layers"] = [field_dict(layer) for layer in pkt.layers]
    return d


def packet_json(pkt, chunk_summary=None, time_text: str | None = None) -> str:
    return json.dumps(packet_dict(pkt, chunk_summary, time_text), separators=(",", ":"),
                      ensure_ascii=False, default=str)
