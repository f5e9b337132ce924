"""Parquet export of captures: the tables ``frames``, ``chunks``,
``associations`` and ``findings`` (schema: docs/export.md).

One streaming pass per capture file: the one loop (:class:`Pipeline`) decodes
each frame once, the diagnoser (and the Analyzer inside it) sees each packet,
and the export reads the same compact record -- the Packet's quick attributes
and each ``Chunk.v`` named by its ``CHUNK_TYPES`` row -- never the tree.  Rows
wait as tuples for at most ``BATCH_ROWS`` rows, become one Arrow record batch,
and are written through ``pyarrow.parquet.ParquetWriter`` as row groups of
several batches, so memory does not grow with the file (benchmarks/bench_export.py,
tests/test_export_memory.py).  ``associations`` and ``findings`` are what
``assoc --json`` and ``diagnose --json`` print, written in small batches at the end.

Layout: ``DIR/<table>/capture=<name>/part-0.parquet`` (a Hive-partitioned
dataset per table, one partition per capture file; DuckDB, Spark, Polars and
pyarrow.dataset read ``capture`` as a column).
"""
from __future__ import annotations

import json
import operator
import os
import re

from .errors import CaptureFileError, UserError

SCHEMA_VERSION = 2
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
        self.row_len: dict = {}    # chunk type -> the positions of its v (CHUNK_TYPES row names)
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
            self.row_len[t] = tuple(row.names)
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
# Memory flat in file size: rows wait as tuples (one per row, no per-field
# list append) for at most BATCH_ROWS rows, then become one Arrow record batch;
# batches are written as one Parquet row group once GROUP_ROWS rows wait
# (Arrow's columns cost a few bytes per value, the Python rows ~10x that).
BATCH_ROWS = 4096
GROUP_ROWS = 16384


class _TableWriter:
    """Rows of one Parquet file: ``rows`` holds a tuple per row in the order
    of ``names`` (the schema's, less the columns ``extra(n)`` computes at
    flush); flushed every BATCH_ROWS rows into a record batch, written every
    GROUP_ROWS rows as one row group."""

    def __init__(self, pa, pq, schema, path, constant=None, batch_rows=None, group_rows=None):
        self.pa = pa
        self.batch_rows = batch_rows or BATCH_ROWS
        self.group_rows = group_rows or GROUP_ROWS
        self.schema = schema
        # columns given once for the whole file (capture_file): not in the row tuples
        self.constant = dict(constant or {})
        self.names = [n for n in schema.names if n not in self.constant]
        self.rows = []
        self.rows_total = 0        # rows already flushed
        self.pending = []          # record batches not yet written
        self.pending_rows = 0
        self.last_columns = None
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.tmp = path + ".tmp"
        self.path = path
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")

    def __len__(self):
        return self.rows_total + len(self.rows)

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= self.batch_rows:
            self.flush()

    def columns(self, n):
        """``{column: pyarrow.Array}`` of the buffered rows (``n`` of them)."""
        pa = self.pa
        out = {}
        cols = zip(*self.rows) if n else [()] * len(self.names)
        for name, col in zip(self.names, cols):
            out[name] = pa.array(col, type=self.schema.field(name).type)
        return out

    def flush(self, final=False):
        n = len(self.rows)
        if n:
            pa = self.pa
            cols = self.last_columns = self.columns(n)
            for c, v in self.constant.items():
                cols[c] = pa.array([v] * n, type=self.schema.field(c).type)
            self.pending.append(pa.record_batch([cols[f.name] for f in self.schema],
                                                schema=self.schema))
            self.pending_rows += n
            self.rows_total += n
            self.rows.clear()
        if self.pending and (final or self.pending_rows >= self.group_rows):
            self.writer.write_table(self.pa.Table.from_batches(self.pending, self.schema),
                                    row_group_size=max(self.pending_rows, 1))
            self.pending.clear()
            self.pending_rows = 0

    def close(self):
        self.flush(final=True)
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        try:
            self.writer.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


# chunk columns that repeat the chunk's frame: taken from the frames batch
CHUNK_FROM_FRAME = ("frame_number", "frame_time_epoch", "src", "dst", "sctp_srcport",
                    "sctp_dstport", "sctp_verification_tag", "checksum_status",
                    "sctp_assoc_index")
# the chunk's own header columns, the row tuple after its frame's row index
CHUNK_HEADER = ("chunk_index", "chunk_name", "sctp_chunk_type", "sctp_chunk_flags",
                "sctp_chunk_length")


class _ChunkWriter(_TableWriter):
    """The chunks of one file part.  A row is ``(frame row, chunk index, name,
    type, flags, length)``; the columns that repeat the frame are taken (Arrow
    ``take``) from the frames batch flushed at the same time, and the typed
    value columns are built per chunk type from the compact values ``Chunk.v``
    kept by reference (``by_type[t]``: rows and v tuples), so a chunk costs one
    tuple and no per-field Python object until the flush."""

    def __init__(self, pa, pq, schema, path, plan, constant=None):
        super().__init__(pa, pq, schema, path, constant)
        self.plan = plan
        self.typed = {t: ([], [], len(plan.row_len[t])) for t in plan.by_type}
        self.frames = None                      # the frames columns of this flush
        self.last_columns = None
        # column -> ((chunk type, v position or flag (mask, is_bool) or list pick), ...)
        fill: dict = {}
        for t, (vals, flags) in plan.by_type.items():
            for j, c in vals:
                fill.setdefault(c, []).append((t, "v", j))
            for mask, is_bool, c in flags:
                fill.setdefault(c, []).append((t, "flag", (mask, is_bool)))
        for c, where in plan.lists:
            for t, w in where.items():
                fill.setdefault(c, []).append((t, "list", w))
        for t, j in USER_DATA_LENGTH.items():
            fill.setdefault("user_data_length", []).append((t, "v", j))
        self.fill = fill

    def add_chunk(self, row, ctype, v, flags):
        r = len(self.rows)
        self.rows.append(row)
        typed = self.typed.get(ctype)
        if typed is not None:
            rows, vs, width = typed
            if v is None:
                v = (None,) * width
            elif len(v) < width:             # a truncated chunk: absent values
                v = tuple(v) + (None,) * (width - len(v))
            rows.append(r)
            vs.append((v, flags))

    def columns(self, n):
        pa = self.pa
        import pyarrow.compute as pc
        sch = self.schema
        dense = list(zip(*self.rows))
        idx = pa.array(dense[0], type=pa.int32())
        out = {c: pc.take(self.frames[c], idx) for c in CHUNK_FROM_FRAME}
        for name, col in zip(CHUNK_HEADER, dense[1:]):
            out[name] = pa.array(col, type=sch.field(name).type)
        # value columns: the values of the chunks of the types that fill the
        # column, placed on their rows by a take whose other indices are null
        place_cache = {}
        for c, where in self.fill.items():
            typ = sch.field(c).type
            types = tuple(t for t, _k, _a in where if self.typed[t][0])
            if not types:
                out[c] = pa.nulls(n, typ)
                continue
            place = place_cache.get(types)
            if place is None:
                pos = [None] * n
                k = 0
                for t in types:
                    for r in self.typed[t][0]:
                        pos[r] = k
                        k += 1
                place = place_cache[types] = pa.array(pos, type=pa.int32())
            vals = []
            for t, kind, arg in where:
                vs = self.typed[t][1]
                if not vs:
                    continue
                if kind == "v":
                    vals.extend([v[arg] for v, _f in vs])
                elif kind == "flag":
                    mask, is_bool = arg
                    vals.extend([(f & mask != 0) if is_bool else f & mask for _v, f in vs])
                else:
                    j, pick = arg
                    if pick is None:
                        vals.extend([None if v[j] is None else list(v[j]) for v, _f in vs])
                    else:
                        vals.extend([None if v[j] is None else [x[pick] for x in v[j]]
                                     for v, _f in vs])
            out[c] = pc.take(pa.array(vals, type=typ), place)
        for rows, vs, _w in self.typed.values():
            rows.clear()
            vs.clear()
        return out


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
            const = {"capture_file": files[k]}
            fw = writers[("frames", k)] = _TableWriter(
                pa, pq, sch["frames"], _part(out_dir, "frames", capture, k), const)
            writers[("chunks", k)] = _ChunkWriter(
                pa, pq, sch["chunks"], _part(out_dir, "chunks", capture, k), plan, const)
        return fw, writers[("chunks", k)]

    def flush_part(fw, cw, final=False):
        # together: the chunk rows point at this batch's frame rows
        fw.flush(final)
        cw.frames = fw.last_columns if cw.rows else None
        cw.flush(final)
        cw.frames = fw.last_columns = None

    def close_part(k):
        fw = writers.pop(("frames", k), None)
        cw = writers.pop(("chunks", k), None)
        if fw is not None:
            flush_part(fw, cw, final=True)
            for w in (fw, cw):
                w.close()
                written.append(w.path)

    try:
        counts = {"frames": 0, "chunks": 0}
        names = {t: row.name for t, row in CHUNK_TYPES.items()}
        sev_rank = _SEV_RANK.get
        parts = {}

        def add(pkt):
            rec = pkt.record
            k = merged.file_index if merged is not None else 0
            per_file[k] += 1
            part = parts.get(k)
            if part is None or ("frames", k) not in writers:
                part = parts[k] = file_writers(k)
            fw, cw = part
            info = pkt.analysis
            ai = info["assoc_index"] if info else None
            ts = rec.ts_ns
            if not -_I64 <= ts < _I64:
                ts = None          # timestamp[ns] is int64: past 2262 (before 1677) is null
            sctp = pkt.sctp_offset >= 0
            notes = pkt.notes
            chunks = pkt.chunks
            have = 12 if sctp else 0       # common-header bytes present
            if notes:
                if sctp:
                    for n in notes:
                        if n.key == "sctpinspect.header_truncated":
                            have = n.length    # the note covers the bytes there are
                sev = max((n.severity for n in notes), key=lambda s: sev_rank(s, 0))
            else:
                sev = None
            fr = len(fw.rows)
            # in the order of the frames schema (less capture_file)
            fw.rows.append((
                rec.number, ts, rec.wirelen, len(rec.data), rec.interface,
                pkt.ip_version or None, pkt.src, pkt.dst, pkt.encap, pkt.icmp is not None,
                pkt.sport if have >= 2 else None, pkt.dport if have >= 4 else None,
                pkt.vtag if have >= 8 else None, pkt.checksum if have >= 12 else None,
                pkt.checksum_status if sctp else None, len(chunks), len(notes), sev, ai))
            counts["frames"] += 1
            if sctp and chunks:
                add_chunk = cw.add_chunk
                for i, ch in enumerate(chunks):
                    t = ch.type
                    fl = ch.flags
                    add_chunk((fr, i, names.get(t), t, fl, ch.clen), t, ch.v, fl)
                counts["chunks"] += len(chunks)
            if fr + 1 >= BATCH_ROWS or len(cw.rows) >= BATCH_ROWS:
                flush_part(fw, cw)
            if merged is not None and merged.finished:
                # a file whose last record this was: its parts are complete
                for j in merged.finished:
                    close_part(j)
                merged.finished.clear()
            if on_frame is not None:
                on_frame(pkt)

        mw = writers[("messages", 0)] = _TableWriter(pa, pq, sch["messages"],
                                                     _part(out_dir, "messages", capture))
        mrow = operator.itemgetter(*mw.names)
        madd = mw.add

        def message(row):
            madd(mrow(row.to_dict()))

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
            # an association row holds its whole JSON: small batches
            writers[(t, 0)] = _TableWriter(pa, pq, sch[t], _part(out_dir, t, capture),
                                           batch_rows=256, group_rows=1024)
        _write_associations(writers[("associations", 0)], result.associations)
        _write_findings(writers[("findings", 0)], result.to_json())
        counts["messages"] = len(mw)
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
    """One row per association (``assoc --json``'s object), in the schema's order."""
    keep = ("endpoint", "port", "addresses", "vtag", "state")
    for a in associations:
        d = a.to_dict()
        dirs = d["directions"]
        w.add((d["assoc_index"], [{k: e[k] for k in keep} for e in d["endpoints"]],
               d["first_frame"], d["last_frame"], d["first_time"], d["last_time"],
               d["duration"], d["packets"], d["inferred"], d["ended"], d["end_reason"],
               d["end_frame"], [x["messages"] for x in dirs], [x["message_bytes"] for x in dirs],
               [x["retransmissions"] for x in dirs], [x["data_chunks"] for x in dirs],
               json.dumps(d, default=_json_default)))


def _write_findings(w, findings):
    """One row per finding (``diagnose --json``'s object), in the schema's order."""
    for f in findings:
        det = f.get("details")
        w.add((f["rule"], f["severity"], f["rfc"], f["association"], f["endpoints"], f["frames"],
               f["count"], f["message"], f["hint"],
               None if det is None else json.dumps(det, default=_json_default),
               f.get("id"), f.get("caused_by"), f.get("depth"), f.get("verdict")))


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
