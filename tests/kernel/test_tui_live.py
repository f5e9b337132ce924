"""The TUI in live mode (``sctpinspect -i IFACE``) while two kernel SCTP peers talk.

The UI runs headless (Textual ``run_test``) in this process, capturing on
``lo``, while `sctpinspect listen` and `sctpinspect send` talk over kernel
SCTP on 127.0.0.1; the pilot samples the Associations view.  The
association must appear ESTABLISHED, then
CLOSED on both sides, and the capture file written live must hold the
packets after quitting.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.kernel

PORT = 5077


def _peers() -> list:
    """A kernel one-to-one association on loopback made with `sctpinspect
    listen` and `sctpinspect send`: three messages on stream 2, two seconds
    apart, then a graceful shutdown.  Returns the messages the listener received."""
    cmd = [sys.executable, "-m", "sctpinspect"]
    lst = subprocess.Popen([*cmd, "listen", f"127.0.0.1:{PORT}", "--count", "3", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)                   # the listener's start-up in the emulated VM
    # one association that lives ~6 s: long enough for the UI to show it up
    snd = subprocess.run([*cmd, "send", f"127.0.0.1:{PORT}", "x" * 100, "--stream", "2",
                          "--ppid", "18", "--count", "3", "--rate", "0.5", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert snd.returncode == 0, snd.stderr
    out, err = lst.communicate(timeout=120)
    assert lst.returncode == 0, err
    msgs = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    return [(m["sid"], m["ppid"], len(m["text"])) for m in msgs if m.get("kind") == "message"]


def test_live_ui_shows_established_then_closed(tmp_path):
    from sctpinspect.capture import LiveCapture
    from sctpinspect.tui.app import SctpInspectApp

    out = tmp_path / "tui-live.pcapng"

    async def main():
        src = LiveCapture("lo").start()
        app = SctpInspectApp(live_source=src, live_path=str(out))
        seen: list = []
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.press("2")
            peers = asyncio.get_running_loop().run_in_executor(None, _peers)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 180
            while loop.time() < deadline:
                await pilot.pause(0.05)
                t = app.query_one("#assoc-table")
                if t.row_count:
                    row = t.get_row_at(0)
                    pair = [str(row[5]), str(row[6])]
                    if not seen or seen[-1] != pair:
                        seen.append(pair)
                    if pair == ["CLOSED", "CLOSED"]:
                        break
            got = await peers
            status = str(app.query_one("#status").render())
            await pilot.press("q")
        return seen, got, len(app.store), status

    pairs, got, n, status = asyncio.run(main())
    assert got == [(2, 18, 100)] * 3
    assert ["ESTABLISHED", "ESTABLISHED"] in pairs, (pairs, status)
    assert pairs[-1] == ["CLOSED", "CLOSED"], (pairs, status)
    assert pairs.index(["ESTABLISHED", "ESTABLISHED"]) < len(pairs) - 1
    from sctpinspect.sources import open_capture
    assert len(list(open_capture(str(out)))) == n >= 10   # flushed and closed on quit
