"""Diameter (RFC 6733), PPID 46 (and 47 = Diameter over DTLS/SCTP), port 3868.

Header (RFC 6733 3): version(1) length(3) flags(1: R P E T r r r r)
command code(3) application id(4) hop-by-hop(4) end-to-end(4), then AVPs
(4.1): code(4) flags(1: V M P r r r r r) length(3) [vendor id(4)] data, padded
to 4 bytes (the length excludes padding).  Field names are Wireshark's
(``diameter.cmd.code``, ``diameter.avp.code``, ``diameter.<AVP-Name>``).

To add an AVP: one row in :data:`AVPS` ``(code, vendor, name, type)``; the
type is one of the RFC 6733 4.2/4.3 data formats in :data:`AVP_TYPES`.
"""
from __future__ import annotations

import functools
import ipaddress
import struct

from sctpinspect.model import ERROR, LAZY_COLLECTORS, NOTE, WARN, Field, LazyField, _set_children
from sctpinspect.registry import (BASE_DEC, BASE_HEX, FT_ABSOLUTE_TIME, FT_BOOLEAN, FT_BYTES,
                                  FT_INT32, FT_IPv4, FT_IPv6, FT_NONE, FT_PROTOCOL, FT_STRING,
                                  FT_UINT8, FT_UINT16, FT_UINT24, FT_UINT32, FT_UINT64,
                                  register, register_table)

from .base import PayloadDissector, malformed, protocol_note

RFC = "RFC 6733"
FT_INT64 = "FT_INT64"
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (Time, RFC 6733 4.3.1) to 1970

VENDORS = {0: "None", 10415: "3GPP", 5535: "3GPP2", 13019: "ETSI", 193: "Ericsson",
           2011: "Huawei", 8164: "Starent", 5771: "Cisco"}

COMMANDS = {  # RFC 6733 3.1 + RFC 4006, 7155, 4072 and 3GPP TS 29.272/29.229/29.329
    257: "Capabilities-Exchange", 258: "Re-Auth", 265: "AA", 268: "Diameter-EAP",
    271: "Accounting", 272: "Credit-Control", 274: "Abort-Session",
    275: "Session-Termination", 280: "Device-Watchdog", 282: "Disconnect-Peer",
    300: "User-Authorization", 301: "Server-Assignment", 302: "Location-Info",
    303: "Multimedia-Auth", 304: "Registration-Termination", 305: "Push-Profile",
    306: "User-Data", 307: "Profile-Update", 308: "Subscribe-Notifications",
    309: "Push-Notification", 316: "Update-Location", 317: "Cancel-Location",
    318: "Authentication-Information", 319: "Insert-Subscriber-Data",
    320: "Delete-Subscriber-Data", 321: "Purge-UE", 322: "Reset", 323: "Notify",
    324: "ME-Identity-Check",
}
APPLICATIONS = {
    0: "Diameter Common Messages", 1: "NASREQ", 2: "Mobile-IPv4", 3: "Diameter Base Accounting",
    4: "Diameter Credit Control Application", 5: "Diameter EAP",
    16777216: "3GPP Cx", 16777217: "3GPP Sh", 16777236: "3GPP Rx", 16777238: "3GPP Gx",
    16777251: "3GPP S6a/S6d", 16777252: "3GPP S13/S13'", 16777255: "3GPP SLg",
    16777272: "3GPP S6b", 4294967295: "Relay",
}

# RFC 6733 4.2/4.3 data format -> (Wireshark field type, base)
AVP_TYPES = {
    "OctetString": (FT_BYTES, None), "Integer32": (FT_INT32, BASE_DEC),
    "Integer64": (FT_INT64, BASE_DEC), "Unsigned32": (FT_UINT32, BASE_DEC),
    "Unsigned64": (FT_UINT64, BASE_DEC), "Float32": (FT_BYTES, None),
    "Float64": (FT_BYTES, None), "Grouped": (FT_BYTES, None), "Address": (FT_BYTES, None),
    "Time": (FT_ABSOLUTE_TIME, None), "UTF8String": (FT_STRING, None),
    "DiameterIdentity": (FT_STRING, None), "DiameterURI": (FT_STRING, None),
    "Enumerated": (FT_INT32, BASE_DEC), "IPFilterRule": (FT_STRING, None),
}
_FIXED_SIZE = {"Integer32": 4, "Integer64": 8, "Unsigned32": 4, "Unsigned64": 8,
               "Enumerated": 4, "Time": 4, "Float32": 4, "Float64": 8}

# (code, vendor, name, type).  Types follow Wireshark's dictionary where it
# differs from the RFC (it declares Result-Code etc. as enumerations).
AVPS = [
    (1, 0, "User-Name", "UTF8String"), (8, 0, "Framed-IP-Address", "OctetString"),
    (25, 0, "Class", "OctetString"), (27, 0, "Session-Timeout", "Unsigned32"),
    (30, 0, "Called-Station-Id", "UTF8String"), (33, 0, "Proxy-State", "OctetString"),
    (55, 0, "Event-Timestamp", "Time"), (85, 0, "Acct-Interim-Interval", "Unsigned32"),
    (257, 0, "Host-IP-Address", "Address"), (258, 0, "Auth-Application-Id", "Unsigned32"),
    (259, 0, "Acct-Application-Id", "Unsigned32"),
    (260, 0, "Vendor-Specific-Application-Id", "Grouped"),
    (261, 0, "Redirect-Host-Usage", "Enumerated"),
    (262, 0, "Redirect-Max-Cache-Time", "Unsigned32"), (263, 0, "Session-Id", "UTF8String"),
    (264, 0, "Origin-Host", "DiameterIdentity"), (265, 0, "Supported-Vendor-Id", "Unsigned32"),
    (266, 0, "Vendor-Id", "Unsigned32"), (267, 0, "Firmware-Revision", "Unsigned32"),
    (268, 0, "Result-Code", "Enumerated"), (269, 0, "Product-Name", "UTF8String"),
    (270, 0, "Session-Binding", "Enumerated"), (271, 0, "Session-Server-Failover", "Enumerated"),
    (272, 0, "Multi-Round-Time-Out", "Unsigned32"), (273, 0, "Disconnect-Cause", "Enumerated"),
    (274, 0, "Auth-Request-Type", "Enumerated"), (276, 0, "Auth-Grace-Period", "Unsigned32"),
    (277, 0, "Auth-Session-State", "Enumerated"), (278, 0, "Origin-State-Id", "Unsigned32"),
    (279, 0, "Failed-AVP", "Grouped"), (280, 0, "Proxy-Host", "DiameterIdentity"),
    (281, 0, "Error-Message", "UTF8String"), (282, 0, "Route-Record", "DiameterIdentity"),
    (283, 0, "Destination-Realm", "DiameterIdentity"), (284, 0, "Proxy-Info", "Grouped"),
    (285, 0, "Re-Auth-Request-Type", "Enumerated"),
    (287, 0, "Accounting-Sub-Session-Id", "Unsigned64"),
    (291, 0, "Authorization-Lifetime", "Integer32"), (292, 0, "Redirect-Host", "DiameterURI"),
    (293, 0, "Destination-Host", "DiameterIdentity"),
    (294, 0, "Error-Reporting-Host", "DiameterIdentity"),
    (295, 0, "Termination-Cause", "Enumerated"), (296, 0, "Origin-Realm", "DiameterIdentity"),
    (297, 0, "Experimental-Result", "Grouped"),
    (298, 0, "Experimental-Result-Code", "Enumerated"),
    (299, 0, "Inband-Security-Id", "Enumerated"), (415, 0, "CC-Request-Number", "Unsigned32"),
    (416, 0, "CC-Request-Type", "Enumerated"), (421, 0, "CC-Total-Octets", "Unsigned64"),
    (431, 0, "Granted-Service-Unit", "Grouped"), (432, 0, "Rating-Group", "Unsigned32"),
    (443, 0, "Subscription-Id", "Grouped"), (444, 0, "Subscription-Id-Data", "UTF8String"),
    (446, 0, "Used-Service-Unit", "Grouped"), (448, 0, "Validity-Time", "Unsigned32"),
    (450, 0, "Subscription-Id-Type", "Enumerated"),
    (456, 0, "Multiple-Services-Credit-Control", "Grouped"),
    (461, 0, "Service-Context-Id", "UTF8String"),
    (480, 0, "Accounting-Record-Type", "Enumerated"),
    (483, 0, "Accounting-Realtime-Required", "Enumerated"),
    (485, 0, "Accounting-Record-Number", "Unsigned32"),
    (493, 0, "Service-Selection", "UTF8String"),
    # 3GPP (vendor 10415): TS 29.212 (Gx), 29.214 (Rx), 29.229 (Cx), 29.272 (S6a)
    (515, 10415, "Max-Requested-Bandwidth-DL", "Unsigned32"),
    (516, 10415, "Max-Requested-Bandwidth-UL", "Unsigned32"),
    (628, 10415, "Supported-Features", "Grouped"), (629, 10415, "Feature-List-ID", "Unsigned32"),
    (1000, 10415, "Bearer-Usage", "Enumerated"),
    (1001, 10415, "Charging-Rule-Install", "Grouped"),
    (1006, 10415, "Event-Trigger", "Enumerated"), (1016, 10415, "QoS-Information", "Grouped"),
    (1027, 10415, "IP-CAN-Type", "Enumerated"),
    (1028, 10415, "QoS-Class-Identifier", "Enumerated"),
    (1032, 10415, "RAT-Type", "Enumerated"),
    (1049, 10415, "Default-EPS-Bearer-QoS", "Grouped"),
    (1400, 10415, "Subscription-Data", "Grouped"),
    (1408, 10415, "Requested-EUTRAN-Authentication-Info", "Grouped"),
    (1410, 10415, "Number-Of-Requested-Vectors", "Unsigned32"),
    (1412, 10415, "Immediate-Response-Preferred", "Unsigned32"),
    (1413, 10415, "Authentication-Info", "Grouped"), (1414, 10415, "E-UTRAN-Vector", "Grouped"),
    (1417, 10415, "Network-Access-Mode", "Enumerated"),
    (1423, 10415, "Context-Identifier", "Unsigned32"),
    (1424, 10415, "Subscriber-Status", "Enumerated"),
    (1426, 10415, "Access-Restriction-Data", "Unsigned32"),
    (1429, 10415, "APN-Configuration-Profile", "Grouped"), (1435, 10415, "AMBR", "Grouped"),
    (1447, 10415, "RAND", "OctetString"), (1448, 10415, "XRES", "OctetString"),
    (1449, 10415, "AUTN", "OctetString"), (1450, 10415, "KASME", "OctetString"),
]
AVP_BY_KEY = {(code, vendor): (name, typ) for code, vendor, name, typ in AVPS}

RESULT_CODES = {1001: "DIAMETER_MULTI_ROUND_AUTH", 2001: "DIAMETER_SUCCESS",
                2002: "DIAMETER_LIMITED_SUCCESS", 3001: "DIAMETER_COMMAND_UNSUPPORTED",
                3002: "DIAMETER_UNABLE_TO_DELIVER", 3003: "DIAMETER_REALM_NOT_SERVED",
                3004: "DIAMETER_TOO_BUSY", 3005: "DIAMETER_LOOP_DETECTED",
                3006: "DIAMETER_REDIRECT_INDICATION", 3007: "DIAMETER_APPLICATION_UNSUPPORTED",
                3008: "DIAMETER_INVALID_HDR_BITS", 3009: "DIAMETER_INVALID_AVP_BITS",
                3010: "DIAMETER_UNKNOWN_PEER", 4001: "DIAMETER_AUTHENTICATION_REJECTED",
                4002: "DIAMETER_OUT_OF_SPACE", 4003: "ELECTION_LOST",
                5001: "DIAMETER_AVP_UNSUPPORTED", 5002: "DIAMETER_UNKNOWN_SESSION_ID",
                5003: "DIAMETER_AUTHORIZATION_REJECTED", 5004: "DIAMETER_INVALID_AVP_VALUE",
                5005: "DIAMETER_MISSING_AVP", 5006: "DIAMETER_RESOURCES_EXCEEDED",
                5007: "DIAMETER_CONTRADICTING_AVPS", 5008: "DIAMETER_AVP_NOT_ALLOWED",
                5009: "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES", 5010: "DIAMETER_NO_COMMON_APPLICATION",
                5011: "DIAMETER_UNSUPPORTED_VERSION", 5012: "DIAMETER_UNABLE_TO_COMPLY",
                5013: "DIAMETER_INVALID_BIT_IN_HEADER", 5014: "DIAMETER_INVALID_AVP_LENGTH",
                5015: "DIAMETER_INVALID_MESSAGE_LENGTH", 5016: "DIAMETER_INVALID_AVP_BIT_COMBO",
                5017: "DIAMETER_NO_COMMON_SECURITY"}
VALUE_STRINGS = {"Result-Code": RESULT_CODES,
                 "Auth-Application-Id": APPLICATIONS, "Acct-Application-Id": APPLICATIONS,
                 "Auth-Session-State": {0: "STATE_MAINTAINED", 1: "NO_STATE_MAINTAINED"},
                 "Disconnect-Cause": {0: "REBOOTING", 1: "BUSY", 2: "DO_NOT_WANT_TO_TALK_TO_YOU"},
                 "CC-Request-Type": {1: "INITIAL_REQUEST", 2: "UPDATE_REQUEST",
                                     3: "TERMINATION_REQUEST", 4: "EVENT_REQUEST"},
                 "Inband-Security-Id": {0: "NO_INBAND_SECURITY", 1: "TLS"}}

_FLAG_BITS = [("diameter.flags.request", "Request", 0x80),
              ("diameter.flags.proxyable", "Proxyable", 0x40),
              ("diameter.flags.error", "Error", 0x20),
              ("diameter.flags.T", "T(Potentially re-transmitted message)", 0x10),
              ("diameter.flags.reserved4", "Reserved", 0x08),
              ("diameter.flags.reserved5", "Reserved", 0x04),
              ("diameter.flags.reserved6", "Reserved", 0x02),
              ("diameter.flags.reserved7", "Reserved", 0x01)]
_AVP_FLAG_BITS = [("diameter.flags.vendorspecific", "Vendor-Specific", 0x80),
                  ("diameter.flags.mandatory", "Mandatory", 0x40),
                  ("diameter.avp.flags.protected", "Protected", 0x20)] + [
                  (f"diameter.avp.flags.reserved{i}", "Reserved", 0x80 >> i) for i in range(3, 8)]

register_table([
    ("diameter", "Diameter Protocol", FT_PROTOCOL),
    ("diameter.version", "Version", FT_UINT8, BASE_HEX),
    ("diameter.length", "Length", FT_UINT24, BASE_DEC),
    ("diameter.flags", "Flags", FT_UINT8, BASE_HEX),
    ("diameter.cmd.code", "Command Code", FT_UINT32, BASE_DEC, COMMANDS),
    ("diameter.applicationId", "ApplicationId", FT_UINT32, BASE_DEC, APPLICATIONS),
    ("diameter.hopbyhopid", "Hop-by-Hop Identifier", FT_UINT32, BASE_HEX),
    ("diameter.endtoendid", "End-to-End Identifier", FT_UINT32, BASE_HEX),
    ("diameter.avp", "AVP", FT_BYTES),
    ("diameter.avp.len", "AVP Length", FT_UINT24, BASE_DEC),
    ("diameter.avp.code", "AVP Code", FT_UINT32, BASE_DEC),
    ("diameter.avp.flags", "AVP Flags", FT_UINT8, BASE_HEX),
    # Wireshark: BASE_CUSTOM (prints the number, shows the vendor name)
    ("diameter.avp.vendorId", "AVP Vendor Id", FT_UINT32, BASE_DEC, VENDORS),
    ("diameter.avp.unknown", "Value", FT_BYTES),
    ("diameter.avp.pad", "Padding", FT_BYTES),
])
for _n, _l, _m in _FLAG_BITS:
    register(_n, _l, FT_BOOLEAN, "8", None, _m)
for _n, _l, _m in _AVP_FLAG_BITS:
    register(_n, _l, FT_BOOLEAN, "8", None, _m)
for _code, _vendor, _name, _typ in AVPS:
    _ft, _base = AVP_TYPES[_typ]
    register(f"diameter.{_name}", _name, _ft, _base or "BASE_NONE", VALUE_STRINGS.get(_name))
    if _typ == "Address":
        register(f"diameter.{_name}.addr_family", f"{_name} Address Family", FT_UINT16,
                 BASE_DEC, {1: "IPv4", 2: "IPv6"})
        register(f"diameter.{_name}.IPv4", f"{_name} Address", FT_IPv4)
        register(f"diameter.{_name}.IPv6", f"{_name} Address", FT_IPv6)

_HDR = struct.Struct("!B3sB3sIII")
MAX_DEPTH = 16


@functools.lru_cache(maxsize=4096)
def _flag_line(bits_mask: int, value: int, label: str) -> str:
    s = "".join(("1" if value & m else "0") if m == bits_mask else "." for m in
                (0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01))
    return f"{s[:4]} {s[4:]} = {label}: {'Set' if value & bits_mask else 'Not set'}"


def _add_flags(parent: Field, name: str, value: int, off: int, bits) -> None:
    f = parent.add(name, value, off, 1)
    for bname, label, mask in bits:
        f.add(bname, bool(value & mask), off, 1, show=_flag_line(mask, value, label))


# AVP flags: their 8 one-bit children are 8 of the ~13 Fields an AVP makes, and
# most readers (-T fields, filters on codes and values) never look at them, so
# they are built on first access (model.LazyField); -T fields reads their
# values through the collector without building them.
def _build_avp_flags(field, build) -> None:
    value, off = field.value, field.offset
    _set_children(field, [Field(n, bool(value & m), off, 1, _flag_line(m, value, label))
                          for n, label, m in _AVP_FLAG_BITS])


_AVP_FLAG_NAMES = tuple(n for n, _l, _m in _AVP_FLAG_BITS)
_AVP_FLAG_MASKS = tuple(m for _n, _l, m in _AVP_FLAG_BITS)
_AVP_FLAGS_BUILD = (None, _build_avp_flags)


def _collect_avp_flags(field, build, want):
    v = field.value
    return _AVP_FLAG_NAMES, [bool(v & m) for m in _AVP_FLAG_MASKS], None


LAZY_COLLECTORS[_build_avp_flags] = _collect_avp_flags


def _decode_value(avp: Field, name: str, typ: str, data: bytes, off: int, ln: int,
                  base: int, notes: list, depth: int) -> None:
    fname = f"diameter.{name}"
    raw = data[off:off + ln]
    need = _FIXED_SIZE.get(typ)
    if need is not None and ln != need:
        malformed(notes, "diameter.avp.invalid-len",
                  f"{name} ({typ}) data is {ln} bytes, expected {need}",
                  base + off, ln, f"{RFC} 4.2", severity=WARN)
        avp.add("diameter.avp.unknown", raw, base + off, ln)
        return
    if typ in ("Unsigned32", "Unsigned64"):
        avp.add(fname, int.from_bytes(raw, "big"), base + off, ln)
    elif typ in ("Integer32", "Integer64", "Enumerated"):
        avp.add(fname, int.from_bytes(raw, "big", signed=True), base + off, ln)
    elif typ == "Time":
        avp.add(fname, int.from_bytes(raw, "big") - NTP_EPOCH_OFFSET, base + off, ln)
    elif typ in ("UTF8String", "DiameterIdentity", "DiameterURI", "IPFilterRule"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            protocol_note(notes, "sctpinspect.diameter.not_utf8", f"{name} is not valid UTF-8",
                          base + off, ln, f"{RFC} 4.3.1")
        avp.add(fname, text, base + off, ln)
    elif typ == "Address":
        f = avp.add(fname, raw, base + off, ln)
        if ln < 2:
            malformed(notes, "diameter.avp.invalid-len", f"{name} Address shorter than 2 bytes",
                      base + off, ln, f"{RFC} 4.3.1", severity=WARN)
            return
        fam = int.from_bytes(raw[:2], "big")
        f.add(f"{fname}.addr_family", fam, base + off, 2)
        if fam == 1 and ln == 6:
            f.add(f"{fname}.IPv4", str(ipaddress.IPv4Address(raw[2:])), base + off + 2, 4)
        elif fam == 2 and ln == 18:
            f.add(f"{fname}.IPv6", str(ipaddress.IPv6Address(raw[2:])), base + off + 2, 16)
        elif fam in (1, 2):
            malformed(notes, "diameter.avp.invalid-len",
                      f"{name}: address family {fam} with {ln - 2} address bytes",
                      base + off, ln, f"{RFC} 4.3.1", severity=WARN)
    elif typ == "Grouped":
        g = avp.add(fname, raw, base + off, ln)
        if depth >= MAX_DEPTH:
            malformed(notes, "sctpinspect.diameter.nesting", "Grouped AVPs nested too deeply",
                      base + off, ln, f"{RFC} 4.4")
            return
        _avps(g, data, off, off + ln, base, notes, depth + 1)
    else:
        avp.add(fname, raw, base + off, ln)


def _avps(parent: Field, data: bytes, pos: int, end: int, base: int, notes: list,
          depth: int = 0) -> None:
    while pos < end:
        if end - pos < 8:
            malformed(notes, "diameter.invalid_avp_len",
                      f"{end - pos} trailing bytes, too short for an AVP header",
                      base + pos, end - pos, f"{RFC} 4.1")
            return
        code, flags_len = struct.unpack_from("!II", data, pos)
        flags, alen = flags_len >> 24, flags_len & 0xFFFFFF
        vendor_bit = bool(flags & 0x80)
        hlen = 12 if vendor_bit else 8
        padded = (alen + 3) & ~3
        avail = min(max(padded, hlen), end - pos)
        avp = parent.append(Field("diameter.avp", data[pos:pos + avail], base + pos, avail,
                                  children=[]))
        vendor = 0
        if vendor_bit and end - pos >= 12:
            vendor = struct.unpack_from("!I", data, pos + 8)[0]
        name, typ = AVP_BY_KEY.get((code, vendor), (None, None))
        avp.add("diameter.avp.code", code, base + pos, 4,
                show=f"AVP Code: {code} {name or 'Unknown'}")
        avp.append(LazyField("diameter.avp.flags", flags, base + pos + 4, 1, _AVP_FLAGS_BUILD))
        avp.add("diameter.avp.len", alen, base + pos + 5, 3)
        if vendor_bit:
            if end - pos < 12:
                malformed(notes, "diameter.invalid_avp_len", "AVP with V bit truncated before "
                          "its Vendor-ID", base + pos, end - pos, f"{RFC} 4.1")
                return
            avp.add("diameter.avp.vendorId", vendor, base + pos + 8, 4)
        if flags & 0x1F:
            protocol_note(notes, "diameter.reserved_bit_set", "reserved AVP flag bit set",
                          base + pos + 4, 1, f"{RFC} 4.1", severity=NOTE)
        if alen < hlen:
            malformed(notes, "diameter.invalid_avp_len",
                      f"AVP length {alen} is less than its {hlen}-byte header",
                      base + pos + 5, 3, f"{RFC} 4.1")
            return
        dlen = alen - hlen
        doff = pos + hlen
        truncated = pos + alen > end
        if truncated:
            malformed(notes, "diameter.invalid_avp_len",
                      f"AVP length {alen} runs past the end of the message "
                      f"({end - pos} bytes left)", base + pos + 5, 3, f"{RFC} 4.1")
            dlen = end - doff
        avp.show = (f"AVP: {name or 'Unknown'}({code}) l={alen} f="
                    f"{'V' if vendor_bit else '-'}{'M' if flags & 0x40 else '-'}"
                    f"{'P' if flags & 0x20 else '-'}")
        if name is None:
            avp.add("diameter.avp.unknown", data[doff:doff + dlen], base + doff, dlen)
        else:
            _decode_value(avp, name, typ, data, doff, dlen, base, notes, depth)
        if truncated:
            return
        vend = doff + dlen
        pad_end = min(pos + padded, end)
        if pad_end > vend:
            pad = data[vend:pad_end]
            avp.add("diameter.avp.pad", pad, base + vend, len(pad))
            if any(pad):
                protocol_note(notes, "diameter.avp.pad.non_zero", "AVP padding is not zero",
                              base + vend, len(pad), f"{RFC} 4.1", severity=NOTE)
        if pos + padded > end and padded != alen:
            protocol_note(notes, "diameter.avp.pad.missing", "AVP padding is missing",
                          base + end, 0, f"{RFC} 4.1", severity=NOTE)
        pos += padded


class DiameterDissector(PayloadDissector):
    name = "diameter"
    protocol = "diameter"
    description = "Diameter base protocol (RFC 6733)"
    ppids = (46, 47)
    ports = (3868,)

    def dissect(self, data, base, ctx):
        notes: list = []
        n = len(data)
        tree = Field("diameter", None, base, n, show="Diameter Protocol", children=[])
        if n < 20:
            malformed(notes, "sctpinspect.diameter.header.truncated",
                      f"message is {n} bytes, shorter than the 20-byte header", base, n,
                      f"{RFC} 3")
            return tree, notes
        ver, blen, flags, bcode, app, hbh, e2e = _HDR.unpack_from(data, 0)
        mlen = int.from_bytes(blen, "big")
        code = int.from_bytes(bcode, "big")
        tree.add("diameter.version", ver, base, 1)
        if ver != 1:
            protocol_note(notes, "diameter.version.unknown",
                          f"Diameter version {ver}, RFC 6733 defines 1", base, 1, f"{RFC} 3")
        tree.add("diameter.length", mlen, base + 1, 3)
        _add_flags(tree, "diameter.flags", flags, base + 4, _FLAG_BITS)
        cname = COMMANDS.get(code, "Unknown")
        tree.add("diameter.cmd.code", code, base + 5, 3)
        tree.add("diameter.applicationId", app, base + 8, 4)
        tree.add("diameter.hopbyhopid", hbh, base + 12, 4)
        tree.add("diameter.endtoendid", e2e, base + 16, 4)
        tree.show = f"Diameter Protocol: {cname}-{'Request' if flags & 0x80 else 'Answer'}"
        if flags & 0x0F:
            protocol_note(notes, "diameter.reserved_bit_set", "reserved header flag bit set",
                          base + 4, 1, f"{RFC} 3", severity=NOTE)
        if flags & 0x80 and flags & 0x20:
            protocol_note(notes, "sctpinspect.diameter.request_with_error_bit",
                          "E bit set on a request (MUST NOT)", base + 4, 1, f"{RFC} 3")
        end = n
        if mlen != n:
            malformed(notes, "sctpinspect.diameter.length.bad",
                      f"message length {mlen} but the user message is {n} bytes",
                      base + 1, 3, f"{RFC} 3", severity=WARN)
            if 20 <= mlen < n:
                end = mlen
        if mlen % 4:
            protocol_note(notes, "sctpinspect.diameter.length.not_multiple_of_4",
                          f"message length {mlen} is not a multiple of 4", base + 1, 3,
                          f"{RFC} 3")
        _avps(tree, data, 20, end, base, notes)
        return tree, notes
