"""The Send panel's craft mode against a real kernel SCTP listener (lab VM).

The UI runs headless (Textual ``run_test``) in this process, in live mode on
``lo``; the pilot switches the Send panel to role "craft" and sends, through
the raw socket, two INITs typed in the form to a kernel SCTP listener on
127.0.0.1:

1. a good INIT (Initiate Tag 0x11111111, streams 7,7): RFC 9260 5.1 B says
   the listener answers INIT ACK with the verification tag set to our
   Initiate Tag;
2. the same INIT with a bad checksum: RFC 9260 6.8 says the receiver
   silently discards it.

Oracles: the kernel itself (/proc/net/sctp/snmp SctpChecksumErrors grows
for the bad one), the panel's log (the reply decoded), the UI's own live
capture (its display filter finds the INIT ACK) and tshark on the capture
file the UI wrote.
"""
from __future__ import annotations

import asyncio
import socket

import pytest

from sctpinspect.sock import SctpEndpoint

pytestmark = pytest.mark.kernel

PORT = 5073
GOOD, BAD = 42071, 42072          # source ports of the two probes


def _snmp(name: str) -> int:
    with open("/proc/net/sctp/snmp") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return int(parts[1])
    raise AssertionError(f"{name} not in /proc/net/sctp/snmp")


async def _until(pilot, cond, seconds, what):
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not cond():
        assert loop.time() < end, f"timed out waiting for {what}"
        await pilot.pause(0.1)


def test_craft_panel_init_gets_init_ack_from_kernel(tmp_path):
    from sctpinspect.capture import LiveCapture
    from sctpinspect.lab.tshark import tshark_rows
    from sctpinspect.tui.app import SctpInspectApp
    from sctpinspect.tui.craft_panel import CraftForm
    from sctpinspect.tui.send_panel import SendPanel

    srv = SctpEndpoint(socket.AF_INET, one_to_many=True, streams=(8, 8))
    srv.bind(["127.0.0.1"], PORT)
    srv.listen()
    out = tmp_path / "craft-panel.pcapng"
    crc_errors: list[int] = []

    async def main():
        src = LiveCapture("lo").start()
        app = SctpInspectApp(live_source=src, live_path=str(out))
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("7")
            for mounting in app.mount_views():    # the Send tab's widgets are mounted on demand
                await mounting
            await pilot.pause()
            panel = app.query_one(SendPanel)
            form = panel.query_one(CraftForm)
            panel.query_one("#send-role").value = "craft"
            await pilot.pause()
            for name, value in (("dest", f"127.0.0.1:{PORT}"), ("sport", str(GOOD)),
                                ("init_tag", "0x11111111"), ("streams", "7,7"),
                                ("tsn", "5000"), ("wait", "3")):
                panel.query_one(f"#craft-{name}").value = value
            await pilot.pause()
            await pilot.press("f6")
            await _until(pilot, lambda: form.sender and not form.sender.is_alive(), 60,
                         "the replies to the good INIT")
            good_log = list(panel.log_lines)
            # the same INIT with a bad CRC32c: discarded by the kernel
            crc_errors.append(_snmp("SctpChecksumErrors"))
            for name, value in (("sport", str(BAD)), ("init_tag", "0x22222222"),
                                ("bad_checksum", True), ("wait", "2")):
                panel.query_one(f"#craft-{name}").value = value
            await pilot.pause()
            await pilot.press("f6")
            await _until(pilot, lambda: not form.sender.is_alive(), 60, "the bad INIT's wait")
            crc_errors.append(_snmp("SctpChecksumErrors"))
            bad_log = panel.log_lines[len(good_log):]
            # the UI's live capture: the display filter finds the kernel's INIT ACK
            app.action_tab("packets")
            flt = f"sctp.chunk_type == 2 && sctp.srcport == {PORT}"
            app.query_one("#filter").value = flt
            app.apply_filter(flt)
            await _until(pilot, lambda: len(app.filter_pass.view) >= 1, 60, "the INIT ACK")
            await pilot.pause(0.5)
            pkts = [app.store.packet(i) for i in app.filter_pass.view]
            await pilot.press("q")
        return good_log, bad_log, pkts

    try:
        good_log, bad_log, pkts = asyncio.run(main())
    finally:
        srv.close()
    assert not any(ln.startswith("error") for ln in good_log + bad_log), good_log + bad_log
    # the panel: the INIT as typed, then the kernel's INIT ACK decoded (RFC 9260 5.1 B:
    # its verification tag is our Initiate Tag)
    sent = next(ln for ln in good_log if ln.startswith("sent: "))
    assert f"127.0.0.1:{GOOD} -> 127.0.0.1:{PORT} vtag=0x00000000" in sent
    assert "INIT(itag=0x11111111 os=7 mis=7 tsn=5000 " in sent
    replies = [ln for ln in good_log if ln.startswith("reply: ")]
    assert replies and f"127.0.0.1:{PORT} -> 127.0.0.1:{GOOD} vtag=0x11111111" in replies[0]
    assert "INIT_ACK(" in replies[0], replies
    # the bad checksum: no reply, and the kernel counted a checksum error (RFC 9260 6.8)
    assert "no reply within 2 s" in bad_log, bad_log
    assert crc_errors[1] > crc_errors[0], crc_errors
    # the UI's live capture: INIT ACKs only to the good probe, tagged with its Initiate Tag
    assert pkts
    assert {(p.dport, p.vtag) for p in pkts} == {(GOOD, 0x11111111)}
    # tshark on the file the UI wrote
    rows = tshark_rows(out, ["sctp.srcport", "sctp.dstport", "sctp.verification_tag",
                             "sctp.chunk_type", "sctp.init_initiate_tag"],
                       f"sctp.port == {GOOD} || sctp.port == {BAD}")
    init_acks = [r for r in rows if r[3] == "2"]
    assert init_acks and all(r[:3] == [str(PORT), str(GOOD), "0x11111111"] for r in init_acks)
    inits = [r for r in rows if r[3] == "1"]
    assert [GOOD, BAD] == sorted({int(r[0]) for r in inits}), rows
    assert {r[4] for r in inits} == {"0x11111111", "0x22222222"}, rows
