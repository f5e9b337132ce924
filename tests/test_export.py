"""``sctpinspect export``: the Parquet tables against the oracles.

* ``chunks`` (and the SCTP header columns of ``frames``): for every capture in
  ``captures/`` and in ``../shared/captures/public`` (MANIFEST.tsv), every
  column named after a Wireshark field holds, frame by frame and in chunk
  order, exactly the values ``tshark -T fields -E occurrence=a`` prints for
  that field;
* ``associations`` equals ``sctpinspect assoc --json`` and ``findings``
  equals ``sctpinspect diagnose --json`` of the same file;
* the schema written is the one docs/export.md documents.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import PUBLIC, REPO, project_captures, public_manifest

pytestmark = pytest.mark.tshark


def _all_captures():
    caps = [(r["path"], PUBLIC / r["path"]) for r in public_manifest()]
    caps += [(f"captures/{p.name}", p) for p in project_captures()]
    return caps


CAPTURES = _all_captures()
# SCTP common-header columns of `frames`, compared once per frame
HEADER_COLUMNS = ("sctp_srcport", "sctp_dstport", "sctp_verification_tag", "sctp_checksum")
# 4 bytes of SCTP: tshark adds no field for a truncated common header, we keep the
# two ports that are there (docs/fidelity.md, "Truncated common header")
CHUNK_HEADER_COLUMNS = ("sctp_chunk_type", "sctp_chunk_flags", "sctp_chunk_length")
HEADER_EXCEPTIONS = {("suricata-verify/sctp-pkt-too-small/input.pcap", 1, "sctp.srcport"),
                     ("suricata-verify/sctp-pkt-too-small/input.pcap", 1, "sctp.dstport")}


def ours(argv):
    from sctpinspect.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def export_one(path, out):
    from sctpinspect.errors import CaptureFileError
    from sctpinspect.export import export_file
    try:
        export_file(str(path), str(out), "c")
    except CaptureFileError:      # damaged file: exported up to the damage, like read
        pass
    return {t: pq.read_table(out / t / "capture=c" / "part-0.parquet")
            for t in ("frames", "chunks", "messages", "associations", "findings")}


def tshark_rows(tshark, path, fields):
    cmd = [tshark, "-n", "-r", str(path), "-o", "sctp.relative_tsns:FALSE", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode in (0, 2), res.stderr   # 2: file cut short, good frames printed
    return [line.split("\t") for line in res.stdout.splitlines()]


def _plain(table):
    """Timestamps as integer nanoseconds (Python datetimes stop at microseconds)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.int64()))
    return table


def _tshark_value(text):
    return int(text, 0)            # decimal, 0x.. hex; booleans print as 1/0


@pytest.mark.parametrize("cap_id,path", CAPTURES, ids=[c for c, _ in CAPTURES])
def test_chunks_equal_tshark_fields(cap_id, path, tshark, tmp_path):
    from sctpinspect.export import _ChunkPlan
    plan = _ChunkPlan(pa)
    tables = export_one(path, tmp_path)
    frames = _plain(tables["frames"]).to_pylist()
    chunks = _plain(tables["chunks"]).to_pylist()
    # chunk columns named after Wireshark fields: the chunk header, then the typed values
    names = {c: c.replace("_", ".", 1) for c in CHUNK_HEADER_COLUMNS}
    names.update(plan.fields)
    cols = list(names)
    fields = (["frame.number", "frame.time_epoch", "frame.len", "frame.cap_len"]
              + [c.replace("_", ".", 1) for c in HEADER_COLUMNS]
              + [names[c] for c in cols])
    rows = tshark_rows(tshark, path, fields)
    assert len(rows) == len(frames), f"tshark {len(rows)} frames, export {len(frames)}"
    by_frame: dict = {}
    for ch in chunks:
        by_frame.setdefault(ch["frame_number"], []).append(ch)
    diffs = []
    compared = 0
    for fr, ts in zip(frames, rows):
        n = fr["frame_number"]
        assert int(ts[0]) == n
        sec, _, frac = ts[1].partition(".")
        assert fr["frame_time_epoch"] == int(sec) * 10**9 + int(frac.ljust(9, "0")), n
        assert (fr["frame_len"], fr["frame_cap_len"]) == (int(ts[2]), int(ts[3])), n
        if fr["icmp"]:
            # an ICMP error quoting SCTP: tshark's sctp fields are the quoted header's;
            # the export keeps quoted packets out of `chunks` (docs/export.md)
            assert n not in by_frame
            continue
        for i, c in enumerate(HEADER_COLUMNS, start=4):
            want = [_tshark_value(x) for x in ts[i].split(",")] if ts[i] else []
            got = [] if fr[c] is None else [fr[c]]
            if want != got and (cap_id, n, fields[i]) not in HEADER_EXCEPTIONS:
                diffs.append(f"frame {n} {fields[i]}: tshark {want} export {got}")
        mine = by_frame.get(n, [])
        base = 4 + len(HEADER_COLUMNS)
        for j, c in enumerate(cols):
            text = ts[base + j] if base + j < len(ts) else ""
            want = [_tshark_value(x) for x in text.split(",")] if text else []
            got = []
            for ch in mine:
                v = ch[c]
                if v is None:
                    continue
                got.extend(int(x) for x in v) if isinstance(v, list) else got.append(int(v))
            compared += len(got)
            if want != got:
                diffs.append(f"frame {n} {names[c]}: tshark {want} export {got}")
    assert not diffs, f"{cap_id}: {len(diffs)} differences:\n" + "\n".join(diffs[:40])
    if any(fr["chunks"] for fr in frames):
        assert compared > 0


@pytest.mark.parametrize("cap_id,path", CAPTURES, ids=[c for c, _ in CAPTURES])
def test_associations_and_findings_equal_json(cap_id, path, tmp_path):
    tables = export_one(path, tmp_path)
    rc, out, err = ours(["assoc", "--json", str(path)])
    assert rc in (0, 1), err
    want = json.loads(out) if out.strip() else []
    assoc = tables["associations"].to_pylist()
    assert [json.loads(a["json"]) for a in assoc] == want
    for a, w in zip(assoc, want):
        assert a["assoc_index"] == w["assoc_index"]
        assert a["endpoints"] == [{k: e[k] for k in ("endpoint", "port", "addresses", "vtag", "state")}
                                  for e in w["endpoints"]]
        for k in ("first_frame", "last_frame", "first_time", "last_time", "duration", "packets",
                  "inferred", "ended", "end_reason", "end_frame"):
            assert a[k] == w[k], k
        assert a["retransmissions"] == [d["retransmissions"] for d in w["directions"]]
        assert a["messages"] == [d["messages"] for d in w["directions"]]
    rc, out, err = ours(["diagnose", "--json", str(path)])
    assert rc in (0, 1, 3, 4), err
    want = json.loads(out) if out.strip() else []
    got = []
    for f in tables["findings"].to_pylist():
        det = f.pop("details")
        if det is not None:
            f["details"] = json.loads(det)
        got.append(f)
    assert got == want


def test_schema_is_the_documented_one(tmp_path):
    """Every column of every table appears in docs/export.md with its Arrow type."""
    from sctpinspect.export import SCHEMA_VERSION, schemas
    doc = (REPO / "docs" / "export.md").read_text()
    assert f"Schema version {SCHEMA_VERSION}" in doc
    documented = {}
    table = None
    for line in doc.splitlines():
        m = re.match(r"^### `(\w+)`", line)
        if m:
            table = m.group(1)
            documented[table] = {}
            continue
        m = re.match(r"^\| `(\w+)` \| `([^`]+)` \|", line)
        if m and table:
            documented[table][m.group(1)] = m.group(2)
    sch, _plan = schemas(pa)
    for name, s in sch.items():
        assert {f.name: str(f.type) for f in s} == documented.get(name), name
    # and the files carry it
    tables = export_one(REPO / "captures" / "clean-association.pcapng", tmp_path)
    for name, t in tables.items():
        assert t.schema.metadata[b"sctpinspect.schema_version"] == str(SCHEMA_VERSION).encode()
        assert [f.name for f in t.schema] == sch[name].names


def test_export_cli_errors(tmp_path):
    rc, out, err = ours(["export", str(tmp_path / "missing.pcap"), "--to", str(tmp_path / "o")])
    assert rc == 1 and "no such file" in err and "Traceback" not in err
    rc, out, err = ours(["export", "-", "--to", str(tmp_path / "o")])
    assert rc != 0 and "standard input" in err


def test_missing_pyarrow_is_one_line(tmp_path):
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from sctpinspect.cli import main\n"
            f"raise SystemExit(main(['export', {str(REPO / 'captures' / 'init-abort.pcapng')!r},"
            f" '--to', {str(tmp_path / 'o')!r}]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert res.returncode == 2
    assert res.stderr.strip() == "sctpinspect: export needs pyarrow: pip install .[scale]"


def _ready_queries():
    doc = (REPO / "docs" / "export.md").read_text()
    return re.findall(r"```sql\n(.*?)```", doc, re.S)


def test_ready_queries(tmp_path):
    """The three queries of docs/export.md on an export of captures/, against assoc --json."""
    from sctpinspect.commands.sql import connect
    from sctpinspect.export import export
    caps = [str(p) for p in project_captures()]
    export(caps, str(tmp_path), each=True)
    con = connect(str(tmp_path))
    aborts, ppids, retrans = _ready_queries()
    want_aborted, bytes_json = set(), 0
    per_peer: dict = {}
    for p in caps:
        rc, out, err = ours(["assoc", "--json", p])
        for a in json.loads(out):
            if a["end_reason"] == "ABORT":
                want_aborted.add((Path(p).name, a["assoc_index"]))
            for e, d in zip(a["endpoints"], a["directions"]):
                bytes_json += d["data_bytes"]
                r = per_peer.setdefault(e["addresses"][0], [0, 0])
                r[0] += d["retransmissions"]
                r[1] += d["data_chunks"]
    rows = con.sql(aborts).fetchall()
    assert want_aborted and {(r[0], r[1]) for r in rows} == want_aborted
    rows = con.sql(ppids).fetchall()
    assert sum(r[2] for r in rows) == bytes_json
    firsts = con.sql("SELECT count(*) FROM chunks WHERE chunk_name IN ('DATA', 'I_DATA') "
                     "AND sctp_data_b_bit").fetchall()[0][0]
    assert sum(r[1] for r in rows) == firsts > 0
    rows = con.sql(retrans).fetchall()
    assert {r[0]: [int(r[1]), int(r[2])] for r in rows} == per_peer
    assert any(r[1] for r in rows)        # lossy-retransmissions has some


def test_sql_cli(tmp_path):
    cap = REPO / "captures" / "init-abort.pcapng"
    rc, out, err = ours(["sql", str(cap), "SELECT rule, association FROM findings"])
    assert rc == 0, err
    rc2, want, _ = ours(["diagnose", "--json", str(cap)])
    assert out.splitlines() == ["rule\tassociation"] + [
        f"{f['rule']}\t{f['association']}" for f in json.loads(want)]
    rc, out, err = ours(["sql", str(cap), "SELECT nope FROM chunks"])
    assert rc == 2 and err.startswith("sctpinspect: sql: ") and len(err.splitlines()) == 1
    rc, out, err = ours(["sql", str(tmp_path), "SELECT 1"])
    assert rc == 2 and "not an export directory" in err


def test_damaged_file_exports_its_good_frames(tmp_path):
    """A capture cut in the middle of a record: every good frame is exported, then the
    one-line error and exit status 1, as `read` does."""
    src = (REPO / "captures" / "lossy-retransmissions.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(src[:len(src) * 2 // 3])
    rc, out, err = ours(["read", "--no-progress", "-T", "fields", "-e", "frame.number", str(cut)])
    good = [int(x) for x in out.split()]
    assert rc == 1 and good
    rc, out, err = ours(["export", str(cut), "--to", str(tmp_path / "o")])
    assert rc == 1 and "byte offset" in err and "Traceback" not in err
    t = pq.read_table(tmp_path / "o" / "frames" / "capture=cut.pcapng" / "part-0.parquet")
    assert t.column("frame_number").to_pylist() == good


def test_output_path_not_a_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    rc, out, err = ours(["export", str(REPO / "captures" / "init-abort.pcapng"), "--to", str(f)])
    assert rc == 1 and "not a directory" in err and len(err.splitlines()) == 1


def test_missing_duckdb_is_one_line(tmp_path):
    code = ("import sys; sys.modules['duckdb'] = None\n"
            "from sctpinspect.cli import main\n"
            f"raise SystemExit(main(['sql', {str(REPO / 'captures' / 'init-abort.pcapng')!r},"
            " 'SELECT 1']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert res.returncode == 2
    assert res.stderr.strip() == "sctpinspect: sql needs duckdb: pip install .[scale]"
