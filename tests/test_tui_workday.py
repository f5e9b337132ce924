"""Issue 17 (the TUI for a working day) and the TUI points of issues 15 and 18.

Each test drives the app with Textual's pilot, at 80x24 and 200x50 where the
layout matters, on public and project captures; oracles are the CLI commands
(same library) and the screen the user sees.
"""
from __future__ import annotations

import asyncio

import pytest

from conftest import PUBLIC
from sctpinspect.tui.app import DeferredPane, SctpInspectApp
from sctpinspect.tui.widgets import PacketList

SCTP_TEST = PUBLIC / "pkts" / "sctp-test.cap"      # one association, 74 frames, 24 streams
SMALL, BIG = (80, 24), (200, 50)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_app(path, body, size=BIG, settle=True, **kw):
    async def main():
        app = SctpInspectApp(str(path), **kw)
        async with app.run_test(size=size) as pilot:
            if settle:
                for _ in range(400):
                    await pilot.pause(0.05)
                    if app.store.analysis_done and app.current_packet is not None:
                        break
                for mounting in app.mount_views():
                    await mounting
                await pilot.pause(0.3)
            await body(app, pilot)
            app.shutdown()
    asyncio.run(main())


def visible_rows(lst: PacketList) -> range:
    """The list rows the user sees (not under a scrollbar)."""
    top = int(lst.scroll_offset.y)
    return range(top, top + lst.scrollable_content_region.height)


def screen_text(app) -> str:
    """What the terminal shows (plain text of every line)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# ---------------------------------------------------------------- 1. cursor visible
@pytest.mark.parametrize("size", [SMALL, BIG], ids=["80x24", "200x50"])
def test_selected_row_is_never_under_the_scrollbar(size):
    async def body(app, pilot):
        lst = app.query_one(PacketList)
        lst.focus()
        h = lst.scrollable_content_region.height
        for _ in range(h + 2):
            await pilot.press("j")
            await pilot.pause(0.02)
        assert lst.cursor == h + 2
        assert lst.cursor in visible_rows(lst)
        assert app.current_packet.number == lst.cursor + 1
        await pilot.press("pagedown")
        await pilot.pause(0.1)
        assert lst.cursor in visible_rows(lst)
        await pilot.press("G")
        await pilot.pause(0.1)
        assert lst.cursor == len(app.store) - 1
        assert lst.cursor in visible_rows(lst)
        # the row the detail pane shows is painted reversed on the screen
        no = str(app.current_packet.number)
        assert any(ln.split()[:1] == [no] for ln in screen_text(app).splitlines())
    run_app(SCTP_TEST, body, size=size)
