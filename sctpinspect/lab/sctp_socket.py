"""Thin helpers over Linux kernel SCTP sockets (Python's socket module has no SCTP API).

Constants and struct layouts are those of <linux/sctp.h> / RFC 6458.  Only what
the lab peers need: INITMSG, NODELAY, event subscription, SCTP_SNDINFO /
SCTP_RCVINFO ancillary data, bindx, and notification parsing.
"""
from __future__ import annotations

import socket
import struct

IPPROTO_SCTP = 132
SOL_SCTP = 132

# socket options (linux/sctp.h)
SCTP_INITMSG = 2
SCTP_NODELAY = 3
SCTP_EVENT = 127
SCTP_RECVRCVINFO = 32
SCTP_SOCKOPT_BINDX_ADD = 100
SCTP_FRAGMENT_INTERLEAVE = 18
SCTP_INTERLEAVING_SUPPORTED = 125
SCTP_PR_SUPPORTED = 113          # struct sctp_assoc_value (RFC 3758 partial reliability)
SCTP_DEFAULT_PRINFO = 114        # struct sctp_default_prinfo (RFC 7496 4.1)
# cmsg types
SCTP_SNDINFO = 2
SCTP_RCVINFO = 3
SCTP_PRINFO = 5                  # struct sctp_prinfo cmsg (RFC 6458 5.3.7)
# PR-SCTP policies (RFC 7496 4; linux/sctp.h SCTP_PR_SCTP_*)
PR_POLICIES = {"none": 0x0000, "ttl": 0x0010, "rtx": 0x0020, "prio": 0x0030}
# sndinfo flags
SCTP_UNORDERED = 1 << 0
SCTP_ADDR_OVER = 1 << 1
SCTP_ABORT = 1 << 2
SCTP_EOF = 1 << 9   # MSG_FIN
MSG_NOTIFICATION = 0x8000

# notification types (SCTP_SN_TYPE_BASE = 1 << 15)
SCTP_ASSOC_CHANGE = 0x8001
SCTP_PEER_ADDR_CHANGE = 0x8002
SCTP_SEND_FAILED = 0x8003
SCTP_REMOTE_ERROR = 0x8004
SCTP_SHUTDOWN_EVENT = 0x8005
SCTP_SEND_FAILED_EVENT = 0x800d  # Linux >= 5.8
EVENT_NAMES = {SCTP_ASSOC_CHANGE: "assoc_change", SCTP_PEER_ADDR_CHANGE: "peer_addr_change",
               SCTP_SEND_FAILED: "send_failed", SCTP_REMOTE_ERROR: "remote_error",
               SCTP_SHUTDOWN_EVENT: "shutdown_event", SCTP_SEND_FAILED_EVENT: "send_failed_event"}
ASSOC_STATES = ["COMM_UP", "COMM_LOST", "RESTART", "SHUTDOWN_COMP", "CANT_STR_ASSOC"]
ADDR_STATES = ["ADDR_AVAILABLE", "ADDR_UNREACHABLE", "ADDR_REMOVED", "ADDR_ADDED",
               "ADDR_MADE_PRIM", "ADDR_CONFIRMED", "ADDR_POTENTIALLY_FAILED"]

RCVINFO = struct.Struct("@HHHIIIIi")  # sid, ssn, flags, ppid(net order), tsn, cumtsn, context, assoc_id
SNDINFO = struct.Struct("@HHIIi")     # sid, flags, ppid(net order), context, assoc_id
PRINFO = struct.Struct("@HI")         # pr_policy, pr_value


def sctp_socket(one_to_many: bool = False, family: int = socket.AF_INET) -> socket.socket:
    """A kernel SCTP socket: one-to-one (SOCK_STREAM) or one-to-many (SOCK_SEQPACKET)."""
    return socket.socket(family, socket.SOCK_SEQPACKET if one_to_many else socket.SOCK_STREAM,
                         IPPROTO_SCTP)


def set_initmsg(sock: socket.socket, ostreams: int = 10, instreams: int = 10,
                max_attempts: int = 0, max_init_timeo: int = 0) -> None:
    """SCTP_INITMSG: streams announced in INIT (OS = ``ostreams``, MIS = ``instreams``)."""
    sock.setsockopt(SOL_SCTP, SCTP_INITMSG,
                    struct.pack("@HHHH", ostreams, instreams, max_attempts, max_init_timeo))


def enable_interleaving(sock: socket.socket) -> None:
    """Offer user-message interleaving, I-DATA (RFC 8260; needs the sysctl
    ``net.sctp.intl_enable = 1``): SCTP_FRAGMENT_INTERLEAVE 2, then
    SCTP_INTERLEAVING_SUPPORTED (RFC 8260 4.3.1), which the kernel refuses without it."""
    sock.setsockopt(SOL_SCTP, SCTP_FRAGMENT_INTERLEAVE, 2)
    sock.setsockopt(SOL_SCTP, SCTP_INTERLEAVING_SUPPORTED, struct.pack("@iI", 0, 1))


def enable_prsctp(sock: socket.socket, on: bool = True) -> None:
    """SCTP_PR_SUPPORTED: offer partial reliability (Forward-TSN-Supported in INIT,
    RFC 3758 3.1; the kernel's default follows the sysctl ``net.sctp.prsctp_enable``)."""
    sock.setsockopt(SOL_SCTP, SCTP_PR_SUPPORTED, struct.pack("@iI", 0, int(on)))


def set_default_prinfo(sock: socket.socket, policy: str, value: int) -> None:
    """SCTP_DEFAULT_PRINFO (RFC 7496 4.1): the PR-SCTP policy of messages sent
    without their own SCTP_PRINFO (the kernel applies its TTL to SNDINFO sends too,
    the policy bits only with SCTP_PRINFO or no cmsg at all)."""
    sock.setsockopt(SOL_SCTP, SCTP_DEFAULT_PRINFO,
                    struct.pack("@iIH2x", 0, value, PR_POLICIES[policy]))


def subscribe(sock: socket.socket, *types: int) -> None:
    """Turn on notifications (SCTP_EVENT) and SCTP_RCVINFO ancillary data."""
    for t in types or (SCTP_ASSOC_CHANGE, SCTP_PEER_ADDR_CHANGE, SCTP_SEND_FAILED,
                       SCTP_REMOTE_ERROR, SCTP_SHUTDOWN_EVENT):
        sock.setsockopt(SOL_SCTP, SCTP_EVENT, struct.pack("@iHBx", 0, t, 1))
    sock.setsockopt(SOL_SCTP, SCTP_RECVRCVINFO, 1)


def _sockaddr_in(addr: str, port: int) -> bytes:
    if ":" in addr:
        return (struct.pack("@H", socket.AF_INET6) + struct.pack("!HI", port, 0)
                + socket.inet_pton(socket.AF_INET6, addr) + struct.pack("@I", 0))
    return (struct.pack("@H", socket.AF_INET) + struct.pack("!H", port)
            + socket.inet_aton(addr) + bytes(8))


def bindx(sock: socket.socket, addrs: list[str], port: int) -> None:
    """Bind to several local addresses (multihoming): bind the first, bindx-add the rest."""
    sock.bind((addrs[0], port))
    port = sock.getsockname()[1]
    if len(addrs) > 1:
        sock.setsockopt(SOL_SCTP, SCTP_SOCKOPT_BINDX_ADD,
                        b"".join(_sockaddr_in(a, port) for a in addrs[1:]))


def send(sock: socket.socket, data: bytes, sid: int = 0, ppid: int = 0, flags: int = 0,
         assoc_id: int = 0, context: int = 0, to: tuple | None = None,
         prinfo: tuple[str, int] | None = None) -> int:
    """sendmsg() with an SCTP_SNDINFO cmsg choosing stream and PPID (PPID in network order);
    ``prinfo=(policy, value)`` adds an SCTP_PRINFO cmsg: this message's PR-SCTP policy
    (``"ttl"`` ms, ``"rtx"`` retransmissions, ``"prio"``; RFC 7496)."""
    cmsg = [(SOL_SCTP, SCTP_SNDINFO,
             SNDINFO.pack(sid, flags, socket.htonl(ppid), context, assoc_id))]
    if prinfo is not None:
        cmsg.append((SOL_SCTP, SCTP_PRINFO, PRINFO.pack(PR_POLICIES[prinfo[0]], prinfo[1])))
    if to is None:
        return sock.sendmsg([data], cmsg)
    return sock.sendmsg([data], cmsg, 0, to)


def recv(sock: socket.socket, bufsize: int = 1 << 17):
    """recvmsg(); returns ``(data, msg_flags, rcvinfo dict or None, address)``."""
    data, ancdata, flags, address = sock.recvmsg(bufsize, socket.CMSG_SPACE(RCVINFO.size))
    info = None
    for level, ctype, cdata in ancdata:
        if level == SOL_SCTP and ctype == SCTP_RCVINFO and len(cdata) >= RCVINFO.size:
            sid, ssn, rflags, ppid, tsn, cumtsn, context, assoc_id = RCVINFO.unpack_from(cdata)
            info = {"sid": sid, "ssn": ssn, "flags": rflags, "ppid": socket.ntohl(ppid),
                    "tsn": tsn, "cumtsn": cumtsn, "assoc_id": assoc_id}
    return data, flags, info, address


def parse_notification(data: bytes) -> dict:
    """Decode the notifications the peers subscribe to into a JSON-friendly dict."""
    if len(data) < 8:
        return {"type": "short", "hex": data.hex()}
    ntype, nflags, nlen = struct.unpack_from("@HHI", data)
    ev = {"type": EVENT_NAMES.get(ntype, hex(ntype))}
    if ntype == SCTP_ASSOC_CHANGE and len(data) >= 20:
        state, error, ostreams, istreams, assoc_id = struct.unpack_from("@HHHHi", data, 8)
        ev.update(state=ASSOC_STATES[state] if state < len(ASSOC_STATES) else state,
                  error=error, outbound_streams=ostreams, inbound_streams=istreams,
                  assoc_id=assoc_id)
    elif ntype == SCTP_PEER_ADDR_CHANGE and len(data) >= 8 + 128 + 12:
        family = struct.unpack_from("@H", data, 8)[0]
        if family == socket.AF_INET:
            addr = socket.inet_ntoa(data[12:16])
        elif family == socket.AF_INET6:
            addr = socket.inet_ntop(socket.AF_INET6, data[16:32])
        else:
            addr = None
        state, error, assoc_id = struct.unpack_from("@iii", data, 8 + 128)
        ev.update(address=addr, state=ADDR_STATES[state] if 0 <= state < len(ADDR_STATES)
                  else state, error=error, assoc_id=assoc_id)
    elif ntype == SCTP_SHUTDOWN_EVENT and len(data) >= 12:
        ev["assoc_id"] = struct.unpack_from("@i", data, 8)[0]
    elif ntype == SCTP_REMOTE_ERROR and len(data) >= 16:
        ev["error"], ev["assoc_id"] = struct.unpack_from("!H", data, 8)[0], \
            struct.unpack_from("@i", data, 12)[0]
    return ev
