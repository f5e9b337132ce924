"""The analysis sharded by association over processes (sctpinspect.analysis.shard)
gives exactly what one process gives (issue 14.4), on every capture."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import CAPTURES, project_captures, public_captures
from sctpinspect.analysis import AnalysisOptions, analyze_file
from sctpinspect.analysis.shard import analyze_sharded, owner
from sctpinspect.pipeline import open_records

ALL = project_captures() + sorted(CAPTURES.glob("diag/*.pcap*")) + public_captures()


def _facts(result) -> dict:
    d = result.to_dict()
    d["streams"] = result.streams()
    d["messages"] = [m.to_dict() for m in result.messages]
    return d


def _opts(**kw):
    return AnalysisOptions(keep_packets=False, annotate=False, **kw)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_sharded_equals_one_process(path):
    one = _facts(analyze_file(str(path), _opts()))
    for n in (2, 3):
        merged = analyze_sharded(lambda: open_records(str(path)), _opts(), None, n)
        assert merged is not None, f"{n} shards refused to merge"
        sharded = _facts(analyze_file(str(path), _opts(), shards=n))
        assert sharded == one, f"{n} shards differ"


def test_the_shards_really_split_the_associations():
    """Not a single shard doing everything: a capture of several associations on
    different port pairs spreads over the shards, and the merge renumbers them."""
    cands = [p for p in ALL if len({owner(a.ep[0].port, a.ep[1].port, 2) for a in
                                    analyze_file(str(p), _opts()).associations}) == 2]
    assert cands, "no capture with associations in both shards"
    path = str(cands[0])
    one = analyze_file(path, _opts())
    merged = analyze_sharded(lambda: open_records(path), _opts(), None, 2)
    an, frames, error = merged
    assert [a.index for a in an.associations] == list(range(len(one.associations)))
    assert [a.first_frame for a in an.associations] == [a.first_frame for a in one.associations]
    assert frames == one.frames and error is None


def test_a_cap_over_all_associations_falls_back_to_one_process(tmp_path):
    """With fewer live associations allowed than the capture has, LRU eviction
    depends on the order of every packet: the shards refuse to merge and the
    result is the one-process one (evictions counted as one process counts them)."""
    path = next(str(p) for p in ALL if len(analyze_file(str(p), _opts()).associations) >= 3)
    opts = _opts(max_associations=1)
    assert analyze_sharded(lambda: open_records(path), opts, None, 2) is None
    one = analyze_file(path, _opts(max_associations=1))
    sharded = analyze_file(path, _opts(max_associations=1), shards=2)
    assert _facts(sharded) == _facts(one)
    assert one.evicted.get("associations")


def test_damaged_file_gives_the_good_part_and_the_error(tmp_path):
    src = CAPTURES / "lossy-retransmissions.pcapng"
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(src.read_bytes()[:7000])
    one = analyze_file(str(cut), _opts())
    sharded = analyze_file(str(cut), _opts(), shards=2)
    assert one.error is not None and sharded.error is not None
    assert str(sharded.error) == str(one.error)
    assert _facts(sharded) == _facts(one)


@pytest.mark.parametrize("cmd", ["assoc", "streams"])
def test_cli_workers_output_is_the_same(cmd):
    path = str(CAPTURES / "multihomed-failover.pcapng")
    outs = [subprocess.run([sys.executable, "-m", "sctpinspect", cmd, "--json", "--workers", w,
                            path], capture_output=True, text=True, check=True).stdout
            for w in ("1", "3")]
    assert json.loads(outs[0]) and outs[0] == outs[1]
