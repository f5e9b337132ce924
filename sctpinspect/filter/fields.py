"""Which names a filter may use, and their types.

The decoders declare their fields in :data:`sctpinspect.registry.FIELDS` when
their modules are imported; this module imports them (best effort, so the
filter works while parts of the decoder are still missing) and adds the
fields Wireshark users expect that are synthesised here or by analysis:
protocol names, ``ip.addr``-style "either direction" fields, analysis fields.
"""
from __future__ import annotations

import importlib
import pkgutil

from .. import registry as R
from ..registry import FieldSpec

# Protocol names usable as presence tests (and as byte sequences: sctp[0:2]).
PROTOCOLS = {
    "frame": "Frame", "eth": "Ethernet II", "sll": "Linux cooked capture v1",
    "sll2": "Linux cooked capture v2", "null": "Null/Loopback", "vlan": "802.1Q Virtual LAN",
    "ip": "Internet Protocol Version 4", "ipv6": "Internet Protocol Version 6",
    "udp": "User Datagram Protocol", "icmp": "Internet Control Message Protocol",
    "icmpv6": "Internet Control Message Protocol v6",
    "sctp": "Stream Control Transmission Protocol", "data": "Data",
}

# Fields the filter knows even if no decoder registered them (yet).  A decoder
# registration of the same name wins.
BUILTIN = [
    ("frame.number", "Frame Number", R.FT_UINT32, R.BASE_DEC),
    ("frame.len", "Frame length on the wire", R.FT_UINT32, R.BASE_DEC),
    ("frame.cap_len", "Frame length stored into the capture file", R.FT_UINT32, R.BASE_DEC),
    ("frame.time_relative", "Time since reference or first frame", R.FT_RELATIVE_TIME),
    ("frame.time_delta", "Time delta from previous captured frame", R.FT_RELATIVE_TIME),
    ("frame.time_epoch", "Epoch Time", R.FT_DOUBLE),
    ("ip.src", "Source Address", R.FT_IPv4),
    ("ip.dst", "Destination Address", R.FT_IPv4),
    ("ip.addr", "Source or Destination Address", R.FT_IPv4),
    ("ipv6.src", "Source Address", R.FT_IPv6),
    ("ipv6.dst", "Destination Address", R.FT_IPv6),
    ("ipv6.addr", "Source or Destination Address", R.FT_IPv6),
    ("udp.srcport", "Source Port", R.FT_UINT16, R.BASE_DEC),
    ("udp.dstport", "Destination Port", R.FT_UINT16, R.BASE_DEC),
    ("udp.port", "Source or Destination Port", R.FT_UINT16, R.BASE_DEC),
    ("sctp.srcport", "Source port", R.FT_UINT16, R.BASE_DEC),
    ("sctp.dstport", "Destination port", R.FT_UINT16, R.BASE_DEC),
    ("sctp.port", "Port", R.FT_UINT16, R.BASE_DEC),
    ("sctp.assoc_index", "Association index", R.FT_UINT16, R.BASE_DEC),
    ("sctp.retransmission", "This TSN is a retransmission of one in frame", R.FT_FRAMENUM),
    ("sctpinspect.rule", "Diagnostic rule", R.FT_STRING),
]

# "Either direction" fields: when the decoder does not emit them, their values
# are those of the listed fields (Wireshark adds them as hidden fields).
ALIASES = {
    "ip.addr": ("ip.src", "ip.dst"),
    "ipv6.addr": ("ipv6.src", "ipv6.dst"),
    "udp.port": ("udp.srcport", "udp.dstport"),
    "sctp.port": ("sctp.srcport", "sctp.dstport"),
    "tcp.port": ("tcp.srcport", "tcp.dstport"),
}

_builtin_specs = {row[0]: FieldSpec(*row) for row in BUILTIN}
_loaded = False


def load_decoders() -> None:
    """Import every decoder module so that their fields are registered."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    try:
        pkg = importlib.import_module("sctpinspect.decode")
    except Exception:  # pragma: no cover - decoder broken: builtin fields only
        return
    for info in pkgutil.walk_packages(pkg.__path__, "sctpinspect.decode."):
        try:
            importlib.import_module(info.name)
        except Exception:  # a module being written by someone else: skip it
            continue
    for extra in ("sctpinspect.analysis", "sctpinspect.dissectors"):
        try:
            mod = importlib.import_module(extra)
        except Exception:
            continue
        for info in pkgutil.walk_packages(getattr(mod, "__path__", []), extra + "."):
            try:
                importlib.import_module(info.name)
            except Exception:
                continue


def lookup(name: str) -> FieldSpec | None:
    """The spec of field or protocol ``name``, or None if the filter cannot use it."""
    s = R.FIELDS.get(name)
    if s is not None:
        return s
    s = _builtin_specs.get(name)
    if s is not None:
        return s
    if name in PROTOCOLS:
        s = FieldSpec(name, PROTOCOLS[name], R.FT_PROTOCOL)
        _builtin_specs[name] = s
        return s
    return None


# Wireshark's names for field types, used in error messages.
TYPE_NAMES = {
    R.FT_NONE: "Label", R.FT_PROTOCOL: "Protocol", R.FT_BOOLEAN: "Boolean",
    R.FT_UINT8: "Unsigned integer (1 byte)", R.FT_UINT16: "Unsigned integer (2 bytes)",
    R.FT_UINT24: "Unsigned integer (3 bytes)", R.FT_UINT32: "Unsigned integer (4 bytes)",
    R.FT_UINT64: "Unsigned integer (8 bytes)", R.FT_INT32: "Signed integer (4 bytes)",
    R.FT_BYTES: "Byte sequence", R.FT_IPv4: "IPv4 address", R.FT_IPv6: "IPv6 address",
    R.FT_ETHER: "Ethernet or other MAC address", R.FT_STRING: "Character string",
    R.FT_STRINGZ: "Character string", R.FT_FRAMENUM: "Frame number",
    R.FT_RELATIVE_TIME: "Time offset", R.FT_ABSOLUTE_TIME: "Date and time",
    R.FT_DOUBLE: "Floating point (double-precision)",
}


def type_name(ftype: str) -> str:
    return TYPE_NAMES.get(ftype, ftype)
