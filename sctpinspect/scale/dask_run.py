"""``--dask [ADDRESS]``: the association analysis of a trace as Dask tasks.

What is distributed, precisely: the trace (one file or a set, merged by time
as ``sources/merge.py`` does) is cut **by association**, not by file.  The
Analyzer only ever relates packets with the same pair of ports (its tag table
and its address lookup are keyed by ports, RFC 9260 associations never change
ports), so every association -- with all its paths, restarts and its whole
life across the files of a ring-buffer set -- falls into exactly one *shard*
of the port pairs ``(low port * 65536 + high port) % shards``.  Each Dask task
runs the one Pipeline over the whole trace (the files must be readable at the
same paths on every worker: shared storage), decodes every frame and feeds
only its shard's SCTP packets to its own Analyzer; it returns its
associations, whole and final, in the merged trace's frame numbers.  The
driver stitches them: the associations of all shards sorted by their first
frame get the indexes one process gives (an association is created by its
first packet, and one packet creates at most one), and the references
between them (``restart_of``, ``restarted_in``) are renumbered.  Anything that
needs the whole association (end states, restarts, stream gaps, TSN figures)
was decided in one task that saw the whole association, so the output is
byte for byte the one-process output (tests/test_dask.py).

The decode is repeated by every task; what is divided is the analysis (on
benchmarks/gen_capture.py traffic about 60 % of ``assoc``'s time, see
docs/scale.md).  The memory caps of AnalysisOptions apply per task: output
equals one process's when no cap is reached (a cap reached is reported as
always).  Only ``assoc`` and ``streams`` take ``--dask``: ``messages`` and
``diagnose`` keep capture-wide state (the delivery order of rows across
associations, the checksum-offload heuristic over all senders, per-rule
finding caps) that this cut does not merge exactly yet.
"""
from __future__ import annotations

import os
import sys

from ..errors import CaptureFileError, UserError


def require_dask():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UserError("--dask needs dask.distributed: pip install .[scale]") from None


def shard_of(pkt, shards: int) -> int:
    a, b = pkt.sport or 0, pkt.dport or 0
    if a > b:
        a, b = b, a
    return (a * 65536 + b) % shards


def analyse_shard(paths, shard: int, shards: int, verify_checksum: bool = True) -> dict:
    """One task: the associations of one shard of port pairs over the whole trace."""
    from ..analysis.core import AnalysisOptions, Analyzer
    from ..decode import DecodeOptions
    from ..pipeline import Pipeline, open_records
    an = Analyzer(AnalysisOptions(keep_packets=False, annotate=False, keep_messages=False))
    feed = an.feed

    def analyse(pkt):
        if pkt.sctp_offset >= 0 and shard_of(pkt, shards) == shard:
            feed(pkt)

    pipe = Pipeline(open_records(list(paths)), DecodeOptions(verify_checksum=verify_checksum),
                    analyse=analyse)
    error = None
    try:
        for _ in pipe:
            pass
    except CaptureFileError as e:      # exceptions with custom arguments do not pickle: parts
        error = (e.path, e.offset, e.problem, e.exit_code)
    return {"shard": shard, "associations": an.associations, "evicted": dict(an.evicted),
            "frames": pipe.frames, "sctp_packets": an.sctp_packets, "error": error}


def stitch(parts: list) -> tuple:
    """Shard results -> (associations numbered as one process numbers them,
    evicted, frames, sctp packets, the first CaptureFileError or None)."""
    from collections import Counter
    pairs = [(a.first_frame, p["shard"], a) for p in parts for a in p["associations"]]
    pairs.sort(key=lambda x: (x[0], x[1], x[2].index))
    mapping = {}
    for g, (_f, s, a) in enumerate(pairs):
        mapping[(s, a.index)] = g
    out = []
    for g, (_f, s, a) in enumerate(pairs):
        a.index = g
        if a.restart_of is not None:
            a.restart_of = mapping[(s, a.restart_of)]
        if a.restarted_in is not None:
            a.restarted_in = mapping[(s, a.restarted_in)]
        out.append(a)
    evicted = Counter()
    for p in parts:
        evicted.update(p["evicted"])
    frames = parts[0]["frames"] if parts else 0
    sctp = sum(p["sctp_packets"] for p in parts)
    error = None
    for p in sorted(parts, key=lambda p: p["shard"]):
        if p["error"] is not None:
            path, offset, problem, code = p["error"]
            error = CaptureFileError(path, offset, problem, code)
            break
    return out, dict(evicted), frames, sctp, error


class _StderrBar:
    """Dask's text progress bar, on standard error (standard output is the result)."""

    def __new__(cls, futures):
        from distributed.diagnostics.progressbar import TextProgressBar

        class Bar(TextProgressBar):
            def _draw_bar(self, remaining, all, **kwargs):
                frac = (1 - remaining / all) if all else 1.0
                sys.stderr.write(f"\r[{'#' * int(30 * frac):<30}] {int(100 * frac)}% "
                                 f"of {all} dask tasks")
                sys.stderr.flush()

            def _draw_stop(self, **kwargs):
                sys.stderr.write("\33[2K\r")
                sys.stderr.flush()

        return Bar(futures, complete=True)


def client_for(address: str | None, workers: int | None = None, processes: bool = True):
    """A Client on ``address`` (``tcp://host:8786``), or on a LocalCluster of this
    machine's cores when ``address`` is None."""
    require_dask()
    from distributed import Client, LocalCluster
    if address:
        try:
            return Client(address, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise UserError(f"--dask {address}: cannot reach the scheduler ({e})") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                           dashboard_address=":0", silence_logs=40)
    return Client(cluster)


def analyze_dask(paths, address: str | None = None, client=None, shards: int | None = None,
                 verify_checksum: bool = True, progress: bool | None = None):
    """The AnalysisResult of one process, computed by Dask tasks (module docstring)."""
    from ..analysis.api import AnalysisResult
    own = client is None
    if own:
        client = client_for(address)
    try:
        if shards is None:
            shards = max(1, sum(client.nthreads().values()))
        paths = [os.path.abspath(p) for p in paths]
        futures = [client.submit(analyse_shard, paths, w, shards, verify_checksum,
                                 key=f"sctpinspect-shard-{w}-of-{shards}-{abs(hash(tuple(paths)))}",
                                 pure=False)
                   for w in range(shards)]
        if progress is None:
            progress = sys.stderr.isatty()
        if progress:
            _StderrBar(futures)
        parts = client.gather(futures)
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    assocs, evicted, frames, sctp, error = stitch(parts)
    result = AnalysisResult.__new__(AnalysisResult)
    result.analyzer = None
    result.associations = assocs
    result.messages = []
    result.packets = {}
    result.kept_packets = []
    result.evicted = evicted
    result.frames = frames
    result.sctp_packets = sctp
    result.error = error
    return result
