"""The TUI's Send panel (tab 7) driven with Textual's pilot on this host.

This host's kernel has no SCTP: connecting or listening must end in the
panel's one-sentence "no SCTP support ... modprobe sctp" message (the same
sentence ``sctpinspect send`` prints), never a traceback.  Inputs are
checked before any socket is opened.  Real associations are driven from the
panel in tests/kernel/test_tui_send_lab.py (lab VM).
"""
from __future__ import annotations

import asyncio
import socket

import pytest

from conftest import PUBLIC
from sctpinspect.tui.app import SctpInspectApp
from sctpinspect.tui.send_panel import SendPanel

SCTP_TEST = PUBLIC / "pkts" / "sctp-test.cap"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def host_has_sctp() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close()
        return True
    except OSError:
        return False


def run_panel(body, size=(160, 50)):
    async def main():
        app = SctpInspectApp(str(SCTP_TEST))
        async with app.run_test(size=size) as pilot:
            await pilot.press("7")
            for mounting in app.mount_views():    # the Send tab's widgets are mounted on demand
                await mounting
            await pilot.pause(0.1)
            panel = app.query_one(SendPanel)
            await body(app, pilot, panel)
            app.shutdown()
    asyncio.run(main())


async def fill(pilot, panel, typed=False, **fields):
    """Fill the panel's inputs: set their values (Input.Changed fires as when
    typing) or, with ``typed``, focus and press the keys (slow on a loaded host:
    the pilot waits for the screen after each key)."""
    for name, text in fields.items():
        inp = panel.query_one(f"#send-{name}")
        inp.focus()
        inp.value = "" if typed else text
        if typed and text:
            await pilot.press(*text)
    await pilot.pause()


async def wait_for(pilot, cond, seconds=10.0):
    for _ in range(int(seconds / 0.05)):
        if cond():
            return True
        await pilot.pause(0.05)
    return cond()


def error_text(panel) -> str:
    return str(panel.query_one("#send-error").render())


def test_send_tab_opens_with_key_7_and_names_the_ppid():
    async def body(app, pilot, panel):
        assert app.query_one("#tabs").active == "send"
        assert app.focused.id == "send-role"     # not a text field: keys stay commands
        await fill(pilot, panel, typed=True, ppid="46")
        # IANA SCTP Payload Protocol Identifiers: 46 = Diameter, 60 = NGAP
        assert str(panel.query_one("#send-ppid-name").render()) == "Diameter"
        await fill(pilot, panel, ppid="0x3c")
        assert str(panel.query_one("#send-ppid-name").render()) == "3GPP NGAP"
        await fill(pilot, panel, ppid="x1")
        assert "not a PPID" in str(panel.query_one("#send-ppid-name").render())
    run_panel(body)


BAD_INPUTS = [
    ({"peer": "192.0.2.300"}, "f5",
     "peer address '192.0.2.300' is not a valid IPv4 or IPv6 address"),
    ({"peer": "192.0.2.2", "bind": "10.0.0.1,2001:db8::zz"}, "f5",
     "local address '2001:db8::zz' is not a valid IPv4 or IPv6 address"),
    ({"peer": "192.0.2.2", "port": "70000"}, "f5", "port 70000 is outside 1..65535"),
    ({"peer": "192.0.2.2", "sid": "65536"}, "f5", "stream id 65536 is outside 0..65535"),
    ({"peer": "192.0.2.2", "streams": "4,4", "sid": "4"}, "f5",
     "stream id 4 is out of range: 4 outbound streams are asked for (0-3)"),
    ({"peer": "192.0.2.2", "streams": "0,4"}, "f5",
     "streams '0,4': expected OUT,IN, two numbers from 1 to 65535"),
    ({"peer": "", "port": "5000"}, "f5",
     "give the peer address to connect to (several for a multihomed peer)"),
    ({"peer": "192.0.2.2", "payload": "0x01 0g"}, "f6",
     "payload '0x01 0g' is not hex: give an even number of hex digits (spaces and colons "
     "allowed)"),
    ({"peer": "192.0.2.2", "payload": "010"}, "f6",
     "payload '010' is not hex: give an even number of hex digits (spaces and colons "
     "allowed)"),
]


def test_bad_inputs_are_sentences_and_open_no_socket():
    """One app, every case in turn (an app start costs seconds on a loaded host)."""
    async def body(app, pilot, panel):
        panel.query_one("#send-kind").value = "hex"
        for n, (fields, key, sentence) in enumerate(BAD_INPUTS):
            await fill(pilot, panel, **{"peer": "", "bind": "", "port": "5000", "sid": "0",
                                        "streams": "", "payload": "", **fields})
            await pilot.press(key)
            await pilot.pause(0.05)
            assert error_text(panel) == sentence, fields
            assert panel.session is None                  # nothing was opened
            assert panel.log_lines[n] == "error: " + sentence
    run_panel(body)


def test_send_before_connecting_says_so():
    async def body(app, pilot, panel):
        await fill(pilot, panel, peer="192.0.2.2", payload="hello")
        await pilot.press("f6")
        await pilot.pause(0.1)
        assert error_text(panel) == ("not connected: press F5 to connect (client) or listen "
                                     "(server) first")
        await pilot.press("f7")
        await pilot.pause(0.1)
        assert error_text(panel).startswith("there is no association")
    run_panel(body)


@pytest.mark.skipif(host_has_sctp(), reason="this host's kernel has SCTP")
@pytest.mark.parametrize("role", ["client", "server"])
def test_no_kernel_sctp_gives_the_modprobe_sentence(role):
    async def body(app, pilot, panel):
        panel.query_one("#send-role").value = role
        await pilot.pause()
        assert str(panel.query_one("#send-start").label) == (
            "Connect F5" if role == "client" else "Listen F5")
        await fill(pilot, panel, peer="127.0.0.1", port="5000", streams="8,8", sid="3",
                   ppid="101")
        await pilot.click("#send-start")              # the button, same as F5
        assert await wait_for(pilot, lambda: panel.last_error)
        assert error_text(panel) == (
            "this kernel has no SCTP support: load it with `modprobe sctp` "
            "(package linux-modules / CONFIG_IP_SCTP)")
        assert await wait_for(pilot, lambda: "session ended" in panel.log_lines)
        assert not any("Traceback" in ln for ln in panel.log_lines)
        assert not panel.session.alive                # the session thread finished
        assert str(panel.query_one("#send-state").render()).startswith("idle")
    run_panel(body)


def test_panel_works_beside_the_packet_list():
    """Switching tabs keeps the panel's state; the packet list is still there."""
    async def body(app, pilot, panel):
        await fill(pilot, panel, peer="192.0.2.300")
        await pilot.press("f5")
        await pilot.pause(0.1)
        app.action_tab("packets")
        await pilot.pause(0.1)
        assert app.query_one("#list").virtual_size.height >= 74     # sctp-test.cap
        await pilot.press("7")
        await pilot.pause(0.1)
        assert error_text(panel).startswith("peer address '192.0.2.300'")
    run_panel(body)
