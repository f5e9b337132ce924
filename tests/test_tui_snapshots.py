"""Snapshot tests (pytest-textual-snapshot) of each TUI view on the project's captures.

Each test drives the app to one view and compares Textual's SVG export of the
whole screen (80x24 and 200x50) with the accepted one in ``tests/__snapshots__/``: any
change in what a view shows (columns, colours, tree, hex highlight, layout)
fails.  After a deliberate change, look at the new screens and accept them
with ``python -m pytest tests/test_tui_snapshots.py --snapshot-update``
(``snapshot_report.html`` shows the differences of a failed run).

Determinism: fixed terminal size; the app waits until the background index
and analysis passes are complete (no "indexing…"/"analysing N%" in the status
line) and every view is mounted; input cursors do not blink; times in the list
are relative to the first frame; nothing shows the clock.  The captures are
the project's own (captures/), so the screens do not depend on the shared
public set.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from sctpinspect.tui.app import DeferredPane, SctpInspectApp

_plugin = pytest.importorskip("pytest_textual_snapshot")
# pytest-textual-snapshot 1.0.0 (the last one that does not pin syrupy 4.8, which
# caps pytest below 9) names its file extension the syrupy-4 way; syrupy 5 reads
# ``file_extension``: without this the snapshots are stored as .raw files.
if getattr(_plugin.SVGImageExtension, "file_extension", None) != "svg":
    _plugin.SVGImageExtension.file_extension = "svg"

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
CLEAN = CAPTURES / "clean-association.pcapng"
LOSSY = CAPTURES / "lossy-retransmissions.pcapng"
# every view at the two sizes issue 17 names: an 80x24 terminal and a big one
SIZES = [(80, 24), (200, 50)]

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.parametrize("size", SIZES, ids=["80x24", "200x50"])]


async def settled(pilot, seconds: float = 60.0) -> None:
    """Wait for the index and analysis passes and for every view to be mounted."""
    app = pilot.app
    for _ in range(int(seconds / 0.05)):
        panes = list(app.query(DeferredPane))
        if (app.store.analysis_done and app.current_packet is not None
                and all(p._mounting is not None for p in panes)):
            break
        await pilot.pause(0.05)
    else:
        raise AssertionError("the app did not finish indexing/analysing in time")
    await pilot.pause(0.3)          # the 0.2 s tick repaints the list and status line
    from textual.widgets import Input
    for inp in app.query(Input):
        inp.cursor_blink = False


async def until(pilot, cond, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("the view did not fill in time")


def check(snap_compare, path, run_before, size) -> None:
    app = SctpInspectApp(str(path))
    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        app.shutdown()


def test_packets_view_with_detail_and_hex(snap_compare, size):
    """Frame 5 (a DATA chunk) selected; the tree's cursor on a field, whose
    bytes the hex pane highlights."""
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("down", "down", "down", "down", "tab")
        await pilot.press(*["down"] * 12)
        await pilot.pause(0.3)
        assert pilot.app.current_packet.number == 5
    check(snap_compare, CLEAN, run_before, size)


def test_associations_view(snap_compare, size):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("2")
        await until(pilot, lambda: pilot.app.query_one("#assoc-table").row_count)
        await pilot.pause(0.3)
    check(snap_compare, LOSSY, run_before, size)


def test_streams_view_with_a_message(snap_compare, size):
    """Streams of association 0 and the first message's payload (hex + dissector tree)."""
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("3")
        await until(pilot, lambda: pilot.app.query_one("#msg-table").row_count)
        pilot.app.query_one("#msg-table").focus()
        await pilot.press("enter")
        await pilot.pause(0.3)
    check(snap_compare, CLEAN, run_before, size)


def test_flow_view(snap_compare, size):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("4")
        await until(pilot, lambda: pilot.app.query_one("#flow-list").option_count)
        await pilot.pause(0.3)
    check(snap_compare, CLEAN, run_before, size)


def test_tsn_graph(snap_compare, size):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("5")
        await pilot.pause(0.5)      # drawn again at the plot's laid-out size by the tick
        pilot.app.refresh_tsn()
        await pilot.pause(0.3)
    check(snap_compare, LOSSY, run_before, size)


def test_diagnostics_view(snap_compare, size):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("6")
        await until(pilot, lambda: not pilot.app._diag_running, seconds=120)
        await pilot.pause(0.3)
    check(snap_compare, LOSSY, run_before, size)


def test_filter_bar_shows_the_error_in_place(snap_compare, size):
    """A filter being typed that does not parse: message, column and caret under the bar."""
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("slash")
        await pilot.press(*"sctp.data_sid == ")
        await pilot.press("&", "&", " ", "1")
        await pilot.pause(0.3)
    check(snap_compare, CLEAN, run_before, size)


def test_help_screen(snap_compare, size):
    async def run_before(pilot):
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)
    check(snap_compare, CLEAN, run_before, size)
