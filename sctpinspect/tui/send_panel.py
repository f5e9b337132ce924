"""The TUI's Send panel (tab 7): talk SCTP through this kernel's stack while
the capture tabs show the packets.

* the session (form checking, sockets on their own thread) is
  :mod:`sctpinspect.sock.session` (:func:`parse_form`, :class:`SendSession`),
  UI-free;
* :class:`SendPanel` is the form, the buttons (F5 connect/listen, F6 send,
  F7 shut down, F8 abort, F9 stop) and the events log.  The session's
  callbacks reach it through ``App.call_from_thread``, so no socket call ever
  runs on the UI thread.
* role "craft" swaps the kernel form for :class:`~.craft_panel.CraftForm`:
  one hand-made packet through a raw socket (F5 builds, F6 sends), its
  replies decoded into the same log.

See docs/tui.md ("Send panel") and docs/send.md.
"""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, RichLog, Select

from ..errors import UserError
from ..sock.session import (SendConfig, SendSession, _int, parse_form,  # noqa: F401
                            parse_payload, ppid_name)
from .widgets import ThreadPosting
from .craft_panel import CraftForm, warm_up

ROLES = (("client (connect)", "client"), ("server (listen)", "server"),
         ("craft (raw packet)", "craft"))
STYLES = (("one-to-one", "one-to-one"), ("one-to-many", "one-to-many"))
PAYLOAD_KINDS = (("text", "text"), ("hex", "hex"), ("file", "file"))


# --------------------------------------------------------------------------- the widget

class SendPanel(ThreadPosting, Vertical):
    """Form, buttons and events log of the Send tab."""

    BINDINGS = [Binding("f5", "start", "Connect/Listen"),
                Binding("f6", "send", "Send"),
                Binding("f7", "shutdown", "Shut down"),
                Binding("f8", "abort", "Abort"),
                Binding("f9", "stop", "Stop")]

    DEFAULT_CSS = """
    SendPanel { height: 1fr; }
    SendPanel .row { height: 3; }
    SendPanel .lab { width: auto; padding: 1 1 0 1; }
    SendPanel Select { width: 24; }
    SendPanel #send-bind, SendPanel #send-peer { width: 1fr; }
    SendPanel #send-port { width: 10; }
    SendPanel #send-streams { width: 14; }
    SendPanel #send-sid { width: 9; }
    SendPanel #send-ppid { width: 14; }
    SendPanel #send-ppid-name { width: 26; padding: 1 1 0 1; color: $accent; }
    SendPanel #send-ttl { width: 10; }
    SendPanel #send-count { width: 9; }
    SendPanel #send-kind { width: 12; }
    SendPanel #send-payload { width: 1fr; }
    SendPanel #send-error { color: $error; height: auto; padding: 0 1; }
    SendPanel #send-state { height: 1; padding: 0 1; background: $boost; }
    SendPanel #send-log { height: 1fr; border-top: solid $accent; }
    SendPanel #send-kernel { height: auto; }
    SendPanel Button { min-width: 12; margin: 0 1 0 0; }
    """

    def __init__(self, **kw):
        super().__init__(**kw)
        self.session: SendSession | None = None
        self.log_lines: list[str] = []      # what the log shows (for programs and tests)
        self.last_error: str = ""
        self.crafting = False               # role "craft": the raw-packet form is shown

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Select(ROLES, value="client", allow_blank=False, id="send-role")
            yield Select(STYLES, value="one-to-one", allow_blank=False, id="send-style",
                         classes="kernel-only")
            yield Label("local", classes="lab kernel-only")
            yield Input(placeholder="local addresses (any; several = multihoming)",
                        id="send-bind", classes="kernel-only")
        craft = CraftForm(self._log, self._error, self._state, id="send-craft")
        craft.display = False
        yield craft
        with Vertical(id="send-kernel", classes="kernel-only"):
            yield from self._kernel_rows()
        yield Label("", id="send-error")
        yield Label("idle: fill in the peer and port, then F5", id="send-state")
        yield RichLog(id="send-log", wrap=True, markup=False, highlight=False, max_lines=5000)

    def _kernel_rows(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("peer", classes="lab")
            yield Input(placeholder="peer addresses, e.g. 192.0.2.2, 198.51.100.2",
                        id="send-peer")
            yield Label("port", classes="lab")
            yield Input("5000", placeholder="port", id="send-port")
            yield Label("streams", classes="lab")
            yield Input(placeholder="OUT,IN", id="send-streams")
        with Horizontal(classes="row"):
            yield Label("sid", classes="lab")
            yield Input("0", id="send-sid")
            yield Label("PPID", classes="lab")
            yield Input("0", id="send-ppid")
            yield Label(ppid_name(0), id="send-ppid-name")
            yield Checkbox("unordered", id="send-unordered")
            yield Label("TTL ms", classes="lab")
            yield Input(placeholder="PR-SCTP", id="send-ttl")
            yield Label("count", classes="lab")
            yield Input("1", id="send-count")
        with Horizontal(classes="row"):
            yield Select(PAYLOAD_KINDS, value="text", allow_blank=False, id="send-kind")
            yield Input(placeholder="payload (text, hex digits or a file path)", id="send-payload")
        with Horizontal(classes="row"):
            yield Button("Connect F5", id="send-start", variant="primary")
            yield Button("Send F6", id="send-send")
            yield Button("Shut down F7", id="send-shutdown")
            yield Button("Abort F8", id="send-abort", variant="error")
            yield Button("Stop F9", id="send-stop")

    # -------------------------------------------------------------- form
    def values(self) -> dict:
        q = self.query_one
        return {"role": q("#send-role", Select).value, "style": q("#send-style", Select).value,
                "bind": q("#send-bind", Input).value, "peer": q("#send-peer", Input).value,
                "port": q("#send-port", Input).value, "streams": q("#send-streams", Input).value,
                "sid": q("#send-sid", Input).value, "ppid": q("#send-ppid", Input).value,
                "unordered": q("#send-unordered", Checkbox).value,
                "ttl": q("#send-ttl", Input).value, "count": q("#send-count", Input).value,
                "kind": q("#send-kind", Select).value, "payload": q("#send-payload", Input).value}

    @on(Select.Changed, "#send-role")
    def _role_changed(self, event: Select.Changed) -> None:
        self.query_one("#send-start", Button).label = (
            "Listen F5" if event.value == "server" else "Connect F5")
        craft = event.value == "craft"
        if craft == self.crafting:
            return
        self.crafting = craft
        for w in self.query(".kernel-only"):
            w.display = not craft
        self.query_one(CraftForm).display = craft
        self._error("")
        if craft:
            warm_up()
            self._state("craft: type the destination ADDR:PORT; F5 builds the packet, "
                        "F6 sends it through a raw socket")
            self.query_one("#craft-dest", Input).focus()
        else:
            self._state("idle: fill in the peer and port, then F5")

    def on_descendant_focus(self, event) -> None:
        """In craft mode the kernel form is hidden: the app's tab switch focuses
        #send-peer, which would take keys invisibly; the craft form gets them."""
        w = event.widget
        if self.crafting and (w.id == "send-bind" or any(
                a.id == "send-kernel" for a in w.ancestors)):
            self.query_one("#craft-dest", Input).focus()

    @on(Input.Changed, "#send-ppid")
    def _ppid_changed(self, event: Input.Changed) -> None:
        lab = self.query_one("#send-ppid-name", Label)
        try:
            v = _int(event.value or "0", "PPID", 0, 0xFFFFFFFF, base0=True)
        except UserError:
            lab.update("(not a PPID)")
            return
        lab.update(f"{ppid_name(v)}")

    def _error(self, text: str) -> None:
        self.last_error = text
        self.query_one("#send-error", Label).update(Text(text))     # no markup: [ADDR]
        if text:
            self._log("error: " + text, "red")

    def _state(self, text: str) -> None:
        self.query_one("#send-state", Label).update(Text(text))

    def _log(self, line: str, style: str = "") -> None:
        self.log_lines.append(line)
        self.query_one("#send-log", RichLog).write(Text(line, style=style))

    # -------------------------------------------------------------- actions
    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("send-")
        if name in ("start", "send", "shutdown", "abort", "stop"):
            event.stop()
            getattr(self, "action_" + name)()

    def action_start(self) -> None:
        if self.crafting:
            self.query_one(CraftForm).build()
            return
        if self.session is not None and self.session.alive:
            self._error("a session is already running: Stop (F9) it first")
            return
        try:
            cfg = parse_form(self.values())
        except UserError as e:
            self._error(str(e))
            return
        self._error("")
        self._state("connecting…" if cfg.role == "client" else "starting the listener…")
        self.session = SendSession(cfg, self._post_from_thread).start()

    def action_send(self) -> None:
        if self.crafting:
            self.query_one(CraftForm).send()
            return
        try:
            cfg = parse_form(self.values(), need_payload=True)
        except UserError as e:
            self._error(str(e))
            return
        if self.session is None or not self.session.alive:
            self._error("not connected: press F5 to connect (client) or listen (server) first")
            return
        self._error("")
        self.session.command("send", cfg.payload, cfg.sid, cfg.ppid, cfg.unordered, cfg.ttl,
                             cfg.count)

    def action_shutdown(self) -> None:
        if self._need_session():
            self.session.command("shutdown")

    def action_abort(self) -> None:
        if self._need_session():
            self.session.command("abort")

    def action_stop(self) -> None:
        if self.session is not None and self.session.alive:
            self.session.stop()

    def _need_session(self) -> bool:
        if self.crafting:
            self._error("craft mode sends single packets, there is no association: F5 "
                        "builds the packet, F6 sends it (choose client or server for F7-F9)")
            return False
        if self.session is None or not self.session.alive:
            self._error("there is no association: press F5 to connect or listen first")
            return False
        self._error("")
        return True

    # -------------------------------------------------------------- from the session thread

    def _on_post(self, kind: str, obj) -> None:
        if not self.is_attached:
            return
        if kind == "error":
            self._error(obj)
        elif kind == "info":
            self._log(obj, "bold")
            if obj.startswith("listening"):
                self._state(obj)
        elif kind == "up":
            self._state(f"association up: assoc={obj.assoc_id} streams out="
                        f"{obj.outbound_streams} in={obj.inbound_streams} (F6 send, F7 shut "
                        "down, F8 abort)")
        elif kind == "item":
            self._log(describe_item(obj), _style_of(obj))
        elif kind == "ended":
            self._state("idle: the session ended (F5 starts a new one)")
            self._log("session ended", "grey50")

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.stop()


def describe_item(item) -> str:
    """One log line for a Message (with its SCTP_RCVINFO and PPID name) or a notification."""
    from ..sock.events import Message
    if isinstance(item, Message):
        name = ppid_name(item.ppid) if item.ppid is not None else "?"
        return f"received {item.describe().removeprefix('message ')} [PPID {item.ppid}: {name}]"
    return item.describe()


def _style_of(item) -> str:
    t = getattr(item, "type", "")
    state = getattr(item, "state", "")
    if getattr(item, "kind", "") == "message":
        return "white"
    if state in ("COMM_LOST", "CANT_STR_ASSOC") or t in ("remote_error", "send_failed",
                                                         "send_failed_event"):
        return "red"
    if state == "COMM_UP":
        return "green"
    return "magenta" if "shutdown" in str(t) or state == "SHUTDOWN_COMP" else "cyan"
