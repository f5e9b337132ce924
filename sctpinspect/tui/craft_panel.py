"""The Send panel's craft mode: one hand-made SCTP packet (an INIT with chosen
parameters, a wrong vtag, a bad checksum, an ABORT with chosen causes, DATA
with a chosen TSN, an unknown chunk) sent through a raw socket, as
``sctpinspect craft`` does, to probe how a peer reacts.

This module is UI only: the probe kinds, their defaults and the builders are
:mod:`sctpinspect.craft` (``KINDS``, ``craft_packet``); sending and reply
collection are :func:`sctpinspect.craft.send_packet`, run on a thread.

* :func:`parse_craft_form` checks what the user typed and returns a
  :class:`CraftRequest` (or raises :class:`UserError` with a sentence naming
  the field); it never touches the network;
* :class:`CraftForm` is the form; F5 builds the packet and shows its decoded
  one-line summary without sending, F6 sends it (the packet built by F5 when
  the form has not changed since, so what was shown is what leaves) and the
  replies -- SCTP from the destination to our ports, ICMP errors quoting
  the packet -- are decoded into the panel's log.

Safety: the packet goes only to the destination typed in the form, which
must be an IP address literal (no name resolution).
"""
from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select

from ..errors import UserError
from .widgets import ThreadPosting

#: menu of the probe kinds; filled from sctpinspect.craft.KINDS without importing
#: scapy at TUI start (checked against KINDS by the tests)
KIND_CHOICES = (("INIT with chosen parameters", "init"),
                ("ABORT with chosen causes", "abort"),
                ("DATA with a chosen TSN", "data"),
                ("any chunk (e.g. an unknown type)", "chunk"))
MAX_WAIT = 60.0


@dataclass
class CraftRequest:
    """What the form asks for: the keyword arguments of
    :func:`sctpinspect.craft.craft_packet` and the reply wait."""
    kind: str
    dst: str
    dport: int
    options: dict = field(default_factory=dict)
    wait: float = 2.0

    def build(self):
        from .. import craft as K
        return K.craft_packet(self.kind, self.dst, self.dport, **self.options)


def _int(text: str, what: str, lo: int, hi: int) -> int:
    t = text.strip()
    try:
        v = int(t, 0)
    except ValueError:
        raise UserError(f"{what} {t!r} is not a number") from None
    if not lo <= v <= hi:
        raise UserError(f"{what} {v} is outside {lo}..{hi}")
    return v


def _opt_int(values: dict, key: str, what: str, lo: int, hi: int) -> int | None:
    text = (values.get(key) or "").strip()
    return _int(text, what, lo, hi) if text else None


def _hex(text: str, what: str) -> bytes:
    cleaned = "".join(text.split()).replace(":", "")
    if cleaned.startswith(("0x", "0X")):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UserError(f"{what} {text.strip()!r} is not hex: give an even number of hex "
                        "digits (spaces and colons allowed)") from None


def _items(text: str) -> list[str]:
    return [x for x in re.split(r"[,\s]+", text.strip()) if x]


def parse_dest(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` / ``[IPV6]:PORT`` typed by the user -> (address literal, port)."""
    t = text.strip()
    if not t:
        raise UserError("give the destination as ADDR:PORT (an IP address typed literally, "
                        "IPv6 as [ADDR]:PORT): a crafted packet goes only there")
    from ..commands.craft import _parse_dest      # the CLI's DEST:PORT rules and sentences
    return _parse_dest(t)


def parse_craft_form(values: dict) -> CraftRequest:
    """The craft form's fields (strings; check boxes bools) -> :class:`CraftRequest`.

    Raises :class:`UserError` with one sentence naming the field."""
    kind = values.get("kind") or "init"
    dst, dport = parse_dest(values.get("dest", ""))
    opts: dict = {}
    opts["sport"] = _opt_int(values, "sport", "source port", 0, 65535)
    opts["vtag"] = _opt_int(values, "vtag", "vtag", 0, 0xFFFFFFFF)
    opts["bad_checksum"] = bool(values.get("bad_checksum"))
    wait_text = (values.get("wait") or "").strip() or "0"
    try:
        wait = float(wait_text)
    except ValueError:
        raise UserError(f"wait {wait_text!r} is not a number of seconds") from None
    if not 0 <= wait <= MAX_WAIT:
        raise UserError(f"wait {wait:g} s is outside 0..{MAX_WAIT:g} seconds")
    if kind == "init":
        from ..sock.cli import parse_streams
        opts["init_tag"] = _opt_int(values, "init_tag", "Initiate Tag", 0, 0xFFFFFFFF)
        opts["tsn"] = _opt_int(values, "tsn", "initial TSN", 0, 0xFFFFFFFF)
        opts["a_rwnd"] = _int(values.get("a_rwnd") or "106496", "a_rwnd", 0, 0xFFFFFFFF)
        st = (values.get("streams") or "10,10").strip()
        try:
            opts["streams"] = parse_streams(st)
        except UserError:
            raise UserError(f"streams {st!r}: expected OUT,IN, two numbers from 1 to "
                            "65535") from None
        addrs = []
        for a in _items(values.get("addrs", "")):
            t = a[1:-1] if a.startswith("[") and a.endswith("]") else a
            try:
                addrs.append(str(ipaddress.ip_address(t)))
            except ValueError:
                raise UserError(f"address parameter {a!r} is not an IPv4 or IPv6 "
                                "address") from None
        opts["addrs"] = addrs
        ext = (values.get("ext") or "").strip()
        if ext:
            from .. import craft as K
            opts["extensions"] = K.parse_extensions([ext], what="supported extension")
        opts["forward_tsn"] = bool(values.get("forward_tsn"))
    elif kind == "abort":
        causes = _items(values.get("causes", ""))
        if causes:
            from .. import craft as K
            opts["causes"] = K.cause_bytes(causes, what="cause")
        opts["t_bit"] = bool(values.get("t_bit"))
    elif kind == "data":
        opts["tsn"] = _opt_int(values, "data_tsn", "TSN", 0, 0xFFFFFFFF)
        opts["sid"] = _int(values.get("sid") or "0", "stream id", 0, 65535)
        opts["ssn"] = _int(values.get("ssn") or "0", "SSN", 0, 65535)
        opts["ppid"] = _int(values.get("ppid") or "0", "PPID", 0, 0xFFFFFFFF)
        opts["unordered"] = bool(values.get("unordered"))
        text = values.get("payload") or ""
        opts["payload"] = _hex(text, "payload") if values.get("payload_hex") else text.encode()
    elif kind == "chunk":
        opts["chunk_type"] = _int(values.get("chunk_type") or "0x7f", "chunk type", 0, 255)
        opts["chunk_flags"] = _int(values.get("chunk_flags") or "0", "chunk flags", 0, 255)
        opts["value"] = _hex(values.get("value") or "", "chunk value")
    else:
        raise UserError(f"unknown probe kind {kind!r}")
    return CraftRequest(kind, dst, dport, {k: v for k, v in opts.items() if v is not None},
                        wait)


def raw_socket_sentence(text: str) -> str:
    """The craft module's permission sentence speaks of the command line's
    --dry-run; in the panel the same advice is F5."""
    if text.startswith("raw sockets need root"):
        return ("raw sockets need root or CAP_NET_RAW: start sctpinspect with sudo to send "
                "(F5 only builds the packet)")
    return text


def send_crafted(crafted, wait: float, post) -> threading.Thread:
    """Send ``crafted`` on a thread; ``post(kind, obj)`` gets ``sent`` (send
    time, IP bytes), ``reply`` (time, IP bytes) for each reply, ``timeout``
    (wait) when none came, ``error`` (a sentence) and finally ``done``."""
    def run():
        from .. import craft as K
        try:
            _, replies = K.send_packet(crafted, wait=wait,
                                       on_sent=lambda ts, data: post("sent", (ts, data)),
                                       on_reply=lambda ts, data: post("reply", (ts, data)))
            if wait > 0 and not replies:
                post("timeout", wait)
        except UserError as e:
            post("error", raw_socket_sentence(str(e)))
        except OSError as e:
            post("error", f"cannot send the crafted packet: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - shown as a sentence, never a traceback
            post("error", f"internal error in craft mode: {type(e).__name__}: {e}")
        finally:
            post("done", None)
    t = threading.Thread(target=run, name="tui-craft", daemon=True)
    t.start()
    return t


def warm_up() -> None:
    """Import scapy (seconds) on a thread, so the first F5 does not freeze the UI."""
    def imp():
        try:
            from .. import craft  # noqa: F401
        except Exception:  # noqa: BLE001 - the real import reports it later
            pass
    threading.Thread(target=imp, name="tui-craft-import", daemon=True).start()


# --------------------------------------------------------------------------- the widget

class CraftForm(ThreadPosting, Vertical):
    """The craft-mode form of the Send panel.  ``log(line, style)``,
    ``error(text)`` and ``state(text)`` are the panel's log, error line and
    status line."""

    DEFAULT_CSS = """
    CraftForm { height: auto; }
    CraftForm .row { height: 3; }
    CraftForm .lab { width: auto; padding: 1 1 0 1; }
    CraftForm #craft-kind { width: 38; }
    CraftForm #craft-dest { width: 1fr; }
    CraftForm #craft-sport, CraftForm #craft-wait { width: 10; }
    CraftForm #craft-vtag, CraftForm #craft-init_tag, CraftForm #craft-tsn,
    CraftForm #craft-data_tsn, CraftForm #craft-a_rwnd, CraftForm #craft-ppid { width: 14; }
    CraftForm #craft-streams { width: 12; }
    CraftForm #craft-sid, CraftForm #craft-ssn, CraftForm #craft-chunk_type,
    CraftForm #craft-chunk_flags { width: 10; }
    CraftForm #craft-addrs, CraftForm #craft-ext, CraftForm #craft-causes,
    CraftForm #craft-payload, CraftForm #craft-value { width: 1fr; }
    CraftForm #craft-summary { height: auto; padding: 0 1; color: $accent; }
    CraftForm Button { min-width: 12; margin: 0 1 0 0; }
    """

    def __init__(self, log, error, state, **kw):
        super().__init__(**kw)
        self._log, self._error, self._state = log, error, state
        self.sender: threading.Thread | None = None
        self.built = None              # (form values, Crafted) of the last F5
        self.last_sent: bytes | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Select(KIND_CHOICES, value="init", allow_blank=False, id="craft-kind")
            yield Label("to", classes="lab")
            yield Input(placeholder="ADDR:PORT typed literally, e.g. 192.0.2.2:5000",
                        id="craft-dest")
            yield Label("sport", classes="lab")
            yield Input(placeholder="random", id="craft-sport")
            yield Label("vtag", classes="lab")
            yield Input(placeholder="0 (INIT) / random", id="craft-vtag")
            yield Checkbox("bad checksum", id="craft-bad_checksum")
            yield Label("wait s", classes="lab")
            yield Input("2", id="craft-wait")
        with Horizontal(classes="row craft-kind-row", id="craft-row-init"):
            yield Label("Initiate Tag", classes="lab")
            yield Input(placeholder="random", id="craft-init_tag")
            yield Label("streams", classes="lab")
            yield Input("10,10", placeholder="OUT,IN", id="craft-streams")
            yield Label("TSN", classes="lab")
            yield Input(placeholder="random", id="craft-tsn")
            yield Label("a_rwnd", classes="lab")
            yield Input("106496", id="craft-a_rwnd")
            yield Label("addresses", classes="lab")
            yield Input(placeholder="address parameters", id="craft-addrs")
            yield Label("ext", classes="lab")
            yield Input(placeholder="forward-tsn,re-config,0x40", id="craft-ext")
            yield Checkbox("Forward-TSN", id="craft-forward_tsn")
        with Horizontal(classes="row craft-kind-row", id="craft-row-abort"):
            yield Label("causes", classes="lab")
            yield Input(placeholder="CODE[:HEX] ..., e.g. 12:6279652e (User-Initiated Abort)",
                        id="craft-causes")
            yield Checkbox("T bit", id="craft-t_bit")
        with Horizontal(classes="row craft-kind-row", id="craft-row-data"):
            yield Label("TSN", classes="lab")
            yield Input(placeholder="1", id="craft-data_tsn")
            yield Label("sid", classes="lab")
            yield Input("0", id="craft-sid")
            yield Label("SSN", classes="lab")
            yield Input("0", id="craft-ssn")
            yield Label("PPID", classes="lab")
            yield Input("0", id="craft-ppid")
            yield Checkbox("unordered", id="craft-unordered")
            yield Input(placeholder="user data (empty: a DATA chunk with no user data)",
                        id="craft-payload")
            yield Checkbox("hex", id="craft-payload_hex")
        with Horizontal(classes="row craft-kind-row", id="craft-row-chunk"):
            yield Label("chunk type", classes="lab")
            yield Input("0x7f", id="craft-chunk_type")
            yield Label("flags", classes="lab")
            yield Input("0", id="craft-chunk_flags")
            yield Label("value", classes="lab")
            yield Input(placeholder="value as hex", id="craft-value")
        with Horizontal(classes="row"):
            yield Button("Build F5", id="craft-build", variant="primary")
            yield Button("Send F6", id="craft-send", variant="warning")
        yield Label("", id="craft-summary")

    def on_mount(self) -> None:
        self._show_kind("init")

    # -------------------------------------------------------------- form
    def values(self) -> dict:
        out = {"kind": self.query_one("#craft-kind", Select).value}
        for w in self.query(Input):
            out[w.id.removeprefix("craft-")] = w.value
        for w in self.query(Checkbox):
            out[w.id.removeprefix("craft-")] = w.value
        return out

    @on(Select.Changed, "#craft-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._show_kind(str(event.value))
        self.built = None

    def _show_kind(self, kind: str) -> None:
        for row in self.query(".craft-kind-row"):
            row.display = row.id == f"craft-row-{kind}"

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id in ("craft-build", "craft-send"):
            event.stop()
            self.build() if event.button.id == "craft-build" else self.send()

    # -------------------------------------------------------------- actions
    def _make(self):
        """(values, Crafted, wait) or None after showing the error."""
        values = self.values()
        try:
            req = parse_craft_form(values)
            if self.built is not None and self.built[0] == values:
                crafted = self.built[1]      # F6 after F5: send what was shown
            else:
                crafted = req.build()
        except UserError as e:
            self._error(str(e))
            return None
        except Exception as e:  # noqa: BLE001 - a builder failing is a sentence too
            self._error(f"cannot build the packet: {type(e).__name__}: {e}")
            return None
        self._error("")
        return values, crafted, req.wait

    def build(self) -> None:
        made = self._make()
        if made is None:
            return
        values, crafted, _ = made
        from .. import craft as K
        self.built = (values, crafted)
        line = K.summary_line(crafted.ip_bytes())
        self.query_one("#craft-summary", Label).update(Text(f"packet: {line}"))
        self._log(f"built: {line}", "yellow")
        self._log(f"  hex: {crafted.sctp_bytes.hex()}", "grey50")
        self._state(f"craft: built {crafted.description} for {crafted.dst}, not sent "
                    "(F6 sends it)")

    def send(self) -> None:
        if self.sender is not None and self.sender.is_alive():
            self._error("the last crafted packet is still waiting for replies: wait for it")
            return
        made = self._make()
        if made is None:
            return
        values, crafted, wait = made
        from .. import craft as K
        self.built = None                 # a second F6 builds a new packet (new random values)
        line = K.summary_line(crafted.ip_bytes())
        self.query_one("#craft-summary", Label).update(Text(f"packet: {line}"))
        self._log(f"sending: {line}", "yellow")
        self._state(f"craft: sending {crafted.description} to {crafted.dst}"
                    + (f", waiting {wait:g} s for replies" if wait else ""))
        self.sender = send_crafted(crafted, wait, self._post_from_thread)

    # -------------------------------------------------------------- from the thread

    def _on_post(self, kind: str, obj) -> None:
        if not self.is_attached:
            return
        from .. import craft as K
        if kind == "sent":
            ts, data = obj
            self.last_sent = data
            self._log(f"sent: {K.summary_line(data, ts)}", "bold")
        elif kind == "reply":
            ts, data = obj
            self._log(f"reply: {K.summary_line(data, ts)}", "green")
        elif kind == "timeout":
            self._log(f"no reply within {obj:g} s", "grey50")
        elif kind == "error":
            self._error(obj)
        elif kind == "done":
            self._state("craft: done (F5 builds, F6 sends another)")
