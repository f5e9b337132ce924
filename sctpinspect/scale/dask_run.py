"""``--dask [ADDRESS]``: the association analysis of a trace as Dask tasks.

The cut is the one of ``--workers`` (:mod:`sctpinspect.analysis.shard`), with
Dask tasks in place of forked processes: associations are independent and
every packet of one carries the same port pair, so shard ``k`` of ``n``
analyses exactly the frames whose sorted port pair hashes to ``k`` --
every association whole, with all its paths and restarts and its whole life
across the files of a ring-buffer set.  Each task is
:func:`~sctpinspect.analysis.shard.run_shard` over the whole trace (one file
or a set merged by time, ``sources/merge.py``; the files must be readable at
the same paths on every worker: shared storage): it reads every record,
peeks at the two port fields without decoding
(:func:`~sctpinspect.decode.frame.sctp_ports`) and decodes and analyses only
its own frames (frames whose ports need the full decoder -- IP fragments,
tunnels -- are decoded by every task).  It returns its associations and
messages, whole and final, in the trace's frame numbers.  The driver
stitches them with the same merge as ``--workers``
(:func:`~sctpinspect.analysis.shard._merge`: associations in order of their
first frame, renumbered with their ``restart_of``/``restarted_in`` links;
counts summed).  Whatever needs the whole association was decided by the one
task that saw it all, so the output is the one-process output
(tests/test_dask.py).  When a cap over all associations is reached (live
associations, records), the merge is refused as for ``--workers`` and the
driver analyses in one process.

Only ``assoc`` and ``streams`` take ``--dask`` (as ``--workers``): ``messages``
and ``diagnose`` keep state across associations (the delivery order of rows
across associations, the checksum-offload heuristic over all senders,
per-rule finding caps) that this cut does not merge yet.
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


def analyse_shard(paths, k: int, n: int, options) -> tuple:
    """One task: shard ``k`` of ``n`` of the trace ``paths``, as the parts
    :func:`~sctpinspect.analysis.shard._merge` takes, plus the error's parts
    (a CaptureFileError does not pickle: its arguments are not its ``args``)."""
    from ..analysis.shard import run_shard
    from ..decode import DecodeOptions
    from ..pipeline import open_records
    an, frames, error = run_shard(open_records(list(paths)), options, DecodeOptions(), k, n)
    err = None if error is None else (error.path, error.offset, error.problem, error.exit_code)
    return (an.associations, an.messages, dict(an.evicted), an.sctp_packets, frames,
            error is not None), err


def stitch(parts: list, options):
    """Task results -> (merged Analyzer-like, frames, CaptureFileError or None),
    or None when only one process gives the exact result (a cap was reached,
    the tasks did not read the same records)."""
    from collections import Counter
    from ..analysis.core import Analyzer
    from ..analysis.shard import _capped, _merge
    parts = list(parts)
    frames = parts[0][0][4]
    damaged = parts[0][0][5]
    if any(p[0][4] != frames or p[0][5] != damaged for p in parts):
        return None
    evicted = Counter()
    nassoc = nmsg = 0
    for (assocs, msgs, ev, _s, _f, _d), _e in parts:
        evicted.update(ev)
        nassoc += len(assocs)
        nmsg += len(msgs)
    if _capped(options, evicted, nassoc, nmsg):
        return None
    an = _merge(Analyzer(options), [p[0] for p in parts], evicted)
    error = None
    if parts[0][1] is not None:
        path, offset, problem, code = parts[0][1]
        error = CaptureFileError(path, offset, problem, code)
    return an, frames, error


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
                 options=None, progress: bool | None = None):
    """The AnalysisResult of one process, computed by Dask tasks (module docstring)."""
    from ..analysis.api import AnalysisResult, analyze_file
    from ..analysis.core import AnalysisOptions
    if options is None:
        options = AnalysisOptions(keep_packets=False, annotate=False, keep_messages=False)
    parts = _run(analyse_shard, paths, address, client, shards, progress, options)
    merged = stitch(parts, options)
    if merged is None:      # a cap over all associations: only one process is exact
        print("sctpinspect: note: an analysis cap over all associations was reached; "
              "analysed in one process", file=sys.stderr)
        return analyze_file(paths if len(paths) > 1 else paths[0], options)
    an, frames, error = merged
    result = AnalysisResult(an, frames)
    result.error = error
    return result


# ------------------------------------------------------------------ messages
def _keyed_collector(analyzer):
    """A MessageCollector whose rows carry the key that orders them as one
    process emits them, whichever shard made them:

    * rows emitted while a packet is fed: ``(0, frame, n)`` -- a frame's
      packet belongs to one shard, so rows of one frame never come from two;
    * at the end, the incomplete messages of each association, in association
      order: ``(1, first frame of the association, n)`` (first frames order
      the associations, as the merge numbers them);
    * then the rows still waiting in each stream, streams in the order they
      were made: ``(2, the key current when the stream was made, n)``;

    ``n`` counts the shard's rows, so a shard's own order is kept."""
    from ..analysis.messages import MessageCollector

    class Keyed(MessageCollector):
        def __init__(self, an):
            self.rows = []
            self._n = 0
            self._now = (0, 0)
            self._made = {}            # id(_Stream) -> key when it was made
            self._phase = 0
            self._placing = False
            super().__init__(an, self._take)

        def _take(self, row):
            self._n += 1
            self.rows.append((self._now + (self._n,), row))

        def feed(self, pkt):
            self._now = (0, pkt.record.number)
            return super().feed(pkt)

        def _stream(self, row):
            new = self._key(row) not in self.streams
            st = super()._stream(row)
            if new:
                self._made[id(st)] = self._now + (self._n,)
            return st

        def _place(self, row):
            if self._phase:
                self._now = (1, self.analyzer.associations[row.assoc].first_frame)
                self._placing = True
                try:
                    return super()._place(row)
                finally:
                    self._placing = False
            return super()._place(row)

        def _gap(self, st):
            if self._phase and not self._placing:      # the end: streams in order made
                self._now = (2,) + self._made[id(st)]
            return super()._gap(st)

        def finish(self):
            self._phase = 1
            return super().finish()

    return Keyed(analyzer)


def messages_shard(paths, k: int, n: int, options) -> tuple:
    """One task of ``messages --dask``: :func:`analyse_shard`'s parts, plus the
    shard's message rows with their order keys and the collector's caps."""
    from ..analysis.shard import run_shard
    from ..decode import DecodeOptions
    from ..pipeline import open_records
    holder = {}

    def feed_with(an):
        holder["col"] = col = _keyed_collector(an)
        return col.feed

    an, frames, error = run_shard(open_records(list(paths)), options, DecodeOptions(), k, n,
                                  feed_with)
    col = holder["col"]
    col.finish()
    err = None if error is None else (error.path, error.offset, error.problem, error.exit_code)
    return ((an.associations, an.messages, dict(an.evicted), an.sctp_packets, frames,
             error is not None), err, col.rows, dict(col.evicted))


def messages_dask(paths, address: str | None = None, client=None, shards: int | None = None,
                  progress: bool | None = None):
    """``messages --dask``: (rows in the order one process prints them, with
    association indexes renumbered; the merged Analyzer-like; the
    CaptureFileError or None), or None when only one process is exact."""
    from ..analysis.core import AnalysisOptions
    options = AnalysisOptions(annotate=False, keep_messages=False)
    parts = _run(messages_shard, paths, address, client, shards, progress, options)
    olds = [[(a, a.index) for a in p[0][0]] for p in parts]
    merged = stitch([p[:2] for p in parts], options)
    if merged is None:
        return None
    an, _frames, error = merged
    index = {(s, old): a.index for s, lst in enumerate(olds) for a, old in lst}
    keyed = []
    for s, p in enumerate(parts):
        for key, row in p[2]:
            row.assoc = index[(s, row.assoc)]
            keyed.append((key, s, row))
    keyed.sort(key=lambda t: (t[0], t[1]))
    for p in parts:
        an.evicted.update(p[3])              # a Counter
    return [row for _k, _s, row in keyed], an, error


def _run(task, paths, address, client, shards, progress, options) -> list:
    own = client is None
    if own:
        client = client_for(address)
    try:
        if shards is None:
            shards = max(1, sum(client.nthreads().values()))
        paths = [os.path.abspath(p) for p in paths]
        tag = abs(hash((task.__name__, tuple(paths), shards)))
        futures = [client.submit(task, paths, k, shards, options,
                                 key=f"sctpinspect-{task.__name__}-{k}-of-{shards}-{tag}",
                                 pure=False)
                   for k in range(shards)]
        if progress is None:
            progress = sys.stderr.isatty()
        if progress:
            _StderrBar(futures)
        return client.gather(futures)
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
