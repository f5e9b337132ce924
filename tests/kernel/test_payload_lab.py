"""Payload dissectors on real kernel SCTP traffic (lab VM): a kernel client
sends WebRTC DCEP, M3UA and Diameter messages (built here from RFC 8832,
RFC 4666 and RFC 6733 layouts) to a kernel server; the big ones are
fragmented by the kernel into several DATA chunks.  The capture is decoded by
`sctpinspect read -T fields` and by tshark (payload dissectors on, its
default reassembly), field by field."""
from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel
PY = sys.executable


def dcep_open(label: str, protocol: str = "") -> bytes:
    """RFC 8832 5.1 DATA_CHANNEL_OPEN, reliable ordered channel."""
    lb, pb = label.encode(), protocol.encode()
    return struct.pack("!BBHIHH", 0x03, 0x00, 256, 0, len(lb), len(pb)) + lb + pb


def m3ua_data(opc: int, dpc: int, user: bytes, si=3, ni=2, mp=0, sls=5) -> bytes:
    """RFC 4666 3.3.1 DATA with a Protocol Data parameter (tag 0x0210)."""
    pd = struct.pack("!IIBBBB", opc, dpc, si, ni, mp, sls) + user
    plen = 4 + len(pd)
    param = struct.pack("!HH", 0x0210, plen) + pd + b"\0" * (-plen % 4)
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(param)) + param


def avp(code: int, data: bytes, flags=0x40) -> bytes:
    n = 8 + len(data)
    return struct.pack("!IB", code, flags) + n.to_bytes(3, "big") + data + b"\0" * (-n % 4)


def diameter(cmd: int, app: int, hbh: int, e2e: int, avps: bytes) -> bytes:
    """RFC 6733 3: a request header and its AVPs."""
    n = 20 + len(avps)
    return (bytes([1]) + n.to_bytes(3, "big") + bytes([0x80]) + cmd.to_bytes(3, "big")
            + struct.pack("!III", app, hbh, e2e) + avps)


def _send(t, data: bytes, ppid: int):
    p = subprocess.run(["ip", "netns", "exec", t.host("client").netns, PY, "-m", "sctpinspect",
                        "send", "192.0.2.2:5000", "--hex", data.hex(), "--ppid", str(ppid)],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr


def _ours(pcap, fields, flt):
    argv = [PY, "-m", "sctpinspect", "read", str(pcap), "-T", "fields", "-E", "occurrence=a",
            "-E", "aggregator=,", "-Y", flt]
    for f in fields:
        argv += ["-e", f]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [line.split("\t") for line in p.stdout.splitlines()]


def test_dcep_m3ua_diameter_from_the_kernel_equal_tshark(topology, tmp_path):
    t = topology()
    for dev in ("client0", "server0"):
        t.checksum_offload(dev, on=False)
    pcap = tmp_path / "payload.pcap"
    big_user = bytes(range(256)) * 12                        # 3 kB: several DATA chunks
    messages = [
        (dcep_open("chat", "json"), 50),
        (m3ua_data(0x123, 0x456, b"\x01\x02\x03\x04"), 3),
        (m3ua_data(4000, 5000, big_user), 3),
        (diameter(272, 4, 0x1111, 0x2222, avp(263, b"session;1") + avp(258, struct.pack("!I", 4))), 46),
        (diameter(257, 0, 0x3333, 0x4444, avp(264, b"host.example") + avp(1000, big_user, 0x00)), 46),
    ]
    srv = t.popen("server", [PY, "-m", "sctpinspect", "listen", "5000", "--count", str(len(messages))],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with t.capture("client0", str(pcap), tool="tcpdump"):
            import time
            time.sleep(1.0)                                   # the listener binds
            for data, ppid in messages:
                _send(t, data, ppid)
            srv.wait(timeout=60)
    finally:
        if srv.poll() is None:
            srv.kill()
    # the big messages really were fragmented by the kernel
    frags = tshark_rows(pcap, ["frame.number"], "sctp.data_e_bit == 0")
    assert len(frags) >= 2
    for flt, fields in (
        ("rtcdc", ["frame.number", "rtcdc.message_type", "rtcdc.channel_type", "rtcdc.priority",
                   "rtcdc.label", "rtcdc.protocol"]),
        ("m3ua", ["frame.number", "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc",
                  "m3ua.protocol_data_si", "m3ua.protocol_data_sls"]),
        ("diameter", ["frame.number", "diameter.cmd.code", "diameter.flags.request",
                      "diameter.hopbyhopid", "diameter.endtoendid", "diameter.Session-Id",
                      "diameter.Origin-Host"]),
    ):
        ours = _ours(pcap, fields, flt)
        theirs = tshark_rows(pcap, fields, flt, payload=True)
        assert ours == theirs, (flt, ours, theirs)
    assert len(_ours(pcap, ["frame.number"], "m3ua")) == 2
    assert len(_ours(pcap, ["frame.number"], "diameter")) == 2
    assert _ours(pcap, ["rtcdc.label"], "rtcdc") == [["chat"]]
