"""M3UA -- SS7 MTP3-User Adaptation Layer (RFC 4666), PPID 3, port 2905.

Layout (RFC 4666 3.1): common header ``version(1) reserved(1) class(1) type(1)
length(4)`` then TLV parameters ``tag(2) length(2) value`` padded to 4 bytes
(3.2; the length excludes padding).  Field names are Wireshark's ``m3ua.*``.

To add a parameter: one entry in :data:`PARAMETERS` (tag -> name, decoder).
"""
from __future__ import annotations

import struct

from sctpinspect.model import (CHAT, ERROR, LAZY_COLLECTORS, NOTE, WARN, Field, LazyField,
                               _set_children, _set_show)
from sctpinspect.registry import (BASE_DEC, BASE_HEX, BASE_NONE, FT_BYTES, FT_NONE,
                                  FT_PROTOCOL, FT_STRING, FT_UINT8, FT_UINT16, FT_UINT24,
                                  FT_UINT32, register_table)

from .base import PayloadDissector, malformed, protocol_note

RFC = "RFC 4666"

# RFC 4666 3.1.2 message classes
MESSAGE_CLASSES = {
    0: "Management messages",
    1: "Transfer messages",
    2: "SS7 signalling network management messages",
    3: "ASP state maintenance messages",
    4: "ASP traffic maintenance messages",
    5: "Reserved for Other SIGTRAN Adaptation Layers (Q.921/Q.931)",
    6: "Reserved for Other SIGTRAN Adaptation Layers (MTP2)",
    7: "Reserved for Other SIGTRAN Adaptation Layers (SUA connectionless)",
    8: "Reserved for Other SIGTRAN Adaptation Layers (SUA connection-oriented)",
    9: "Routing key management messages",
}

# RFC 4666 3.1.3 message types, per class
MESSAGE_TYPES = {
    0: {0: "Error (ERR)", 1: "Notify (NTFY)"},
    1: {1: "Payload data (DATA)"},
    2: {1: "Destination unavailable (DUNA)", 2: "Destination available (DAVA)",
        3: "Destination state audit (DAUD)", 4: "Signalling congestion (SCON)",
        5: "Destination user part unavailable (DUPU)", 6: "Destination restricted (DRST)"},
    3: {1: "ASP up (UP)", 2: "ASP down (DOWN)", 3: "Heartbeat (BEAT)",
        4: "ASP up ack (UP ACK)", 5: "ASP down ack (DOWN ACK)", 6: "Heartbeat ack (BEAT ACK)"},
    4: {1: "ASP active (ACTIVE)", 2: "ASP inactive (INACTIVE)",
        3: "ASP active ack (ACTIVE ACK)", 4: "ASP inactive ack (INACTIVE ACK)"},
    9: {1: "Registration request (REG_REQ)", 2: "Registration response (REG_RSP)",
        3: "Deregistration request (DEREG_REQ)", 4: "Deregistration response (DEREG_RSP)"},
}

SERVICE_INDICATORS = {  # ITU-T Q.704 14.2.1
    0: "Signalling Network Management Message (SNM)",
    1: "Maintenance Regular Message (MTN)", 2: "Maintenance Special Message (MTNS)",
    3: "SCCP", 4: "TUP", 5: "ISUP", 6: "DUP (call and circuit related messages)",
    7: "DUP (facility registration and cancellation message)", 8: "MTP testing user part",
    9: "Broadband ISUP", 10: "Satellite ISUP", 12: "AAL type2 Signaling", 13: "BICC",
    14: "Gateway Control Protocol",
}
NETWORK_INDICATORS = {0: "International network", 1: "Spare (for international use only)",
                      2: "National network", 3: "Reserved for national use"}
TRAFFIC_MODES = {1: "Override", 2: "Loadshare", 3: "Broadcast"}
ERROR_CODES = {  # RFC 4666 3.8.1
    0x01: "Invalid Version", 0x03: "Unsupported Message Class",
    0x04: "Unsupported Message Type", 0x05: "Unsupported Traffic Mode Type",
    0x06: "Unexpected Message", 0x07: "Protocol Error", 0x09: "Invalid Stream Identifier",
    0x0d: "Refused - Management Blocking", 0x0e: "ASP Identifier Required",
    0x0f: "Invalid ASP Identifier", 0x11: "Invalid Parameter Value",
    0x12: "Parameter Field Error", 0x13: "Unexpected Parameter",
    0x14: "Destination Status Unknown", 0x15: "Invalid Network Appearance",
    0x16: "Missing Parameter", 0x19: "Invalid Routing Context",
    0x1a: "No Configured AS for ASP",
}
STATUS_TYPES = {1: "Application server state change (AS_State_Change)", 2: "Other"}
UNAVAILABILITY_CAUSES = {0: "Unknown", 1: "Unequipped remote user",
                         2: "Inaccessible remote user"}

register_table([
    ("m3ua", "MTP 3 User Adaptation Layer", FT_PROTOCOL),
    ("m3ua.version", "Version", FT_UINT8, BASE_DEC, {1: "Release 1"}),
    ("m3ua.reserved", "Reserved", FT_UINT8, BASE_HEX),
    ("m3ua.message_class", "Message class", FT_UINT8, BASE_DEC, MESSAGE_CLASSES),
    ("m3ua.message_type", "Message Type", FT_UINT8, BASE_DEC),
    ("m3ua.message_length", "Message length", FT_UINT32, BASE_DEC),
    ("sctpinspect.m3ua.parameter", "Parameter", FT_NONE),
    ("m3ua.parameter_tag", "Parameter Tag", FT_UINT16, BASE_DEC),
    ("m3ua.parameter_length", "Parameter length", FT_UINT16, BASE_DEC),
    ("m3ua.parameter_value", "Parameter value", FT_BYTES),
    ("m3ua.parameter_padding", "Padding", FT_BYTES),
    ("m3ua.network_appearance", "Network appearance", FT_UINT32, BASE_DEC),
    ("m3ua.info_string", "Info string", FT_STRING),
    ("m3ua.routing_context", "Routing context", FT_UINT32, BASE_DEC),
    ("m3ua.diagnostic_information", "Diagnostic information", FT_BYTES),
    ("m3ua.heartbeat_data", "Heartbeat data", FT_BYTES),
    ("m3ua.error_code", "Error code", FT_UINT32, BASE_DEC, ERROR_CODES),
    ("m3ua.status_type", "Status type", FT_UINT16, BASE_DEC, STATUS_TYPES),
    ("m3ua.status_info", "Status info", FT_UINT16, BASE_DEC),
    ("m3ua.asp_identifier", "ASP identifier", FT_UINT32, BASE_DEC),
    ("m3ua.affected_point_code_mask", "Mask", FT_UINT8, BASE_DEC),
    ("m3ua.affected_point_code_pc", "Affected point code", FT_UINT24, BASE_DEC),
    ("m3ua.unavailability_cause", "Unavailability cause", FT_UINT16, BASE_DEC,
     UNAVAILABILITY_CAUSES),
    ("m3ua.user_identity", "User Identity", FT_UINT16, BASE_DEC, SERVICE_INDICATORS),
    ("m3ua.traffic_mode_type", "Traffic mode Type", FT_UINT32, BASE_DEC, TRAFFIC_MODES),
    ("m3ua.congestion_reserved", "Reserved", FT_BYTES),
    ("m3ua.congestion_level", "Congestion level", FT_UINT8, BASE_DEC),
    ("m3ua.concerned_reserved", "Reserved", FT_BYTES),
    ("m3ua.concerned_dpc", "Concerned DPC", FT_UINT24, BASE_DEC),
    ("m3ua.local_rk_identifier", "Local routing key identifier", FT_UINT32, BASE_DEC),
    ("m3ua.dpc_mask", "Mask", FT_UINT8, BASE_DEC),
    ("m3ua.dpc_pc", "Destination point code", FT_UINT24, BASE_DEC),
    ("m3ua.si", "Service indicator", FT_UINT8, BASE_DEC, SERVICE_INDICATORS),
    ("m3ua.opc_list_mask", "Mask", FT_UINT8, BASE_DEC),
    ("m3ua.opc_list_pc", "Originating point code", FT_UINT24, BASE_DEC),
    ("m3ua.cic_range_mask", "Mask", FT_UINT8, BASE_DEC),
    ("m3ua.cic_range_pc", "Originating point code", FT_UINT24, BASE_DEC),
    ("m3ua.cic_range_lower", "Lower CIC value", FT_UINT16, BASE_DEC),
    ("m3ua.cic_range_upper", "Upper CIC value", FT_UINT16, BASE_DEC),
    ("m3ua.protocol_data_opc", "OPC", FT_UINT32, BASE_DEC),
    ("m3ua.protocol_data_dpc", "DPC", FT_UINT32, BASE_DEC),
    ("m3ua.protocol_data_si", "SI", FT_UINT8, BASE_DEC, SERVICE_INDICATORS),
    ("m3ua.protocol_data_ni", "NI", FT_UINT8, BASE_DEC, NETWORK_INDICATORS),
    ("m3ua.protocol_data_mp", "MP", FT_UINT8, BASE_DEC),
    ("m3ua.protocol_data_sls", "SLS", FT_UINT8, BASE_DEC),
    ("sctpinspect.m3ua.user_data", "User protocol data (MTP3-User message)", FT_BYTES),
    ("m3ua.correlation_identifier", "Correlation Identifier", FT_UINT32, BASE_DEC),
    ("m3ua.registration_status", "Registration status", FT_UINT32, BASE_DEC),
    ("m3ua.deregistration_status", "Deregistration status", FT_UINT32, BASE_DEC),
])

_U32 = struct.Struct("!I")
_HDR = struct.Struct("!BBBBI")
_TLV = struct.Struct("!HH")


# -- value decoders: (tree, data, value_offset, value_length, base, notes) ----------
def _u32_list(name):
    def dec(p, data, off, ln, base, notes):
        if ln == 0 or ln % 4:
            malformed(notes, "sctpinspect.m3ua.parameter_length.bad",
                      f"{name} value is {ln} bytes, expected a multiple of 4",
                      base + off - 4, 4, f"{RFC} 3.2")
        for i in range(off, off + ln - ln % 4, 4):
            p.add(name, _U32.unpack_from(data, i)[0], base + i, 4)
    return dec


def _u32_single(name):
    def dec(p, data, off, ln, base, notes):
        if ln != 4:
            malformed(notes, "sctpinspect.m3ua.parameter_length.bad",
                      f"{name} value is {ln} bytes, expected 4", base + off - 4, 4, f"{RFC} 3.2")
            if ln < 4:
                return
        p.add(name, _U32.unpack_from(data, off)[0], base + off, 4)
    return dec


def _bytes(name):
    def dec(p, data, off, ln, base, notes):
        p.add(name, data[off:off + ln], base + off, ln)
    return dec


def _string(name):
    def dec(p, data, off, ln, base, notes):
        p.add(name, data[off:off + ln].decode("utf-8", "replace"), base + off, ln)
    return dec


def _fixed(spec, rfc_sec, repeat=False):
    """Fixed layouts: spec = [(name, size)] with size 1/2/3/4 (ints) or -N (N raw bytes)."""
    size = sum(abs(s) for _, s in spec)

    def dec(p, data, off, ln, base, notes):
        if ln < size or (not repeat and ln != size) or (repeat and ln % size):
            malformed(notes, "sctpinspect.m3ua.parameter_length.bad",
                      f"{spec[-1][0]} parameter value is {ln} bytes, expected "
                      f"{'a multiple of ' if repeat else ''}{size}",
                      base + off - 4, 4, f"{RFC} {rfc_sec}")
        pos = off
        end = off + ln
        while pos + size <= end:
            for name, s in spec:
                w = abs(s)
                if s < 0:
                    v = data[pos:pos + w]
                else:
                    v = int.from_bytes(data[pos:pos + w], "big")
                p.add(name, v, base + pos, w)
                pos += w
            if not repeat:
                break
    return dec


def _si_list(p, data, off, ln, base, notes):
    for i in range(off, off + ln):
        p.add("m3ua.si", data[i], base + i, 1)


def _protocol_data(p, data, off, ln, base, notes):
    """RFC 4666 3.3.1: OPC(4) DPC(4) SI(1) NI(1) MP(1) SLS(1) user protocol data."""
    if ln < 12:
        malformed(notes, "sctpinspect.m3ua.protocol_data.short",
                  f"Protocol Data is {ln} bytes, shorter than its 12-byte routing label",
                  base + off, ln, f"{RFC} 3.3.1")
        return
    opc, dpc = struct.unpack_from("!II", data, off)
    si, ni, mp, sls = data[off + 8:off + 12]
    p.add("m3ua.protocol_data_opc", opc, base + off, 4)
    p.add("m3ua.protocol_data_dpc", dpc, base + off + 4, 4)
    p.add("m3ua.protocol_data_si", si, base + off + 8, 1)
    p.add("m3ua.protocol_data_ni", ni, base + off + 9, 1)
    p.add("m3ua.protocol_data_mp", mp, base + off + 10, 1)
    p.add("m3ua.protocol_data_sls", sls, base + off + 11, 1)
    if ln > 12:
        p.add("sctpinspect.m3ua.user_data", data[off + 12:off + ln], base + off + 12, ln - 12)
    p.show = f"Protocol data (SS7 message of {ln - 12} bytes)"


def _nested(p, data, off, ln, base, notes, depth=0):
    _parameters(p, data, off, off + ln, base, notes, depth + 1)


# tag -> (name, decoder); RFC 4666 3.2 (common) and 3.2 M3UA-specific tags.
PARAMETERS = {
    0x0004: ("Info string", _string("m3ua.info_string")),
    0x0006: ("Routing context", _u32_list("m3ua.routing_context")),
    0x0007: ("Diagnostic information", _bytes("m3ua.diagnostic_information")),
    0x0009: ("Heartbeat data", _bytes("m3ua.heartbeat_data")),
    0x000b: ("Traffic mode type", _u32_single("m3ua.traffic_mode_type")),
    0x000c: ("Error code", _u32_single("m3ua.error_code")),
    0x000d: ("Status", _fixed([("m3ua.status_type", 2), ("m3ua.status_info", 2)], "3.8.2")),
    0x0011: ("ASP identifier", _u32_single("m3ua.asp_identifier")),
    0x0012: ("Affected point code", _fixed([("m3ua.affected_point_code_mask", 1),
                                            ("m3ua.affected_point_code_pc", 3)], "3.4.1",
                                           repeat=True)),
    0x0013: ("Correlation ID", _u32_single("m3ua.correlation_identifier")),
    0x0200: ("Network appearance", _u32_single("m3ua.network_appearance")),
    0x0204: ("User/Cause", _fixed([("m3ua.unavailability_cause", 2),
                                   ("m3ua.user_identity", 2)], "3.4.5")),
    0x0205: ("Congestion indications", _fixed([("m3ua.congestion_reserved", -3),
                                               ("m3ua.congestion_level", 1)], "3.4.4")),
    0x0206: ("Concerned destination", _fixed([("m3ua.concerned_reserved", -1),
                                              ("m3ua.concerned_dpc", 3)], "3.4.4")),
    0x0207: ("Routing key", _nested),
    0x0208: ("Registration result", _nested),
    0x0209: ("Deregistration result", _nested),
    0x020a: ("Local routing key identifier", _u32_single("m3ua.local_rk_identifier")),
    0x020b: ("Destination point code", _fixed([("m3ua.dpc_mask", 1), ("m3ua.dpc_pc", 3)],
                                              "3.6.1")),
    0x020c: ("Service indicators", _si_list),
    0x020e: ("Originating point code list", _fixed([("m3ua.opc_list_mask", 1),
                                                    ("m3ua.opc_list_pc", 3)], "3.6.1",
                                                   repeat=True)),
    0x020f: ("Circuit range", _fixed([("m3ua.cic_range_mask", 1), ("m3ua.cic_range_pc", 3),
                                      ("m3ua.cic_range_lower", 2),
                                      ("m3ua.cic_range_upper", 2)], "3.6.1", repeat=True)),
    0x0210: ("Protocol data", _protocol_data),
    0x0212: ("Registration status", _u32_single("m3ua.registration_status")),
    0x0213: ("Deregistration status", _u32_single("m3ua.deregistration_status")),
}

MAX_NESTING = 4

# Protocol Data (RFC 4666 3.3.1), the parameter of nearly every M3UA message on
# the wire: when well formed (routing label complete, inside the message) its
# subtree is built on first access (model.LazyField), and -T fields reads its
# values through the collector, so `-e m3ua.protocol_data_opc` makes 2 Fields
# per message instead of 12.  The tree it builds is the eager path's.
_PD = struct.Struct("!HHIIBBBB")
_PD_NAMES = ("m3ua.parameter_tag", "m3ua.parameter_length", "m3ua.protocol_data_opc",
             "m3ua.protocol_data_dpc", "m3ua.protocol_data_si", "m3ua.protocol_data_ni",
             "m3ua.protocol_data_mp", "m3ua.protocol_data_sls")
_PD_SHAPES = {(u, p): _PD_NAMES + (("sctpinspect.m3ua.user_data",) if u else ())
              + (("m3ua.parameter_padding",) if p else ()) for u in (0, 1) for p in (0, 1)}
_PD_TAG_SHOW = "Parameter Tag: Protocol data (528)"


def _build_protocol_data(p, build) -> None:
    _, _, data, pos, plen, pad_end, base = build
    tag, _, opc, dpc, si, ni, mp, sls = _PD.unpack_from(data, pos)
    b = base + pos
    kids = [Field("m3ua.parameter_tag", tag, b, 2, _PD_TAG_SHOW),
            Field("m3ua.parameter_length", plen, b + 2, 2),
            Field("m3ua.protocol_data_opc", opc, b + 4, 4),
            Field("m3ua.protocol_data_dpc", dpc, b + 8, 4),
            Field("m3ua.protocol_data_si", si, b + 12, 1),
            Field("m3ua.protocol_data_ni", ni, b + 13, 1),
            Field("m3ua.protocol_data_mp", mp, b + 14, 1),
            Field("m3ua.protocol_data_sls", sls, b + 15, 1)]
    vend = pos + plen
    if plen > 16:
        kids.append(Field("sctpinspect.m3ua.user_data", data[pos + 16:vend], b + 16, plen - 16))
    if pad_end > vend:
        kids.append(Field("m3ua.parameter_padding", data[vend:pad_end], base + vend,
                          pad_end - vend))
    _set_children(p, kids)


def _collect_protocol_data(p, build, want):
    _, _, data, pos, plen, pad_end, base = build
    vend = pos + plen
    values = list(_PD.unpack_from(data, pos))
    values[1] = plen
    if plen > 16:
        values.append(data[pos + 16:vend])
    if pad_end > vend:
        values.append(data[vend:pad_end])
    return _PD_SHAPES[plen > 16, pad_end > vend], values, None


LAZY_COLLECTORS[_build_protocol_data] = _collect_protocol_data


def _parameters(parent: Field, data: bytes, pos: int, end: int, base: int, notes: list,
                depth: int = 0) -> None:
    while pos < end:
        if end - pos < 4:
            malformed(notes, "sctpinspect.m3ua.parameter.truncated",
                      f"{end - pos} trailing bytes, too short for a parameter header",
                      base + pos, end - pos, f"{RFC} 3.2")
            return
        tag, plen = _TLV.unpack_from(data, pos)
        if tag == 0x0210 and plen >= 16 and pos + plen <= end:
            padded = (plen + 3) & ~3
            pad_end = min(pos + padded, end)
            vend = pos + plen
            p = LazyField("sctpinspect.m3ua.parameter", tag, base + pos, pad_end - pos,
                          (None, _build_protocol_data, data, pos, plen, pad_end, base))
            _set_show(p, f"Protocol data (SS7 message of {plen - 16} bytes)")
            parent.append(p)
            if pad_end > vend:
                if any(data[vend:pad_end]):
                    protocol_note(notes, "sctpinspect.m3ua.padding_nonzero",
                                  "parameter padding is not zero", base + vend, pad_end - vend,
                                  f"{RFC} 3.2", severity=NOTE)
            elif pos + padded > end and vend == end and padded != plen:
                protocol_note(notes, "sctpinspect.m3ua.padding_missing",
                              "last parameter is not padded to a multiple of 4 bytes",
                              base + vend, 0, f"{RFC} 3.2", severity=NOTE)
            pos += padded
            continue
        entry = PARAMETERS.get(tag)
        pname = entry[0] if entry else "Unknown parameter"
        padded = (plen + 3) & ~3
        avail = min(padded, end - pos) if plen >= 4 else 4
        p = parent.append(Field("sctpinspect.m3ua.parameter", tag, base + pos, avail,
                                show=f"{pname} (tag {tag})", children=[]))
        p.add("m3ua.parameter_tag", tag, base + pos, 2,
              show=f"Parameter Tag: {pname} ({tag})")
        p.add("m3ua.parameter_length", plen, base + pos + 2, 2)
        if plen < 4:
            malformed(notes, "sctpinspect.m3ua.parameter_length.bad",
                      f"parameter length {plen} is less than its 4-byte header",
                      base + pos + 2, 2, f"{RFC} 3.2")
            return
        vlen = plen - 4
        voff = pos + 4
        if pos + plen > end:
            malformed(notes, "sctpinspect.m3ua.parameter_length.bad",
                      f"parameter length {plen} runs past the end of the message "
                      f"({end - pos} bytes left)", base + pos + 2, 2, f"{RFC} 3.2")
            vlen = end - voff
        if entry is None:
            p.add("m3ua.parameter_value", data[voff:voff + vlen], base + voff, vlen)
            p.show = f"Unknown parameter (tag {tag} and {vlen} bytes value)"
        elif entry[1] is _nested:
            if depth < MAX_NESTING:
                _nested(p, data, voff, vlen, base, notes, depth)
            else:
                malformed(notes, "sctpinspect.m3ua.nesting",
                          "parameters nested too deeply", base + pos, plen, f"{RFC} 3.6")
        else:
            entry[1](p, data, voff, vlen, base, notes)
        pad_end = min(pos + padded, end)
        vend = voff + vlen
        if pad_end > vend:
            pad = data[vend:pad_end]
            p.add("m3ua.parameter_padding", pad, base + vend, len(pad))
            if any(pad):
                protocol_note(notes, "sctpinspect.m3ua.padding_nonzero",
                              "parameter padding is not zero", base + vend, len(pad),
                              f"{RFC} 3.2", severity=NOTE)
        elif pos + padded > end and vend == end and padded != plen:
            protocol_note(notes, "sctpinspect.m3ua.padding_missing",
                          "last parameter is not padded to a multiple of 4 bytes",
                          base + vend, 0, f"{RFC} 3.2", severity=NOTE)
        pos += padded


class M3UADissector(PayloadDissector):
    name = "m3ua"
    protocol = "m3ua"
    description = "MTP3 User Adaptation Layer (RFC 4666)"
    ppids = (3,)
    ports = (2905,)

    def dissect(self, data, base, ctx):
        notes: list = []
        n = len(data)
        tree = Field("m3ua", None, base, n, show="MTP 3 User Adaptation Layer", children=[])
        if n < 8:
            malformed(notes, "sctpinspect.m3ua.header.truncated",
                      f"message is {n} bytes, shorter than the 8-byte common header",
                      base, n, f"{RFC} 3.1")
            return tree, notes
        version, reserved, mclass, mtype, mlen = _HDR.unpack_from(data, 0)
        tree.add("m3ua.version", version, base, 1)
        if version != 1:
            protocol_note(notes, "sctpinspect.m3ua.version.unknown",
                          f"version {version}, RFC 4666 defines release 1", base, 1,
                          f"{RFC} 3.1.1")
        tree.add("m3ua.reserved", reserved, base + 1, 1)
        tree.add("m3ua.message_class", mclass, base + 2, 1)
        tname = MESSAGE_TYPES.get(mclass, {}).get(mtype, "Unknown")
        tree.add("m3ua.message_type", mtype, base + 3, 1, show=f"Message Type: {tname} ({mtype})")
        tree.add("m3ua.message_length", mlen, base + 4, 4)
        cname = MESSAGE_CLASSES.get(mclass)
        tree.show = f"MTP 3 User Adaptation Layer: {tname}" if tname != "Unknown" else tree.show
        if cname is None or tname == "Unknown":
            protocol_note(notes, "sctpinspect.m3ua.message_type.unknown",
                          f"unknown message class/type {mclass}/{mtype}", base + 2, 2,
                          f"{RFC} 3.1.2")
        end = n
        if mlen != n:
            malformed(notes, "sctpinspect.m3ua.message_length.bad",
                      f"message length {mlen} but the user message is {n} bytes",
                      base + 4, 4, f"{RFC} 3.1.4", severity=WARN)
            if 8 <= mlen < n:
                end = mlen
        _parameters(tree, data, 8, end, base, notes)
        return tree, notes
