"""Throughput of the payload dissectors, and of ``read -T fields -e m3ua.*`` vs tshark.

    python benchmarks/bench_payload.py [-m 20000] [-n 100000] [--seed 1] [--skip-tshark]

1. *Dissectors alone*: messages per second of ``dissectors.dissect_payload``
   (lookup by PPID + the dissector) for M3UA DATA (RFC 4666 3.3.1), Diameter
   CCR/CCA with 9-12 AVPs incl. a Grouped one (RFC 6733, RFC 4006) and DCEP
   DATA_CHANNEL_OPEN/ACK (RFC 8832), on ``-m`` generated messages each.
2. *The read hook in-process*: decode + ``sctpinspect.payload.payload_hook``
   over the generated M3UA capture, with and without reassembly (the cost of
   the analysis pass that reassembles fragmented messages).
3. *End to end*: ``sctpinspect read FILE -T fields -e frame.number -e
   m3ua.protocol_data_opc`` against ``tshark -r FILE`` with the same fields
   (stdout to /dev/null, best of 2), on a generated capture of ``-n``
   frames: one M3UA association (INIT handshake, then DATA packets of 1-3
   bundled M3UA messages, every 20th message fragmented over 2-3 packets, a
   SACK every other packet).  The two outputs are compared first.

The capture is (re)written to benchmarks/out/ (gitignored; same seed, same bytes).  Wall-clock figures on
a shared machine: run it when nothing else runs.  Figures go into
docs/dissectors.md ("Performance") by hand, with the date and machine.
Speed goals live here, never in timed tests.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_capture import ETH_HDR, OUT_DIR, _chunk, _ipv4, sctp_packet  # noqa: E402


# -- messages, built from the RFC layouts (not with the code under test) ---------------
def m3ua_data(rng) -> bytes:
    user = rng.randbytes(rng.randint(20, 250))
    # SI 10 (spare, Q.704 14.2.1): tshark hands the user part to "data", so random bytes
    # cannot make a sub-dissector throw and end its dissection of the frame
    pd = struct.pack("!IIBBBB", rng.randint(1, 16383), rng.randint(1, 16383), 10,
                     rng.choice((0, 2)), 0, rng.randint(0, 15)) + user
    params = b""
    if rng.random() < 0.5:                                   # Routing Context (0x0006)
        params += struct.pack("!HHI", 0x0006, 8, rng.randint(1, 100))
    params += struct.pack("!HH", 0x0210, 4 + len(pd)) + pd + b"\0" * (-len(pd) % 4)
    if rng.random() < 0.3:                                   # Correlation Id (0x0013)
        params += struct.pack("!HHI", 0x0013, 8, rng.getrandbits(32))
    return struct.pack("!BBBBI", 1, 0, 1, 1, 8 + len(params)) + params


def _avp(code, data: bytes, flags=0x40, vendor=None) -> bytes:
    head = 12 if vendor is not None else 8
    out = struct.pack("!IB", code, flags | (0x80 if vendor is not None else 0)) \
        + (head + len(data)).to_bytes(3, "big")
    if vendor is not None:
        out += struct.pack("!I", vendor)
    return out + data + b"\0" * (-len(data) % 4)


def diameter_ccr(rng) -> bytes:
    n = rng.randint(1, 10 ** 6)
    avps = (_avp(263, b"pgw.example.net;%d;%d" % (n, rng.randint(1, 99)))      # Session-Id
            + _avp(264, b"pgw.example.net") + _avp(296, b"example.net")        # Origin-Host/Realm
            + _avp(283, b"ocs.example.net")                                    # Destination-Realm
            + _avp(258, struct.pack("!I", 4))                                  # Auth-Application-Id
            + _avp(416, struct.pack("!I", rng.randint(1, 3)))                  # CC-Request-Type
            + _avp(415, struct.pack("!I", rng.randint(0, 20)))                 # CC-Request-Number
            + _avp(443, _avp(450, struct.pack("!I", 0))                        # Subscription-Id
                   + _avp(444, b"4670%09d" % rng.randint(0, 10 ** 9 - 1))))
    request = rng.random() < 0.5
    if not request:
        avps += _avp(268, struct.pack("!I", 2001))                             # Result-Code
    return bytes([1]) + (20 + len(avps)).to_bytes(3, "big") \
        + bytes([0xC0 if request else 0x40]) + (272).to_bytes(3, "big") \
        + struct.pack("!III", 4, rng.getrandbits(32), rng.getrandbits(32)) + avps


def dcep(rng) -> bytes:
    if rng.random() < 0.3:
        return b"\x02"                                                         # DATA_CHANNEL_ACK
    label = b"chat-%d" % rng.randint(0, 9999)
    proto = rng.choice((b"", b"json", b"xmpp"))
    return struct.pack("!BBHIHH", 3, rng.choice((0, 1, 2, 0x80, 0x81, 0x82)),
                       rng.choice((128, 256, 512)), rng.randint(0, 10), len(label),
                       len(proto)) + label + proto


GENERATORS = {"m3ua": (3, m3ua_data), "diameter": (46, diameter_ccr), "dcep": (50, dcep)}


def bench_dissectors(count: int, seed: int) -> None:
    from dissectors import dissect_payload, registry
    registry.names()
    print(f"1. dissectors alone ({count} generated messages each, best of 3)")
    for name, (ppid, gen) in GENERATORS.items():
        rng = random.Random(seed)
        msgs = [gen(rng) for _ in range(count)]
        nbytes = sum(map(len, msgs))
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            for m in msgs:
                notes = []
                dissect_payload(m, 62, ppid, 2905, 2905, None, notes)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        tree = dissect_payload(msgs[0], 62, ppid, 2905, 2905)
        nfields = sum(1 for _ in tree.walk())
        print(f"   {name:9s} {count / best:10,.0f} msg/s  {nbytes / best / 1e6:6.1f} MB/s  "
              f"({nbytes / count:.0f} B/msg, {nfields} fields in the first)")


# -- the capture -----------------------------------------------------------------------
def _pcap_record(f, ts_us: int, frame: bytes) -> None:
    f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)))
    f.write(frame)


def generate(path: str, n_frames: int, seed: int) -> dict:
    rng = random.Random(seed)
    a, b = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    tag_a, tag_b = 0x1111, 0x2222
    ident = [0]
    ts = [1_700_000_000_000_000]
    stats = {"frames": 0, "messages": 0, "fragmented": 0}

    def frame(src, dst, vtag, chunks, f):
        ident[0] += 1
        ts[0] += rng.randint(50, 400)
        _pcap_record(f, ts[0], ETH_HDR + _ipv4(src, dst, 132,
                                               sctp_packet(2905, 2905, vtag, chunks), ident[0]))
        stats["frames"] += 1

    def init_body(tag, tsn):
        return struct.pack("!IIHHI", tag, 65536, 16, 16, tsn)

    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        frame(a, b, 0, _chunk(1, 0, init_body(tag_a, 1000)), f)
        frame(b, a, tag_a, _chunk(2, 0, init_body(tag_b, 5000) +
                                  struct.pack("!HH", 7, 36) + bytes(32)), f)
        frame(a, b, tag_b, _chunk(10, 0, bytes(32)), f)
        frame(b, a, tag_a, _chunk(11, 0, b""), f)
        tsn, ssn = 1000, [0] * 8
        while stats["frames"] < n_frames:
            chunks = b""
            for _ in range(rng.randint(1, 3)):
                msg = m3ua_data(rng)
                sid = rng.randrange(8)
                stats["messages"] += 1
                if stats["messages"] % 20 == 0:             # fragmented over 2-3 packets
                    stats["fragmented"] += 1
                    parts = rng.randint(2, 3)
                    step = -(-len(msg) // parts)
                    pieces = [msg[i:i + step] for i in range(0, len(msg), step)]
                    for k, piece in enumerate(pieces):
                        flags = (2 if k == 0 else 0) | (1 if k == len(pieces) - 1 else 0)
                        body = struct.pack("!IHHI", tsn, sid, ssn[sid], 3) + piece
                        tsn += 1
                        if k < len(pieces) - 1:
                            frame(a, b, tag_b, chunks + _chunk(0, flags, body), f)
                            chunks = b""
                        else:
                            chunks += _chunk(0, flags, body)
                else:
                    chunks += _chunk(0, 3, struct.pack("!IHHI", tsn, sid, ssn[sid], 3) + msg)
                    tsn += 1
                ssn[sid] = (ssn[sid] + 1) & 0xFFFF
            frame(a, b, tag_b, chunks, f)
            if stats["frames"] % 2 == 0:
                frame(b, a, tag_a, _chunk(3, 0, struct.pack("!IIHH", tsn - 1, 65536, 0, 0)), f)
    return stats


def bench_hook(path: str) -> None:
    from sctpinspect.decode import Decoder
    from sctpinspect.payload import payload_hook
    from sctpinspect.sources import open_capture
    records = list(open_capture(path))
    print(f"2. decode + payload hook in-process ({len(records)} frames)")
    for label, hook in (("decode only", None), ("hook, no reassembly", payload_hook(reassemble=False)),
                        ("hook with reassembly", payload_hook())):
        dec = Decoder()
        layers = 0
        t0 = time.perf_counter()
        for r in records:
            pkt = dec.decode(r)
            if hook is not None:
                hook(pkt)
                layers += len(pkt.layers)
        dt = time.perf_counter() - t0
        print(f"   {label:22s} {len(records) / dt:10,.0f} frames/s  {dt:6.2f} s")


def _timed(cmd: list[str]) -> tuple[float, str]:
    best, digest = None, None
    for _ in range(2):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        digest = hashlib.sha1(out).hexdigest()
    return best, digest


def bench_cli(path: str, stats: dict, skip_tshark: bool) -> None:
    fields = ["-T", "fields", "-e", "frame.number", "-e", "m3ua.protocol_data_opc"]
    ours = [sys.executable, "-m", "sctpinspect", "read", "--no-progress", path, *fields]
    print(f"3. end to end on {stats['frames']} frames, {stats['messages']} M3UA messages "
          f"({stats['fragmented']} fragmented)")
    dt, h1 = _timed(ours)
    print(f"   sctpinspect read -T fields -e m3ua.protocol_data_opc  {dt:6.2f} s  "
          f"{stats['frames'] / dt:9,.0f} frames/s  {stats['messages'] / dt:9,.0f} msg/s")
    tshark = shutil.which("tshark")
    if skip_tshark or tshark is None:
        return
    dt2, h2 = _timed([tshark, "-n", "-r", path, *fields])
    print(f"   tshark -T fields -e m3ua.protocol_data_opc           {dt2:6.2f} s  "
          f"{stats['frames'] / dt2:9,.0f} frames/s  {stats['messages'] / dt2:9,.0f} msg/s")
    print(f"   outputs {'identical' if h1 == h2 else 'DIFFER'}; sctpinspect/tshark time "
          f"{dt / dt2:.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--messages", type=int, default=20000,
                    help="generated messages per dissector for part 1 (default 20000)")
    ap.add_argument("-n", "--frames", type=int, default=100000,
                    help="frames of the generated M3UA capture (default 100000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-tshark", action="store_true")
    ap.add_argument("--only", choices=("dissectors", "hook", "cli"), action="append",
                    help="run only these parts (repeatable)")
    a = ap.parse_args(argv)
    parts = set(a.only or ("dissectors", "hook", "cli"))
    if "dissectors" in parts:
        bench_dissectors(a.messages, a.seed)
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, f"payload-m3ua-{a.frames}-s{a.seed}.pcap")
    stats = generate(path + ".tmp", a.frames, a.seed)
    os.replace(path + ".tmp", path)
    if "hook" in parts:
        bench_hook(path)
    if "cli" in parts:
        bench_cli(path, stats, a.skip_tshark)
    return 0


if __name__ == "__main__":
    sys.exit(main())
