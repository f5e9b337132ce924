"""`read` shows the payload dissectors' fields (issue 8): `-T fields` with
M3UA/Diameter names equals tshark, `-Y` on them selects tshark's frames,
`-V` carries the payload layer, `--decode-as` forces a dissector."""
from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from conftest import PUBLIC

CASES = [
    ("tcpdump/isup.pcap", ["m3ua.version", "m3ua.message_class", "m3ua.message_type",
                           "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc",
                           "m3ua.protocol_data_si", "m3ua.protocol_data_sls"]),
    ("arkime/m3ua_synthetic.pcap", ["m3ua.message_class", "m3ua.message_type",
                                    "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc"]),
    ("magma/gx_gy_combined_05_210505_133111-1.pcapng",
     ["diameter.cmd.code", "diameter.flags.request", "diameter.applicationId",
      "diameter.hopbyhopid", "diameter.endtoendid"]),
]


def _ours(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sctpinspect", "read", *args],
                          capture_output=True, text=True)


def _ef(fields):
    return [a for f in ["frame.number", *fields] for a in ("-e", f)]


@pytest.mark.tshark
@pytest.mark.parametrize("name,fields", CASES, ids=[c[0] for c in CASES])
def test_payload_fields_equal_tshark(name, fields, tshark):
    path = str(PUBLIC / name)
    # complete (unfragmented) messages only: sctpinspect's read decodes those
    flt = "sctp.data_b_bit == 1 && sctp.data_e_bit == 1"
    ref = subprocess.run([tshark, "-r", path, "-Y", flt, "-T", "fields", *_ef(fields)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    ours = _ours(path, "-Y", flt, "-T", "fields", *_ef(fields))
    assert ours.returncode == 0, ours.stderr
    rows = ours.stdout.splitlines()
    assert rows == ref
    assert any(r.split("\t")[1] for r in rows)     # the payload fields are really there


@pytest.mark.tshark
def test_filter_on_payload_field_selects_tshark_frames(tshark):
    path = str(PUBLIC / "magma/gx_gy_combined_05_210505_133111-1.pcapng")
    flt = "diameter.cmd.code == 272 && diameter.flags.request == 1"
    ref = subprocess.run([tshark, "-r", path, "-Y", flt, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout.split()
    ours = _ours(path, "-Y", flt, "-T", "fields", "-e", "frame.number").stdout.split()
    assert ours == ref and ours


def test_verbose_tree_has_payload_layer_and_decode_as():
    path = str(PUBLIC / "tcpdump/isup.pcap")
    tree = _ours(path, "-V", "-c", "1").stdout
    assert "MTP 3 User Adaptation Layer" in tree or "M3UA" in tree
    forced = _ours(path, "-V", "-c", "1", "--decode-as", "ppid:3=diameter").stdout
    assert "Diameter" in forced
    bad = _ours(path, "--decode-as", "ppid:x=m3ua")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1


# -- fragmented user messages (RFC 9260 3.3.1 B/E bits, 6.9; RFC 8260 I-DATA) ------------
# Wireshark (sctp.reassembly, TRUE by default) decodes a fragmented message once,
# in the frame whose chunk completes it, with offsets into "Reassembled SCTP Message".
REASSEMBLY = ["-o", "sctp.reassembly:TRUE", "-o", "sctp.relative_tsns:FALSE"]
M3UA_FIELDS = ["m3ua.message_length", "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc",
               "m3ua.protocol_data_si", "m3ua.protocol_data_sls"]
DIAMETER_FIELDS = ["diameter.cmd.code", "diameter.flags.request", "diameter.applicationId",
                   "diameter.hopbyhopid", "diameter.Session-Id", "diameter.Origin-Host"]


def _tshark_rows(tshark, path, fields, extra=REASSEMBLY):
    return subprocess.run([tshark, "-n", "-r", str(path), *extra, "-T", "fields", *_ef(fields)],
                          capture_output=True, text=True, check=True).stdout.splitlines()


def _fragment_frames(tshark, path):
    """Frames where tshark shows a reassembled message (sctp.fragments present)."""
    out = subprocess.run([tshark, "-n", "-r", str(path), *REASSEMBLY, "-Y", "sctp.fragments",
                          "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout.split()
    return [int(x) for x in out]


@pytest.mark.tshark
@pytest.mark.parametrize("name,fields,frame", [
    ("arkime/m3ua_synthetic.pcap", M3UA_FIELDS, 66),
    ("magma/gx_gy_combined_06_210505_133132-1.pcapng", DIAMETER_FIELDS[:5], 31),
], ids=["m3ua", "diameter"])
def test_reassembled_messages_equal_tshark(name, fields, frame, tshark):
    path = PUBLIC / name
    assert frame in _fragment_frames(tshark, path)     # the capture really has one
    ref = _tshark_rows(tshark, path, fields)
    ours = _ours(str(path), "-T", "fields", *_ef(fields))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == ref
    row = ref[frame - 1].split("\t")
    assert row[0] == str(frame) and all(row[1:])       # decoded at the last fragment's frame


# Hand-built messages (RFC 4666 3.1/3.3.1, RFC 6733 3/4), independent of the dissectors.
def m3ua_data(opc, dpc, user: bytes, si=3, ni=2, mp=0, sls=5) -> bytes:
    pd = struct.pack("!IIBBBB", opc, dpc, si, ni, mp, sls) + user
    param = struct.pack("!HH", 0x0210, 4 + len(pd)) + pd + b"\0" * (-len(pd) % 4)
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(param)) + param


def avp(code, data: bytes, flags=0x40) -> bytes:
    return struct.pack("!IB", code, flags) + (8 + len(data)).to_bytes(3, "big") + data \
        + b"\0" * (-len(data) % 4)


def diameter(cmd, app, hbh, e2e, avps: bytes, request=True) -> bytes:
    return bytes([1]) + (20 + len(avps)).to_bytes(3, "big") + bytes([0x80 if request else 0]) \
        + cmd.to_bytes(3, "big") + struct.pack("!III", app, hbh, e2e) + avps


def _split(msg: bytes, n: int) -> list[bytes]:
    step = -(-len(msg) // n)
    return [msg[i:i + step] for i in range(0, len(msg), step)]


def crafted_capture(path):
    """Frames (1-based) and what completes where:
    1-3  M3UA A (OPC 1111) in 3 DATA fragments, TSN 100-102; frame 3 also carries an
         unfragmented M3UA B (OPC 2222, TSN 103) after A's last fragment
    4-6  M3UA C (OPC 3333), TSN 104-106 arriving E, B, middle: complete in frame 6
    7-8  Diameter CCR (hop-by-hop 0x1234) in 2 fragments, PPID 46, stream 2
    9-10 M3UA D (OPC 4444) in 2 I-DATA fragments (MID 7, FSN 0/1)
    """
    from scapy.all import IP, SCTP, Ether, SCTPChunkData, SCTPChunkIData, wrpcap
    base = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="192.0.2.1", dst="192.0.2.2") / SCTP(sport=2905, dport=2905, tag=7)
    a = m3ua_data(1111, 9999, bytes(range(200)))
    b = m3ua_data(2222, 9999, b"B" * 20)
    c = m3ua_data(3333, 8888, bytes(range(150)))
    dm = diameter(272, 4, 0x1234, 0x5678,
                  avp(263, b"host.example;1;2") + avp(264, b"client.example.org"))
    d = m3ua_data(4444, 7777, bytes(range(90)))

    def data(tsn, sid, ssn, ppid, part, b_, e_):
        return SCTPChunkData(tsn=tsn, stream_id=sid, stream_seq=ssn, proto_id=ppid, data=part,
                             beginning=b_, ending=e_)
    a1, a2, a3 = _split(a, 3)
    c1, c2, c3 = _split(c, 3)
    d1, d2 = _split(dm, 2)
    i1, i2 = _split(d, 2)
    frames = [
        base / data(100, 1, 0, 3, a1, 1, 0),
        base / data(101, 1, 0, 3, a2, 0, 0),
        base / data(102, 1, 0, 3, a3, 0, 1) / data(103, 1, 1, 3, b, 1, 1),
        base / data(106, 1, 2, 3, c3, 0, 1),
        base / data(104, 1, 2, 3, c1, 1, 0),
        base / data(105, 1, 2, 3, c2, 0, 0),
        base / data(107, 2, 0, 46, d1, 1, 0),
        base / data(108, 2, 0, 46, d2, 0, 1),
        base / SCTPChunkIData(tsn=109, stream_id=3, message_id=7, ppid_fsn=3, data=i1,
                              beginning=1, ending=0),
        base / SCTPChunkIData(tsn=110, stream_id=3, message_id=7, ppid_fsn=1, data=i2,
                              beginning=0, ending=1),
    ]
    wrpcap(str(path), frames)
    return {"a": a, "b": b, "c": c, "diameter": dm, "d": d}


@pytest.mark.tshark
def test_crafted_fragments_equal_tshark(tmp_path, tshark):
    path = tmp_path / "fragments.pcap"
    crafted_capture(path)
    fields = M3UA_FIELDS + DIAMETER_FIELDS
    ref = _tshark_rows(tshark, path, fields)
    ours = _ours(str(path), "-T", "fields", *_ef(fields))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == ref
    opc = {int(r.split("\t")[0]): r.split("\t")[2] for r in ref}
    # the RFC's reading of the crafted frames: A then B in frame 3, C in 6, D in 10
    assert (opc[3], opc[6], opc[10]) == ("1111,2222", "3333", "4444")
    assert not any(opc[n] for n in (1, 2, 4, 5, 9))
    assert ref[7].split("\t")[1 + len(M3UA_FIELDS) + 3] == "0x00001234"


@pytest.mark.tshark
def test_reassembled_offsets_equal_tshark(tmp_path, tshark):
    """Field positions of the reassembled layers are tshark's (offsets into the
    reassembled buffer), and the buffer is the message as built."""
    from dissectors import registry
    from sctpinspect.decode import Decoder
    from sctpinspect.payload import BUFFER, payload_hook
    from sctpinspect.registry import FIELDS
    from sctpinspect.sources import open_capture
    from test_dissectors_helpers import normalise_show, our_rows, tshark_fields

    path = tmp_path / "fragments.pcap"
    built = crafted_capture(path)
    registry.names()
    names = {n for n in FIELDS if n.startswith(("m3ua.", "diameter."))
             and n != "diameter.avp.unknown"}
    theirs = tshark_fields(tshark, path, names, {"m3ua", "diameter"}, extra=REASSEMBLY[:2])
    hook, dec = payload_hook(), Decoder()
    checked = 0
    for rec in open_capture(path):
        pkt = dec.decode(rec)
        hook(pkt)
        layers = [l for l in pkt.layers if l.name in ("m3ua", "diameter")]
        rows = [r for l in layers for r in our_rows(l, names)]
        want = [(n, p, s, normalise_show(n, v)) for n, p, s, v in theirs.get(rec.number, [])]
        assert rows == want, rec.number
        if rec.number in (6, 8, 10):
            buf = pkt.buffers[pkt.buffers["layer:" + layers[-1].name]]
            assert buf == {6: built["c"], 8: built["diameter"], 10: built["d"]}[rec.number]
            checked += 1
        if rec.number == 3:      # A reassembled (buffer), B unfragmented (frame offsets)
            assert pkt.buffers[BUFFER] == built["a"]
            assert layers[1].offset == len(rec.data) - len(built["b"])
            checked += 1
    assert checked == 4


def test_reassembly_can_be_left_out():
    """Without reassembly only B+E chunks are decoded (the pre-reassembly behaviour)."""
    from sctpinspect.decode import Decoder
    from sctpinspect.payload import payload_hook
    from sctpinspect.sources import open_capture
    hook, dec = payload_hook(reassemble=False), Decoder()
    for rec in open_capture(PUBLIC / "arkime/m3ua_synthetic.pcap"):
        pkt = dec.decode(rec)
        hook(pkt)
        if rec.number == 66:
            assert not [l for l in pkt.layers if l.name == "m3ua"]
            assert pkt.buffers is None


@pytest.mark.tshark
@pytest.mark.parametrize("flt", ["m3ua", "m3ua contains 09:00:03:07",
                                 "m3ua.protocol_data_opc == 600"])
def test_filters_on_m3ua_select_tshark_frames(flt, tshark):
    """Bare protocol names and `contains` on the layer's bytes, including the
    reassembled message of frame 66 (its bytes are the reassembly buffer's)."""
    path = str(PUBLIC / "arkime/m3ua_synthetic.pcap")
    ref = subprocess.run([tshark, "-n", "-r", path, *REASSEMBLY, "-Y", flt, "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True,
                         check=True).stdout.split()
    ours = _ours(path, "-Y", flt, "-T", "fields", "-e", "frame.number")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.split() == ref and "66" in ref


def test_read_tshark_option_grafts_ngap(tshark):
    """`read -V --tshark`: the NGAP tree tshark decodes (through pyshark) appears
    under the packet, with tshark's own labels, in every frame that carries it."""
    path = PUBLIC / "open5gs" / "5g-roaming-hr.pcapng"
    r = _ours("-V", "--tshark", "-c", "3", path)
    assert r.returncode == 0, r.stderr
    ours = [line.strip() for line in r.stdout.splitlines()]
    ref = subprocess.run([tshark, "-r", str(path), "-V", "-Y", "ngap"],
                         capture_output=True, text=True).stdout
    theirs = [line.strip() for line in ref.splitlines()]
    pdus = [line for line in ours if line.startswith("NGAP-PDU:")]
    assert len(pdus) == 3 and all(p in theirs for p in pdus)
    i = ours.index(pdus[0])
    assert all(line in theirs for line in ours[i:i + 12] if line)    # the subtree, tshark's labels


def test_read_tshark_option_errors():
    path = PUBLIC / "open5gs" / "5g-roaming-hr.pcapng"
    r = _ours("--tshark", path)
    assert r.returncode == 2 and "use it with -V or -T json" in r.stderr
    r = subprocess.run([sys.executable, "-m", "sctpinspect", "read", "-V", "--tshark", "-"],
                       input=path.read_bytes(), capture_output=True)
    assert r.returncode == 2 and b"needs a capture file" in r.stderr
