"""Shared by the ``assoc``, ``streams`` and ``flow`` commands."""
from __future__ import annotations

import json
import sys

from ..errors import UserError


def run_analysis(path, keep=None, options=None, workers=None, dask=None):
    """Analyse ``path`` (a file, or the FILE arguments: several files or
    directories are one trace, sources/merge.py); a damaged file still gives
    the result of every good frame (then the error, which the caller raises
    after printing).  ``workers``: processes sharing the analysis (None:
    :func:`~sctpinspect.analysis.shard.default_shards`); ``dask``: the
    ``--dask`` ADDRESS ("" for a LocalCluster), sctpinspect/scale/dask_run.py."""
    from ..analysis import AnalysisOptions, analyze_file
    from ..sources.merge import capture_set
    path, dask = dask_files(path, dask)
    opts = options or AnalysisOptions(keep_packets=False, annotate=False, keep_messages=False)
    path = capture_set(path)
    if len(path) == 1:
        path = path[0]              # one file (or -): as before
    if dask is not None:            # --dask [ADDRESS]: "" is a LocalCluster
        from ..scale.dask_run import analyze_dask
        if path == "-":
            raise UserError("--dask reads capture files, not standard input")
        result = analyze_dask(path if isinstance(path, list) else [path], dask or None,
                              options=opts)
        return result, result.error
    shards = 1
    if keep is None:
        from ..analysis.shard import default_shards
        shards = default_shards(path) if workers is None else max(1, workers)
    result = analyze_file(path, opts, keep=keep, shards=shards)
    return result, result.error


def rereadable(path: str) -> bool:
    """A regular file can be read a second time; standard input, a FIFO or a
    device cannot (a second pass on a FIFO would wait for a new writer)."""
    import os
    import stat
    if path == "-":
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True           # the first pass gives the one-line error


def workers_argument(p) -> None:
    """``--workers N`` of the commands whose analysis can be sharded."""
    from .. import argtypes as A
    p.add_argument("--workers", type=A.WORKERS, metavar="N",
                   help="analyse in N processes, sharded by association (default: one per "
                        "CPU, at most 4, for a file of 16 MiB or more, else 1; 0 or 1 = "
                        "one process). The output is the same")


def dump_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=1, default=_default)
    sys.stdout.write("\n")


def _default(o):
    if isinstance(o, (bytes, bytearray)):
        return o.hex()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(type(o).__name__)


def pick_assoc(result, index: int | None):
    if index is None:
        return result.associations
    if index < 0 or index >= len(result.associations):
        raise UserError(f"no association {index}: the capture has "
                        f"{len(result.associations)} (numbered from 0)")
    return [result.associations[index]]


MANY_HELP = ("pcap or pcapng files or directories of them, or - for standard input; several "
             "are one trace, merged by time as mergecap does (a ring-buffer set: its files or "
             "its directory)")


def common_arguments(p, many: bool = True) -> None:
    if many:
        # "*", not "+": `--dask FILE` takes FILE as its optional ADDRESS, run_analysis
        # gives it back (capture_set says when no FILE is left)
        p.add_argument("file", metavar="FILE", nargs="*", help=MANY_HELP)
    else:
        p.add_argument("file", metavar="FILE", help="pcap or pcapng file, or - for standard input")
    p.add_argument("--no-checksum", action="store_true",
                   help="do not verify CRC32c (has no effect on the analysis itself)")


def dask_files(files, dask):
    """(FILE arguments, --dask value): `--dask FILE ...` made argparse take the
    first file for the optional ADDRESS; give it back."""
    if dask and not is_scheduler_address(dask):
        return [dask] + ([files] if isinstance(files, str) else list(files)), ""
    return files, dask


def is_scheduler_address(text: str) -> bool:
    """``tcp://host:8786``, ``tls://...``, ``host:8786`` -- and not an existing file."""
    import os
    import re
    if os.path.exists(text):
        return False
    return bool(re.match(r"^[a-z]+://", text) or re.match(r"^[\w.-]+:\d+$", text))


def dask_argument(p) -> None:
    p.add_argument("--dask", nargs="?", const="", metavar="ADDRESS",
                   help="run the analysis as Dask tasks, one per shard of associations: on a "
                        "LocalCluster of this machine's cores, or on the scheduler at ADDRESS "
                        "(tcp://host:8786; the files at the same paths on every worker). Same "
                        "output. Needs pip install .[scale] (docs/scale.md)")
