"""What an SCTP endpoint reports: received messages and notifications.

Plain dataclasses with ``to_dict()`` (JSON-ready) and ``describe()`` (one
line for a terminal).  :func:`parse_notification` turns the bytes of a
``MSG_NOTIFICATION`` read into one of them; it never raises on short or
odd input (it returns a :class:`Notification` with the raw hex instead).
"""
from __future__ import annotations

import socket
import struct
from dataclasses import asdict, dataclass, field

from . import constants as C


def _cause_name(code: int) -> str:
    from ..decode.sctp.names import CAUSE_NAMES
    return CAUSE_NAMES.get(code, f"Unknown cause {code}")


def parse_causes(data: bytes) -> list[dict]:
    """Error causes (RFC 9260 3.3.10) in TLV form -> ``[{code, name, info_hex}]``."""
    out, off = [], 0
    while off + 4 <= len(data):
        code, length = struct.unpack_from("!HH", data, off)
        if length < 4:
            break
        out.append({"code": code, "name": _cause_name(code),
                    "info_hex": data[off + 4:off + length].hex()})
        off += (length + 3) & ~3
    return out


def sockaddr_to_tuple(data: bytes, offset: int = 0) -> tuple[str, int] | None:
    """A ``struct sockaddr_in``/``sockaddr_in6`` (host-order family) -> (address, port)."""
    if len(data) < offset + 16:
        return None
    family = struct.unpack_from("@H", data, offset)[0]
    port = struct.unpack_from("!H", data, offset + 2)[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, data[offset + 4:offset + 8]), port
    if family == socket.AF_INET6 and len(data) >= offset + 24:
        return socket.inet_ntop(socket.AF_INET6, data[offset + 8:offset + 24]), port
    return None


def _printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\t\r\n" for c in text) else None


@dataclass
class Message:
    """A user message read from the socket (with its SCTP_RCVINFO)."""
    data: bytes
    sid: int | None = None
    ssn: int | None = None
    flags: int = 0
    ppid: int | None = None
    tsn: int | None = None
    cumtsn: int | None = None
    context: int | None = None
    assoc_id: int | None = None
    peer: tuple | None = None       # (address, port) when the kernel said
    complete: bool = True           # MSG_EOR seen (False: partial delivery)
    kind: str = field(default="message", init=False)

    @property
    def unordered(self) -> bool:
        return bool(self.flags & C.SCTP_UNORDERED)

    def to_dict(self) -> dict:
        d = {"kind": "message", "assoc_id": self.assoc_id, "sid": self.sid, "ssn": self.ssn,
             "ppid": self.ppid, "tsn": self.tsn, "cumtsn": self.cumtsn,
             "unordered": self.unordered, "flags": self.flags, "length": len(self.data),
             "complete": self.complete,
             "peer": f"{self.peer[0]}:{self.peer[1]}" if self.peer else None,
             "hex": self.data.hex()}
        text = _printable(self.data)
        if text is not None:
            d["text"] = text
        return d

    def describe(self) -> str:
        text = _printable(self.data)
        shown = repr(text) if text is not None else self.data[:64].hex() + (
            "..." if len(self.data) > 64 else "")
        u = " unordered" if self.unordered else ""
        return (f"message assoc={self.assoc_id} sid={self.sid} ssn={self.ssn} ppid={self.ppid} "
                f"tsn={self.tsn}{u} {len(self.data)} bytes: {shown}")


@dataclass
class Notification:
    """An SCTP notification (RFC 6458 6.1) the kernel delivered."""
    type: str                        # assoc_change, peer_addr_change, ... or 0x800X
    assoc_id: int | None = None
    raw_hex: str | None = None
    kind: str = field(default="event", init=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if v is not None}
        d["kind"] = "event"
        return d

    def describe(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.to_dict().items()
                         if k not in ("kind", "type", "raw_hex") and v not in (None, [], ""))
        return f"event {self.type} {extra}".rstrip()


@dataclass
class AssocChange(Notification):
    state: str = ""                  # COMM_UP, COMM_LOST, RESTART, SHUTDOWN_COMP, CANT_STR_ASSOC
    error: int = 0                   # errno-like value the kernel gives (0, ECONNREFUSED ...)
    outbound_streams: int = 0
    inbound_streams: int = 0
    causes: list = field(default_factory=list)   # from the ABORT in sac_info, if any

    def describe(self) -> str:
        s = (f"event assoc_change {self.state} assoc={self.assoc_id} "
             f"streams out={self.outbound_streams} in={self.inbound_streams}")
        if self.error:
            s += f" error={self.error}"
        if self.causes:
            s += " causes=" + ", ".join(c["name"] for c in self.causes)
        return s


@dataclass
class PeerAddrChange(Notification):
    address: str | None = None
    port: int | None = None
    state: str = ""
    error: int = 0

    def describe(self) -> str:
        return (f"event peer_addr_change {self.state} address={self.address} "
                f"assoc={self.assoc_id}" + (f" error={self.error}" if self.error else ""))


@dataclass
class RemoteError(Notification):
    cause_code: int = 0
    cause: str = ""
    causes: list = field(default_factory=list)

    def describe(self) -> str:
        return f"event remote_error assoc={self.assoc_id} cause={self.cause_code} ({self.cause})"


@dataclass
class ShutdownEvent(Notification):
    pass


@dataclass
class SenderDry(Notification):
    pass


@dataclass
class AdaptationEvent(Notification):
    adaptation_ind: int = 0


@dataclass
class PartialDelivery(Notification):
    indication: int = 0
    stream: int = 0
    seq: int = 0


@dataclass
class SendFailed(Notification):
    flags: str = ""                 # DATA_UNSENT / DATA_SENT
    error: int = 0
    sid: int = 0
    ppid: int = 0
    length: int = 0                 # bytes of the message that was not delivered

    def describe(self) -> str:
        return (f"event send_failed {self.flags} assoc={self.assoc_id} error={self.error} "
                f"sid={self.sid} ppid={self.ppid} {self.length} bytes")


def _abort_causes(info: bytes) -> list[dict]:
    """sac_info of a COMM_LOST/CANT_STR_ASSOC: what the kernel copied of the
    ABORT.  RFC 6458 says the ABORT chunk; Linux copies only the chunk's value
    (its causes, chunk header already pulled: sctp_ulpevent_make_assoc_change),
    so both forms are read.  No cause code starts with byte 6 (ABORT's type)."""
    if len(info) >= 4 and info[0] == 6:
        clen = struct.unpack_from("!H", info, 2)[0]
        return parse_causes(info[4:max(4, min(clen, len(info)))])
    return parse_causes(info)


def parse_notification(data: bytes) -> Notification:
    """Bytes read with ``MSG_NOTIFICATION`` -> a :class:`Notification` subclass."""
    if len(data) < C.SN_HEADER.size:
        return Notification("short", raw_hex=data.hex())
    ntype, nflags, nlen = C.SN_HEADER.unpack_from(data)
    name = C.NOTIFICATION_NAMES.get(ntype, f"0x{ntype:04x}")
    n = len(data)
    try:
        if ntype == C.SCTP_ASSOC_CHANGE and n >= 8 + C.ASSOC_CHANGE.size:
            state, error, out_s, in_s, assoc = C.ASSOC_CHANGE.unpack_from(data, 8)
            st = C.ASSOC_STATES[state] if state < len(C.ASSOC_STATES) else str(state)
            return AssocChange(name, assoc, state=st, error=error, outbound_streams=out_s,
                               inbound_streams=in_s, causes=_abort_causes(data[20:nlen]))
        if ntype == C.SCTP_PEER_ADDR_CHANGE and n >= 8 + C.SOCKADDR_STORAGE_SIZE + 12:
            addr = sockaddr_to_tuple(data, 8)
            state, error, assoc = struct.unpack_from("@iii", data, 8 + C.SOCKADDR_STORAGE_SIZE)
            st = C.ADDR_STATES[state] if 0 <= state < len(C.ADDR_STATES) else str(state)
            return PeerAddrChange(name, assoc, address=addr[0] if addr else None,
                                  port=addr[1] if addr else None, state=st, error=error)
        if ntype == C.SCTP_REMOTE_ERROR and n >= 16:
            code = struct.unpack_from("!H", data, 8)[0]      # __be16 sre_error
            assoc = struct.unpack_from("@i", data, 12)[0]
            return RemoteError(name, assoc, cause_code=code, cause=_cause_name(code),
                               causes=parse_causes(data[16:nlen]))
        if ntype == C.SCTP_SHUTDOWN_EVENT and n >= 12:
            return ShutdownEvent(name, struct.unpack_from("@i", data, 8)[0])
        if ntype == C.SCTP_SENDER_DRY_EVENT and n >= 12:
            return SenderDry(name, struct.unpack_from("@i", data, 8)[0])
        if ntype == C.SCTP_ADAPTATION_INDICATION and n >= 16:
            ind, assoc = struct.unpack_from("@Ii", data, 8)
            return AdaptationEvent(name, assoc, adaptation_ind=ind)
        if ntype == C.SCTP_PARTIAL_DELIVERY_EVENT and n >= 24:
            ind, assoc, stream, seq = struct.unpack_from("@IiII", data, 8)
            return PartialDelivery(name, assoc, indication=ind, stream=stream, seq=seq)
        if ntype == C.SCTP_SEND_FAILED_EVENT and n >= 32:
            # {u16 type, flags; u32 length; u32 error; struct sctp_sndinfo; s32 assoc_id; data[]}
            error = struct.unpack_from("@I", data, 8)[0]
            sid, _f, ppid, _ctx, _a = C.SNDINFO.unpack_from(data, 12)
            assoc = struct.unpack_from("@i", data, 28)[0]
            fl = C.SEND_FAILED_FLAGS[nflags] if nflags < 2 else str(nflags)
            return SendFailed(name, assoc, flags=fl, error=error, sid=sid,
                              ppid=socket.ntohl(ppid), length=max(0, min(nlen, n) - 32))
    except (struct.error, ValueError, IndexError):
        pass
    return Notification(name, raw_hex=data.hex())
