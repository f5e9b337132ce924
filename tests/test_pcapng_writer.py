"""pcapng writer: tshark must open the output without a warning and see the same
timestamps, interfaces, comments and directions; capinfos sees the ISB counters."""
from __future__ import annotations

import io
import struct
import subprocess

from conftest import PUBLIC
from sctpinspect.model import Record
from sctpinspect.sources import open_capture
from sctpinspect.sources.pcapng_writer import PcapngWriter

SCTP_CAP = PUBLIC / "pkts" / "sctp.cap"
SLL_CAP = PUBLIC / "tcpdump" / "forces1.pcap"


def _stderr_warnings(stderr: str) -> list[str]:
    # tshark always complains about running as root; nothing else may appear.
    return [l for l in stderr.splitlines() if l.strip() and "Running as user" not in l]


def _records():
    eth = list(open_capture(SCTP_CAP))
    sll = list(open_capture(SLL_CAP))[:3]
    out = []
    for i, r in enumerate(eth):
        r.interface = 0
        r.ts_ns += 123 + i              # nanosecond digits must survive
        r.comment = f"packet {i} – ünïcode" if i % 2 == 0 else None
        r.direction = ("in", "out", None, "in")[i]
        out.append(r)
    for r in sll:
        r.interface = 1
        out.append(r)
    return out


def test_tshark_reads_writer_output(tmp_path, tshark):
    recs = _records()
    p = tmp_path / "out.pcapng"
    w = PcapngWriter(p, interfaces=[(1, "eth0", 262144, 9), (113, "any", 65535, 6)])
    for r in recs:
        w.write(r)
    w.write_stats(0, recs[-1].ts_ns, received=100, dropped=7)
    w.flush()
    w.close()
    res = subprocess.run([tshark, "-r", str(p), "-T", "fields", "-E", "separator=/t",
                          "-e", "frame.time_epoch", "-e", "frame.interface_id", "-e", "frame.comment",
                          "-e", "frame.packet_flags_direction", "-e", "frame.len", "-e", "ip.src",
                          "-e", "frame.cap_len"], capture_output=True, text=True)
    assert res.returncode == 0
    assert _stderr_warnings(res.stderr) == []
    rows = [l.split("\t") for l in res.stdout.splitlines()]
    assert len(rows) == len(recs)
    for r, row in zip(recs, rows):
        sec, ns = divmod(r.ts_ns, 10**9)
        if r.interface == 1:            # microsecond interface: ns digits truncated
            ns -= ns % 1000
        assert row[0] == "%d.%09d" % (sec, ns)
        assert row[1] == str(r.interface)
        assert row[2] == (r.comment or "")
        assert row[3] == {"in": "0x00000001", "out": "0x00000002", None: ""}[r.direction]
        assert row[4] == str(r.wirelen) and row[6] == str(len(r.data))
    # Our own reader gets the same records back.
    back = list(open_capture(p))
    assert [(b.data, b.comment, b.direction, b.interface, b.linktype) for b in back] == \
        [(r.data, r.comment, r.direction, r.interface, r.linktype) for r in recs]
    # The ISB is well-formed: capinfos reports its counters.
    info = subprocess.run(["capinfos", str(p)], capture_output=True, text=True).stdout
    assert "Number of stat entries = 1" in info
    assert info.count("Number of stat entries = 1") == 1     # on interface #0 only
    assert _isb_counters(p.read_bytes()) == [(0, {4: 100, 5: 7})]


def _isb_counters(data: bytes):
    """(interface, {option code: u64}) of every ISB, parsed straight from the bytes."""
    out, pos = [], 0
    while pos < len(data):
        btype, blen = struct.unpack_from("<II", data, pos)
        if btype == 5:
            ifid = struct.unpack_from("<I", data, pos + 8)[0]
            opts, o = {}, pos + 20
            while o < pos + blen - 4:
                code, ln = struct.unpack_from("<HH", data, o)
                if code == 0:
                    break
                opts[code] = struct.unpack_from("<Q", data, o + 4)[0]
                o += 4 + ln + (-ln % 4)
            out.append((ifid, opts))
        pos += blen
    return out


def test_writer_to_file_object_and_defaults(tshark, tmp_path):
    buf = io.BytesIO()
    with PcapngWriter(buf) as w:
        w.write(Record(1, 1_700_000_000_000_000_001, b"\x00" * 60, 60, 1, 0))
    p = tmp_path / "o.pcapng"
    p.write_bytes(buf.getvalue())
    res = subprocess.run([tshark, "-r", str(p), "-T", "fields", "-e", "frame.time_epoch"],
                         capture_output=True, text=True)
    assert res.returncode == 0 and _stderr_warnings(res.stderr) == []
    assert res.stdout.strip() == "1700000000.000000001"
