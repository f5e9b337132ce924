"""Payload dissectors: decode the user messages that SCTP carries.

API (see docs/dissectors.md)::

    from dissectors import dissect_payload, registry, parse_decode_as
    tree = dissect_payload(payload, base, ppid, sport, dport, decode_as=None, notes=pkt.notes)

Built-in: M3UA (RFC 4666), Diameter (RFC 6733), WebRTC DCEP (RFC 8832) and the
WebRTC string/binary PPIDs (RFC 8831).  Everything else can be handed to
tshark (through pyshark) with :mod:`dissectors.tshark_bridge`.
"""
from .base import Context, PayloadDissector
from .registry import (GROUP, DissectorRegistry, dissect_payload, find, parse_decode_as,
                       parse_decode_as_list, registry, run_dissector)

__all__ = ["Context", "PayloadDissector", "GROUP", "DissectorRegistry", "dissect_payload",
           "find", "parse_decode_as", "parse_decode_as_list", "registry", "run_dissector"]
