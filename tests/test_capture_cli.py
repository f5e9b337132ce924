"""`sctpinspect capture` end to end on the host: crafted SCTP over lo, the
command run as a subprocess, its files checked with tshark (the oracle)."""
from __future__ import annotations

import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from sctpinspect.capture.traffic import RawSender, RawSink, data_chunk, sctp_packet

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")

CMD = [sys.executable, "-m", "sctpinspect", "capture"]


def start(*args, **kw) -> subprocess.Popen:
    """Start a capture and wait until it says it is capturing."""
    p = subprocess.Popen(CMD + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, **kw)
    ready, _, _ = select.select([p.stderr], [], [], 30)
    assert ready, "capture did not start"
    line = p.stderr.readline()
    assert line.startswith("Capturing on"), line
    return p


def finish(p: subprocess.Popen, timeout: float = 30) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def send(n: int, size: int = 8, dport: int = 2000, dst: str = "127.0.0.1") -> list[bytes]:
    pkts = [sctp_packet(1000, dport, 0x10000 + i, data_chunk(i, 0, i, 46, b"%08d" % i * (size // 8)))
            for i in range(n)]
    with RawSender(dst) as s:
        for p in pkts:
            s.send(p)
    return pkts


@pytest.fixture
def sink():
    s = RawSink()
    yield s
    s.close()


def tshark_read(tshark: str, path, *fields: str) -> tuple[list[list[str]], str]:
    r = subprocess.run([tshark, "-r", str(path), "-o", "sctp.relative_tsns:FALSE",
                        "-o", "sctp.checksum:CRC 32c", "-T", "fields"]
                       + [a for f in fields for a in ("-e", f)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    warn = "\n".join(l for l in r.stderr.splitlines() if "Running as user" not in l)
    return [l.split("\t") for l in r.stdout.splitlines()], warn


def pcapng_blocks(path) -> list[tuple[int, bytes]]:
    data = open(path, "rb").read()
    out, off = [], 0
    while off < len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        out.append((btype, data[off + 8: off + blen - 4]))
        off += blen
    assert off == len(data)
    return out


def isb_options(body: bytes) -> dict:
    opts, off = {}, 12
    while off + 4 <= len(body):
        code, length = struct.unpack_from("<HH", body, off)
        if code == 0:
            break
        opts[code] = body[off + 4: off + 4 + length]
        off += 4 + length + (-length % 4)
    return opts


def test_write_count_and_tshark_reads_file(tmp_path, tshark, sink):
    out = tmp_path / "c.pcapng"
    p = start("-i", "lo", "-q", "-w", str(out), "-c", "5")
    sent = send(8)
    rc, stdout, err = finish(p)
    assert rc == 0, err
    assert stdout == ""
    assert err.strip().splitlines()[-1] == "5 packets captured, 0 dropped by kernel"
    rows, warn = tshark_read(tshark, out, "frame.len", "ip.proto", "sctp.verification_tag",
                             "sctp.data_tsn_raw", "sctp.checksum.status")
    assert warn == ""
    # checksum status 1 = good (tshark verifying CRC32c)
    assert rows == [[str(14 + 20 + len(sent[i])), "132", "0x%08x" % (0x10000 + i), str(i), "1"]
                    for i in range(5)]
    blocks = pcapng_blocks(out)
    assert [b[0] for b in blocks] == [0x0A0D0D0A, 1] + [6] * 5 + [5]
    isb = isb_options(blocks[-1][1])
    assert struct.unpack("<Q", isb[5])[0] == 0            # isb_ifdrop
    assert struct.unpack("<Q", isb[4])[0] >= 5            # isb_ifrecv
    # Every EPB is the bytes that were sent, behind lo's zero Ethernet header.
    from sctpinspect.sources import open_capture
    recs = list(open_capture(str(out)))
    assert [r.data[34:] for r in recs] == sent[:5]
    assert all(r.direction == "in" for r in recs)


def test_prints_the_same_as_read_of_the_written_file(tmp_path, sink):
    out = tmp_path / "c.pcapng"
    p = start("-i", "lo", "-w", str(out), "-c", "4")
    send(4)
    rc, live, err = finish(p)
    assert rc == 0, err
    r = subprocess.run([sys.executable, "-m", "sctpinspect", "read", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert live == r.stdout
    assert len(live.splitlines()) == 4

    p = start("-i", "lo", "-w", str(out), "-c", "3", "-T", "fields",
              "-e", "frame.number", "-e", "frame.len", "-e", "frame.cap_len")
    send(3, size=16)
    rc, live, err = finish(p)
    assert rc == 0, err
    r = subprocess.run([sys.executable, "-m", "sctpinspect", "read", str(out), "-T", "fields",
                        "-e", "frame.number", "-e", "frame.len", "-e", "frame.cap_len"],
                       capture_output=True, text=True)
    assert live == r.stdout
    assert live.splitlines()[0] == "1\t%d\t%d" % ((14 + 20 + 12 + 16 + 16,) * 2)


def test_filter_option_only_matching_sctp(tmp_path, tshark, sink):
    out = tmp_path / "f.pcapng"
    p = start("-i", "lo", "-q", "-w", str(out), "-f", "sctp dst port 2002", "-a", "duration:2")
    send(3, dport=2001)
    send(2, dport=2002)
    rc, _, err = finish(p)
    assert rc == 0, err
    rows, warn = tshark_read(tshark, out, "sctp.dstport")
    assert rows == [["2002"], ["2002"]] and warn == ""


def test_autostop_duration(tmp_path, tshark):
    out = tmp_path / "d.pcapng"
    t0 = time.monotonic()
    p = start("-i", "lo", "-q", "-w", str(out), "-a", "duration:1")
    rc, _, err = finish(p)
    took = time.monotonic() - t0
    assert rc == 0, err
    assert 0.9 < took < 10
    assert "0 packets captured, 0 dropped by kernel" in err
    rows, warn = tshark_read(tshark, out, "frame.number")
    assert rows == [] and warn == ""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_flushes_every_packet(tmp_path, tshark, sink, sig):
    out = tmp_path / "s.pcapng"
    p = start("-i", "lo", "-q", "-w", str(out))
    sent = send(50)
    time.sleep(0.5)
    p.send_signal(sig)
    rc, _, err = finish(p)
    assert rc == 0, err
    assert "Traceback" not in err
    assert "50 packets captured" in err
    rows, warn = tshark_read(tshark, out, "sctp.verification_tag")
    assert warn == ""
    assert [r[0] for r in rows] == ["0x%08x" % (0x10000 + i) for i in range(50)]
    assert pcapng_blocks(out)[-1][0] == 5


def test_ring_buffer_rotation(tmp_path, tshark, sink):
    base = tmp_path / "ring.pcapng"
    p = start("-i", "lo", "-q", "-w", str(base), "-b", "filesize:2,files:3", "-c", "60")
    send(60, size=64)     # 130-byte frames, ~166 bytes per EPB: ~12 per 2 kB file
    rc, _, err = finish(p)
    assert rc == 0, err
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3
    pat = re.compile(r"ring_(\d{5})_(\d{14})\.pcapng$")
    idx = [int(pat.match(n).group(1)) for n in names]
    assert idx == list(range(idx[0], idx[0] + 3)) and idx[0] > 1      # oldest files removed
    tags = []
    for n in names:
        rows, warn = tshark_read(tshark, tmp_path / n, "sctp.verification_tag")
        assert warn == ""
        assert rows
        tags += [int(r[0], 16) - 0x10000 for r in rows]
        assert os.path.getsize(tmp_path / n) < 2000 + 400
        assert pcapng_blocks(tmp_path / n)[-1][0] == 5
    assert tags == list(range(60 - len(tags), 60))        # the newest packets, in order


def test_ring_buffer_needs_write():
    r = subprocess.run(CMD + ["-i", "lo", "-b", "files:2"], capture_output=True, text=True)
    assert r.returncode == 2 and "-b" in r.stderr and len(r.stderr.splitlines()) == 1


def test_unknown_interface_one_line():
    r = subprocess.run(CMD + ["-i", "nosuch0"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1
    assert "nosuch0" in lines[0] and "available: lo" in lines[0] and "any" in lines[0]


def test_unwritable_output_one_line(tmp_path):
    r = subprocess.run(CMD + ["-i", "lo", "-w", "/nonexistent/dir/x.pcapng", "-c", "1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["sctpinspect: cannot write /nonexistent/dir/x.pcapng: "
                                     "No such file or directory"]


def test_without_privilege_says_how_to_fix(tmp_path):
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv missing")
    # root without CAP_NET_RAW: dropped from the bounding set, so the exec'd
    # python does not get it (same EPERM as an unprivileged user, with the
    # same interpreter and packages).
    r = subprocess.run([setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw"] + CMD
                       + ["-i", "lo", "-c", "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "CAP_NET_RAW" in lines[0]
    assert "sudo setcap cap_net_raw,cap_net_admin=eip $(which python3)" in lines[0]


def test_disk_full_keeps_what_was_written(tmp_path, tshark, sink):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        out = mnt / "full.pcapng"
        p = start("-i", "lo", "-q", "-w", str(out))
        for _ in range(6):
            send(100, size=200)
            if p.poll() is not None:
                break
            time.sleep(0.2)
        rc, _, err = finish(p)
        assert rc == 1
        msg = [l for l in err.splitlines() if "no space left" in l]
        assert len(msg) == 1, err
        kept = int(re.search(r"keeps the (\d+) packets", msg[0]).group(1))
        rows, warn = tshark_read(tshark, out, "sctp.verification_tag")
        assert warn == ""
        assert 100 < len(rows) == kept
        assert [int(r[0], 16) - 0x10000 for r in rows] == [i % 100 for i in range(kept)]
    finally:
        subprocess.run(["umount", str(mnt)])
