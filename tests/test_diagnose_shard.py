"""``diagnose`` sharded by association over processes (sctpinspect.analysis.shard,
``diagnose_sharded``) gives exactly the findings, order, ids, causal links and text
of one process (issue 14.4), on every capture; what crosses shards (a State
Cookie seen in two of them, a cap) makes it fall back to one process."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from conftest import CAPTURES, REPO, project_captures, public_captures
from sctpinspect.analysis import decode_file
from sctpinspect.analysis.core import AnalysisOptions, Analyzer
from sctpinspect.analysis.shard import diagnose_sharded, owner
from sctpinspect.decode import DecodeOptions
from sctpinspect.diagnostics import DiagnosisResult, Diagnoser, diagnose_packets
from sctpinspect.pipeline import compile_display_filter, open_records

ALL = project_captures() + sorted(CAPTURES.glob("diag/*.pcap*")) + public_captures()

_spec = importlib.util.spec_from_file_location(
    "make_diag_captures", REPO / "captures" / "diag" / "make_diag_captures.py")
mk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mk)


def _make(marks=False, **kw):
    def make():
        return Diagnoser(Analyzer(AnalysisOptions(annotate=marks, keep_messages=False)),
                         annotate=marks, **kw)
    return make


def _one(path, flt=None, **kw):
    pred = compile_display_filter(flt)
    return diagnose_packets(decode_file(str(path), DecodeOptions()), pred, "info",
                            _make(pred is not None, **kw)())


def _sharded(path, n, flt=None, **kw):
    pred = compile_display_filter(flt)
    got = diagnose_sharded(lambda: open_records(str(path)), DecodeOptions(), n,
                           _make(pred is not None, **kw), pred)
    if got is None:
        return None
    d, frames, matched, _err = got
    return DiagnosisResult(d, frames, matched, "info")


def _same(a, b) -> None:
    assert b.to_json() == a.to_json()
    assert b.text() == a.text()
    assert b.exit_status() == a.exit_status()


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_sharded_diagnosis_equals_one_process(path):
    one = _one(path)
    for n in (2, 3):
        merged = _sharded(path, n)
        if merged is None:
            # only the capture whose State Cookie repeats across port pairs may refuse
            assert "static-cookie" in one.rules(), f"{n} shards refused to merge"
            continue
        _same(one, merged)


@pytest.mark.parametrize("path", ALL[::4], ids=lambda p: p.name)
def test_sharded_diagnosis_with_a_display_filter(path):
    """-Y is evaluated on every frame exactly once, in the shard that feeds it."""
    flt = "frame.number >= 3 && !(sctp.chunk_type == 3)"
    one = _one(path, flt)
    merged = _sharded(path, 2, flt)
    if merged is not None:
        _same(one, merged)
        assert merged.matched == one.matched


def _checksums_across_shards():
    """Host 10.0.0.1 sends bad CRC32c on its association from port 5000 and good ones
    from port 5001: two port pairs in two shards (owner() differs), one source address
    whose checksum counts are capture-wide (the offload heuristic reads both)."""
    c = mk.Conv().handshake()
    c.a(mk.data(1), checksum=0x12345678).a(mk.data(1), checksum=0x12345678)
    d = mk.Conv(c.t + 1.0, a=("10.0.0.1", 5001))
    d.a(mk.init(), vtag=0).b(mk.init(mk.TB, tsn=100, ack=True).replace(b"COOKIE01", b"COOKIE02"))
    d.a(mk.COOKIE_ECHO).b(mk.COOKIE_ACK).exchange(n=2)     # its own State Cookie
    return c.out + d.out


def test_checksum_counts_cross_the_shards(tmp_path):
    path = tmp_path / "ck.pcap"
    mk.write(str(path), _checksums_across_shards())
    one = _one(path)
    assert owner(5000, mk.B[1], 2) != owner(5001, mk.B[1], 2)
    [f] = [f for f in one.findings if f.rule == "checksum-bad"]
    assert f.extra["good"] > 0 and "with a good one" in f.message    # counted over both
    merged = _sharded(path, 2)
    assert merged is not None
    _same(one, merged)


def test_a_state_cookie_in_two_shards_falls_back(tmp_path):
    """static-cookie compares INIT ACKs of different associations: when they are in
    different shards the merge is refused, and the CLI gives the one-process report."""
    from test_diagnose_field import static_cookie
    path = tmp_path / "sc.pcap"
    mk.write(str(path), static_cookie())
    assert _sharded(path, 2) is None
    one = subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", "--json",
                          "--workers", "1", str(path)], capture_output=True, text=True)
    two = subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", "--json",
                          "--workers", "2", str(path)], capture_output=True, text=True)
    assert '"static-cookie"' in one.stdout
    assert (two.returncode, two.stdout) == (one.returncode, one.stdout)


def test_a_findings_cap_falls_back(tmp_path):
    """The per-rule cap folds findings beyond it in capture order: refused, one process."""
    path = next(p for p in ALL if sum(1 for f in _one(p).findings if f.association is not None
                                      and f.rule == "checksum-zero") >= 2)
    assert _sharded(path, 2, max_findings=1) is None


def test_cli_workers_and_timeline(tmp_path):
    path = str(next(p for p in project_captures() if "multihom" in p.name or "kernel" in p.name))
    outs = [subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", "--workers", w,
                            path], capture_output=True, text=True) for w in ("1", "2")]
    assert outs[0].stdout == outs[1].stdout and outs[0].returncode == outs[1].returncode
    tl = subprocess.run([sys.executable, "-m", "sctpinspect", "diagnose", "--workers", "2",
                         "--timeline", path], capture_output=True, text=True)
    assert tl.returncode == outs[0].returncode and tl.stdout.startswith(outs[0].stdout.split("\n")[0])
