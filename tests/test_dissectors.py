"""Payload dissectors: DCEP against tshark on hand-built RFC 8832 messages,
WebRTC PPIDs, registry order, Decode As, third-party plugins, fuzzing, bridge."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PUBLIC
from dissectors import Context, dissect_payload, find, parse_decode_as, registry
from dissectors.registry import DissectorRegistry, GROUP
from sctpinspect.errors import UserError
from sctpinspect.model import Field
from test_dissectors_helpers import complete_data_chunks, normalise_show, our_rows, tshark_fields


def dcep_open(ctype, prio, rel, label, proto):
    # RFC 8832 5.1 layout, written from the RFC figure.
    return struct.pack("!BBHIHH", 0x03, ctype, prio, rel, len(label), len(proto)) + label + proto


DCEP_MESSAGES = [
    dcep_open(0x01, 256, 3, b"chat", b"xmpp"),
    b"\x02",                                            # DATA_CHANNEL_ACK (5.2)
    dcep_open(0x80, 0, 0, b"", b""),
    dcep_open(0x82, 512, 1500, b"una", b"proto/1"),
    dcep_open(0x00, 0, 0, b"a" * 70, b""),
]


# -- DCEP ----------------------------------------------------------------------
@pytest.mark.tshark
def test_dcep_matches_tshark(tshark, tmp_path):
    from scapy.all import IP, SCTP, Ether, SCTPChunkData, wrpcap
    pcap = tmp_path / "dcep.pcap"
    wrpcap(str(pcap), [Ether() / IP(src="10.0.0.1", dst="10.0.0.2") /
                       SCTP(sport=5000, dport=5000) /
                       SCTPChunkData(tsn=i + 1, proto_id=50, data=m, beginning=1, ending=1)
                       for i, m in enumerate(DCEP_MESSAGES)])
    registry.names()
    names = {n for n in __import__("sctpinspect.registry").registry.FIELDS if n.startswith("rtcdc.")}
    theirs = tshark_fields(tshark, pcap, names, {"rtcdc"})
    n = 0
    for num, ppid, sport, dport, payload, base in complete_data_chunks(pcap):
        notes = []
        tree = dissect_payload(payload, base, ppid, sport, dport, notes=notes)
        assert tree.name == "rtcdc" and notes == []
        want = [(a, p, s, normalise_show(a, v)) for a, p, s, v in theirs[num]]
        assert our_rows(tree, names) == want
        n += 1
    assert n == len(DCEP_MESSAGES)


def test_dcep_values_from_rfc_layout():
    tree = dissect_payload(DCEP_MESSAGES[0], 100, 50)
    assert tree.get("rtcdc.message_type") == 3
    assert tree.get("rtcdc.channel_type") == 1
    assert tree.get("rtcdc.priority") == 256
    assert tree.get("rtcdc.reliability_parameter") == 3
    assert tree.get("rtcdc.label") == "chat"
    assert tree.get("rtcdc.protocol") == "xmpp"
    lab = tree.find("rtcdc.label")
    assert (lab.offset, lab.length) == (112, 4)


def test_dcep_label_is_utf8():
    # RFC 8832 5.1: label and protocol are UTF-8 (tshark 4.0 shows them as ASCII).
    tree = dissect_payload(dcep_open(0x00, 0, 0, "ünï".encode(), b""), 0, 50)
    assert tree.get("rtcdc.label") == "ünï"


@pytest.mark.parametrize("msg,key", [
    (dcep_open(0x05, 0, 0, b"x", b""), "rtcdc.channel_type.unknown"),
    (dcep_open(0x00, 0, 7, b"x", b""), "rtcdc.reliability_parameter.non_zero"),
    (dcep_open(0x00, 0, 0, b"x", b"")[:-1], "rtcdc.inconsistent_label_and_parameter_length"),
    (b"\x02\x00", "rtcdc.message_too_long"),
    (b"\x09", "rtcdc.message_type.unknown"),
    (b"\x03\x00\x00", "rtcdc.message_too_short"),
])
def test_dcep_expert_notes(msg, key):
    notes = []
    dissect_payload(msg, 0, 50, notes=notes)
    assert key in [n.key for n in notes]
    assert all(n.rfc and n.rfc.startswith("RFC 8832") for n in notes)


# -- WebRTC data PPIDs (RFC 8831) ----------------------------------------------
def test_webrtc_string_binary_empty():
    t = dissect_payload("héllo".encode(), 10, 51)
    assert t.get("sctpinspect.webrtc.string") == "héllo"
    t = dissect_payload(b"\x00\xff", 10, 53)
    assert t.get("sctpinspect.webrtc.binary") == b"\x00\xff"
    notes = []
    dissect_payload(b"\x00", 10, 56, notes=notes)
    assert notes == []
    dissect_payload(b"\x00\x00", 10, 57, notes=notes)
    assert [n.key for n in notes] == ["sctpinspect.webrtc.empty_not_one_zero_byte"]
    notes = []
    dissect_payload(b"\xff\xfe", 10, 51, notes=notes)
    assert [n.key for n in notes] == ["sctpinspect.webrtc.string_not_utf8"]
    notes = []
    dissect_payload(b"abc", 10, 54, notes=notes)
    assert [n.key for n in notes] == ["sctpinspect.webrtc.partial_deprecated"]


# -- registry: Wireshark lookup order and Decode As ------------------------------
def test_lookup_order_ppid_then_low_port_then_high_port():
    assert find(3, 3868, 2905).name == "m3ua"          # PPID wins over ports
    assert find(0, 3868, 2905).name == "m3ua"          # PPID 0: lower port first
    assert find(0, 3868, 40000).name == "diameter"     # then the higher one
    assert find(0, 40000, 3868).name == "diameter"
    assert find(0, 1, 2) is None
    assert find(999, 1, 2) is None
    assert dissect_payload(b"xx", 0, 999, 1, 2) is None


def test_decode_as():
    assert parse_decode_as("ppid:18=m3ua") == (("ppid", 18), "m3ua")
    assert parse_decode_as(" port:0x0b84 = Diameter ") == (("port", 2948), "diameter")
    assert find(18, 1, 2, decode_as=["ppid:18=m3ua"]).name == "m3ua"
    assert find(3, 1, 2, decode_as={("ppid", 3): "none"}) is None
    assert find(0, 5000, 6000, decode_as=["port:6000=diameter"]).name == "diameter"
    for bad in ("ppid=3", "ppid:x=m3ua", "port:70000=m3ua", "tcp:1=m3ua", "ppid:3=nosuch",
                "ppid:3="):
        with pytest.raises(UserError) as e:
            parse_decode_as(bad)
        assert "\n" not in str(e.value)


def test_broken_plugin_is_contained():
    class Boom:
        name, protocol, ppids, ports = "boom", "boom", (4242,), ()

        def dissect(self, data, base, ctx):
            raise ValueError("bad")
    reg = DissectorRegistry(autoload=False)
    reg.add(Boom())
    notes = []
    tree = reg.dissect(b"abc", 5, 4242, notes=notes)
    assert tree.offset == 5 and notes[0].key == "sctpinspect.dissector_exception"


PLUGIN = '''
from sctpinspect.model import Field
from sctpinspect.registry import register, FT_PROTOCOL, FT_UINT8, BASE_DEC
register("toyproto", "Toy protocol", FT_PROTOCOL)
register("toyproto.first", "First byte", FT_UINT8, BASE_DEC)

class ToyDissector:
    name = "toy"
    protocol = "toyproto"
    ppids = (4242,)
    ports = (4243,)

    def dissect(self, data, base, ctx):
        t = Field("toyproto", None, base, len(data), children=[])
        if data:
            t.add("toyproto.first", data[0], base, 1)
        return t, []
'''


def test_third_party_dissector_is_discovered_via_entry_point(tmp_path):
    src = tmp_path / "src"
    (src / "toy_sctp").mkdir(parents=True)
    (src / "toy_sctp" / "__init__.py").write_text(PLUGIN)
    (src / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "toy-sctp"
        version = "1.0"
        [project.entry-points."{GROUP}"]
        toy = "toy_sctp:ToyDissector"
        [tool.setuptools]
        packages = ["toy_sctp"]
        '''))
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(target),
                           str(src)], capture_output=True, text=True)
    if proc.returncode != 0 and "bdist_wheel" in proc.stderr:
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                               "--target", str(target), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # A fresh interpreter with the plugin's install dir on sys.path.
    code = textwrap.dedent('''
        import json
        from dissectors import registry, dissect_payload, find
        t = dissect_payload(b"\\x07rest", 40, 4242, 1, 2)
        print(json.dumps([sorted(registry.names()), find(0, 4243, 9).name,
                          t.name, t.get("toyproto.first"), t.find("toyproto.first").offset]))
    ''')
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    import json
    names, by_port, proto, first, off = json.loads(out.stdout)
    assert "toy" in names and {"m3ua", "diameter", "dcep", "webrtc"} <= set(names)
    assert (by_port, proto, first, off) == ("toy", "toyproto", 7, 40)


# -- malformed payloads never raise ------------------------------------------------
PREFIXES = {
    3: bytes.fromhex("0100010100000024021000190000"),  # M3UA DATA header
    46: bytes.fromhex("010000400000011800000000e3a054ae5cc6eefe0000010840"),  # Diameter DWR
    50: bytes.fromhex("0301010000000003000400"),
    51: b"", 56: b"",
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ppid=st.sampled_from(sorted(PREFIXES)), tail=st.binary(max_size=120),
       cut=st.integers(min_value=0, max_value=40), base=st.integers(0, 2000))
def test_fuzz_never_raises(ppid, tail, cut, base):
    data = PREFIXES[ppid][:cut] + tail
    notes = []
    tree = dissect_payload(data, base, ppid, notes=notes)
    assert tree is not None
    assert not any(n.key == "sctpinspect.dissector_exception" for n in notes)
    for f in tree.walk():
        assert base <= f.offset and f.offset + f.length <= base + len(data), f
    for n in notes:
        assert n.key and n.message and n.rfc


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=20, max_size=200))
def test_fuzz_diameter_avps(body):
    hdr = struct.pack("!B3sB3sIII", 1, (20 + len(body)).to_bytes(3, "big"), 0x80,
                      (257).to_bytes(3, "big"), 0, 1, 2)
    notes = []
    tree = dissect_payload(hdr + body, 0, 46, notes=notes)
    assert not any(n.key == "sctpinspect.dissector_exception" for n in notes)
    assert tree.get("diameter.cmd.code") == 257


def test_malformed_m3ua_notes():
    notes = []
    dissect_payload(bytes.fromhex("01000101000000ff02100003"), 0, 3, notes=notes)
    keys = {n.key for n in notes}
    assert "sctpinspect.m3ua.message_length.bad" in keys
    assert "sctpinspect.m3ua.parameter_length.bad" in keys


# -- tshark bridge -------------------------------------------------------------------
@pytest.mark.tshark
def test_bridge_grafts_s1ap_from_open5gs(tshark):
    from dissectors import tshark_bridge
    cap = PUBLIC / "open5gs/testattach.pcapng"
    out = subprocess.run([tshark, "-r", str(cap), "-Y", "s1ap", "-T", "fields",
                          "-e", "frame.number", "-e", "s1ap.procedureCode"],
                         capture_output=True, text=True).stdout.split("\n")
    rows = [r.split("\t") for r in out if r][:3]
    assert len(rows) == 3
    frames = [int(r[0]) for r in rows]
    got = tshark_bridge.decode_frames(cap, frames + [1])
    chunks = {}
    for num, ppid, sport, dport, payload, base in complete_data_chunks(cap):
        if num in frames:
            chunks.setdefault(num, []).append((ppid, base, len(payload)))
    for (num, proc_code) in ((int(r[0]), r[1]) for r in rows):
        layers = got[num]
        assert layers and layers[0].name == "s1ap"
        ppid, base, ln = chunks[num][0]
        assert ppid == 18
        parent = Field("sctp.chunk", 0, base - 16, ln + 16, children=[])
        grafted = tshark_bridge.graft(parent, layers, base, base + ln)
        assert grafted and grafted[0].offset == base
        assert parent.find("s1ap.procedureCode").value == proc_code.split(",")[0]
    one = tshark_bridge.decode_frame(cap, frames[0])
    assert one[0].name == "s1ap"


def test_bridge_without_tshark_is_one_line_user_error(monkeypatch):
    from dissectors import tshark_bridge
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UserError) as e:
        tshark_bridge.decode_frame(PUBLIC / "open5gs/testattach.pcapng", 23)
    assert "tshark is not installed" in str(e.value) and "\n" not in str(e.value)


LAZY_CASES = [("magma/gx_gy_combined_05_210505_133111-1.pcapng", "diameter",
               ["diameter.flags.vendorspecific", "diameter.flags.mandatory",
                "diameter.avp.flags.protected", "diameter.avp.code"]),
              ("arkime/m3ua_synthetic.pcap", "m3ua",
               ["m3ua.protocol_data_opc", "m3ua.protocol_data_dpc", "m3ua.protocol_data_sls",
                "sctpinspect.m3ua.user_data", "m3ua.parameter_padding", "m3ua.parameter_tag"]),
              ("suricata-verify/sctp-keywords/input.pcap", "m3ua",
               ["m3ua.protocol_data_opc", "m3ua.parameter_length"])]


@pytest.mark.parametrize("path,proto,names", LAZY_CASES, ids=[c[0] for c in LAZY_CASES])
def test_lazy_subtree_collectors_equal_built_tree(path, proto, names):
    """Diameter AVP flag bits and M3UA Protocol Data are built on demand; -T
    fields reads them through their collectors (model.LAZY_COLLECTORS), which
    must give the built fields' names and values, in order."""
    from sctpinspect.model import LAZY_COLLECTORS, LazyField
    checked = 0
    for num, ppid, sport, dport, payload, base in complete_data_chunks(PUBLIC / path):
        tree = dissect_payload(payload, base, ppid, sport, dport)
        if tree is None or tree.name != proto:
            continue
        stack = [tree]
        while stack:
            f = stack.pop()
            if isinstance(f, LazyField) and f._build is not None:
                names_, values, tail = LAZY_COLLECTORS[f._build[1]](f, f._build, set())
                built = f.children
                assert tail is None
                assert list(names_) == [c.name for c in built]
                assert values == [c.value for c in built]
                assert [type(v) for v in values] == [type(c.value) for c in built]
                if proto == "diameter":    # RFC 6733 4.1: V 0x80, M 0x40, P 0x20
                    assert values[:3] == [bool(f.value & 0x80), bool(f.value & 0x40),
                                          bool(f.value & 0x20)]
                checked += 1
            else:
                stack.extend(f.children or ())
    assert checked >= 3


@pytest.mark.parametrize("path,proto,names", LAZY_CASES, ids=[c[0] for c in LAZY_CASES])
def test_fields_output_reads_lazy_subtrees_like_the_built_tree(path, proto, names):
    """read -T fields (FieldsPrinter.collect, through the collectors) gives the
    values a full walk of the built tree gives."""
    from sctpinspect.decode import Decoder
    from sctpinspect.output.fields import FieldOptions, FieldsPrinter
    from sctpinspect.payload import payload_hook
    from sctpinspect.sources import open_capture
    printer = FieldsPrinter(names, FieldOptions.parse([]))
    hook, dec, n = payload_hook(), Decoder(), 0
    for rec in open_capture(PUBLIC / path):
        pkt = dec.decode(rec)
        hook(pkt)
        got = printer.collect(pkt)
        want: dict = {}
        for layer in pkt.layers:
            if layer.name == proto:
                for f in layer.walk():
                    if f.name in names:
                        want.setdefault(f.name, []).append(f.value)
        assert got == want, rec.number
        n += bool(want)
    assert n >= 3
