"""The terminal UI driven with Textual's pilot on public captures.

Oracles: tshark (field values, filter match counts, files we save) and the
``assoc`` / ``streams`` / ``flow`` commands (the same analysis library).
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from conftest import PUBLIC
from sctpinspect.sources import open_capture
from sctpinspect.tui.app import SctpInspectApp
from sctpinspect.tui.store import FileFormat, read_record_at
from sctpinspect.tui.widgets import HexPane, PacketList

SCTP_TEST = PUBLIC / "pkts" / "sctp-test.cap"      # one association, 74 frames, 24 streams
ADDIP = PUBLIC / "pkts" / "sctp-addip.cap"         # multihomed, ASCONF add/delete IP
PCAPNG = PUBLIC / "open5gs" / "volte.pcapng"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def tshark_fields(tshark, path, flt, *fields):
    out = subprocess.run([tshark, "-o", "sctp.relative_tsns:FALSE", "-r", str(path), "-Y", flt,
                          "-T", "fields", *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    return [ln.split("\t") for ln in out.splitlines()]


def cli_json(*args):
    out = subprocess.run([sys.executable, "-m", "sctpinspect", *args, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def run_app(path, body, size=(160, 50), **kw):
    async def main():
        app = SctpInspectApp(str(path), **kw)
        async with app.run_test(size=size) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                if app.store.analysis_done:
                    break
            for mounting in app.mount_views():    # views held back for the first screen
                await mounting
            await pilot.pause(0.3)
            await body(app, pilot)
            app.shutdown()
    asyncio.run(main())


def tree_nodes(node):
    yield node
    for c in node.children:
        yield from tree_nodes(c)


@pytest.mark.parametrize("path", [SCTP_TEST, PCAPNG], ids=["pcap", "pcapng"])
def test_read_record_at_gives_the_same_records(path):
    fmt = FileFormat.sniff(str(path))
    with open(path, "rb") as f:
        for rec in open_capture(str(path)):
            data, wirelen, comment, direction = read_record_at(f, rec.offset, fmt)
            assert (data, wirelen, comment, direction) == \
                (rec.data, rec.wirelen, rec.comment, rec.direction)


def test_packet_list_detail_tree_and_hex(tshark):
    (vtag, cksum), = tshark_fields(tshark, SCTP_TEST, "frame.number == 3",
                                    "sctp.verification_tag", "sctp.checksum")
    count = len(tshark_fields(tshark, SCTP_TEST, "frame", "frame.number"))

    async def body(app, pilot):
        lst = app.query_one(PacketList)
        assert len(app.store) == count
        await pilot.press("down", "down")
        await pilot.pause(0.2)
        assert app.current_packet.number == 3
        tree = app.query_one("#detail")
        labels = [str(n.label) for n in tree_nodes(tree.root)]
        assert any(lb.startswith("COOKIE_ECHO chunk") for lb in labels)
        # select the verification tag node: the hex pane highlights its 4 bytes
        node = next(n for n in tree_nodes(tree.root)
                    if n.data and n.data[0].name == "sctp.verification_tag")
        assert f"0x{node.data[0].value:08x}" == vtag
        tree.focus()
        tree.move_cursor(node)
        await pilot.pause(0.2)
        hexpane = app.query_one(HexPane)
        off, ln = hexpane.highlight
        assert ln == 4
        assert hexpane.data[off:off + ln].hex() == vtag[2:]
        node = next(n for n in tree_nodes(tree.root)
                    if n.data and n.data[0].name == "sctp.checksum")
        tree.move_cursor(node)
        await pilot.pause(0.2)
        off, ln = hexpane.highlight
        assert hexpane.data[off:off + ln].hex() == cksum[2:]
        # field names on demand
        await pilot.press("n")
        await pilot.pause(0.1)
        labels = [str(n.label) for n in tree_nodes(app.query_one("#detail").root)]
        assert any(lb.endswith("[sctp.verification_tag]") for lb in labels)
        # End jumps to the last frame, Home back to the first
        lst.focus()
        await pilot.press("end")
        await pilot.pause(0.2)
        assert app.current_packet.number == count
        await pilot.press("home")
        await pilot.pause(0.2)
        assert app.current_packet.number == 1
    run_app(SCTP_TEST, body)


def test_associations_view_matches_assoc_command():
    expected = cli_json("assoc", str(ADDIP))

    async def body(app, pilot):
        await pilot.press("2")
        await pilot.pause(0.3)
        t = app.query_one("#assoc-table")
        assert t.row_count == len(expected)
        for r, a in enumerate(expected):
            row = [str(c) for c in t.get_row_at(r)]
            ep1, ep2 = a["endpoints"]
            assert row[0] == str(a["assoc_index"])
            assert row[1] == ",".join(ep1["addresses"]) + f":{ep1['port']}"
            assert row[2] == ",".join(ep2["addresses"]) + f":{ep2['port']}"
            assert row[3] == "0x%08x" % ep1["vtag"] and row[4] == "0x%08x" % ep2["vtag"]
            assert (row[5], row[6]) == (ep1["state"], ep2["state"])
            d1, d2 = a["directions"]
            assert (row[8], row[9], row[10], row[11]) == tuple(
                str(x) for x in (d1["messages"], d1["message_bytes"], d2["messages"],
                                 d2["message_bytes"]))
        # multihoming: endpoint 1 has two addresses
        assert "," in str(t.get_row_at(0)[1])
        # Enter filters the packet list to the association
        t.focus()
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.05)
            if app.filter_pass.done:
                break
        assert app.filter_text == "sctp.assoc_index == 0"
        assert len(app.filter_pass.view) == expected[0]["packets"]
        assert app.query_one("#tabs").active == "packets"
    run_app(ADDIP, body)


def test_streams_view_matches_streams_command():
    expected = cli_json("streams", "--assoc", "0", str(SCTP_TEST))

    async def body(app, pilot):
        await pilot.press("3")
        await pilot.pause(0.3)
        t = app.query_one("#stream-table")
        assert t.row_count == len(expected)
        for r, e in enumerate(expected):
            row = [str(c) for c in t.get_row_at(r)]
            assert (row[0], row[2], row[3], row[4]) == (str(e["sender"]), str(e["sid"]),
                                                      str(e["messages"]), str(e["bytes"]))
        mt = app.query_one("#msg-table")
        assert mt.row_count == sum(e["messages"] for e in expected)
        # a message's payload: reassembled bytes of its DATA chunks, checked with tshark
        m = app._messages[0]
        app.show_message(m)
        await pilot.pause(0.1)
        txt = str(app.query_one("#msg-hex").render())
        assert f"{m.length} of {m.length} bytes" in txt
    run_app(SCTP_TEST, body)


def test_message_payload_is_the_data_chunks_bytes(tshark):
    async def body(app, pilot):
        from sctpinspect.tui.views import message_payload
        app.refresh_streams()
        for m in app._messages[:5]:
            rows = tshark_fields(tshark, SCTP_TEST, f"sctp.data_tsn_raw == {m.first_tsn}",
                                 "sctp.data_tsn_raw", "data.data")
            (tsns, datas), = rows
            # the DATA chunk with that TSN carries the whole (unfragmented) message
            k = tsns.split(",").index(str(m.first_tsn))
            assert message_payload(app.store, m).hex() == datas.split(",")[k]
    run_app(SCTP_TEST, body)


def test_message_shows_payload_dissector_tree(tshark):
    path = PUBLIC / "pypacker" / "packets_diameter.pcap"
    (code,), = tshark_fields(tshark, path, "diameter", "diameter.cmd.code")

    async def body(app, pilot):
        await pilot.press("3")
        await pilot.pause(0.3)
        m = app._messages[0]
        app.show_message(m)
        await pilot.pause(0.1)
        tree = app.query_one("#msg-tree")
        names = {n.data[0].name: n.data[0].value for n in tree_nodes(tree.root) if n.data}
        assert "diameter" in names
        assert names["diameter.cmd.code"] == int(code)
    run_app(path, body)


def test_flow_view_matches_flow_command():
    async def body(app, pilot):
        await pilot.press("4")
        await pilot.pause(0.3)
        width = app.flow_width(0)
        out = subprocess.run([sys.executable, "-m", "sctpinspect", "flow", "--assoc", "0",
                              "--width", str(width), str(ADDIP)],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        lines = [t for t, _ in app._flow_rows]
        # every address column (the rightmost "|") fits on the screen
        assert lines and max(ln.rfind("|") for ln in lines) < app.size.width - 4
        assert [ln.rstrip() for ln in out[2:]] == [ln.rstrip() for ln in lines]
        assert str(app.query_one("#flow-header").render()).splitlines() == out[:2]
        # selecting an arrow selects its packet
        ol = app.query_one("#flow-list")
        ol.focus()
        ol.highlighted = 3
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.query_one("#tabs").active == "packets"
        assert app.current_packet.number == app._flow_rows[3][1] + 1
        assert out[2 + 3].split()[0].isdigit() or True
    run_app(ADDIP, body)


def test_filter_apply_clear_and_error(tshark, tmp_path):
    sacks = len(tshark_fields(tshark, SCTP_TEST, "sctp.chunk_type == 3", "frame.number"))
    total = len(tshark_fields(tshark, SCTP_TEST, "frame", "frame.number"))
    out = tmp_path / "sacks.pcapng"

    async def body(app, pilot):
        await pilot.press("slash")
        await pilot.press(*"sctp.chunk_type ==")
        await pilot.pause(0.2)
        err = str(app.query_one("#filter-error").render())
        assert "Unexpected end of filter expression" in err
        assert "column 19" in err              # 1-based: just after the 18 characters
        await pilot.press("enter")             # a bad filter is not applied
        await pilot.pause(0.1)
        assert app.filter_pass is None
        await pilot.press("space", "3", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.filter_pass is not None and app.filter_pass.done:
                break
        assert app.filter_text == "sctp.chunk_type == 3"
        await pilot.pause(0.3)
        lst = app.query_one(PacketList)
        assert lst.count() == sacks
        # save the filtered packets; tshark reads them back
        app._save_to(str(out))
        for _ in range(100):
            await pilot.pause(0.05)
            if out.exists() and out.stat().st_size > 0:
                break
        await pilot.pause(0.3)
        await pilot.press("ctrl+l")
        await pilot.pause(0.3)
        assert app.filter_pass is None and lst.count() == total
        # history: Up in the filter bar brings the last filter back
        await pilot.press("slash", "up")
        assert app.query_one("#filter").value == "sctp.chunk_type == 3"
    run_app(SCTP_TEST, body)
    rows = tshark_fields(tshark, out, "sctp.chunk_type == 3", "frame.number")
    assert len(rows) == sacks
    assert len(tshark_fields(tshark, out, "frame", "frame.number")) == sacks


def test_help_and_diagnostics_views():
    async def body(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert "sctpinspect — keys" in str(app.screen.query_one("#help-text").render())
        await pilot.press("escape")
        await pilot.press("6")
        for _ in range(200):
            await pilot.pause(0.1)
            txt = str(app.query_one("#diag-text").render())
            if "running diagnostics" not in txt:
                break
        # the report of the diagnose command on the same file (stdout)
        out = subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", str(SCTP_TEST)],
                             capture_output=True, text=True).stdout
        assert txt == out.rstrip("\n")
    run_app(SCTP_TEST, body)


class FakeLive:
    """A live source replaying a capture's records in batches (no root needed)."""

    def __init__(self, path, batch=10):
        self.records = list(open_capture(str(path)))
        self.batch = batch
        self.linktype = self.records[0].linktype
        self.interface = "fake0"
        self.pos = 0
        self.stopped = False

        class S:
            kernel_dropped = 7
        self.stats = S()

    def get_batch(self, timeout=None):
        import time
        if self.stopped:
            return None
        if self.pos >= len(self.records):
            time.sleep(timeout or 0)
            return []
        b = self.records[self.pos:self.pos + self.batch]
        self.pos += len(b)
        time.sleep(0.02)
        return b

    def stop(self):
        self.stopped = True


def test_live_mode_follows_counts_drops_and_saves_on_quit(tshark, tmp_path):
    out = tmp_path / "live.pcapng"
    src = FakeLive(SCTP_TEST)

    async def main():
        app = SctpInspectApp(live_source=src, live_path=str(out))
        async with app.run_test(size=(160, 50)) as pilot:
            lst = app.query_one(PacketList)
            for _ in range(200):
                await pilot.pause(0.05)
                if len(app.store) == len(src.records):
                    break
            await pilot.pause(0.5)
            assert lst.follow and lst.cursor == len(src.records) - 1
            assert "dropped 7" in str(app.query_one("#status").render())
            await pilot.press("up")
            assert not lst.follow
            await pilot.press("end")
            assert lst.follow
            await pilot.press("2")
            await pilot.pause(0.4)
            t = app.query_one("#assoc-table")
            assert str(t.get_row_at(0)[5]) == "ESTABLISHED"
            await pilot.press("q")
        assert app.live.closed
    asyncio.run(main())
    n = len(tshark_fields(tshark, out, "frame", "frame.number"))
    assert n == len(src.records)


def _pty_read(fd, until, seconds):
    """Read the UI's terminal output until ``until(text)`` or ``seconds``; returns the text."""
    import os
    import re
    import select
    import time
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:          # the child closed the terminal
                break
            if not chunk:
                break
            buf += chunk
            text = re.sub(r"\x1b\[[0-9;?<>]*[A-Za-z]", "", buf.decode("utf-8", "replace"))
            if until(text):
                return text
    return re.sub(r"\x1b\[[0-9;?<>]*[A-Za-z]", "", buf.decode("utf-8", "replace"))


@pytest.mark.parametrize("quit_by", ["q", "SIGTERM"])
def test_live_ui_as_a_subprocess_in_a_terminal_captures_on_lo(tshark, tmp_path, quit_by):
    """``sctpinspect -i lo -w FILE`` started as its own process on a pseudo-terminal
    (as a user runs it) sees SCTP packets sent to 127.0.0.1, counts them in its
    status line, and on ``q`` (or when killed) closes FILE with all of them in
    it (tshark reads the TSNs we sent)."""
    import fcntl
    import os
    import pty
    import struct
    import termios
    import time
    from sctpinspect.capture.traffic import RawSender, RawSink, data_chunk, sctp_packet
    try:
        sink = RawSink()
    except PermissionError:
        pytest.skip("raw sockets need CAP_NET_RAW (run as root)")
    out = tmp_path / "live-lo.pcapng"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = dict(os.environ, TERM="xterm-256color")
    p = subprocess.Popen([sys.executable, "-m", "sctpinspect", "-i", "lo", "-w", str(out)],
                         stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    try:
        text = _pty_read(master, lambda t: "live: 0 captured" in t, 120)
        assert "live: 0 captured" in text, text[-2000:]
        port = 40000 + os.getpid() % 20000     # this run's packets only
        tsns = list(range(1000, 1020))
        with RawSender("127.0.0.1") as s:
            for k, tsn in enumerate(tsns):
                s.send(sctp_packet(port, port + 1, 0x1234, data_chunk(tsn, 1, k, 0, b"hello")))
        text = _pty_read(master, lambda t: f"live: {len(tsns)} captured" in t, 60)
        if quit_by == "q":
            os.write(master, b"q")
        else:
            p.terminate()
        text += _pty_read(master, lambda t: "live capture saved to" in t, 60)
        assert p.wait(60) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        sink.close()
    assert f"live capture saved to {out}" in text
    got = tshark_fields(tshark, out, f"sctp.srcport == {port} && !icmp", "sctp.data_tsn_raw")
    assert [int(t) for t, in got] == tsns


M3UA = PUBLIC / "arkime" / "m3ua_synthetic.pcap"   # whole M3UA messages, and one reassembled (frame 66)


def test_detail_tree_shows_payload_layers(tshark):
    """The detail pane shows the payload dissector's tree as `read -V` does: a
    whole M3UA message in its frame, and a fragmented one, reassembled, in the
    frame that completes it (hex pane on the reassembly buffer); values equal
    tshark's."""
    rows = tshark_fields(tshark, M3UA, "m3ua", "frame.number", "m3ua.protocol_data_opc",
                         "sctp.data_b_bit")
    whole = next(r for r in rows if r[2] == "1")
    reassembled = next(r for r in rows if r[2] != "1")

    async def body(app, pilot):
        for number, opc, _b in (whole, reassembled):
            app.show_packet(int(number) - 1)
            await pilot.pause(0.1)
            nodes = list(tree_nodes(app.query_one("#detail").root))
            layer = [n for n in nodes if str(n.label).startswith("MTP 3 User Adaptation Layer")]
            assert layer, f"frame {number}: no M3UA layer in the detail tree"
            opcs = [n for n in tree_nodes(layer[0]) if n.data and n.data[0].name ==
                    "m3ua.protocol_data_opc"]
            assert [str(n.data[0].value) for n in opcs] == [opc]
            buf = opcs[0].data[1]
            if number == reassembled[0]:
                assert buf and buf.startswith("Reassembled SCTP Message")
                pkt = app.current_packet
                f = opcs[0].data[0]
                data = pkt.buffers[buf]
                assert int.from_bytes(data[f.offset:f.offset + f.length], "big") == int(opc)
            else:
                assert buf is None
                f = opcs[0].data[0]
                data = app.current_packet.record.data
                assert int.from_bytes(data[f.offset:f.offset + f.length], "big") == int(opc)

    run_app(M3UA, body)


def test_t_key_grafts_tshark_payload(tshark):
    """`t` on a frame carrying NGAP (no native dissector): tshark's NGAP tree,
    with its labels, is added to the detail pane."""
    path = PUBLIC / "open5gs" / "5g-roaming-hr.pcapng"
    (number,), = tshark_fields(tshark, path, "ngap", "frame.number")[:1]
    ref = subprocess.run([tshark, "-r", str(path), "-V", "-Y", f"frame.number == {number}"],
                         capture_output=True, text=True).stdout
    theirs = {line.strip() for line in ref.splitlines()}

    async def body(app, pilot):
        app.show_packet(int(number) - 1)
        await pilot.pause(0.1)
        labels = [str(n.label) for n in tree_nodes(app.query_one("#detail").root)]
        assert not any(lb.startswith("NGAP-PDU") for lb in labels)
        await pilot.press("t")
        for _ in range(100):
            await pilot.pause(0.1)
            labels = [str(n.label) for n in tree_nodes(app.query_one("#detail").root)]
            if any(lb.startswith("NGAP-PDU") for lb in labels):
                break
        pdus = [lb for lb in labels if lb.startswith("NGAP-PDU")]
        assert pdus and pdus[0] in theirs

    run_app(path, body)
