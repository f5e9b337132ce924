"""Parquet export of captures: the tables ``frames``, ``chunks``,
``associations`` and ``findings`` (schema: docs/export.md).

One streaming pass per capture file: the one loop (:class:`Pipeline`) decodes
each frame once, the diagnoser (and the Analyzer inside it) sees each packet,
and the export reads the same compact record -- the Packet's quick attributes
and each ``Chunk.v`` named by its ``CHUNK_TYPES`` row -- never the tree.  Rows
are buffered per column and written every ``BATCH_ROWS`` rows as one record
batch through ``pyarrow.parquet.ParquetWriter``, so memory does not grow with
the file (benchmarks/bench_export.py).  ``associations`` and ``findings`` are
what ``assoc --json`` and ``diagnose --json`` print, written at the end.

Layout: ``DIR/<table>/capture=<name>/part-0.parquet`` (a Hive-partitioned
dataset per table, one partition per capture file; DuckDB, Spark, Polars and
pyarrow.dataset read ``capture`` as a column).
"""
from __future__ import annotations

import json
import os
import re

from .errors import CaptureFileError, UserError

SCHEMA_VERSION = 2
BATCH_ROWS = 16384
TABLES = ("frames", "chunks", "messages", "associations", "findings")


def require_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UserError("export needs pyarrow: pip install .[scale]") from None
    return pyarrow


# --------------------------------------------------------------- chunk columns
# Chunk types whose compact values get typed columns: every named position of
# their CHUNK_TYPES row and every flag bit of its flag_fields becomes a column
# named after the Wireshark field ("." -> "_"), typed from the field registry.
CHUNK_COLUMN_TYPES = (0, 1, 2, 3, 6, 7, 9, 64, 192, 194)

# Positions of ``Chunk.v`` the row leaves unnamed because they hold lists
# (see decode/sctp/chunks.py): (column, Wireshark field of the elements,
# {chunk type: (position in v, index in each list item or None for the item)}).
_SACK_GAPS = 4
_SACK_DUPS = 5
LIST_COLUMNS = (
    # column,                       Arrow element field,        {chunk type: (position, pick)}
    ("sctp_sack_gap_block_start", "sctp.sack_gap_block_start", {3: (_SACK_GAPS, 0)}),
    ("sctp_sack_gap_block_end", "sctp.sack_gap_block_end", {3: (_SACK_GAPS, 1)}),
    ("sctp_sack_duplicate_tsn", "sctp.sack_duplicate_tsn", {3: (_SACK_DUPS, None)}),
    ("sctp_cause_code", "sctp.cause_code", {6: (0, 0), 9: (0, 0)}),
)
# user data length (not a Wireshark field): DATA v[4], I-DATA v[6]
USER_DATA_LENGTH = {0: 4, 64: 6}


_I64 = 1 << 63


def _arrow_type(pa, name, is_bool=None):
    from .registry import FIELDS
    s = FIELDS[name]
    ft = s.ftype
    if ft == "FT_BOOLEAN":
        return pa.bool_() if is_bool in (None, True) else pa.uint8()
    return {"FT_UINT8": pa.uint8(), "FT_UINT16": pa.uint16(), "FT_UINT24": pa.uint32(),
            "FT_UINT32": pa.uint32(), "FT_UINT64": pa.uint64(), "FT_INT32": pa.int32(),
            "FT_FRAMENUM": pa.uint32()}[ft]


def column_name(field: str) -> str:
    return field.replace(".", "_")


class _ChunkPlan:
    """Per chunk type: which column each named ``v`` position and each flag bit fills."""

    def __init__(self, pa):
        from .decode.sctp.chunks import CHUNK_TYPES
        from .registry import load_core_fields
        load_core_fields()
        cols: dict = {}            # column -> Arrow type, in first-seen order
        self.fields: dict = {}     # column -> Wireshark field
        self.by_type: dict = {}    # chunk type -> ((v position, column), ...), ((mask, is_bool, column), ...)
        for t in CHUNK_COLUMN_TYPES:
            row = CHUNK_TYPES[t]
            vals = []
            for i, name in enumerate(row.names):
                if name:
                    c = column_name(name)
                    cols.setdefault(c, _arrow_type(pa, name))
                    self.fields[c] = name
                    vals.append((i, c))
            flags = []
            for name, mask, is_bool in row.flag_fields:
                c = column_name(name)
                cols.setdefault(c, _arrow_type(pa, name, is_bool))
                self.fields[c] = name
                flags.append((mask, is_bool, c))
            self.by_type[t] = (tuple(vals), tuple(flags))
        self.value_columns = dict(cols)     # scalar columns; then the list columns
        self.lists = []
        for c, name, where in LIST_COLUMNS:
            cols[c] = pa.list_(_arrow_type(pa, name))
            self.fields[c] = name
            self.lists.append((c, where))
        self.columns = cols


# ----------------------------------------------------------------- schemas
def schemas(pa):
    """``{table: pyarrow.Schema}`` of export schema SCHEMA_VERSION (docs/export.md)."""
    plan = _ChunkPlan(pa)
    ts = pa.timestamp("ns", tz="UTC")
    frames = pa.schema([
        ("frame_number", pa.uint32()), ("frame_time_epoch", ts),
        ("frame_len", pa.uint32()), ("frame_cap_len", pa.uint32()),
        ("frame_interface_id", pa.uint32()),
        ("ip_version", pa.uint8()), ("src", pa.string()), ("dst", pa.string()),
        ("encap", pa.string()), ("icmp", pa.bool_()),
        ("sctp_srcport", pa.uint16()), ("sctp_dstport", pa.uint16()),
        ("sctp_verification_tag", pa.uint32()), ("sctp_checksum", pa.uint32()),
        ("checksum_status", pa.string()), ("chunks", pa.uint16()),
        ("expert_notes", pa.uint16()), ("expert_max_severity", pa.string()),
        ("sctp_assoc_index", pa.int32()),
        ("capture_file", pa.string()),
    ])
    chunk_fields = [
        ("frame_number", pa.uint32()), ("frame_time_epoch", ts),
        ("src", pa.string()), ("dst", pa.string()),
        ("sctp_srcport", pa.uint16()), ("sctp_dstport", pa.uint16()),
        ("sctp_verification_tag", pa.uint32()), ("checksum_status", pa.string()),
        ("sctp_assoc_index", pa.int32()),
        ("chunk_index", pa.uint16()), ("chunk_name", pa.string()),
        ("sctp_chunk_type", pa.uint8()), ("sctp_chunk_flags", pa.uint8()),
        ("sctp_chunk_length", pa.uint16()),
    ]
    chunk_fields += [(c, plan.columns[c]) for c in plan.columns]
    chunk_fields.append(("user_data_length", pa.uint32()))
    chunk_fields.append(("capture_file", pa.string()))
    chunks = pa.schema(chunk_fields)
    ep = pa.struct([("endpoint", pa.uint8()), ("port", pa.uint16()),
                    ("addresses", pa.list_(pa.string())),
                    ("vtag", pa.uint32()), ("state", pa.string())])
    associations = pa.schema([
        ("assoc_index", pa.int32()), ("endpoints", pa.list_(ep)),
        ("first_frame", pa.uint32()), ("last_frame", pa.uint32()),
        ("first_time", pa.float64()), ("last_time", pa.float64()),
        ("duration", pa.float64()), ("packets", pa.uint64()),
        ("inferred", pa.bool_()), ("ended", pa.bool_()),
        ("end_reason", pa.string()), ("end_frame", pa.uint32()),
        ("messages", pa.list_(pa.uint64())), ("message_bytes", pa.list_(pa.uint64())),
        ("retransmissions", pa.list_(pa.uint64())), ("data_chunks", pa.list_(pa.uint64())),
        ("json", pa.string()),
    ])
    findings = pa.schema([
        ("rule", pa.string()), ("severity", pa.string()), ("rfc", pa.string()),
        ("association", pa.int32()), ("endpoints", pa.string()),
        ("frames", pa.list_(pa.uint32())), ("count", pa.uint64()),
        ("message", pa.string()), ("hint", pa.string()), ("details", pa.string()),
        # root cause first (docs/diagnostics.md): position, the finding that explains it
        ("id", pa.uint32()), ("caused_by", pa.uint32()), ("depth", pa.uint32()),
        ("verdict", pa.string()),
    ])
    messages = pa.schema([
        ("assoc", pa.int32()), ("sender", pa.string()), ("sid", pa.uint16()),
        ("ssn", pa.uint16()), ("mid", pa.uint32()), ("ppid", pa.uint32()),
        ("ppid_name", pa.string()), ("unordered", pa.bool_()), ("size", pa.uint64()),
        ("tsn_first", pa.uint32()), ("tsn_last", pa.uint32()), ("fragments", pa.uint32()),
        ("frames", pa.list_(pa.uint32())), ("status", pa.string()),
        ("first_time", pa.float64()), ("last_time", pa.float64()),
    ])
    meta = {b"sctpinspect.schema_version": str(SCHEMA_VERSION).encode()}
    return {n: s.with_metadata(meta) for n, s in
            (("frames", frames), ("chunks", chunks), ("messages", messages),
             ("associations", associations), ("findings", findings))}, plan


# ----------------------------------------------------------------- writing
class _TableWriter:
    """Columns buffered as Python lists, flushed as one record batch every
    BATCH_ROWS rows (constant memory)."""

    def __init__(self, pa, pq, schema, path, sparse=()):
        self.pa = pa
        self.schema = schema
        self.names = schema.names
        # dense columns: a list with a value (or None) per row; sparse ones (the
        # chunk value columns, mostly null): {row: value}, so a chunk costs only
        # the columns its type fills
        self.cols = {n: ({} if n in sparse else []) for n in self.names}
        self.sparse = frozenset(sparse)
        self.rows = 0
        self.rows_total = 0        # rows already flushed
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.tmp = path + ".tmp"
        self.path = path
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")

    def flush(self):
        if not self.rows:
            return
        pa = self.pa
        arrays = []
        for f in self.schema:
            col = self.cols[f.name]
            if f.name in self.sparse:
                dense = [None] * self.rows
                for i, v in col.items():
                    dense[i] = v
                col = dense
            arrays.append(pa.array(col, type=f.type))
        self.writer.write_batch(pa.record_batch(arrays, schema=self.schema))
        self.rows_total += self.rows
        for v in self.cols.values():
            v.clear()
        self.rows = 0

    def close(self):
        self.flush()
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        try:
            self.writer.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def partition_names(paths) -> list:
    """A distinct partition value per capture file: its base name made safe
    for a directory name, with ``-2``, ``-3`` ... on a clash."""
    out, seen = [], set()
    for p in paths:
        base = _SAFE.sub("_", os.path.basename(p)) or "capture"
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}-{n}"
        seen.add(name)
        out.append(name)
    return out


_SEV_RANK = {"chat": 0, "note": 1, "warn": 2, "error": 3}


def export_file(path: str, out_dir: str, capture: str, decode_options=None,
                on_frame=None) -> dict:
    """Export one capture into ``out_dir``'s tables, partition ``capture``
    (:func:`export_trace` of that one file)."""
    return export_trace([path], out_dir, capture, decode_options, on_frame)


def _part(out_dir, table, capture, k=0):
    return os.path.join(out_dir, table, f"capture={capture}", f"part-{k}.parquet")


def export_trace(paths, out_dir: str, capture: str, decode_options=None,
                 on_frame=None) -> dict:
    """Export the capture files ``paths`` as **one trace** (merged by time as
    mergecap does, sources/merge.py; frame numbers, associations and messages
    are the merged trace's) into partition ``capture`` of every table:
    ``frames``/``chunks`` get one part per file (``part-K.parquet``, K its
    position in ``paths``, each row's ``capture_file`` its base name), the
    trace tables ``associations``, ``messages``, ``findings`` one part.
    Returns ``{"frames": n, "chunks": n, "messages": n, "associations": n,
    "findings": n, "files": [frames per file]}``; a damaged file is exported
    up to the damage, then its CaptureFileError raised (after the whole set).
    """
    pa = require_pyarrow()
    import pyarrow.parquet as pq
    from .analysis.core import AnalysisOptions, Analyzer
    from .analysis.messages import MessageCollector
    from .decode.sctp.chunks import CHUNK_TYPES
    from .diagnostics.engine import Diagnoser
    from .diagnostics.report import DiagnosisResult
    from .pipeline import Pipeline, open_records

    paths = list(paths)
    sch, plan = schemas(pa)
    writers = {}          # (table, part) -> _TableWriter
    sparse_chunks = set(plan.columns) | {"user_data_length"}
    if len(paths) == 1:
        merged = None
        records = open_records(paths[0])
    else:
        from .sources.merge import MergedRecords
        merged = MergedRecords(paths)
        records = iter(merged)
    files = [os.path.basename(p) for p in paths]
    per_file = [0] * len(paths)
    written = []

    def file_writers(k):
        fw = writers.get(("frames", k))
        if fw is None:
            fw = writers[("frames", k)] = _TableWriter(pa, pq, sch["frames"],
                                                       _part(out_dir, "frames", capture, k))
            writers[("chunks", k)] = _TableWriter(pa, pq, sch["chunks"],
                                                  _part(out_dir, "chunks", capture, k),
                                                  sparse_chunks)
        return fw, writers[("chunks", k)]

    def close_part(k):
        for t in ("frames", "chunks"):
            w = writers.pop((t, k), None)
            if w is not None:
                w.close()
                written.append(w.path)

    try:
        by_type = plan.by_type
        lists = plan.lists
        counts = {"frames": 0, "chunks": 0}
        closed = set()

        def add(pkt):
            rec = pkt.record
            k = merged.file_index if merged is not None else 0
            per_file[k] += 1
            fw, cw = file_writers(k)
            F, C = fw.cols, cw.cols
            name = files[k]
            info = pkt.analysis
            ai = info["assoc_index"] if info else None
            ts = rec.ts_ns
            F["capture_file"].append(name)
            F["frame_number"].append(rec.number)
            if not -_I64 <= ts < _I64:
                ts = None          # timestamp[ns] is int64: past 2262 (before 1677) is null
            F["frame_time_epoch"].append(ts)
            F["frame_len"].append(rec.wirelen)
            F["frame_cap_len"].append(len(rec.data))
            F["frame_interface_id"].append(rec.interface)
            F["ip_version"].append(pkt.ip_version or None)
            F["src"].append(pkt.src)
            F["dst"].append(pkt.dst)
            F["encap"].append(pkt.encap)
            F["icmp"].append(pkt.icmp is not None)
            sctp = pkt.sctp_offset >= 0
            notes = pkt.notes
            have = 12 if sctp else 0       # common-header bytes present
            if sctp and notes:
                for n in notes:
                    if n.key == "sctpinspect.header_truncated":
                        have = n.length    # the note covers the bytes there are
            F["sctp_srcport"].append(pkt.sport if have >= 2 else None)
            F["sctp_dstport"].append(pkt.dport if have >= 4 else None)
            F["sctp_verification_tag"].append(pkt.vtag if have >= 8 else None)
            F["sctp_checksum"].append(pkt.checksum if have >= 12 else None)
            F["checksum_status"].append(pkt.checksum_status if sctp else None)
            F["chunks"].append(len(pkt.chunks))
            F["expert_notes"].append(len(notes))
            F["expert_max_severity"].append(
                max((n.severity for n in notes), key=lambda s: _SEV_RANK.get(s, 0)) if notes else None)
            F["sctp_assoc_index"].append(ai)
            fw.rows += 1
            counts["frames"] += 1
            if sctp:
                for i, ch in enumerate(pkt.chunks):
                    t = ch.type
                    C["capture_file"].append(name)
                    C["frame_number"].append(rec.number)
                    C["frame_time_epoch"].append(ts)
                    C["src"].append(pkt.src)
                    C["dst"].append(pkt.dst)
                    C["sctp_srcport"].append(pkt.sport)
                    C["sctp_dstport"].append(pkt.dport)
                    C["sctp_verification_tag"].append(pkt.vtag)
                    C["checksum_status"].append(pkt.checksum_status)
                    C["sctp_assoc_index"].append(ai)
                    C["chunk_index"].append(i)
                    row = CHUNK_TYPES.get(t)
                    C["chunk_name"].append(row.name if row is not None else None)
                    C["sctp_chunk_type"].append(t)
                    C["sctp_chunk_flags"].append(ch.flags)
                    C["sctp_chunk_length"].append(ch.clen)
                    r = cw.rows
                    plan_t = by_type.get(t)
                    v = ch.v
                    if plan_t is not None:
                        vals, flags = plan_t
                        if v is not None:
                            n = len(v)
                            for j, c in vals:
                                if j < n and v[j] is not None:
                                    C[c][r] = v[j]
                        fl = ch.flags
                        for mask, is_bool, c in flags:
                            C[c][r] = (fl & mask != 0) if is_bool else fl & mask
                        if v is not None:
                            for c, where in lists:
                                w = where.get(t)
                                if w is not None and w[0] < len(v) and v[w[0]] is not None:
                                    items = v[w[0]]
                                    k2 = w[1]
                                    C[c][r] = list(items) if k2 is None else [x[k2] for x in items]
                            u = USER_DATA_LENGTH.get(t)
                            if u is not None and u < len(v):
                                C["user_data_length"][r] = v[u]
                    cw.rows += 1
                    counts["chunks"] += 1
                if cw.rows >= BATCH_ROWS:
                    cw.flush()
            if fw.rows >= BATCH_ROWS:
                fw.flush()
            if merged is not None and merged.finished:
                # a file whose last record this was: its parts are complete
                for j in merged.finished:
                    close_part(j)
                    closed.add(j)
                merged.finished.clear()
            if on_frame is not None:
                on_frame(pkt)

        mw = writers[("messages", 0)] = _TableWriter(pa, pq, sch["messages"],
                                                     _part(out_dir, "messages", capture))

        def message(row):
            d = row.to_dict()
            M = mw.cols
            for c in mw.names:
                M[c].append(d[c])
            mw.rows += 1
            if mw.rows >= BATCH_ROWS:
                mw.flush()

        # the analysis options of `assoc`, `messages` and `diagnose` (same results as
        # theirs): one Analyzer, the message collector on it, the diagnoser after it
        an = Analyzer(AnalysisOptions(annotate=False, keep_messages=False))
        diagnoser = Diagnoser(an, annotate=False)
        col = MessageCollector(an, message)
        pipe = Pipeline(records, decode_options, analyse=col.feed)
        dfeed = diagnoser.feed
        error = None
        n = 0
        try:
            for pkt, _shown in pipe:
                n += 1
                dfeed(pkt, True)
                add(pkt)
        except CaptureFileError as e:
            error = e
        col.finish()
        diagnoser.finish()
        result = DiagnosisResult(diagnoser, n, None, "info")
        for k in list({k for (_t, k) in writers if _t == "frames"}):
            close_part(k)
        for t in ("associations", "findings"):
            writers[(t, 0)] = _TableWriter(pa, pq, sch[t], _part(out_dir, t, capture))
        _write_associations(writers[("associations", 0)], result.associations)
        _write_findings(writers[("findings", 0)], result.to_json())
        counts["messages"] = mw.rows_total + mw.rows
        counts["associations"] = len(result.associations)
        counts["findings"] = len(result.findings)
        counts["files"] = per_file
        for key in list(writers):
            w = writers.pop(key)
            w.close()
            written.append(w.path)
        _drop_stale_parts(out_dir, capture, written)
    except BaseException:
        for w in writers.values():
            try:
                w.abort()
            except Exception:
                pass
        raise
    if error is not None:
        raise error
    return counts


def _drop_stale_parts(out_dir, capture, written) -> None:
    """Parts of an earlier export of this partition that this one did not write."""
    keep = {os.path.abspath(p) for p in written}
    for t in TABLES:
        d = os.path.join(out_dir, t, f"capture={capture}")
        if not os.path.isdir(d):
            continue
        for n in os.listdir(d):
            p = os.path.abspath(os.path.join(d, n))
            if n.endswith(".parquet") and p not in keep:
                os.unlink(p)


def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return o.hex()
    if isinstance(o, (tuple, set, frozenset)):
        return list(o)
    return str(o)


def _write_associations(w, associations):
    A = w.cols
    for a in associations:
        d = a.to_dict()
        A["assoc_index"].append(d["assoc_index"])
        A["endpoints"].append([{k: e[k] for k in ("endpoint", "port", "addresses", "vtag", "state")}
                               for e in d["endpoints"]])
        for k in ("first_frame", "last_frame", "first_time", "last_time", "duration", "packets",
                  "inferred", "ended", "end_reason", "end_frame"):
            A[k].append(d[k])
        dirs = d["directions"]
        for k in ("messages", "message_bytes", "retransmissions", "data_chunks"):
            A[k].append([x[k] for x in dirs])
        A["json"].append(json.dumps(d, default=_json_default))
        w.rows += 1


def _write_findings(w, findings):
    R = w.cols
    for f in findings:
        for k in ("rule", "severity", "rfc", "association", "endpoints", "frames", "count",
                  "message", "hint"):
            R[k].append(f[k])
        det = f.get("details")
        R["details"].append(None if det is None else json.dumps(det, default=_json_default))
        for k in ("id", "caused_by", "depth", "verdict"):
            R[k].append(f.get(k))
        w.rows += 1


def export(paths, out_dir: str, decode_options=None, progress=None, each: bool = False,
           name: str | None = None) -> list:
    """Export the captures ``paths`` (files or directories); returns
    ``[(paths of the trace, partition, counts)]``.

    By default all of them are one trace (sources/merge.py: merged by time as
    mergecap does, associations stitched across the files), written to one
    partition named ``name`` or after its first file.  ``each``: every file is
    its own trace and partition (unrelated captures).
    """
    from .sources.merge import capture_set
    require_pyarrow()
    for p in paths:
        if p == "-":
            raise UserError("export reads capture files, not standard input")
    if each:
        files = []
        for p in paths:
            files.extend(capture_set([p]) if os.path.isdir(p) else capture_set(p))
        traces = [[f] for f in files]
        names = partition_names(files)
    else:
        files = capture_set(paths)
        traces = [files]
        names = [_SAFE.sub("_", name) if name else partition_names(files[:1])[0]]
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"{out_dir}: exists and is not a directory", exit_code=1)
    done = []
    first_error = None
    for trace, pname in zip(traces, names):
        try:
            counts = export_trace(trace, out_dir, pname, decode_options)
        except CaptureFileError as e:   # its good part is exported; go on, report at the end
            first_error = first_error or e
            counts = None
        except OSError as e:            # the output directory: permissions, disk full
            raise UserError(f"{e.filename or out_dir}: {e.strerror or e}", exit_code=1) from None
        done.append((trace, pname, counts))
        if progress is not None and counts is not None:
            progress(trace, pname, counts)
    if first_error is not None:
        raise first_error
    return done
