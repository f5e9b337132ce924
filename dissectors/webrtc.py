"""WebRTC data channels: DCEP (RFC 8832, PPID 50) and the data PPIDs (RFC 8831).

DCEP field names are Wireshark's (its ``rtcdc`` protocol, "WebRTC Datachannel
Protocol"; tshark 4.0 has no ``dcep.*`` names).  Wireshark has no dissector
for the string/binary PPIDs, so those fields use the ``sctpinspect.webrtc``
prefix.
"""
from __future__ import annotations

import struct

from sctpinspect.model import CHAT, ERROR, NOTE, WARN, Field
from sctpinspect.registry import (BASE_DEC, BASE_NONE, FT_BYTES, FT_NONE, FT_PROTOCOL,
                                  FT_STRING, FT_UINT8, FT_UINT16, FT_UINT32, register_table)

from .base import PayloadDissector, malformed, protocol_note

RFC_DCEP = "RFC 8832"
RFC_DATA = "RFC 8831"

# RFC 8832 8.2.1 (message types) -- 0x00/0x01 are reserved (used by pre-RFC drafts).
DCEP_MESSAGE_TYPES = {
    0x02: "DATA_CHANNEL_ACK",
    0x03: "DATA_CHANNEL_OPEN",
}
# RFC 8832 5.1 / 8.2.2 (channel types)
DCEP_CHANNEL_TYPES = {
    0x00: "DATA_CHANNEL_RELIABLE",
    0x80: "DATA_CHANNEL_RELIABLE_UNORDERED",
    0x01: "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT",
    0x81: "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED",
    0x02: "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED",
    0x82: "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED",
}

register_table([
    ("rtcdc", "WebRTC Datachannel Protocol", FT_PROTOCOL),
    ("rtcdc.message_type", "Message type", FT_UINT8, BASE_DEC, DCEP_MESSAGE_TYPES),
    ("rtcdc.channel_type", "Channel type", FT_UINT8, BASE_DEC, DCEP_CHANNEL_TYPES),
    ("rtcdc.priority", "Priority", FT_UINT16, BASE_DEC),
    # Wireshark declares it FT_UINT16 but reads 4 bytes; RFC 8832 5.1: 32 bits.
    ("rtcdc.reliability_parameter", "Reliability parameter", FT_UINT16, BASE_DEC),
    ("rtcdc.label_length", "Label length", FT_UINT16, BASE_DEC),
    ("rtcdc.protocol_length", "Protocol length", FT_UINT16, BASE_DEC),
    ("rtcdc.label", "Label", FT_STRING),
    ("rtcdc.protocol", "Protocol", FT_STRING),
    ("sctpinspect.webrtc", "WebRTC data channel message", FT_PROTOCOL),
    ("sctpinspect.webrtc.string", "String", FT_STRING),
    ("sctpinspect.webrtc.binary", "Binary data", FT_BYTES),
    ("sctpinspect.webrtc.empty", "Empty-message filler byte", FT_UINT8, BASE_DEC),
    ("sctpinspect.webrtc.kind", "Message kind", FT_NONE),
])

OPEN_HDR = struct.Struct("!BBHIHH")  # type, channel type, priority, reliability, label len, protocol len


def _text(b: bytes) -> tuple[str, bool]:
    try:
        return b.decode("utf-8"), True
    except UnicodeDecodeError:
        return b.decode("utf-8", "replace"), False


class DCEPDissector(PayloadDissector):
    """Data Channel Establishment Protocol (RFC 8832), SCTP PPID 50."""

    name = "dcep"
    protocol = "rtcdc"
    description = "WebRTC Data Channel Establishment Protocol (RFC 8832)"
    ppids = (50,)

    def dissect(self, data, base, ctx):
        notes: list = []
        n = len(data)
        tree = Field("rtcdc", None, base, n, show="WebRTC Datachannel Protocol")
        if n < 1:
            malformed(notes, "rtcdc.message_too_short", "empty DCEP message", base, 0,
                      f"{RFC_DCEP} 5")
            return tree, notes
        mtype = data[0]
        tree.add("rtcdc.message_type", mtype, base, 1)
        if mtype == 0x02:
            if n > 1:  # RFC 8832 5.2: the ACK is exactly one byte
                protocol_note(notes, "rtcdc.message_too_long",
                              f"DATA_CHANNEL_ACK is {n} bytes long, RFC 8832 5.2 defines 1",
                              base + 1, n - 1, f"{RFC_DCEP} 5.2")
            return tree, notes
        if mtype != 0x03:
            protocol_note(notes, "rtcdc.message_type.unknown",
                          f"unknown DCEP message type {mtype}", base, 1, f"{RFC_DCEP} 8.2.1")
            return tree, notes
        if n < OPEN_HDR.size:
            malformed(notes, "rtcdc.message_too_short",
                      f"DATA_CHANNEL_OPEN truncated: {n} bytes, the fixed part is 12",
                      base, n, f"{RFC_DCEP} 5.1")
            return tree, notes
        _, ctype, prio, rel, llen, plen = OPEN_HDR.unpack_from(data, 0)
        tree.add("rtcdc.channel_type", ctype, base + 1, 1)
        if ctype not in DCEP_CHANNEL_TYPES:
            protocol_note(notes, "rtcdc.channel_type.unknown",
                          f"unknown channel type 0x{ctype:02x}", base + 1, 1, f"{RFC_DCEP} 5.1")
        tree.add("rtcdc.priority", prio, base + 2, 2)
        tree.add("rtcdc.reliability_parameter", rel, base + 4, 4)
        if ctype in (0x00, 0x80) and rel != 0:
            protocol_note(notes, "rtcdc.reliability_parameter.non_zero",
                          f"reliability parameter {rel} on a reliable channel (MUST be 0)",
                          base + 4, 4, f"{RFC_DCEP} 5.1")
        tree.add("rtcdc.label_length", llen, base + 8, 2)
        tree.add("rtcdc.protocol_length", plen, base + 10, 2)
        off = OPEN_HDR.size
        if off + llen + plen != n:
            malformed(notes, "rtcdc.inconsistent_label_and_parameter_length",
                      f"label length {llen} + protocol length {plen} = {llen + plen}, "
                      f"but {n - off} bytes follow the fixed part",
                      base + 8, 4, f"{RFC_DCEP} 5.1", severity=WARN)
        label = data[off:off + llen]
        text, ok = _text(label)
        tree.add("rtcdc.label", text, base + off, len(label))
        if not ok:
            protocol_note(notes, "sctpinspect.rtcdc.label.not_utf8",
                          "label is not valid UTF-8", base + off, len(label), f"{RFC_DCEP} 5.1")
        off2 = off + llen
        if off2 <= n:
            proto = data[off2:off2 + plen]
            text, ok = _text(proto)
            tree.add("rtcdc.protocol", text, base + off2, len(proto))
            if not ok:
                protocol_note(notes, "sctpinspect.rtcdc.protocol.not_utf8",
                              "protocol is not valid UTF-8", base + off2, len(proto),
                              f"{RFC_DCEP} 5.1")
        return tree, notes


# RFC 8831 8 (IANA): PPID -> (kind, is_string, deprecated-partial)
WEBRTC_PPIDS = {
    51: ("WebRTC String", True, False),
    52: ("WebRTC Binary Partial (deprecated)", False, True),
    53: ("WebRTC Binary", False, False),
    54: ("WebRTC String Partial (deprecated)", True, True),
    56: ("WebRTC String Empty", None, False),
    57: ("WebRTC Binary Empty", None, False),
}


class WebRTCDataDissector(PayloadDissector):
    """WebRTC data channel user messages (RFC 8831 6.6): strings, binary, empty."""

    name = "webrtc"
    protocol = "sctpinspect.webrtc"
    description = "WebRTC data channel messages (RFC 8831)"
    ppids = tuple(WEBRTC_PPIDS)

    def dissect(self, data, base, ctx):
        notes: list = []
        n = len(data)
        ppid = getattr(ctx, "ppid", None) if ctx is not None else None
        kind, is_string, partial = WEBRTC_PPIDS.get(ppid, ("WebRTC Binary", False, False))
        tree = Field("sctpinspect.webrtc", None, base, n, show=f"WebRTC data channel: {kind}")
        if partial:
            protocol_note(notes, "sctpinspect.webrtc.partial_deprecated",
                          f"PPID {ppid} ({kind}) is deprecated; senders use SCTP "
                          "fragmentation instead", base, n, f"{RFC_DATA} 8", severity=NOTE)
        if is_string is None:
            # RFC 8831 6.6: an empty message is sent as one zero byte.
            if n != 1 or data[0] != 0:
                protocol_note(notes, "sctpinspect.webrtc.empty_not_one_zero_byte",
                              f"{kind} message should be a single 0x00 byte, got {n} bytes",
                              base, n, f"{RFC_DATA} 6.6")
            if n >= 1:
                tree.add("sctpinspect.webrtc.empty", data[0], base, 1)
            return tree, notes
        if is_string:
            text, ok = _text(data)
            tree.add("sctpinspect.webrtc.string", text, base, n)
            if not ok and not partial:
                protocol_note(notes, "sctpinspect.webrtc.string_not_utf8",
                              "WebRTC String message is not valid UTF-8", base, n,
                              f"{RFC_DATA} 6.6", severity=WARN)
        else:
            tree.add("sctpinspect.webrtc.binary", bytes(data), base, n)
        return tree, notes
