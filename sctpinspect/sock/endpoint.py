"""``SctpEndpoint``: one kernel SCTP socket, one-to-one or one-to-many.

Python's ``socket`` module opens SCTP sockets (protocol 132) but has no SCTP
API, so the RFC 6458 options and ancillary data are packed here by hand
(:mod:`.constants`).  The socket is kept non-blocking and every wait is a
``poll`` with a deadline, so nothing hangs for the kernel's INIT retry
schedule (minutes) unless asked to.

Everything the socket reports comes out of :meth:`SctpEndpoint.recv` as a
:class:`~.events.Message` or a :class:`~.events.Notification`; kernel
errors become :class:`~sctpinspect.errors.UserError` sentences.
"""
from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
from collections import deque

from ..errors import UserError
from . import constants as C
from .addr import endpoint_text, family_of, sock_tuple, sockaddr
from .events import AssocChange, Message, Notification, RemoteError, parse_notification

NO_SCTP = ("this kernel has no SCTP support: load it with `modprobe sctp` "
           "(package linux-modules / CONFIG_IP_SCTP)")
_NO_SCTP_ERRNOS = {errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT, errno.EAFNOSUPPORT}
_RECV_BUF = 1 << 18


class SctpError(UserError):
    """A kernel SCTP failure, one sentence; ``errno`` and the notification
    that explained it (if any) are kept for programs."""

    def __init__(self, message: str, err: int | None = None, event=None, exit_code: int = 1):
        super().__init__(message, exit_code)
        self.errno = err
        self.event = event


def _errname(e: int | None) -> str:
    return errno.errorcode.get(e, str(e)) if e else ""


def _cause_text(event) -> str:
    """Why, from an ASSOC_CHANGE (ABORT causes) or REMOTE_ERROR notification."""
    if event is None:
        return ""
    causes = getattr(event, "causes", None) or []
    if isinstance(event, RemoteError) and not causes:
        return f" (peer reported error cause {event.cause_code}: {event.cause})"
    if causes:
        return " (cause: " + "; ".join(f"{c['code']} {c['name']}" for c in causes) + ")"
    return ""


def check_sctp() -> None:
    """Raise the no-SCTP sentence if this kernel cannot open an SCTP socket."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, C.IPPROTO_SCTP).close()
    except OSError as e:
        if e.errno in _NO_SCTP_ERRNOS:
            raise SctpError(NO_SCTP, e.errno, exit_code=2) from None
        raise


class SctpEndpoint:
    """A kernel SCTP socket with the RFC 6458 API.

    ``one_to_many``: SOCK_SEQPACKET (one socket, many associations, each
    known by its ``assoc_id``) instead of SOCK_STREAM (one association).
    ``streams``: (outbound, max inbound) announced in INIT (SCTP_INITMSG).
    ``events``: notification types to subscribe to (SCTP_EVENT).
    """

    def __init__(self, family: int = socket.AF_INET, one_to_many: bool = False,
                 streams: tuple[int, int] | None = None, max_attempts: int = 0,
                 max_init_timeo: int = 0, events=C.DEFAULT_EVENTS, nodelay: bool = True,
                 sndbuf: int | None = None, _sock: socket.socket | None = None):
        self.family = family
        self.one_to_many = one_to_many
        self.assocs: dict[int, AssocChange] = {}   # assoc_id -> latest COMM_UP/RESTART
        self._pending: deque = deque()
        self._partial: dict = {}
        self._eof = False
        if _sock is not None:
            self.sock = _sock
        else:
            try:
                self.sock = socket.socket(family, socket.SOCK_SEQPACKET if one_to_many
                                          else socket.SOCK_STREAM, C.IPPROTO_SCTP)
            except OSError as e:
                if e.errno in _NO_SCTP_ERRNOS:
                    raise SctpError(NO_SCTP, e.errno, exit_code=2) from None
                raise SctpError(f"cannot open an SCTP socket: {e.strerror}", e.errno) from None
        self.sock.setblocking(False)
        try:
            if streams or max_attempts or max_init_timeo:
                out, inn = streams or (10, 65535)
                self.sock.setsockopt(C.SOL_SCTP, C.SCTP_INITMSG,
                                     C.INITMSG.pack(out, inn, max_attempts, max_init_timeo))
            self.subscribe(*events)
            self.sock.setsockopt(C.SOL_SCTP, C.SCTP_RECVRCVINFO, 1)
            if nodelay:
                self.sock.setsockopt(C.SOL_SCTP, C.SCTP_NODELAY, 1)
            if sndbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        except OSError as e:
            self.sock.close()
            raise SctpError(f"cannot set SCTP socket options: {e.strerror}", e.errno) from None

    @classmethod
    def for_addresses(cls, addrs, **kw) -> "SctpEndpoint":
        """An endpoint whose family fits ``addrs`` (IPv6 if any is IPv6; an
        IPv6 SCTP socket also carries IPv4 addresses)."""
        fam = socket.AF_INET6 if any(family_of(a) == socket.AF_INET6 for a in addrs) \
            else socket.AF_INET
        return cls(fam, **kw)

    # ------------------------------------------------------------ setup
    def subscribe(self, *types: int, on: bool = True) -> None:
        """SCTP_EVENT for each notification type (RFC 6458 6.2.1)."""
        for t in types:
            self.sock.setsockopt(C.SOL_SCTP, C.SCTP_EVENT, C.EVENT.pack(0, t, 1 if on else 0))

    def fileno(self) -> int:
        return self.sock.fileno()

    def _addr_for_socket(self, addr: str) -> str:
        if self.family == socket.AF_INET6 and ":" not in addr:
            return "::ffff:" + addr     # an IPv4 address on an IPv6 socket
        return addr

    def bind(self, addrs: list[str], port: int = 0) -> int:
        """Bind the first address, add the others with SCTP_SOCKOPT_BINDX_ADD
        (multihoming).  Returns the bound port."""
        addrs = list(addrs) or (["::"] if self.family == socket.AF_INET6 else ["0.0.0.0"])
        first = addrs[0]
        try:
            self.sock.bind(sock_tuple(self._addr_for_socket(first), port))
        except OSError as e:
            raise self._bind_error(e, first, port) from None
        port = self.sock.getsockname()[1]
        for a in addrs[1:]:
            try:
                self.sock.setsockopt(C.SOL_SCTP, C.SCTP_SOCKOPT_BINDX_ADD, sockaddr(a, port))
            except OSError as e:
                raise self._bind_error(e, a, port) from None
        return port

    def _bind_error(self, e: OSError, addr: str, port: int) -> SctpError:
        where = endpoint_text(addr, port)
        if e.errno == errno.EADDRNOTAVAIL:
            return SctpError(f"cannot bind to {addr}: it is not an address of this host "
                             "(EADDRNOTAVAIL); use one that `ip addr` lists", e.errno)
        if e.errno == errno.EADDRINUSE:
            return SctpError(f"cannot bind to {where}: the port is already in use (EADDRINUSE)",
                             e.errno)
        if e.errno == errno.EACCES:
            return SctpError(f"cannot bind to {where}: permission denied (ports below 1024 "
                             "need root)", e.errno)
        if e.errno == errno.EINVAL and self.family == socket.AF_INET and ":" in addr:
            return SctpError(f"cannot bind to {addr}: an IPv6 address on an IPv4 socket",
                             e.errno)
        return SctpError(f"cannot bind to {where}: {e.strerror} ({_errname(e.errno)})", e.errno)

    def listen(self, backlog: int = 16) -> None:
        try:
            self.sock.listen(backlog)
        except OSError as e:
            raise SctpError(f"cannot listen: {e.strerror}", e.errno) from None

    def accept(self) -> tuple["SctpEndpoint", tuple]:
        """One-to-one server: the next association as its own endpoint
        (it inherits this socket's options and subscriptions)."""
        s, peer = self.sock.accept()
        ep = SctpEndpoint(self.family, False, _sock=s, events=())
        return ep, peer

    # ------------------------------------------------------------ association
    def connect(self, addrs: list[str], port: int, timeout: float = 10.0) -> AssocChange:
        """Set up an association to ``addrs`` (several: SCTP_SOCKOPT_CONNECTX,
        the peer's other addresses) and wait for COMM_UP.  Returns the
        ASSOC_CHANGE; a refusal or time-out raises :class:`SctpError` with the
        cause the kernel reported."""
        dest = endpoint_text(addrs[0], port)
        try:
            if len(addrs) == 1:
                rc = self.sock.connect_ex(sock_tuple(self._addr_for_socket(addrs[0]), port))
                if rc not in (0, errno.EINPROGRESS):
                    raise OSError(rc, os.strerror(rc))
            else:
                try:
                    self.sock.setsockopt(C.SOL_SCTP, C.SCTP_SOCKOPT_CONNECTX,
                                         b"".join(sockaddr(a, port) for a in addrs))
                except OSError as e:
                    if e.errno != errno.EINPROGRESS:
                        raise
        except OSError as e:
            raise self._assoc_error(e.errno, dest) from None
        deadline = time.monotonic() + timeout
        held = []
        last_error = None
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SctpError(f"no association with {dest} after {timeout:g} s: the peer "
                                    "did not answer INIT (wrong address, filtered, or down)",
                                    errno.ETIMEDOUT)
                try:
                    item = self._read(left)
                except OSError as e:
                    ev = self._drain_cause() or last_error
                    raise self._assoc_error(e.errno, dest, ev) from None
                if item is None:
                    continue
                if isinstance(item, AssocChange):
                    if item.state in ("COMM_UP", "RESTART"):
                        self._pending.extend(held)
                        held = []
                        return item
                    if item.state in ("CANT_STR_ASSOC", "COMM_LOST"):
                        raise self._assoc_error(item.error or errno.ECONNREFUSED, dest,
                                                item if item.causes else (last_error or item))
                if isinstance(item, RemoteError):
                    last_error = item
                held.append(item)
        finally:
            self._pending.extend(held)

    def _drain_cause(self):
        """After an error, read what notifications are still queued for the reason."""
        found = None
        for _ in range(8):
            try:
                item = self._read(0)
            except OSError:
                break
            if item is None:
                break
            self._pending.append(item)
            if isinstance(item, (AssocChange, RemoteError)) and (
                    getattr(item, "causes", None) or isinstance(item, RemoteError)):
                found = item
        return found

    def _assoc_error(self, err: int, dest: str, event=None) -> SctpError:
        why = _cause_text(event)
        if err == errno.ECONNREFUSED:
            msg = (f"the association with {dest} was refused: the peer answered INIT with "
                   f"ABORT{why or ' (no SCTP listener on that port?)'}")
        elif err in (errno.ECONNRESET, errno.EPIPE):
            msg = f"the association with {dest} was aborted by the peer{why}"
        elif err == errno.ETIMEDOUT:
            msg = (f"no association with {dest}: INIT was not answered after the last "
                   f"retransmission{why}")
        elif err == errno.EADDRNOTAVAIL:
            msg = f"cannot reach {dest}: address not available (EADDRNOTAVAIL)"
        elif err in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            msg = f"cannot reach {dest}: no route ({_errname(err)})"
        elif err == errno.EINVAL:
            msg = f"cannot associate with {dest}: invalid address for this socket (EINVAL)"
        else:
            msg = f"the association with {dest} failed: {os.strerror(err)} ({_errname(err)}){why}"
        return SctpError(msg, err, event)

    # ------------------------------------------------------------ data
    def outbound_streams(self, assoc_id: int | None = None) -> int | None:
        if assoc_id is None and len(self.assocs) == 1:
            assoc_id = next(iter(self.assocs))
        a = self.assocs.get(assoc_id) if assoc_id is not None else None
        return a.outbound_streams if a else None

    def send(self, data: bytes, sid: int = 0, ppid: int = 0, unordered: bool = False,
             ttl: int | None = None, assoc_id: int | None = None, to: tuple | None = None,
             eof: bool = False, abort: bool = False, timeout: float = 10.0) -> int:
        """Send one message with SCTP_SNDINFO (stream, PPID, flags) and, with
        ``ttl`` (ms), SCTP_PRINFO (PR-SCTP timed reliability)."""
        out = self.outbound_streams(assoc_id)
        if out is not None and sid >= out and not (eof or abort):
            raise SctpError(f"stream {sid} does not exist: the association has {out} outbound "
                            f"streams (0-{out - 1}); ask for more with --streams OUT,IN "
                            "(the peer may grant fewer)", errno.EINVAL)
        flags = (C.SCTP_UNORDERED if unordered else 0) | (C.SCTP_EOF if eof else 0) \
            | (C.SCTP_ABORT if abort else 0)
        if assoc_id is None:
            assoc_id = next(iter(self.assocs)) if self.one_to_many and len(self.assocs) == 1 else 0
        cmsg = [(C.SOL_SCTP, C.SCTP_SNDINFO,
                 C.SNDINFO.pack(sid, flags, socket.htonl(ppid), 0, assoc_id))]
        if ttl is not None:
            cmsg.append((C.SOL_SCTP, C.SCTP_PRINFO, C.PRINFO.pack(C.SCTP_PR_SCTP_TTL, ttl)))
        deadline = time.monotonic() + timeout
        while True:
            try:
                if to is not None:
                    return self.sock.sendmsg([data], cmsg, 0, sock_tuple(*to))
                return self.sock.sendmsg([data], cmsg)
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SctpError(f"could not send for {timeout:g} s: the peer's window "
                                    "and the send buffer are full", errno.EAGAIN) from None
                p = select.poll()
                p.register(self.sock, select.POLLOUT)
                p.poll(min(left, 1.0) * 1000)
            except OSError as e:
                raise self._send_error(e.errno, len(data), sid) from None

    def _send_error(self, err: int, size: int, sid: int) -> SctpError:
        if err == errno.EMSGSIZE:
            try:
                buf = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                room = f" (send buffer {buf} bytes)"
            except OSError:
                room = ""
            return SctpError(f"the message of {size} bytes is larger than the socket can take"
                             f"{room} (EMSGSIZE): send less, or raise net.core.wmem_max and "
                             "the send buffer", err)
        if err == errno.EINVAL:
            return SctpError(f"the kernel refused the message (EINVAL): stream {sid} is above "
                             "the negotiated outbound streams, or a flag is not allowed", err)
        if err in (errno.EPIPE, errno.ECONNRESET):
            ev = self._drain_cause()
            return SctpError(f"cannot send: the association was aborted or shut down"
                             f"{_cause_text(ev)}", err, ev)
        if err == errno.ENOTCONN:
            return SctpError("cannot send: there is no association (ENOTCONN)", err)
        return SctpError(f"cannot send: {os.strerror(err)} ({_errname(err)})", err)

    # ------------------------------------------------------------ receive
    def _read(self, timeout: float | None):
        """One recvmsg after waiting up to ``timeout`` s; None on time-out."""
        if timeout is None or timeout > 0:
            p = select.poll()
            p.register(self.sock, select.POLLIN)
            if not p.poll(None if timeout is None else timeout * 1000):
                return None
        try:
            data, anc, flags, addr = self.sock.recvmsg(_RECV_BUF, socket.CMSG_SPACE(64))
        except BlockingIOError:
            return None
        if flags & C.MSG_NOTIFICATION:
            while not flags & C.MSG_EOR:        # a notification longer than the buffer
                more, _a, flags, _ = self.sock.recvmsg(_RECV_BUF)
                data += more
            ev = parse_notification(data)
            if isinstance(ev, AssocChange):
                if ev.state in ("COMM_UP", "RESTART"):
                    self.assocs[ev.assoc_id] = ev
                elif ev.state in ("COMM_LOST", "SHUTDOWN_COMP", "CANT_STR_ASSOC"):
                    self.assocs.pop(ev.assoc_id, None)
            return ev
        if not data and not anc and not flags & C.MSG_EOR:
            if self._eof:
                return None
            self._eof = True                    # one-to-one: the peer shut down
            return Notification("peer_closed")
        msg = Message(data)
        for level, ctype, cdata in anc:
            if level == C.SOL_SCTP and ctype == C.SCTP_RCVINFO and len(cdata) >= C.RCVINFO.size:
                (msg.sid, msg.ssn, msg.flags, ppid, msg.tsn, msg.cumtsn, msg.context,
                 msg.assoc_id) = C.RCVINFO.unpack_from(cdata)
                msg.ppid = socket.ntohl(ppid)
        if addr:
            msg.peer = (addr[0].removeprefix("::ffff:") if isinstance(addr[0], str) else addr[0],
                        addr[1])
        msg.complete = bool(flags & C.MSG_EOR)
        if not msg.complete:                    # partial delivery: gather the rest
            while not flags & C.MSG_EOR:
                p = select.poll()
                p.register(self.sock, select.POLLIN)
                p.poll(5000)
                try:
                    more, _a, flags, _ = self.sock.recvmsg(_RECV_BUF)
                except BlockingIOError:
                    break
                if not more:
                    break
                msg.data += more
            msg.complete = bool(flags & C.MSG_EOR)
        return msg

    def recv(self, timeout: float | None = None):
        """The next :class:`Message` or :class:`Notification`, or None after
        ``timeout`` seconds (None: wait for ever).  Errors -> :class:`SctpError`."""
        if self._pending:
            return self._pending.popleft()
        try:
            return self._read(timeout)
        except OSError as e:
            ev = self._drain_cause()
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                raise SctpError(f"the association was aborted by the peer{_cause_text(ev)}",
                                e.errno, ev) from None
            if e.errno == errno.ECONNREFUSED:
                raise SctpError(f"the association was refused{_cause_text(ev)}", e.errno,
                                ev) from None
            if e.errno == errno.ETIMEDOUT:
                raise SctpError("the association timed out: the peer stopped answering "
                                f"(every path failed){_cause_text(ev)}", e.errno, ev) from None
            raise SctpError(f"receive failed: {os.strerror(e.errno)} ({_errname(e.errno)})",
                            e.errno, ev) from None

    def events(self, timeout: float | None = None):
        """Iterate over messages and notifications until ``timeout`` s of silence."""
        while True:
            item = self.recv(timeout)
            if item is None:
                return
            yield item

    # ------------------------------------------------------------ teardown
    def shutdown(self, assoc_id: int | None = None, timeout: float = 10.0) -> list:
        """Graceful SHUTDOWN (one-to-one: shutdown(SHUT_WR); one-to-many: an
        SCTP_EOF message); returns what was read until SHUTDOWN_COMP."""
        seen = []
        try:
            if self.one_to_many:
                if assoc_id is None:
                    ids = list(self.assocs)
                else:
                    ids = [assoc_id]
                for a in ids:
                    self.send(b"", assoc_id=a, eof=True)
            else:
                ids = list(self.assocs) or [0]
                self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            if e.errno in (errno.ENOTCONN, errno.EPIPE):
                return seen
            raise
        except SctpError:
            return seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.assocs if self.one_to_many else True):
            try:
                item = self.recv(deadline - time.monotonic())
            except SctpError:
                break
            if item is None:
                break
            seen.append(item)
            if isinstance(item, AssocChange) and item.state in ("SHUTDOWN_COMP", "COMM_LOST"):
                if not self.one_to_many or not self.assocs:
                    break
        return seen

    def abort(self, assoc_id: int | None = None, reason: bytes = b"") -> None:
        """ABORT the association.  One-to-many: SCTP_ABORT flag (the kernel sends
        ABORT with a User-Initiated Abort cause carrying ``reason``); one-to-one
        sockets refuse that flag, so SO_LINGER 0 + close (ABORT, no reason)."""
        ids = [assoc_id] if assoc_id is not None else (list(self.assocs) or [0])
        for a in ids:
            cmsg = [(C.SOL_SCTP, C.SCTP_SNDINFO,
                     C.SNDINFO.pack(0, C.SCTP_ABORT, 0, 0, a))]
            try:
                self.sock.sendmsg([reason], cmsg)
            except OSError:
                # one-to-one sockets refuse SCTP_ABORT (EINVAL): SO_LINGER 0 + close
                # sends the ABORT (without a reason)
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.sock.close()
                self.assocs.clear()
                return
            self.assocs.pop(a, None)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
