"""Shared by the ``assoc``, ``streams`` and ``flow`` commands."""
from __future__ import annotations

import json
import sys

from ..errors import UserError


def run_analysis(path: str, keep=None, options=None, workers=None):
    """Analyse ``path``; a damaged file still gives the result of every good frame
    (then the error, which the caller raises after printing).  ``workers``:
    processes sharing the analysis (None: :func:`~sctpinspect.analysis.shard.default_shards`)."""
    from ..analysis import AnalysisOptions, analyze_file
    from ..pipeline import check_readable
    check_readable(path)
    opts = options or AnalysisOptions(keep_packets=False, annotate=False, keep_messages=False)
    shards = 1
    if keep is None:
        from ..analysis.shard import default_shards
        shards = default_shards(path) if workers is None else max(1, workers)
    result = analyze_file(path, opts, keep=keep, shards=shards)
    return result, result.error


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


def common_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="pcap or pcapng file, or - for standard input")
    p.add_argument("--no-checksum", action="store_true",
                   help="do not verify CRC32c (has no effect on the analysis itself)")
