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


# ---------------------------------------------------------------- 2. 80x24 layout
def test_packets_view_fits_80x24():
    async def body(app, pilot):
        text = screen_text(app)
        header = next(ln for ln in text.splitlines() if ln.startswith("No."))
        assert "Info" in header
        assert "COOKIE ECHO" in text            # chunk names are not cut
        tree = app.query_one("#detail")
        assert tree.region.width >= 70          # the tree has the width, not the hex pane
        assert not app.query_one("#hex-scroll").display or \
            app.query_one("#hex-scroll").region.width == 0
        # x switches the tree for the hex pane (both do not fit in 80 columns)
        await pilot.press("x")
        await pilot.pause(0.2)
        assert app.query_one("#hex-scroll").region.width >= 70
        assert "0000  " in screen_text(app)
        await pilot.press("x")
        await pilot.pause(0.2)
        assert app.query_one("#detail").region.width >= 70
    run_app(SCTP_TEST, body, size=SMALL)


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["80x24", "200x50"])
def test_dialogs_fit_the_screen(size):
    from textual.geometry import Region

    async def body(app, pilot):
        screen = Region(0, 0, *size)
        for key, sel in (("question_mark", "HelpScreen > VerticalScroll"),
                         ("ctrl+s", "SaveScreen > Vertical")):
            await pilot.press(key)
            await pilot.pause(0.3)
            box = app.screen.query_one(sel)
            assert screen.contains_region(box.region), (key, box.region)
            await pilot.press("escape")
            await pilot.pause(0.2)
    run_app(SCTP_TEST, body, size=size)


def test_flow_header_keeps_addresses_apart_at_80x24():
    async def body(app, pilot):
        await pilot.press("4")
        await pilot.pause(0.3)
        head = str(app.query_one("#flow-header").render()).splitlines()[0]
        # sctp-test.cap: 192.168.170.8 <-> 192.168.170.56, each a word of its own
        assert head.split()[2:] == ["192.168.170.8", "192.168.170.56"]
    run_app(SCTP_TEST, body, size=SMALL)


# ---------------------------------------------------------------- 3. focus traps
VIEW_KEYS = [("1", "list"), ("2", "assoc-table"), ("3", "msg-table"), ("4", "flow-list"),
             ("5", "tsn-plot"), ("6", "diag-scroll"), ("7", "send-role")]


def test_each_view_key_focuses_its_main_widget_and_no_key_is_typed_into_a_field():
    async def body(app, pilot):
        for key, wid in VIEW_KEYS + VIEW_KEYS[::-1]:
            await pilot.press(key)
            await pilot.pause(0.3)
            assert app.focused is not None and app.focused.id == wid, (key, app.focused)
        # from the Send view the next keys are commands, not text in a hidden field
        await pilot.press("7")
        await pilot.pause(0.2)
        for key in ("1", "question_mark", "escape", "g", "G", "n"):
            await pilot.press(key)
            await pilot.pause(0.2)
        assert app.query_one("#send-peer").value == ""
        assert app.query_one("#tabs").active == "packets"
        assert app.field_names             # n reached the app
        assert app.focused.id == "list"
    run_app(SCTP_TEST, body)


def test_flow_arrows_and_enter_work_after_key_4():
    async def body(app, pilot):
        await pilot.press("4")
        await pilot.pause(0.3)
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.3)
        assert app.query_one("#tabs").active == "packets"
        assert app.current_packet.number == 3      # rows 0-2 are frames 1-3 (one chunk each)
    run_app(SCTP_TEST, body)


def test_escape_leaves_every_text_field():
    async def body(app, pilot):
        await pilot.press("slash")
        assert app.focused.id == "filter"
        await pilot.press("escape")
        assert app.focused.id == "list"
        await pilot.press("7")
        await pilot.pause(0.3)
        app.query_one("#send-peer").focus()
        await pilot.pause(0.1)
        await pilot.press("escape")
        assert app.focused.id == "send-role"
        await pilot.press("1")
        await pilot.pause(0.2)
        assert app.query_one("#tabs").active == "packets"
        assert app.query_one("#send-peer").value == ""
    run_app(SCTP_TEST, body)


def test_closing_help_from_diagnostics_does_not_focus_the_filter_bar():
    async def body(app, pilot):
        await pilot.press("6")
        await pilot.pause(0.3)
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.focused.id == "diag-scroll"
        await pilot.press("1")
        await pilot.pause(0.3)
        assert app.query_one("#filter").value == ""
        assert app.query_one("#tabs").active == "packets"
    run_app(SCTP_TEST, body)


# ---------------------------------------------------------------- 4. Streams layout
@pytest.mark.parametrize("size", [SMALL, BIG], ids=["80x24", "200x50"])
def test_streams_payload_stays_on_screen_with_many_messages(size):
    async def body(app, pilot):
        await pilot.press("3")
        await pilot.pause(0.3)
        assert len(app._messages) > 20
        mt = app.query_one("#msg-table")
        assert app.focused is mt
        await pilot.press("down", "enter")
        await pilot.pause(0.3)
        tree = app.query_one("#msg-tree")
        assert tree.region.height >= 3
        assert tree.region.bottom <= size[1] - 2      # above the status line and footer
        assert "Payload preview" in screen_text(app)
    run_app(SCTP_TEST, body, size=size)
