"""The TUI's Send panel against real kernel SCTP (lab VM).

The UI runs headless (Textual ``run_test``) in this process, in live mode on
``lo``, with the panel driven by the pilot: connect to a kernel SCTP server
(a one-to-many ``SctpEndpoint`` bound to 127.0.0.1), send a message on
stream 3 with PPID 101, receive the server's reply, shut down.

Oracles: what the kernel server received (SCTP_RCVINFO: sid, PPID, payload),
the notifications the kernel raised in the panel (COMM_UP, SHUTDOWN_COMP),
and the UI's own live capture: its display filter finds the DATA chunk
with ``sctp.data_sid == 3`` and ``sctp.data_payload_proto_id == 101`` and
the decoded packet carries those values.
"""
from __future__ import annotations

import asyncio
import socket

import pytest

from sctpinspect.sock import SctpEndpoint
from sctpinspect.sock.events import Message

pytestmark = pytest.mark.kernel

PORT = 5071


def _fields(field, name):
    if field.name == name:
        yield field.value
    for c in field.children or ():
        yield from _fields(c, name)


async def _until(pilot, cond, seconds, what):
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not cond():
        assert loop.time() < end, f"timed out waiting for {what}"
        await pilot.pause(0.1)


def test_send_panel_association_on_lo(tmp_path):
    from sctpinspect.capture import LiveCapture
    from sctpinspect.tui.app import SctpInspectApp
    from sctpinspect.tui.send_panel import SendPanel

    srv = SctpEndpoint(socket.AF_INET, one_to_many=True, streams=(8, 8))
    srv.bind(["127.0.0.1"], PORT)
    srv.listen()
    out = tmp_path / "send-panel.pcapng"
    got: list = []

    def serve_one():
        """Kernel server: read until the panel's message, answer on stream 2, PPID 46."""
        for _ in range(40):
            item = srv.recv(2)
            if isinstance(item, Message):
                got.append(item)
                srv.send(b"pong", sid=2, ppid=46, assoc_id=item.assoc_id)
                return

    async def main():
        src = LiveCapture("lo").start()
        app = SctpInspectApp(live_source=src, live_path=str(out))
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("7")
            for mounting in app.mount_views():    # the Send tab's widgets are mounted on demand
                await mounting
            await pilot.pause()
            panel = app.query_one(SendPanel)
            for name, value in (("peer", "127.0.0.1"), ("port", str(PORT)),
                                ("streams", "8,8"), ("sid", "3"), ("ppid", "101"),
                                ("payload", "hello from the panel")):
                panel.query_one(f"#send-{name}").value = value
            await pilot.pause()
            assert str(panel.query_one("#send-ppid-name").render()) == "unassigned"
            await pilot.press("f5")
            await _until(pilot, lambda: "association up" in str(
                panel.query_one("#send-state").render()) or panel.last_error, 60, "COMM_UP")
            assert not panel.last_error, panel.log_lines
            server = asyncio.get_running_loop().run_in_executor(None, serve_one)
            await pilot.press("f6")
            await server
            await _until(pilot, lambda: any(ln.startswith("received") for ln in panel.log_lines)
                         or panel.last_error, 30, "the reply")
            await pilot.press("f7")
            await _until(pilot, lambda: "session ended" in panel.log_lines, 30, "the end")
            lines = list(panel.log_lines)
            error = panel.last_error
            # the UI's live capture: the display filter finds the DATA chunk sent
            app.action_tab("packets")
            flt = "sctp.data_sid == 3 && sctp.data_payload_proto_id == 101"
            app.query_one("#filter").value = flt
            app.apply_filter(flt)
            await _until(pilot, lambda: len(app.filter_pass.view) >= 1, 60, "filtered frames")
            await pilot.pause(0.5)
            view = list(app.filter_pass.view)
            pkts = [app.store.packet(i) for i in view]
            rows = [app.store.row(i) for i in view]
            total = len(app.store)
            await pilot.press("q")
        return lines, error, pkts, rows, total

    try:
        lines, error, pkts, rows, total = asyncio.run(main())
    finally:
        srv.close()
    # the kernel server received the message with the stream and PPID chosen in the panel
    assert [(m.sid, m.ppid, m.data) for m in got] == [(3, 101, b"hello from the panel")]
    assert not error, lines
    # the panel showed the kernel's notifications and the reply's RCVINFO
    up = next(ln for ln in lines if "COMM_UP" in ln)
    assert "streams out=8 in=8" in up, lines
    assert any(ln.startswith("sent #1 sid=3 ppid=101 (unassigned) 20 bytes") for ln in lines)
    reply = next(ln for ln in lines if ln.startswith("received"))
    assert " sid=2 ssn=0 ppid=46 " in reply and "'pong'" in reply and "PPID 46: Diameter" in reply
    assert any("SHUTDOWN_COMP" in ln for ln in lines), lines
    # the UI's capture: every match is the DATA chunk sent, decoded with those values
    assert pkts and total >= 8, (total, rows)
    for p in pkts:
        data = [c for c in p.chunks if c.type == 0]
        assert [list(_fields(c, "sctp.data_sid")) for c in data] == [[3]]
        assert [list(_fields(c, "sctp.data_payload_proto_id")) for c in data] == [[101]]
        assert p.dport == PORT
    assert all("sid=3" in r[6] and "ppid=101" in r[6] for r in rows), rows
    from sctpinspect.sources import open_capture
    assert len(list(open_capture(str(out)))) == total      # flushed and closed on quit
