"""Field registry: every field name the decoders emit, with its label and type.

Names, types and bases follow Wireshark (``tshark -G fields``) so that
``read -T fields``, ``-V`` and display filters speak the language users know.
Each decoder module declares its fields with :func:`register` (or
:func:`register_table`) at import time; the tests check every registered
``sctp.*`` name against ``tshark -G fields``.

The formatting in :func:`format_tshark` reproduces what tshark 4.0 prints for
``-T fields``: unsigned integers in decimal or ``0x%0Nx`` by base, booleans as
``1``/``0``, bytes as lower-case hex without separators, addresses as text.
"""
from __future__ import annotations

from typing import Any, Mapping

# Field types (Wireshark's FT_* names, so a spec reads like `tshark -G fields`).
FT_NONE = "FT_NONE"
FT_PROTOCOL = "FT_PROTOCOL"
FT_BOOLEAN = "FT_BOOLEAN"
FT_UINT8 = "FT_UINT8"
FT_UINT16 = "FT_UINT16"
FT_UINT24 = "FT_UINT24"
FT_UINT32 = "FT_UINT32"
FT_UINT64 = "FT_UINT64"
FT_INT32 = "FT_INT32"
FT_BYTES = "FT_BYTES"
FT_IPv4 = "FT_IPv4"
FT_IPv6 = "FT_IPv6"
FT_ETHER = "FT_ETHER"
FT_STRING = "FT_STRING"
FT_STRINGZ = "FT_STRINGZ"
FT_FRAMENUM = "FT_FRAMENUM"
FT_RELATIVE_TIME = "FT_RELATIVE_TIME"
FT_ABSOLUTE_TIME = "FT_ABSOLUTE_TIME"
FT_DOUBLE = "FT_DOUBLE"

BASE_NONE = "BASE_NONE"
BASE_DEC = "BASE_DEC"
BASE_HEX = "BASE_HEX"
BASE_DEC_HEX = "BASE_DEC_HEX"
BASE_HEX_DEC = "BASE_HEX_DEC"
BASE_OCT = "BASE_OCT"

_HEX_WIDTH = {FT_UINT8: 2, FT_UINT16: 4, FT_UINT24: 6, FT_UINT32: 8, FT_UINT64: 16}
_INT_TYPES = frozenset(_HEX_WIDTH) | {FT_INT32, FT_FRAMENUM}


class FieldSpec:
    """What a field is: its label, type, display base and value names."""

    __slots__ = ("name", "label", "ftype", "base", "strings", "bitmask", "description")

    def __init__(self, name: str, label: str, ftype: str, base: str = BASE_NONE,
                 strings: Mapping[int, str] | None = None, bitmask: int = 0,
                 description: str = ""):
        self.name = name
        self.label = label
        self.ftype = ftype
        self.base = base
        self.strings = strings
        self.bitmask = bitmask
        self.description = description

    @property
    def is_int(self) -> bool:
        return self.ftype in _INT_TYPES


FIELDS: dict[str, FieldSpec] = {}

# Fields Wireshark marks hidden: they exist for filters and ``-T fields``
# (``sctp.port`` matches either port) but are not lines of the detail tree.
HIDDEN_FIELDS = frozenset({
    "sctp.port", "sctp.initiate_tag", "ip.addr", "ip.host", "ip.src_host", "ip.dst_host",
    "ipv6.addr", "ipv6.host", "udp.port", "eth.addr",
})

# True/false texts of flag bits, as the detail tree shows them
# (``1... .... = Bit: Skip chunk and continue processing of the packet``);
# wording from RFC 9260 3.2 / 3.2.1 / 3.3.1 and Wireshark's labels.
TF_STRINGS: dict[str, tuple[str, str]] = {
    "sctp.chunk_bit_1": ("Skip chunk and continue processing of the packet", "Stop processing of the packet"),
    "sctp.chunk_bit_2": ("Do report", "Do not report"),
    "sctp.parameter_bit_1": ("Skip parameter and continue processing of the chunk", "Stop processing of the chunk"),
    "sctp.parameter_bit_2": ("Do report", "Do not report"),
    "sctp.data_e_bit": ("Last segment", "Not the last segment"),
    "sctp.data_b_bit": ("First segment", "Subsequent segment"),
    "sctp.data_u_bit": ("Unordered delivery", "Ordered delivery"),
    "sctp.data_i_bit": ("Send SACK immediately", "Possibly delay SACK"),
    "sctp.abort_t_bit": ("TCB not destroyed (vtag reflected)", "TCB destroyed (own vtag)"),
    "sctp.shutdown_complete_t_bit": ("No TCB destroyed (vtag reflected)", "TCB destroyed (own vtag)"),
}


def is_hidden(name: str) -> bool:
    return name in HIDDEN_FIELDS


def _bit_pattern(mask: int, width: int, value: bool) -> str:
    """``..1. ....`` for a one-bit mask in a field ``width`` bits wide."""
    chars = []
    for i in range(width - 1, -1, -1):
        bit = 1 << i
        chars.append(("1" if value else "0") if mask & bit else ".")
        if i % 4 == 0 and i:
            chars.append(" ")
    return "".join(chars)


def register(name: str, label: str, ftype: str, base: str = BASE_NONE,
             strings: Mapping[int, str] | None = None, bitmask: int = 0,
             description: str = "") -> FieldSpec:
    """Declare a field. Re-registering the same name replaces it (idempotent imports)."""
    spec = FieldSpec(name, label, ftype, base, strings, bitmask, description)
    FIELDS[name] = spec
    return spec


def register_table(rows) -> None:
    """Declare many fields from rows ``(name, label, ftype[, base[, strings[, bitmask]]])``."""
    for row in rows:
        register(*row)


def load_core_fields() -> None:
    """Register the frame, link, IP, SCTP and analysis fields now (their
    modules declare them on import), for code that looks specs up before
    anything decoded, such as the ``-T fields`` formatters."""
    from .decode import frame  # noqa: F401  (imports link, ip and sctp)
    from .analysis import fields  # noqa: F401


def spec(name: str) -> FieldSpec | None:
    return FIELDS.get(name)


def format_tshark(name: str, value: Any) -> str:
    """Format ``value`` of field ``name`` exactly as ``tshark -T fields`` does."""
    s = FIELDS.get(name)
    if s is not None and s.ftype == FT_NONE:
        return "1"      # tshark (epan/print.c): a text-only field prints its presence
    if value is None:
        return ""
    if s is None:
        return _plain(value)
    ft = s.ftype
    if ft == FT_BOOLEAN:
        return "1" if value else "0"
    if ft in _HEX_WIDTH:
        if s.base in (BASE_HEX, BASE_HEX_DEC):
            return "0x%0*x" % (_HEX_WIDTH[ft], value)
        if s.base == BASE_OCT:
            return "0%o" % value
        return str(value)
    if ft == FT_BYTES:
        return value.hex() if isinstance(value, (bytes, bytearray, memoryview)) else str(value)
    if ft == FT_RELATIVE_TIME:
        return format(value, ".9f")  # exact for Decimal (frame.time_epoch) and float
    if ft == FT_PROTOCOL:
        return ""
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def format_value(name: str, value: Any) -> str:
    """Human text of a value for the detail tree: ``Chunk type: DATA (0)``."""
    s = FIELDS.get(name)
    if value is None:
        return ""
    if s is None:
        return _plain(value)
    ft = s.ftype
    if ft == FT_BOOLEAN:
        tf = TF_STRINGS.get(name)
        if tf is not None:
            return tf[0] if value else tf[1]
        return "True" if value else "False"
    if ft in _HEX_WIDTH or ft == FT_INT32:
        if s.base in (BASE_HEX, BASE_HEX_DEC) and ft in _HEX_WIDTH:
            num = "0x%0*x" % (_HEX_WIDTH[ft], value)
        else:
            num = str(value)
        if s.strings is not None:
            name_ = s.strings.get(value)
            if name_ is not None:
                return f"{name_} ({num})"
            return f"Unknown ({num})"
        return num
    if ft == FT_BYTES:
        b = bytes(value)
        return b[:48].hex() + ("…" if len(b) > 48 else "")
    if ft == FT_RELATIVE_TIME:
        return format(value, ".9f") + " seconds"
    return _plain(value)


def tree_line(field) -> str:
    """The detail-tree text for a :class:`~sctpinspect.model.Field`."""
    if field.show is not None:
        return field.show
    s = FIELDS.get(field.name)
    label = s.label if s is not None else field.name
    if field.value is None or (s is not None and s.ftype in (FT_NONE, FT_PROTOCOL)):
        return label
    text = f"{label}: {format_value(field.name, field.value)}"
    if s is not None and s.ftype == FT_BOOLEAN and s.bitmask and str(s.base).isdigit():
        mask = s.bitmask
        if mask & (mask - 1) == 0:  # one-bit flag: show where it sits
            text = f"{_bit_pattern(mask, int(s.base), bool(field.value))} = {text}"
    return text
