"""Test helpers for the payload dissectors: payload bytes from captures (scapy)
and tshark's decode of the same frames (PDML), to compare field by field.

Until the project's own SCTP decoder is used here, DATA payloads are
extracted with scapy (independent of the code under test).
"""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from sctpinspect.registry import FIELDS, FT_ABSOLUTE_TIME, FT_BYTES, format_tshark


def complete_data_chunks(path):
    """Yield (frame_number, ppid, sport, dport, payload, base) for every DATA chunk
    carrying a whole user message (B and E bits set)."""
    from scapy.all import SCTP, SCTPChunkData, PcapNgReader, PcapReader, conf  # noqa: F401
    conf.verb = 0
    reader = PcapNgReader if str(path).endswith(".pcapng") else PcapReader
    try:
        r = reader(str(path))
    except Exception:
        r = (PcapNgReader if reader is PcapReader else PcapReader)(str(path))
    with r:
        for num, pkt in enumerate(r, 1):
            frame = bytes(pkt)
            if not pkt.haslayer(SCTP):
                continue
            sctp = pkt[SCTP]
            layer = sctp.payload
            while layer is not None and layer.__class__.__name__ != "NoPayload":
                if isinstance(layer, SCTPChunkData) and layer.beginning and layer.ending:
                    chunk_off = len(frame) - len(bytes(layer))
                    dlen = layer.len - 16
                    base = chunk_off + 16
                    payload = frame[base:base + dlen]
                    if len(payload) == dlen and dlen > 0:
                        yield num, layer.proto_id, sctp.sport, sctp.dport, payload, base
                layer = layer.payload


def tshark_fields(tshark, path, names, protos, extra=()):
    """{frame: [(name, pos, size, show)]} from tshark PDML, fields called one of
    ``names`` found inside a top-level proto in ``protos``, in tree order."""
    cmd = [tshark, "-n", "-r", str(path), "-T", "pdml", "-o", "sctp.relative_tsns:FALSE", *extra]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    root = ET.fromstring(out)
    result = {}
    for packet in root.iter("packet"):
        num = None
        rows = []
        for proto in packet.findall("proto"):
            pname = proto.get("name")
            if pname == "geninfo":
                for f in proto.iter("field"):
                    if f.get("name") == "num":
                        num = int(f.get("show"))
            if pname not in protos:
                continue
            for f in proto.iter("field"):
                n = f.get("name")
                if n in names:
                    rows.append((n, int(f.get("pos")), int(f.get("size")), f.get("show")))
        result[num] = rows
    return result


def normalise_show(name, show):
    s = FIELDS[name]
    if s.ftype == FT_BYTES:
        return show.replace(":", "")
    if s.ftype == FT_ABSOLUTE_TIME:
        return None  # date text: compare position only
    return show


def our_rows(tree, names):
    rows = []
    for f in tree.walk():
        if f.name in names:
            s = FIELDS[f.name]
            v = None if s.ftype == FT_ABSOLUTE_TIME else format_tshark(f.name, f.value)
            rows.append((f.name, f.offset, f.length, v))
    return rows
