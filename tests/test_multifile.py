"""Many files as one trace (sources/merge.py), with ``mergecap`` as the oracle.

Every capture of the project and of ``../shared/captures/public`` is split
into pieces with ``editcap -c`` (the ``NAME_00000_YYYYmmddHHMMSS`` names of a
ring-buffer set), and ``assoc``, ``streams``, ``messages`` and ``diagnose``
(JSON and text) over the pieces -- given as files in a shuffled order, or as
their directory -- must print exactly what they print over ``mergecap -w`` of
the pieces: the same associations stitched across the file boundaries, the
same messages reassembled across them, the same findings, the same frame
numbers.  Two captures shifted in time so that they overlap check the
interleaving itself against mergecap's chronological merge.
"""
from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import PUBLIC, project_captures, public_manifest

pytestmark = pytest.mark.tshark

COMMANDS = (["assoc", "--json"], ["assoc"], ["streams", "--json"], ["messages", "--json"],
            ["messages"], ["diagnose", "--json"], ["diagnose"], ["stats", "--json"], ["stats"])


def ours(argv):
    from sctpinspect.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is required (apt-get install wireshark-common): it is the oracle")
    return path


def _frames(path) -> int:
    out = subprocess.run([_tool("capinfos"), "-M", "-c", "-T", "-r", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split("\t")[-1])


def split(path: Path, into: Path, pieces: int = 4) -> list[Path]:
    """``editcap -c`` pieces of ``path`` in ``into`` (ring-buffer names)."""
    into.mkdir(parents=True, exist_ok=True)
    n = _frames(path)
    per = max(1, -(-n // pieces))
    subprocess.run([_tool("editcap"), "-c", str(per), str(path), str(into / ("ring" + path.suffix))],
                   check=True, capture_output=True)
    return sorted(into.iterdir())


def mergecap(files, out: Path) -> Path:
    subprocess.run([_tool("mergecap"), "-w", str(out)] + [str(f) for f in files],
                   check=True, capture_output=True)
    return out


def _splittable():
    caps = [PUBLIC / r["path"] for r in public_manifest() if int(r["packets_total"] or 0) >= 2]
    return caps + list(project_captures())


@pytest.mark.parametrize("cap", _splittable(), ids=lambda p: p.name)
def test_pieces_equal_mergecap(cap, tmp_path):
    pieces = split(cap, tmp_path / "set")
    assert len(pieces) >= 2
    from sctpinspect.sources.merge import capture_set
    # mergecap takes the files in our order (it matters only on equal times)
    merged = mergecap(capture_set([str(p) for p in pieces]), tmp_path / "merged.pcapng")
    shuffled = [str(p) for p in pieces]
    random.Random(cap.name).shuffle(shuffled)
    for cmd in COMMANDS:
        want = ours(cmd + [str(merged)])
        assert ours(cmd + shuffled) == want, (cmd, cap.name)
        assert ours(cmd + [str(tmp_path / "set")]) == want, (cmd, cap.name, "directory")


def test_association_spans_three_files(tmp_path):
    """One association from its INIT in file 1 to its SHUTDOWN COMPLETE in file 3
    is one row, with the merged file's frame numbers and its messages."""
    cap = Path(__file__).resolve().parents[1] / "captures" / "clean-association.pcapng"
    pieces = split(cap, tmp_path / "set", pieces=3)
    assert len(pieces) == 3
    rc, out, _ = ours(["assoc", "--json"] + [str(p) for p in pieces])
    assocs = json.loads(out)
    total = _frames(cap)
    assert rc == 0 and len(assocs) == 1
    a = assocs[0]
    assert (a["first_frame"], a["last_frame"]) == (1, total)
    assert a["end_reason"] == "SHUTDOWN" and not a["inferred"]
    # each piece alone cuts it: the middle one is an association seen mid-capture
    rc, out, _ = ours(["assoc", "--json", str(pieces[1])])
    assert json.loads(out)[0]["inferred"] is True


def test_overlapping_files_interleave_like_mergecap(tmp_path):
    """Two different captures shifted so that their times overlap: the merge
    interleaves their frames exactly as mergecap's chronological mode."""
    from sctpinspect.sources.merge import first_timestamp
    caps = sorted(project_captures())
    a, b = caps[0], caps[-1]
    shift = (first_timestamp(str(a)) - first_timestamp(str(b))) / 1e9 + 0.0005
    moved = tmp_path / ("moved" + b.suffix)
    subprocess.run([_tool("editcap"), "-t", f"{shift:.9f}", str(b), str(moved)], check=True,
                   capture_output=True)
    from sctpinspect.pipeline import open_records
    from sctpinspect.sources.merge import capture_set
    order = capture_set([str(moved), str(a)])
    merged = mergecap(order, tmp_path / "merged.pcapng")
    got = [(r.number, r.ts_ns, r.data) for r in open_records(order)]
    want = [(r.number, r.ts_ns, r.data) for r in open_records(str(merged))]
    assert got == want
    # interleaved: frames of the two files alternate somewhere
    src = [d in set(x.data for x in open_records(str(a))) for _n, _t, d in got]
    assert sum(1 for x, y in zip(src, src[1:]) if x != y) >= 2
    for cmd in COMMANDS:
        assert ours(cmd + [str(moved), str(a)]) == ours(cmd + [str(merged)]), cmd


def test_damaged_piece(tmp_path):
    """A truncated file in the set: everything readable of every file is
    analysed, then the one-line error and exit status 1."""
    cap = Path(__file__).resolve().parents[1] / "captures" / "lossy-retransmissions.pcapng"
    pieces = split(cap, tmp_path / "set", pieces=3)
    data = pieces[1].read_bytes()
    pieces[1].write_bytes(data[:len(data) - 7])
    rc, out, err = ours(["assoc", "--json"] + [str(p) for p in pieces])
    assert rc == 1 and err.startswith("sctpinspect: ") and str(pieces[1]) in err
    a = json.loads(out)[0]
    assert a["last_frame"] == _frames(cap) - 1      # the cut frame alone is missing


def test_errors(tmp_path):
    rc, out, err = ours(["assoc", str(tmp_path)])
    assert rc == 1 and "no pcap or pcapng file in this directory" in err and not out
    cap = str(project_captures()[0])
    rc, out, err = ours(["assoc", cap, "-"])
    assert rc != 0 and "standard input" in err and not out
    rc, out, err = ours(["diagnose", cap, str(tmp_path / "missing.pcap")])
    assert rc == 1 and "no such file" in err and not out


def _tables(out, name):
    import pyarrow.dataset as ds
    got = {}
    for t in ("frames", "chunks", "messages", "associations", "findings"):
        import pyarrow as pa
        table = ds.dataset(str(out / t / f"capture={name}"), format="parquet").to_table()
        for i, f in enumerate(table.schema):      # integer ns: datetimes stop at µs
            if pa.types.is_timestamp(f.type):
                table = table.set_column(i, f.name, table.column(i).cast(pa.int64()))
        rows = table.to_pylist()
        for r in rows:
            r.pop("capture_file", None)
        if t in ("frames", "chunks"):
            rows.sort(key=lambda r: (r["frame_number"], r.get("chunk_index") or 0))
        got[t] = rows
    return got


@pytest.mark.parametrize("cap", list(project_captures())
                         + [PUBLIC / "pcapsctpspliter" / "mm.pcap"], ids=lambda p: p.name)
def test_export_of_pieces_equals_export_of_mergecap(cap, tmp_path):
    """export over the pieces writes, table by table, what it writes for the
    merged file (but for capture_file); the messages table is `messages --json`."""
    from sctpinspect.export import export
    from sctpinspect.sources.merge import capture_set
    pieces = [str(p) for p in split(cap, tmp_path / "set")]
    merged = mergecap(capture_set(pieces), tmp_path / "merged.pcapng")
    export(pieces, str(tmp_path / "a"), name="t")
    export([str(merged)], str(tmp_path / "b"), name="t")
    a, b = _tables(tmp_path / "a", "t"), _tables(tmp_path / "b", "t")
    assert a == b
    parts = sorted((tmp_path / "a" / "frames" / "capture=t").iterdir())
    assert [p.name for p in parts] == [f"part-{k}.parquet" for k in range(len(pieces))]
    rc, out, _ = ours(["messages", "--json", str(merged)])
    assert a["messages"] == json.loads(out)
    rc, out, _ = ours(["assoc", "--json", str(merged)])
    assert [json.loads(r["json"]) for r in a["associations"]] == json.loads(out)
    # capture_file says where each frame came from
    import pyarrow.dataset as ds
    t = ds.dataset(str(tmp_path / "a" / "frames" / "capture=t"), format="parquet").to_table()
    from sctpinspect.pipeline import open_records
    where = {}
    for k, p in enumerate(capture_set(pieces)):
        where.update({r.data: Path(p).name for r in open_records(p)})
    recs = {r.number: r.data for r in open_records(str(merged))}
    for fn, cf in zip(t.column("frame_number").to_pylist(), t.column("capture_file").to_pylist()):
        assert where[recs[fn]] == cf


def test_export_again_replaces_the_partition(tmp_path):
    from sctpinspect.export import export
    cap = Path(__file__).resolve().parents[1] / "captures" / "lossy-retransmissions.pcapng"
    pieces = [str(p) for p in split(cap, tmp_path / "set", pieces=4)]
    export(pieces, str(tmp_path / "o"), name="t")
    export(pieces[:2], str(tmp_path / "o"), name="t")
    parts = sorted(p.name for p in (tmp_path / "o" / "chunks" / "capture=t").iterdir())
    assert parts == ["part-0.parquet", "part-1.parquet"]


def test_workers_over_a_set(tmp_path):
    """`assoc --workers 2` (analysis/shard.py: forked shards) over the pieces."""
    cap = Path(__file__).resolve().parents[1] / "captures" / "multihomed-failover.pcapng"
    pieces = [str(p) for p in split(cap, tmp_path / "set")]
    from sctpinspect.sources.merge import capture_set
    merged = mergecap(capture_set(pieces), tmp_path / "merged.pcapng")
    for cmd in (["assoc", "--json"], ["streams", "--json"]):
        assert ours(cmd + ["--workers", "2"] + pieces) == ours(cmd + [str(merged)])
