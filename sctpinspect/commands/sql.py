"""``sctpinspect sql DIR "SELECT ..."``: DuckDB over a Parquet export."""
from __future__ import annotations

HELP = "run SQL (DuckDB) over an export directory, or over captures exported on the fly"

DESCRIPTION = """\
Run one SQL query with the embedded DuckDB engine over the tables of an
export (`sctpinspect export FILE... --to DIR`): frames, chunks, associations
and findings are views over DIR/<table>/capture=*/*.parquet, each with the
partition column "capture" (the capture's file name).  Schema: docs/export.md.

DIR may also be one capture file: it is exported to a temporary directory
first (and the directory removed afterwards).

Output: tab-separated with a header line (default), --format csv, json (one
object per line) or box (DuckDB's table).  Ready queries: docs/export.md.

Needs the scale extra: pip install .[scale]

Examples:
  sctpinspect sql /data/sctp "SELECT chunk_name, count(*) n FROM chunks GROUP BY 1 ORDER BY n DESC"
  sctpinspect sql trace.pcapng "SELECT rule, count(*) FROM findings GROUP BY 1"
"""

from ..export import TABLES  # noqa: E402  (frames, chunks, messages, associations, findings)


def add_arguments(p) -> None:
    p.add_argument("source", metavar="DIR", help="export directory (or one capture file)")
    p.add_argument("query", metavar="QUERY", help="the SQL query")
    p.add_argument("--format", choices=("tsv", "csv", "json", "box"), default="tsv",
                   help="output format (default tsv with a header line)")


def connect(directory: str):
    """A DuckDB connection with one view per exported table found in ``directory``."""
    import glob
    import os
    try:
        import duckdb
    except ImportError:
        from ..errors import UserError
        raise UserError("sql needs duckdb: pip install .[scale]") from None
    con = duckdb.connect()
    for t in TABLES:
        pattern = os.path.join(directory, t, "*", "*.parquet")
        if not glob.glob(pattern):
            continue
        quoted = pattern.replace("'", "''")
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{quoted}', "
                    "hive_partitioning = true, hive_types = {'capture': VARCHAR}, "
                    "union_by_name = true)")
    return con


def run(args) -> int:
    import csv
    import json
    import os
    import sys
    import tempfile
    from ..errors import UserError

    src = args.source
    if not os.path.exists(src):
        raise UserError(f"{src}: no such file or directory")
    tmp = None
    try:
        if os.path.isdir(src):
            if not any(os.path.isdir(os.path.join(src, t)) for t in TABLES):
                raise UserError(f"{src}: not an export directory (no frames/, chunks/, "
                                "associations/ or findings/ in it)")
            directory = src
        else:
            from ..export import export
            tmp = tempfile.TemporaryDirectory(prefix="sctpinspect-sql-")
            directory = tmp.name
            export([src], directory)
        con = connect(directory)
        import duckdb
        try:
            rel = con.sql(args.query)
        except duckdb.Error as e:
            raise UserError("sql: " + str(e).splitlines()[0]) from None
        if rel is None:        # a statement without a result
            return 0
        if args.format == "box":
            rel.show(max_width=10000, max_rows=10**9)
            return 0
        cols = rel.columns
        try:
            rows = rel.fetchall()
        except duckdb.Error as e:
            raise UserError("sql: " + str(e).splitlines()[0]) from None
        out = sys.stdout
        if args.format == "json":
            for r in rows:
                out.write(json.dumps(dict(zip(cols, r)), default=str) + "\n")
        else:
            w = csv.writer(out, delimiter="\t" if args.format == "tsv" else ",",
                           lineterminator="\n",
                           quoting=csv.QUOTE_MINIMAL)
            w.writerow(cols)
            for r in rows:
                w.writerow(["" if v is None else v for v in r])
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()
