"""``sctpinspect export FILE... --to DIR``: captures as Parquet tables."""
from __future__ import annotations

HELP = "export captures as Parquet tables (frames, chunks, associations, findings) for SQL/dataframes"

DESCRIPTION = """\
Decode and analyse each capture file once, streaming with constant memory,
and write four Parquet datasets under DIR (schema: docs/export.md):

  DIR/frames/capture=NAME/part-0.parquet        one row per frame
  DIR/chunks/capture=NAME/part-0.parquet        one row per SCTP chunk, with
                                                typed columns for DATA, I-DATA,
                                                SACK, INIT, INIT ACK, ABORT ...
                                                named after the Wireshark fields
                                                ("." -> "_", e.g. sctp_data_tsn_raw)
  DIR/associations/capture=NAME/part-0.parquet  as `assoc --json`
  DIR/findings/capture=NAME/part-0.parquet      as `diagnose --json`

NAME is the capture's file name ("capture" is a Hive partition column that
DuckDB, Spark, Polars and pyarrow read).  Exporting a file again replaces its
partition.  Query the result with `sctpinspect sql DIR "SELECT ..."`.

Needs the scale extra: pip install .[scale]

Examples:
  sctpinspect export trace.pcapng --to /data/sctp
  sctpinspect export ring_*.pcapng --to /data/sctp
  sctpinspect sql /data/sctp "SELECT chunk_name, count(*) FROM chunks GROUP BY 1"
"""


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", nargs="+", help="pcap or pcapng files")
    p.add_argument("--to", dest="out_dir", metavar="DIR", required=True,
                   help="directory the tables are written to (created if missing)")
    p.add_argument("--format", choices=("parquet",), default="parquet",
                   help="table format (parquet, the default and only one)")
    p.add_argument("--no-checksum", action="store_true", help="do not verify CRC32c")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print a line per file")


def run(args) -> int:
    import sys
    from ..decode import DecodeOptions
    from ..export import export

    def progress(path, name, counts):
        if not args.quiet:
            print(f"{path}: {counts['frames']} frames, {counts['chunks']} chunks, "
                  f"{counts['associations']} associations, {counts['findings']} findings "
                  f"-> capture={name}", file=sys.stderr)

    export(args.file, args.out_dir, DecodeOptions(verify_checksum=not args.no_checksum), progress)
    return 0
