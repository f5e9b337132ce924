"""Floods: memory of the analysis under an INIT flood or a random-TSN flood.

    python benchmarks/bench_flood.py                      # 1M INITs + 1M DATA, default caps
    python benchmarks/bench_flood.py --kind init --count 200000 --small-caps --json

``--kind init``: INIT chunks with random initiate tags, random ports (every
packet a new association attempt).  ``--kind tsn``: one association (INIT,
INIT ACK, COOKIE ECHO, COOKIE ACK) then DATA chunks with random TSNs, random
stream ids and random B/E bits (fragments that never complete).  Frames are
built with ``struct`` (raw IPv4, LINKTYPE_RAW), decoded by the real Decoder
and fed to the Analyzer one at a time, as ``sctpinspect assoc`` does.
Reported: frames, CPU seconds, packets/s, peak RSS (ru_maxrss) growth over
the baseline, and the ``evicted`` counters.  Figures: docs/robustness.md.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sctpinspect.analysis import AnalysisOptions, Analyzer  # noqa: E402
from sctpinspect.decode import Decoder, DecodeOptions  # noqa: E402
from sctpinspect.model import Record  # noqa: E402

_IP = struct.Struct("!BBHHHBBH4s4s")
_A, _B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def _ip(sctp: bytes, src=_A, dst=_B) -> bytes:
    return _IP.pack(0x45, 0, 20 + len(sctp), 0, 0, 64, 132, 0, src, dst) + sctp


def init_flood(n: int, seed: int = 1):
    """Frames of ``n`` INITs with random tags, TSNs and ports."""
    rnd = random.Random(seed)
    bits = rnd.getrandbits
    for _ in range(n):
        ch = struct.pack("!BBHIIHHI", 1, 0, 20, bits(32) | 1, 65536, 10, 10, bits(32))
        yield _ip(struct.pack("!HHII", bits(16) | 1, bits(16) | 1, 0, 0) + ch)


def tsn_flood(n: int, seed: int = 1):
    """One association's handshake, then ``n - 4`` DATA chunks with random TSNs."""
    rnd = random.Random(seed)
    bits = rnd.getrandbits
    t1, t2 = 0x1111, 0x2222
    yield _ip(struct.pack("!HHII", 5000, 6000, 0, 0)
              + struct.pack("!BBHIIHHI", 1, 0, 20, t1, 65536, 10, 10, 1))
    yield _ip(struct.pack("!HHII", 6000, 5000, t1, 0)
              + struct.pack("!BBHIIHHI", 2, 0, 20, t2, 65536, 10, 10, 1), _B, _A)
    yield _ip(struct.pack("!HHII", 5000, 6000, t2, 0) + struct.pack("!BBH4s", 10, 0, 8, b"ckie"))
    yield _ip(struct.pack("!HHII", 6000, 5000, t1, 0) + struct.pack("!BBH", 11, 0, 4), _B, _A)
    for _ in range(n - 4):
        flags = bits(2)                  # random B/E: most messages never complete
        payload = b"x" * 8
        ch = struct.pack("!BBHIHHI", 0, flags, 16 + len(payload), bits(32), bits(16) & 0x3FF,
                         bits(16), 3) + payload
        yield _ip(struct.pack("!HHII", 5000, 6000, t2, 0) + ch)


SMALL_CAPS = dict(max_associations=1000, max_association_records=5000, max_streams=64,
                  max_tsns=4096, max_fragments=1024, max_reassembly_bytes=1 << 20,
                  max_messages=5000)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(kind: str, count: int, small_caps: bool = False) -> dict:
    frames = init_flood(count) if kind == "init" else tsn_flood(count)
    dec = Decoder(DecodeOptions(verify_checksum=False))
    an = Analyzer(AnalysisOptions(**(SMALL_CAPS if small_caps else {})))
    base = _rss_mb()
    t0 = time.process_time()
    decode, feed = dec.decode, an.feed
    n = 0
    for i, f in enumerate(frames):
        feed(decode(Record(i + 1, i * 1000, f, len(f), 101)))
        n += 1
    cpu = time.process_time() - t0
    live_tsns = sum(d.log.size() if d.log else 0 for a in an._live.values() for d in a.dirs)
    return {"kind": kind, "frames": n, "cpu_s": round(cpu, 2), "pps": int(n / cpu) if cpu else 0,
            "rss_base_mb": round(base, 1), "rss_peak_mb": round(_rss_mb(), 1),
            "rss_growth_mb": round(_rss_mb() - base, 1),
            "associations": len(an.associations), "live": len(an._live),
            "live_tsns": live_tsns, "by_ports": len(an._by_ports),
            "evicted": dict(an.evicted), "small_caps": small_caps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=["init", "tsn", "both"], default="both")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--small-caps", action="store_true", help="run with SMALL_CAPS, not the defaults")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    kinds = ["init", "tsn"] if a.kind == "both" else [a.kind]
    for k in kinds:
        r = run(k, a.count, a.small_caps)
        print(json.dumps(r) if a.json else
              f"{k:4} flood: {r['frames']} frames, {r['cpu_s']} s CPU ({r['pps']}/s), "
              f"peak RSS {r['rss_peak_mb']} MB (+{r['rss_growth_mb']}), "
              f"{r['associations']} associations ({r['live']} live), evicted {r['evicted']}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
