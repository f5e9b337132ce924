"""The TUI in live mode (``sctpinspect -i IFACE``) while two kernel SCTP peers talk.

The UI runs headless (Textual ``run_test``) in the client's namespace,
capturing on its veth; a script samples the Associations view and prints
each state pair it shows.  The association must appear ESTABLISHED, then
CLOSED on both sides, and the capture file written live must hold the
packets after quitting.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.kernel

_UI = r"""
import asyncio, json, sys, time
from sctpinspect.capture import LiveCapture
from sctpinspect.tui.app import SctpInspectApp

async def main():
    src = LiveCapture(sys.argv[1]).start()
    app = SctpInspectApp(live_source=src, live_path=sys.argv[2])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("2")
        print("ready", flush=True)
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await pilot.pause(0.05)
            t = app.query_one("#assoc-table")
            if t.row_count:
                row = t.get_row_at(0)
                pair = [row[5], row[6]]
                if not seen or seen[-1] != pair:
                    seen.append(pair)
                    print(json.dumps(pair), flush=True)
                if pair == ["CLOSED", "CLOSED"]:
                    break
        status = str(app.query_one("#status").render())
        stats = src.update_stats().as_dict()        # before quitting closes the socket
        await pilot.press("q")
    print("frames", len(app.store), "| status:", status, "| capture:", stats,
          "| error:", src.error, flush=True)

asyncio.run(main())
"""


def test_live_ui_shows_established_then_closed(topology, tmp_path):
    t = topology()
    out = tmp_path / "tui-live.pcapng"
    p = t.popen("client", [sys.executable, "-c", _UI, "client0", str(out)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    buf = b""
    # importing Textual (~300 modules) over the VM's 9p root under load can take
    # minutes: wait up to 200 s (the per-test alarm is 300 s); on failure kill
    # the UI first, as reading the stderr of a live process would block
    deadline = time.monotonic() + 200
    while b"ready" not in buf:
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            pytest.fail(f"the UI did not start in 200 s: {p.stderr.read().decode()[-2000:]}")
        if select.select([p.stdout], [], [], 0.2)[0]:
            buf += os.read(p.stdout.fileno(), 4096)
    srv = t.server(port=5000)
    cli = t.client(port=5000, messages=["0:18:100", "1:18:200", "2:18:300"], interval=0.7)
    crec, srec = cli.result(), srv.result()
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    rest, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()
    lines = (buf + rest).decode().splitlines()
    pairs = [json.loads(ln) for ln in lines if ln.startswith("[")]
    assert ["ESTABLISHED", "ESTABLISHED"] in pairs, lines
    assert pairs[-1] == ["CLOSED", "CLOSED"], lines
    assert pairs.index(["ESTABLISHED", "ESTABLISHED"]) < len(pairs) - 1
    n = int(next(ln for ln in lines if ln.startswith("frames")).split()[1])
    from sctpinspect.sources import open_capture
    assert len(list(open_capture(str(out)))) == n >= 10   # flushed and closed on quit
