"""Name tables for SCTP numbers (IANA "Stream Control Transmission Protocol
(SCTP) Parameters" registry, RFC 9260 and its extensions).

Chunk, parameter and cause names are the ones Wireshark displays (so the
detail tree reads like Wireshark's); PPID names are IANA's.  These are plain
dicts used as value-string tables by :mod:`.fields` and the decoders.
"""
from __future__ import annotations

# Chunk types (IANA "Chunk Types"; Wireshark spelling).
CHUNK_NAMES = {
    0: "DATA", 1: "INIT", 2: "INIT_ACK", 3: "SACK", 4: "HEARTBEAT",
    5: "HEARTBEAT_ACK", 6: "ABORT", 7: "SHUTDOWN", 8: "SHUTDOWN_ACK", 9: "ERROR",
    10: "COOKIE_ECHO", 11: "COOKIE_ACK", 12: "ECNE", 13: "CWR",
    14: "SHUTDOWN_COMPLETE", 15: "AUTH", 16: "NR_SACK", 64: "I_DATA",
    0x80: "ASCONF_ACK", 0x81: "PKTDROP", 0x82: "RE_CONFIG", 0x84: "PAD",
    0xC0: "FORWARD_TSN", 0xC1: "ASCONF", 0xC2: "I_FORWARD_TSN",
    0xFF: "IETF_EXTENSION",
}

# Chunk parameter types (IANA "Chunk Parameter Types").
PARAMETER_NAMES = {
    1: "Heartbeat info", 5: "IPv4 address", 6: "IPv6 address", 7: "State cookie",
    8: "Unrecognized parameter", 9: "Cookie preservative", 11: "Hostname address",
    12: "Supported address types", 13: "Outgoing SSN reset request",
    14: "Incoming SSN reset request", 15: "SSN/TSN reset request",
    16: "Re-configuration response", 17: "Add outgoing streams request",
    18: "Add incoming streams request", 0x8000: "ECN",
    0x8001: "Zero checksum acceptable", 0x8002: "Random",
    0x8003: "Authenticated Chunk list", 0x8004: "Requested HMAC Algorithm",
    0x8005: "Padding", 0x8008: "Supported Extensions",
    0xC000: "Forward TSN supported", 0xC001: "Add IP address",
    0xC002: "Delete IP address", 0xC003: "Error cause indication",
    0xC004: "Set primary address", 0xC005: "Success report",
    0xC006: "Adaptation Layer Indication",
}

# Error cause codes (IANA "Error Cause Codes").
CAUSE_NAMES = {
    1: "Invalid stream identifier", 2: "Missing mandatory parameter",
    3: "Stale cookie error", 4: "Out of resource", 5: "Unresolvable address",
    6: "Unrecognized chunk type", 7: "Invalid mandatory parameter",
    8: "Unrecognized parameters", 9: "No user data",
    10: "Cookie received while shutting down",
    11: "Restart of an association with new addresses",
    12: "User initiated ABORT", 13: "Protocol violation",
    160: "Request to delete last address",
    161: "Operation refused due to resource shortage",
    162: "Request to delete source address",
    163: "Association aborted due to illegal ASCONF-ACK",
    164: "Request refused - no authorization",
    261: "Unsupported HMAC identifier",
}

# Payload Protocol Identifiers (IANA "SCTP Payload Protocol Identifiers").
PPIDS = {
    0: "Reserved by SCTP", 1: "IUA", 2: "M2UA", 3: "M3UA", 4: "SUA", 5: "M2PA",
    6: "V5UA", 7: "H.248", 8: "BICC/Q.2150.3", 9: "TALI", 10: "DUA", 11: "ASAP",
    12: "ENRP", 13: "H.323", 14: "Q.IPC/Q.2150.3", 15: "SIMCO",
    16: "DDP Segment Chunk", 17: "DDP Stream Session Control", 18: "S1AP",
    19: "RUA", 20: "HNBAP", 21: "ForCES-HP", 22: "ForCES-MP", 23: "ForCES-LP",
    24: "SBc-AP", 25: "NBAP", 27: "X2AP", 28: "IRCP", 29: "LCS-AP",
    30: "MPICH2", 31: "SABP", 32: "FGP", 33: "PPP", 34: "CALCAPP", 35: "SSP",
    36: "NPMP-CONTROL", 37: "NPMP-DATA", 38: "ECHO", 39: "DISCARD",
    40: "DAYTIME", 41: "CHARGEN", 42: "3GPP RNA", 43: "3GPP M2AP",
    44: "3GPP M3AP", 45: "SSH over SCTP", 46: "Diameter", 47: "Diameter DTLS",
    48: "R14P", 50: "WebRTC DCEP", 51: "WebRTC String",
    52: "WebRTC Binary Partial (deprecated)", 53: "WebRTC Binary",
    54: "WebRTC String Partial (deprecated)", 55: "3GPP PUA",
    56: "WebRTC String Empty", 57: "WebRTC Binary Empty", 58: "3GPP XwAP",
    59: "3GPP Xw-Control Plane", 60: "3GPP NGAP", 61: "3GPP XnAP",
    62: "3GPP F1AP", 63: "HTTP SCTP", 64: "3GPP E1AP",
    65: "ELE2 Lawful Interception", 66: "3GPP NGAP over DTLS",
    67: "3GPP XnAP over DTLS", 68: "3GPP F1AP over DTLS",
    69: "3GPP E1AP over DTLS", 70: "E2-CP", 71: "E2-UP", 72: "E2-DU",
    73: "3GPP W1AP",
}

# HMAC identifiers (RFC 4895, IANA "HMAC Identifiers").
HMAC_IDS = {0: "Reserved", 1: "SHA-1", 2: "Reserved", 3: "SHA-256"}

# Re-configuration response results (RFC 6525 4.4, RFC 8260).
RECONFIG_RESULTS = {
    0: "Success - Nothing to do", 1: "Success - Performed", 2: "Denied",
    3: "Error - Wrong SSN", 4: "Error - Request already in progress",
    5: "Error - Bad Sequence Number", 6: "In progress",
}

# Error Detection Method Identifiers (RFC 9653 "Zero checksum acceptable").
EDMIDS = {0: "Reserved", 1: "SCTP over DTLS"}

# sctp.checksum.status values, as Wireshark's proto_checksum_enum_e.
CHECKSUM_STATUS_NAMES = {0: "Bad", 1: "Good", 2: "Unverified", 3: "Not present", 4: "Illegal"}
CHECKSUM_STATUS_VALUE = {"bad": 0, "good": 1, "unverified": 2, "zero": 2, "adler32": 1}

# What the two upper bits of an unknown chunk / parameter type ask for
# (RFC 9260 3.2 and 3.2.1).
CHUNK_ACTIONS = {
    0: ("stop", "stop processing this packet and discard it"),
    1: ("stop", "stop processing this packet, discard it and report it in an ERROR chunk (Unrecognized Chunk Type)"),
    2: ("skip", "skip this chunk and continue processing"),
    3: ("skip", "skip this chunk, continue processing and report it in an ERROR chunk (Unrecognized Chunk Type)"),
}
PARAMETER_ACTIONS = {
    0: ("stop", "stop processing this chunk and do not process further parameters"),
    1: ("stop", "stop processing this chunk and report the parameter as unrecognized"),
    2: ("skip", "skip this parameter and continue processing"),
    3: ("skip", "skip this parameter, continue processing and report it as unrecognized"),
}
