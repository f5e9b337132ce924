"""Issue 17 points 4 and 2: the table of views, the key table, go to packet, marks.

Textual pilot on a public capture (sctp-test.cap: 74 frames, one association);
the oracle is the app's own state and status line as the user sees them.
"""
from __future__ import annotations

import pytest

from conftest import PUBLIC
from test_tui_workday import run_app   # the one pilot harness (settled views)
from sctpinspect.tui.app import SctpInspectApp
from sctpinspect.tui.views import VIEWS
from sctpinspect.tui.widgets import PacketList

SCTP_TEST = PUBLIC / "pkts" / "sctp-test.cap"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _keys(bindings):
    out = []
    for b in bindings:
        out += [k.strip() for k in b.key.split(",")]
    return out


def test_key_table_has_no_duplicate_and_no_key_shadows_the_list():
    keys = _keys(SctpInspectApp.BINDINGS)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    # the packet list's own keys (j/k/g/G...) are not also app keys
    assert not set(keys) & set(_keys(PacketList.BINDINGS))


def test_views_table_drives_tabs_keys_and_palette():
    from sctpinspect.tui.app import SctpCommands
    assert [v.key for v in VIEWS] == [str(n) for n in range(1, len(VIEWS) + 1)]
    actions = {b.action for b in SctpInspectApp.BINDINGS}
    palette = {a for _, a in SctpCommands.COMMANDS}
    for v in VIEWS:
        assert f"tab('{v.view_id}')" in actions and f"tab('{v.view_id}')" in palette

    async def body(app, pilot):
        tabs = app.query_one("#tabs")
        assert [p.id for p in tabs.query("TabPane")] == [v.view_id for v in VIEWS]
        for v in VIEWS:
            await pilot.press(v.key)
            await pilot.pause(0.3)
            assert tabs.active == v.view_id
            assert app.focused is app.query_one(v.main), (v.view_id, app.focused)
    run_app(SCTP_TEST, body)


def test_ctrl_g_goes_to_the_frame_and_refuses_a_bad_number():
    async def body(app, pilot):
        await pilot.press("ctrl+g")
        await pilot.pause(0.2)
        for ch in "999":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause(0.2)
        err = str(app.screen.query_one("#goto-error").render())
        assert "from 1 to 74" in err
        inp = app.screen.query_one("#goto-number")
        inp.value = "57"
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.current_packet.number == 57
        lst = app.query_one(PacketList)
        assert lst.frame_at(lst.cursor) == 56
    run_app(SCTP_TEST, body)


def test_marks_count_and_next_previous_wraps():
    async def body(app, pilot):
        lst = app.query_one(PacketList)
        lst.focus()
        for frame in (5, 30, 60):
            app.goto_frame(frame - 1)
            await pilot.pause(0.1)
            await pilot.press("b")
        await pilot.pause(0.3)
        assert "marked 3" in str(app.query_one("#status").render())
        app.goto_frame(9)          # frame 10
        await pilot.pause(0.1)
        seen = []
        for key in ("right_square_bracket",) * 3 + ("left_square_bracket",) * 2:
            await pilot.press(key)
            await pilot.pause(0.1)
            seen.append(app.current_packet.number)
        assert seen == [30, 60, 5, 60, 30]
        await pilot.press("b")             # unmark frame 30
        await pilot.pause(0.3)
        assert "marked 2" in str(app.query_one("#status").render())
    run_app(SCTP_TEST, body)
