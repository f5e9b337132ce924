"""Floods keep the analysis memory bounded, and evictions are reported.

An INIT flood (random tags and ports: every packet a new association) and a
random-TSN flood on one association are decoded and analysed (generator and
runner: benchmarks/bench_flood.py, in a subprocess so that ru_maxrss is the
run's own).  With the caps of ``SMALL_CAPS`` the peak RSS of a 200k-packet
flood must not exceed that of a 20k one by more than FLOOD_GROWTH_MB: state
is bounded by the caps, not by the packet count.  The million-packet runs with
the default caps are in docs/robustness.md.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks" / "bench_flood.py"
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_flood  # noqa: E402

# documented in docs/robustness.md: growth allowed between 20k and 200k packets
FLOOD_GROWTH_MB = 16


def flood(kind: str, count: int) -> dict:
    r = subprocess.run([sys.executable, str(BENCH), "--kind", kind, "--count", str(count),
                        "--small-caps", "--json"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("kind,big", [("init", 200_000), ("tsn", 100_000)])
def test_flood_memory_is_bounded(kind, big):
    small = flood(kind, 20_000)
    large = flood(kind, big)
    caps = bench_flood.SMALL_CAPS
    assert large["frames"] == big
    grew = large["rss_peak_mb"] - small["rss_peak_mb"]
    assert grew <= FLOOD_GROWTH_MB, (small, large)
    assert large["live"] <= caps["max_associations"]
    assert large["associations"] <= caps["max_association_records"]
    assert large["by_ports"] <= caps["max_associations"]
    ev = large["evicted"]
    if kind == "init":
        # every INIT past the live cap evicts one; past the record cap, none is tracked
        assert ev["associations"] == caps["max_association_records"] - caps["max_associations"]
        assert ev["associations_untracked"] == big - caps["max_association_records"]
    else:
        assert large["associations"] == 1
        assert large["live_tsns"] <= 2 * caps["max_tsns"]
        assert ev["tsns"] > 0 and ev["fragments"] > 0 and ev["streams"] > 0


def test_assoc_prints_eviction_counts(tmp_path):
    """``sctpinspect assoc`` on an INIT flood larger than the live cap says
    what was dropped (never silent)."""
    from sctpinspect.analysis import AnalysisOptions
    opts = AnalysisOptions()
    live_cap, records_cap = opts.max_associations, opts.max_association_records
    n = max(live_cap, records_cap) + 2000
    frames = list(bench_flood.init_flood(n, seed=7))
    p = tmp_path / "initflood.pcap"
    with open(p, "wb") as f:
        f.write(struct_pcap_header())
        for i, fr in enumerate(frames):
            f.write(struct_rec(i, fr))
    r = subprocess.run([sys.executable, "-m", "sctpinspect", "assoc", str(p)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    last = [ln for ln in r.stdout.splitlines() if ln.startswith("analysis memory caps reached")]
    dropped = [f"associations {records_cap - live_cap}"] if records_cap > live_cap else []
    dropped.append(f"associations untracked {n - records_cap}")
    assert last == ["analysis memory caps reached, dropped: " + ", ".join(dropped)], r.stdout[-500:]


def test_diagnose_init_flood_is_bounded_and_says_so():
    """An INIT flood beyond the association-record cap: the diagnoser lists
    ``max_findings`` findings per rule, folds the rest into one finding that
    counts them, and an ``analysis-capped`` finding names every cap reached
    (issue 18.5: memory flat in the flood's size)."""
    from sctpinspect.analysis import AnalysisOptions, Analyzer
    from sctpinspect.decode import Decoder, DecodeOptions
    from sctpinspect.diagnostics.engine import Diagnoser
    from sctpinspect.model import Record
    opts = AnalysisOptions(max_associations=300, max_association_records=500, annotate=False)
    dg = Diagnoser(Analyzer(opts), annotate=False, max_findings=100)
    dec = Decoder(DecodeOptions(verify_checksum=False))
    n = 800
    for i, fr in enumerate(bench_flood.init_flood(n, seed=3)):
        dg.feed(dec.decode(Record(i + 1, i * 1000, fr, len(fr), 101)))
    dg.finish()
    unanswered = [f for f in dg.findings if f.rule == "init-unanswered"]
    listed = [f for f in unanswered if f.association is not None]
    [over] = [f for f in unanswered if f.association is None]
    assert len(listed) == 100 and [f.association for f in listed] == list(range(100))
    assert over.extra["folded"] == 500 - 100 and over.count == 400
    assert "400 more occurrences" in over.message and "cap: 100 findings per rule" in over.message
    [cap] = [f for f in dg.findings if f.rule == "analysis-capped"]
    assert cap.extra["evicted"] == {"associations": 500 - 300, "associations_untracked": n - 500}
    assert cap.extra["folded_findings"]["init-unanswered"] == 400
    assert "associations untracked 300" in cap.message and cap.severity == "warn"


def struct_pcap_header() -> bytes:
    import struct
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)


def struct_rec(i: int, fr: bytes) -> bytes:
    import struct
    return struct.pack("<IIII", i, 0, len(fr), len(fr)) + fr
