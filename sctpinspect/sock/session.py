"""A kernel SCTP session on its own thread (the TUI's Send panel drives it).

* :func:`parse_form` checks what the user typed and returns a
  :class:`SendConfig` or raises :class:`~sctpinspect.errors.UserError` with a
  sentence (it never touches the network);
* :class:`SendSession` owns the sockets (:class:`~sctpinspect.sock.SctpEndpoint`)
  on its own thread: a ``poll`` loop over the sockets and a wake-up pipe,
  commands (send, shut down, abort, stop) queued from the caller, and every
  notification / message / error handed to a ``post`` callback.

No UI here: ``sctpinspect.tui.send_panel`` is the form around it (docs/tui.md,
"Send panel"; docs/send.md).
"""
from __future__ import annotations

import ipaddress
import os
import queue
import re
import select
import threading
from dataclasses import dataclass, field

from ..errors import UserError

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


def ppid_name(value: int) -> str:
    """The IANA name of a payload protocol identifier (or 'unassigned')."""
    from ..decode.sctp.names import PPIDS
    return PPIDS.get(value, "unassigned")


@dataclass
class SendConfig:
    role: str = "client"                     # client | server
    one_to_many: bool = False
    binds: list = field(default_factory=list)
    peers: list = field(default_factory=list)   # client: first is the primary destination
    port: int = 0
    streams: tuple | None = None             # (OUT, IN) for SCTP_INITMSG
    sid: int = 0
    ppid: int = 0
    unordered: bool = False
    ttl: int | None = None
    payload: bytes = b""
    count: int = 1
    timeout: float = 10.0


def _addresses(text: str, what: str) -> list[str]:
    """Comma/space separated IP literals (or host names, resolved later on the
    session thread) -> list; a malformed one is a sentence."""
    out = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        t = item[1:-1] if item.startswith("[") and item.endswith("]") else item
        try:
            out.append(str(ipaddress.ip_address(t.split("%", 1)[0]))
                       + ("%" + t.split("%", 1)[1] if "%" in t else ""))
            continue
        except ValueError:
            pass
        if ":" in t or not _HOSTNAME.match(t) or t.replace(".", "").isdigit():
            raise UserError(f"{what} {item!r} is not a valid IPv4 or IPv6 address")
        out.append(t)   # a host name: resolved when the session starts
    return out


def _int(text: str, what: str, lo: int, hi: int, base0: bool = False) -> int:
    t = text.strip()
    try:
        v = int(t, 0) if base0 else int(t)
    except ValueError:
        raise UserError(f"{what} {t!r} is not a number") from None
    if not lo <= v <= hi:
        raise UserError(f"{what} {v} is outside {lo}..{hi}")
    return v


def parse_form(values: dict, need_payload: bool = False) -> SendConfig:
    """The panel's fields (strings; ``unordered`` a bool) -> :class:`SendConfig`.

    Raises :class:`UserError` with one sentence naming the field."""
    from .cli import parse_streams
    cfg = SendConfig()
    cfg.role = values.get("role") or "client"
    cfg.one_to_many = values.get("style") == "one-to-many"
    cfg.binds = _addresses(values.get("bind", ""), "local address")
    cfg.peers = _addresses(values.get("peer", ""), "peer address")
    if cfg.role == "client" and not cfg.peers:
        raise UserError("give the peer address to connect to (several for a multihomed peer)")
    port_text = values.get("port", "").strip()
    if not port_text:
        raise UserError("give the SCTP port (1-65535)")
    cfg.port = _int(port_text, "port", 1, 65535)
    st = values.get("streams", "").strip()
    if st:
        try:
            cfg.streams = parse_streams(st)
        except UserError:
            raise UserError(f"streams {st!r}: expected OUT,IN, two numbers from 1 to "
                            "65535") from None
    cfg.sid = _int(values.get("sid", "0") or "0", "stream id", 0, 65535)
    if cfg.streams and cfg.sid >= cfg.streams[0]:
        raise UserError(f"stream id {cfg.sid} is out of range: {cfg.streams[0]} outbound "
                        f"streams are asked for (0-{cfg.streams[0] - 1})")
    cfg.ppid = _int(values.get("ppid", "0") or "0", "PPID", 0, 0xFFFFFFFF, base0=True)
    cfg.unordered = bool(values.get("unordered"))
    ttl = values.get("ttl", "").strip()
    cfg.ttl = _int(ttl, "PR-SCTP TTL (ms)", 0, 0xFFFFFFFF) if ttl else None
    cfg.count = _int(values.get("count", "1") or "1", "count", 1, 1_000_000)
    if need_payload:
        cfg.payload = parse_payload(values.get("kind", "text"), values.get("payload", ""))
    return cfg


def parse_payload(kind: str, text: str) -> bytes:
    if kind == "hex":
        cleaned = "".join(text.split()).replace(":", "")
        if cleaned.startswith(("0x", "0X")):
            cleaned = cleaned[2:]
        try:
            data = bytes.fromhex(cleaned)
        except ValueError:
            raise UserError(f"payload {text.strip()!r} is not hex: give an even number of "
                            "hex digits (spaces and colons allowed)") from None
    elif kind == "file":
        path = text.strip()
        if not path:
            raise UserError("give the path of the file to send")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise UserError(f"cannot read {path}: {e.strerror}") from None
    else:
        data = text.encode()
    if not data:
        raise UserError("SCTP cannot send an empty message: give at least one byte")
    return data


# --------------------------------------------------------------------------- the socket thread

class SendSession:
    """Kernel SCTP sockets driven on a thread.

    ``post(kind, obj)`` is called from the session thread with kind
    ``info`` (str), ``item`` (Message / Notification), ``error`` (str, one
    sentence), ``up`` (the COMM_UP AssocChange), ``ended`` (None: the session
    thread is finishing)."""

    def __init__(self, cfg: SendConfig, post):
        self.cfg = cfg
        self.post = post
        self._cmds: queue.SimpleQueue = queue.SimpleQueue()
        self._r, self._w = os.pipe()
        self._stop = False
        self.listener = None
        self.eps: dict = {}            # fd -> SctpEndpoint (associations)
        self.current = None            # (endpoint, assoc_id or None) messages go to
        self.thread = threading.Thread(target=self._main, name="tui-send", daemon=True)

    def start(self) -> "SendSession":
        self.thread.start()
        return self

    def command(self, name: str, *args) -> None:
        self._cmds.put((name, args))
        try:
            os.write(self._w, b"x")
        except OSError:
            pass

    def stop(self) -> None:
        self.command("stop")

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    # -------------------------------------------------------------- thread
    def _main(self) -> None:
        try:
            self._open()
            self._loop()
        except UserError as e:          # SctpError included: already a sentence
            self.post("error", str(e))
        except OSError as e:
            self.post("error", f"socket error: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - shown as a sentence, never a traceback
            self.post("error", f"internal error in the send panel: {type(e).__name__}: {e}")
        finally:
            for ep in list(self.eps.values()) + ([self.listener] if self.listener else []):
                try:
                    ep.close()
                except OSError:
                    pass
            for fd in (self._r, self._w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.post("ended", None)

    def _resolve(self, addrs):
        from . import parse_address
        return [a if ":" in a or a.replace(".", "").isdigit() else parse_address(a)
                for a in addrs]

    def _open(self) -> None:
        from . import SctpEndpoint, endpoint_text
        cfg = self.cfg
        binds = self._resolve(cfg.binds)
        if cfg.role == "client":
            peers = self._resolve(cfg.peers)
            ep = SctpEndpoint.for_addresses([*peers, *binds], one_to_many=cfg.one_to_many,
                                            streams=cfg.streams, max_attempts=4)
            self.eps[ep.fileno()] = ep
            if binds:
                ep.bind(binds, 0)
            self.post("info", f"connecting to {', '.join(endpoint_text(a, cfg.port) for a in peers)}"
                      f" ({'one-to-many' if cfg.one_to_many else 'one-to-one'})")
            up = ep.connect(peers, cfg.port, timeout=cfg.timeout)
            self.current = (ep, up.assoc_id if cfg.one_to_many else None)
            self.post("up", up)
            self.post("item", up)
        else:
            lst = SctpEndpoint.for_addresses(binds or ["0.0.0.0"], one_to_many=cfg.one_to_many,
                                             streams=cfg.streams)
            self.listener = lst
            lst.bind(binds, cfg.port)
            lst.listen()
            shown = binds or ["0.0.0.0"]
            self.post("info", f"listening on {', '.join(endpoint_text(a, cfg.port) for a in shown)}"
                      f" ({'one-to-many' if cfg.one_to_many else 'one-to-one'})")

    def _loop(self) -> None:
        from . import endpoint_text
        while not self._stop:
            if self.cfg.role == "client" and not self.eps:
                return                  # the association is over
            p = select.poll()
            p.register(self._r, select.POLLIN)
            if self.listener is not None:
                p.register(self.listener.fileno(), select.POLLIN)
            for fd in self.eps:
                p.register(fd, select.POLLIN)
            for fd, _ev in p.poll(500):
                if fd == self._r:
                    os.read(self._r, 4096)
                    self._commands()
                    if self._stop:
                        return
                    continue
                if self.listener is not None and fd == self.listener.fileno():
                    lst = self.listener
                    if lst.one_to_many:
                        self._read(lst, lst.fileno())
                    else:
                        try:
                            ep, peer = lst.accept()
                        except BlockingIOError:
                            continue
                        self.eps[ep.fileno()] = ep
                        self.current = (ep, None)
                        self.post("info", "accepted association from "
                                  f"{endpoint_text(peer[0], peer[1])}")
                    continue
                ep = self.eps.get(fd)
                if ep is not None:
                    self._read(ep, fd)

    def _read(self, ep, fd) -> None:
        from . import SctpError
        from .events import AssocChange, Message
        try:
            item = ep.recv(0)
        except SctpError as e:
            self.post("error", str(e))
            self._drop(fd)
            return
        if item is None:
            return
        self.post("item", item)
        if ep.one_to_many:
            if isinstance(item, (Message, AssocChange)) and item.assoc_id in ep.assocs:
                self.current = (ep, item.assoc_id)       # replies go to the latest peer
            elif self.current and self.current[1] not in ep.assocs:
                self.current = (ep, next(reversed(ep.assocs))) if ep.assocs else None
            if self.cfg.role == "client" and not ep.assocs and isinstance(item, AssocChange) \
                    and item.state in ("SHUTDOWN_COMP", "COMM_LOST", "CANT_STR_ASSOC"):
                self._drop(fd)
            return
        if getattr(item, "type", None) == "peer_closed" or (
                isinstance(item, AssocChange) and item.state in ("SHUTDOWN_COMP", "COMM_LOST")):
            try:
                for more in ep.events(0.3):
                    self.post("item", more)
            except SctpError:
                pass
            self._drop(fd)

    def _drop(self, fd) -> None:
        ep = self.eps.pop(fd, None)
        if ep is None and self.listener is not None and fd == self.listener.fileno():
            return
        if ep is not None:
            try:
                ep.close()
            except OSError:
                pass
        if self.current and self.current[0] is ep:
            self.current = None
            if self.cfg.role == "server" and self.eps:
                last = next(reversed(self.eps.values()))
                self.current = (last, None)

    def _commands(self) -> None:
        while True:
            try:
                name, args = self._cmds.get_nowait()
            except queue.Empty:
                return
            if name == "stop":
                self._stop = True
                return
            try:
                getattr(self, "_do_" + name)(*args)
            except UserError as e:
                self.post("error", str(e))
            except OSError as e:
                self.post("error", f"{name} failed: {e.strerror or e}")

    def _target(self, what: str):
        if self.current is None:
            if self.cfg.role == "server" and self.listener is not None and \
                    self.listener.one_to_many and self.listener.assocs:
                return self.listener, next(reversed(self.listener.assocs))
            raise UserError(f"cannot {what}: there is no association yet"
                            + (" (wait for a peer to connect)" if self.cfg.role == "server"
                               else ""))
        return self.current

    def _do_send(self, data: bytes, sid: int, ppid: int, unordered: bool, ttl, count: int):
        ep, assoc = self._target("send")
        for n in range(count):
            sent = ep.send(data, sid=sid, ppid=ppid, unordered=unordered, ttl=ttl,
                           assoc_id=assoc)
            self.post("info", f"sent #{n + 1} sid={sid} ppid={ppid} ({ppid_name(ppid)})"
                      f"{' unordered' if unordered else ''}"
                      f"{f' ttl={ttl}ms' if ttl is not None else ''} {sent} bytes")

    def _do_shutdown(self):
        ep, assoc = self._target("shut down")
        self.post("info", "SHUTDOWN sent: waiting for SHUTDOWN COMPLETE")
        for item in ep.shutdown(assoc if ep.one_to_many else None, timeout=self.cfg.timeout):
            self.post("item", item)
        if ep.one_to_many:
            if self.current and self.current[1] not in ep.assocs:
                self.current = None
            if self.cfg.role == "client" and not ep.assocs:
                self._drop(ep.fileno())
        else:
            self._drop(ep.fileno())

    def _do_abort(self):
        ep, assoc = self._target("abort")
        fd = ep.fileno()
        ep.abort(assoc if ep.one_to_many else None, reason=b"sctpinspect TUI")
        self.post("info", "ABORT sent" + (f" on assoc={assoc}" if assoc is not None else ""))
        if ep.one_to_many:
            self.current = None
            if self.cfg.role == "client":
                self._drop(fd)
        else:
            self.eps.pop(fd, None)       # abort() closed the socket
            self.current = None
            if self.cfg.role == "server" and self.eps:
                self.current = (next(reversed(self.eps.values())), None)
