"""``sctpinspect export FILE... --to DIR``: captures as Parquet tables."""
from __future__ import annotations

HELP = ("export captures as Parquet tables (frames, chunks, messages, associations, findings) "
        "for SQL/dataframes")

DESCRIPTION = """\
Decode and analyse the capture files once, streaming with constant memory,
and write five Parquet datasets under DIR (schema: docs/export.md):

  DIR/frames/capture=NAME/part-K.parquet        one row per frame (K: the
                                                file's place in the trace)
  DIR/chunks/capture=NAME/part-K.parquet        one row per SCTP chunk, with
                                                typed columns for DATA, I-DATA,
                                                SACK, INIT, INIT ACK, ABORT ...
                                                named after the Wireshark fields
                                                ("." -> "_", e.g. sctp_data_tsn_raw)
  DIR/messages/capture=NAME/part-0.parquet      as `messages --json`
  DIR/associations/capture=NAME/part-0.parquet  as `assoc --json`
  DIR/findings/capture=NAME/part-0.parquet      as `diagnose --json`

The files given (or the capture files in a directory given) are one trace,
as for `assoc`: merged by time as mergecap does, so associations and
messages that run across the files of a ring-buffer set are stitched and
frame numbers are the merged trace's; NAME is the first file's name (or
--name), and each frame and chunk row says in capture_file which file it
came from.  --each exports every file as its own trace instead (unrelated
captures), NAME being each file's name.  "capture" is a Hive partition
column that DuckDB, Spark, Polars and pyarrow read.  Exporting a trace again
replaces its partition.  Query the result with `sctpinspect sql DIR "SELECT ..."`.

Needs the scale extra: pip install .[scale]

Examples:
  sctpinspect export trace.pcapng --to /data/sctp
  sctpinspect export ring_*.pcapng --to /data/sctp
  sctpinspect export --each captures/ --to /data/sctp
  sctpinspect sql /data/sctp "SELECT chunk_name, count(*) FROM chunks GROUP BY 1"
"""


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", nargs="+",
                   help="pcap or pcapng files or directories of them (one trace unless --each)")
    p.add_argument("--to", dest="out_dir", metavar="DIR", required=True,
                   help="directory the tables are written to (created if missing)")
    p.add_argument("--format", choices=("parquet",), default="parquet",
                   help="table format (parquet, the default and only one)")
    p.add_argument("--each", action="store_true",
                   help="every file is its own trace and partition (unrelated captures)")
    p.add_argument("--name", metavar="NAME",
                   help="partition name of the trace (default: its first file's name)")
    p.add_argument("--no-checksum", action="store_true", help="do not verify CRC32c")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print a line per trace")


def run(args) -> int:
    import sys
    from ..decode import DecodeOptions
    from ..errors import UserError
    from ..export import export

    if args.each and args.name:
        raise UserError("--name names the one trace: it does not go with --each")

    def progress(paths, name, counts):
        if not args.quiet:
            what = paths[0] if len(paths) == 1 else f"{len(paths)} files"
            print(f"{what}: {counts['frames']} frames, {counts['chunks']} chunks, "
                  f"{counts['messages']} messages, {counts['associations']} associations, "
                  f"{counts['findings']} findings -> capture={name}", file=sys.stderr)

    export(args.file, args.out_dir, DecodeOptions(verify_checksum=not args.no_checksum), progress,
           each=args.each, name=args.name)
    return 0
