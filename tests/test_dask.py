"""``--dask``: the association analysis as Dask tasks (sctpinspect/scale/dask_run.py).

``messages --dask`` is checked the same way on every capture of the project
and of ``../shared/captures/public``: the rows of 3 shards, put back in
order, are ``messages --json`` of the merged file.

The oracle is the one-process output of the same commands over ``mergecap``
of the same set: ``assoc`` (table and JSON) and ``streams`` computed by
association-sharded tasks on a LocalCluster of 2 workers must be byte for
byte the one-process output, on split captures of the project and public
sets (one with a restart, whose ``restart_of``/``restarted_in`` are
renumbered), and on a generated trace with many concurrent associations
spread over every shard.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PUBLIC, REPO, project_captures
from test_multifile import mergecap, ours, split

pytestmark = pytest.mark.tshark


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                           dashboard_address=":0", silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _one_process(path):
    return (ours(["assoc", str(path)]), ours(["assoc", "--json", str(path)]),
            ours(["streams", "--json", str(path)]))


def _dask(client, paths, shards):
    from sctpinspect.analysis.report import assoc_table
    from sctpinspect.commands._analysis_common import dump_json  # noqa: F401
    from sctpinspect.scale.dask_run import analyze_dask
    from sctpinspect.sources.merge import capture_set
    r = analyze_dask(capture_set([str(p) for p in paths]), client=client, shards=shards,
                     progress=False)
    return r


CAPS = [PUBLIC / "arkime" / "m3ua_synthetic.pcap", PUBLIC / "arkime" / "arkime_synthetic.pcap",
        REPO / "captures" / "multihomed-failover.pcapng",
        REPO / "captures" / "lossy-retransmissions.pcapng"]


@pytest.mark.parametrize("cap", CAPS, ids=lambda p: p.name)
@pytest.mark.parametrize("shards", [1, 3])
def test_dask_equals_one_process(cap, shards, client, tmp_path):
    from sctpinspect.analysis.report import assoc_table
    from sctpinspect.sources.merge import capture_set
    pieces = split(cap, tmp_path / "set")
    merged = mergecap(capture_set([str(p) for p in pieces]), tmp_path / "merged.pcapng")
    (rc, table, _), (_, js, _), (_, streams, _) = _one_process(merged)
    r = _dask(client, pieces, shards)
    assert r.error is None
    assert assoc_table(r.associations) + "\n" == table
    assert json.loads(json.dumps([a.to_dict() for a in r.associations], default=list)) \
        == json.loads(js)
    assert json.loads(json.dumps(r.streams(), default=list)) == json.loads(streams)
    if cap.name == "m3ua_synthetic.pcap":
        assert any(a.restart_of is not None for a in r.associations)


def test_many_associations_over_every_shard(client, tmp_path):
    cap = tmp_path / "gen.pcap"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "gen_capture.py"), "-n", "6000",
                    "--seed", "3", "-o", str(cap)], check=True, capture_output=True)
    from sctpinspect.analysis.report import assoc_table
    from sctpinspect.analysis.shard import owner
    from sctpinspect.sources.merge import capture_set
    pieces = split(cap, tmp_path / "set", pieces=5)
    merged = mergecap(capture_set([str(p) for p in pieces]), tmp_path / "merged.pcapng")
    (_, table, _), (_, js, _), _ = _one_process(merged)
    r = _dask(client, pieces, 4)
    assert assoc_table(r.associations) + "\n" == table
    assert json.loads(json.dumps([a.to_dict() for a in r.associations], default=list)) \
        == json.loads(js)
    assert len({owner(a.ep[0].port, a.ep[1].port, 4) for a in r.associations}) == 4
    assert len(r.associations) > 20


def test_cli_local_cluster_of_two_processes(tmp_path, monkeypatch):
    """`assoc --dask` / `streams --dask` (LocalCluster of worker processes) print what one
    process prints; `--dask FILE` is read as a file, not as a scheduler address."""
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    cap = REPO / "captures" / "clean-association.pcapng"
    pieces = [str(p) for p in split(cap, tmp_path / "set", pieces=3)]
    merged = str(mergecap(pieces, tmp_path / "merged.pcapng"))
    want = ours(["assoc", merged])
    assert ours(["assoc", "--dask"] + pieces) == want
    assert ours(["streams", "--json"] + pieces + ["--dask"]) == ours(["streams", "--json", merged])
    assert ours(["messages", "--dask"] + pieces) == ours(["messages", merged])
    assert ours(["messages", "--assoc", "0", "--stream", "1", "--json", "--dask"] + pieces) \
        == ours(["messages", "--assoc", "0", "--stream", "1", "--json", merged])
    rc, out, err = ours(["messages", "--dask", "-Y", "sctp", merged])
    assert rc != 0 and not out and "--dask" in err


def test_unreachable_scheduler_is_one_line():
    cap = str(project_captures()[0])
    rc, out, err = ours(["assoc", "--dask", "tcp://127.0.0.1:9", cap])
    assert rc != 0 and not out and len(err.splitlines()) == 1 and "cannot reach" in err


def _all_caps():
    from conftest import public_manifest
    caps = [PUBLIC / r["path"] for r in public_manifest() if int(r["packets_total"] or 0) >= 2]
    return caps + list(project_captures())


@pytest.mark.parametrize("cap", _all_caps(), ids=lambda p: p.name)
def test_messages_dask_equals_one_process(cap, client, tmp_path):
    """`messages --dask`: rows of 3 shards put back in the order one process
    prints them (delivery order across associations, incomplete and waiting
    rows at the end), association indexes renumbered."""
    from sctpinspect.scale.dask_run import messages_dask
    from sctpinspect.sources.merge import capture_set
    pieces = capture_set([str(p) for p in split(cap, tmp_path / "set")])
    merged = mergecap(pieces, tmp_path / "merged.pcapng")
    rc, want, _ = ours(["messages", "--json", str(merged)])
    done = messages_dask(pieces, client=client, shards=3, progress=False)
    assert done is not None
    rows, an, err = done
    got = json.loads(json.dumps([r.to_dict() for r in rows]))
    assert got == json.loads(want)


def test_messages_dask_many_associations(client, tmp_path):
    cap = tmp_path / "gen.pcap"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "gen_capture.py"), "-n", "6000",
                    "--seed", "5", "-o", str(cap)], check=True, capture_output=True)
    from sctpinspect.scale.dask_run import messages_dask
    from sctpinspect.sources.merge import capture_set
    pieces = capture_set([str(p) for p in split(cap, tmp_path / "set", pieces=4)])
    merged = mergecap(pieces, tmp_path / "merged.pcapng")
    rc, want, _ = ours(["messages", "--json", str(merged)])
    rows, an, err = messages_dask(pieces, client=client, shards=4, progress=False)
    assert json.loads(json.dumps([r.to_dict() for r in rows])) == json.loads(want)
    assert len({r.assoc for r in rows}) > 20


def test_messages_dask_rows_delivered_at_the_end(client, tmp_path):
    """Frames removed from a generated trace leave SSN gaps in many associations:
    their waiting rows are delivered at the end of the trace (status gap), in the
    order of the streams' making across shards."""
    from sctpinspect.scale.dask_run import messages_dask
    from sctpinspect.sources.merge import capture_set
    cap = tmp_path / "gen.pcap"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "gen_capture.py"), "-n", "6000",
                    "--seed", "5", "-o", str(cap)], check=True, capture_output=True)
    holes = tmp_path / "holes.pcap"
    subprocess.run(["editcap", str(cap), str(holes)] + [str(n) for n in range(5, 4000, 9)],
                   check=True, capture_output=True)
    pieces = capture_set([str(p) for p in split(holes, tmp_path / "set", pieces=3)])
    merged = mergecap(pieces, tmp_path / "merged.pcapng")
    rc, want, _ = ours(["messages", "--json", str(merged)])
    want = json.loads(want)
    assert len({r["assoc"] for r in want if r["status"] == "gap"}) > 10
    rows, an, err = messages_dask(pieces, client=client, shards=4, progress=False)
    assert json.loads(json.dumps([r.to_dict() for r in rows])) == want
