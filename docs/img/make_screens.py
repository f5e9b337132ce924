"""Regenerate the TUI screenshots of docs/tui.md (SVG, exported by Textual).

    python docs/img/make_screens.py [NAME ...]      # default: every screen

Each screen opens one of the project's captures (captures/) headless at
160x50, waits until the background index and analysis are complete, drives
the app with the keys a user would press, and saves ``App.save_screenshot``
as docs/img/tui-NAME.svg.  The same steps as tests/test_tui_snapshots.py, on
captures chosen to show more (multihoming in the flow, retransmissions in the
TSN graph and the diagnostics).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
CAPTURES = os.path.join(REPO, "captures")
SIZE = (160, 50)


async def _settled(pilot) -> None:
    from textual.widgets import Input

    from sctpinspect.tui.app import DeferredPane
    app = pilot.app
    for _ in range(1200):
        if (app.store.analysis_done and app.current_packet is not None
                and all(p._mounting is not None for p in app.query(DeferredPane))):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)
    for inp in app.query(Input):
        inp.cursor_blink = False


async def _until(pilot, cond) -> None:
    for _ in range(1200):
        if cond():
            return
        await pilot.pause(0.05)


async def packets(pilot):
    await pilot.press("down", "down", "down", "down", "tab", *["down"] * 12)


async def assocs(pilot):
    await pilot.press("2")
    await _until(pilot, lambda: pilot.app.query_one("#assoc-table").row_count)


async def streams(pilot):
    await pilot.press("3")
    await _until(pilot, lambda: pilot.app.query_one("#msg-table").row_count)
    pilot.app.query_one("#msg-table").focus()
    await pilot.press("down", "down", "enter")


async def flow(pilot):
    await pilot.press("4")
    await _until(pilot, lambda: pilot.app.query_one("#flow-list").option_count)


async def tsn(pilot):
    await pilot.press("5")
    await pilot.pause(0.5)
    pilot.app.refresh_tsn()


async def diag(pilot):
    await pilot.press("6")
    await _until(pilot, lambda: not pilot.app._diag_running)


async def filter_error(pilot):
    await pilot.press("slash", *"sctp.data_sid == ", "&", "&", " ", "1")


async def help_screen(pilot):
    await pilot.press("question_mark")


# name -> (capture, steps)
SCREENS = {
    "packets": ("clean-association.pcapng", packets),
    "assocs": ("multihomed-failover.pcapng", assocs),
    "streams": ("clean-association.pcapng", streams),
    "flow": ("multihomed-failover.pcapng", flow),
    "tsn": ("lossy-retransmissions.pcapng", tsn),
    "diag": ("lossy-retransmissions.pcapng", diag),
    "filter": ("clean-association.pcapng", filter_error),
    "help": ("clean-association.pcapng", help_screen),
}


async def make(name: str, out_dir: str) -> str:
    from sctpinspect.tui.app import SctpInspectApp
    capture, steps = SCREENS[name]
    app = SctpInspectApp(os.path.join(CAPTURES, capture))
    filename = f"tui-{name}.svg"
    async with app.run_test(size=SIZE) as pilot:
        await _settled(pilot)
        await steps(pilot)
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()
        app.save_screenshot(filename, out_dir)
        app.shutdown()
    return os.path.join(out_dir, filename)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help=", ".join(SCREENS))
    ap.add_argument("-o", "--out-dir", default=HERE, help="where the SVGs go (docs/img)")
    args = ap.parse_args()
    for name in args.names or list(SCREENS):
        if name not in SCREENS:
            ap.error(f"no screen called {name!r}; choose from {', '.join(SCREENS)}")
        print(asyncio.run(make(name, args.out_dir)))


if __name__ == "__main__":
    main()
