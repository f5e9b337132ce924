"""The tshark bridge (dissectors/tshark_bridge.py, through pyshark): the grafted
tree is nested as tshark's, its offsets point at the frame bytes that carry the
value, its labels are tshark's, and it works from inside a running asyncio loop
(the Textual TUI runs one)."""
from __future__ import annotations

import asyncio
import subprocess

import pytest

from sctpinspect.model import Field

from conftest import PUBLIC
from test_dissectors_helpers import complete_data_chunks

pytestmark = pytest.mark.tshark

CAP = PUBLIC / "open5gs/testattach.pcapng"


def _frames_with(tshark, cap, field, n):
    out = subprocess.run([tshark, "-n", "-r", str(cap), "-Y", field, "-T", "fields",
                          "-e", "frame.number", "-e", field],
                         capture_output=True, text=True, check=True).stdout
    return [(int(a), b) for a, b in (r.split("\t") for r in out.splitlines() if r)][:n]


def _frame_bytes(cap, num) -> bytes:
    from scapy.all import PcapNgReader
    with PcapNgReader(str(cap)) as r:
        for i, pkt in enumerate(r, 1):
            if i == num:
                return bytes(pkt)
    raise AssertionError(f"no frame {num}")


def _path_to(root: Field, name: str) -> list[Field] | None:
    if root.name == name:
        return [root]
    for c in root.children or ():
        p = _path_to(c, name)
        if p:
            return [root, *p]
    return None


def test_tree_is_nested_and_offsets_point_at_the_bytes(tshark):
    from dissectors import tshark_bridge
    rows = _frames_with(tshark, CAP, "s1ap.procedureCode", 3)
    assert len(rows) == 3
    got = tshark_bridge.decode_frames(CAP, [n for n, _ in rows])
    payloads = {}
    for num, ppid, _sp, _dp, payload, base in complete_data_chunks(CAP):
        payloads.setdefault(num, (base, payload))
    for num, codes in rows:
        layer = got[num][0]
        assert layer.name == "s1ap"
        base, payload = payloads[num]
        # the layer covers the DATA chunk's user data (RFC 9260 3.3.1: 16-byte header)
        assert (layer.offset, layer.length) == (base, len(payload))
        path = _path_to(layer, "s1ap.procedureCode")
        # nested as tshark shows it: s1ap > S1AP-PDU > initiatingMessage/... > procedureCode
        assert path is not None and len(path) >= 3, [f.name for f in path or ()]
        for parent, child in zip(path, path[1:]):
            assert parent.offset <= child.offset
            assert child.offset + child.length <= parent.offset + parent.length
        proc = path[-1]
        assert proc.value == codes.split(",")[0]
        # S1AP PDU (3GPP TS 36.413, aligned PER): 1 choice byte, then procedureCode
        # in one byte: the offset names exactly the frame byte holding the value
        frame = _frame_bytes(CAP, num)
        assert proc.length == 1 and frame[proc.offset] == int(proc.value)
        assert proc.offset == base + 1


def test_labels_are_tshark_tree_lines(tshark):
    from dissectors import tshark_bridge
    num, _ = _frames_with(tshark, CAP, "s1ap.procedureCode", 1)[0]
    layers = tshark_bridge.decode_frame(CAP, num)
    text = subprocess.run([tshark, "-n", "-r", str(CAP), "-Y", f"frame.number == {num}", "-V"],
                          capture_output=True, text=True, check=True).stdout
    lines = {ln.strip() for ln in text.splitlines()}
    shows = [f.show for f in layers[0].walk()]
    assert layers[0].show == "S1 Application Protocol"
    assert any(s.startswith("procedureCode: ") for s in shows)
    missing = [s for s in shows if s not in lines]
    assert not missing, missing[:5]


def test_works_inside_a_running_event_loop():
    """pyshark's sync API calls run_until_complete: inside the TUI's loop that
    would raise 'This event loop is already running' without the worker thread."""
    from dissectors import tshark_bridge

    async def in_app():
        return tshark_bridge.decode_frame(CAP, 23)

    layers = asyncio.run(in_app())
    assert layers and layers[0].name == "s1ap"


def test_decode_as_and_preferences_reach_tshark():
    from dissectors import tshark_bridge
    plain = tshark_bridge.decode_frame(CAP, 23)
    forced = tshark_bridge.decode_frame(CAP, 23, decode_as=["sctp.ppi==18,m3ua"])
    assert plain[0].name == "s1ap" and forced[0].name == "m3ua"
    from sctpinspect.errors import UserError
    with pytest.raises(UserError) as e:
        tshark_bridge.decode_frame(CAP, 23, options=["nosuch.pref:1"])
    assert "unknown preference" in str(e.value) and "\n" not in str(e.value)


def test_works_from_a_textual_app():
    """The TUI case itself: a Textual app's handler (on Textual's own loop) asks
    the bridge for a frame, synchronously and through a worker thread."""
    from textual.app import App

    from dissectors import tshark_bridge

    class Probe(App):
        got: dict = {}

        async def on_mount(self) -> None:
            self.got["sync"] = tshark_bridge.decode_frame(CAP, 23)
            self.got["thread"] = await asyncio.to_thread(tshark_bridge.decode_frame, CAP, 24)
            self.exit()

    async def run():
        app = Probe()
        async with app.run_test() as pilot:
            await pilot.pause()
        return app.got

    got = asyncio.run(run())
    assert got["sync"][0].name == "s1ap" and got["thread"][0].name == "s1ap"


# -- in bulk, alongside a read (payload_hook(bridge=...), for read -V / -T json) -----------
def _hooked(path, frames, **kw):
    from sctpinspect.decode import Decoder
    from sctpinspect.payload import payload_hook
    from sctpinspect.sources import open_capture
    hook, dec, out = payload_hook(bridge=path, **kw), Decoder(), {}
    try:
        for rec in open_capture(path):
            pkt = dec.decode(rec)
            hook(pkt)
            if rec.number in frames:
                out[rec.number] = pkt
            if rec.number >= max(frames):
                break
    finally:
        hook.close()
    return out


def test_read_hook_grafts_tshark_layers_where_no_native_dissector(tshark):
    from sctpinspect.output.jsonout import packet_json
    from sctpinspect.output.tree import tree_text
    rows = _frames_with(tshark, CAP, "s1ap.procedureCode", 3)
    pkts = _hooked(CAP, {n for n, _ in rows})
    for num, codes in rows:
        pkt = pkts[num]
        s1ap = [layer for layer in pkt.layers if layer.name == "s1ap"]
        assert len(s1ap) == len(codes.split(","))
        assert [_path_to(x, "s1ap.procedureCode")[-1].value for x in s1ap] == codes.split(",")
        assert "procedureCode: " in tree_text(pkt) and '"s1ap"' in packet_json(pkt)
        assert not (pkt.buffers or {}).get("layer:s1ap")         # frame offsets


def test_read_hook_grafts_sccp_above_reassembled_native_m3ua(tshark):
    """arkime m3ua_synthetic frame 66 completes a 2-fragment M3UA message: our
    M3UA tree, then tshark's SCCP/TCAP/CAMEL, at offsets into the reassembled
    message (tshark's data source "Reassembled SCTP Message")."""
    from sctpinspect.payload import BUFFER
    path = PUBLIC / "arkime/m3ua_synthetic.pcap"
    pkt = _hooked(path, {66})[66]
    names = [layer.name for layer in pkt.layers]
    assert names[names.index("m3ua"):] == ["m3ua", "sccp", "tcap", "camel"]
    sccp = pkt.layers[names.index("sccp")]
    assert pkt.buffers["layer:sccp"] == BUFFER
    msg_type = subprocess.run([tshark, "-n", "-r", str(path), "-Y", "frame.number == 66",
                               "-T", "fields", "-e", "sccp.message_type"],
                              capture_output=True, text=True, check=True).stdout.strip()
    field = _path_to(sccp, "sccp.message_type")[-1]
    # the offset names the byte of the reassembled message holding the value
    assert pkt.buffers[BUFFER][field.offset] == int(msg_type, 0) == int(field.value, 0)
    # M3UA Protocol Data: 8-byte common header + 4-byte tag/length + 12 bytes of
    # OPC/DPC/SI/NI/MP/SLS (RFC 4666 3.3.1) before the SCCP message
    assert sccp.offset == 24


def test_stream_stops_tshark_early():
    """Closing a stream that tshark has not finished (read -c N) ends tshark and
    the worker thread instead of leaving them blocked on a full queue."""
    from dissectors.tshark_bridge import FrameStream
    stream = FrameStream(PUBLIC / "open5gs/testregistration.pcapng", maxsize=2)
    assert [layer.name for layer in stream.layers(57)] == ["ngap"]
    stream.close()
    assert not stream._thread.is_alive()
