"""The analysis on several cores, sharded by association (issue 14.4).

Associations are independent of each other, and every packet of one carries
the same two port numbers (RFC 9260 3.1: an association is bound to one port
at each end, whatever its addresses), so the port pair shards the work
exactly: shard ``k`` of ``n`` analyses the packets whose sorted port pair
hashes to ``k``.  Each shard is a process that reads the whole file (the
source is cheap: a few microseconds a frame), looks at the two port fields
of each frame without decoding it (:func:`~sctpinspect.decode.frame.sctp_ports`)
and decodes and analyses only its own frames; frames that need the full
decoder to find their ports (IP fragments, tunnels, options) are decoded in
every shard, so IP reassembly state is the same everywhere::

    shard 0 (this process)   ──┐
    shard 1 (forked)         ──┼──▶ merge: associations in order of their
    ...                      ──┘    first frame, renumbered; counts summed

The merged :class:`~sctpinspect.analysis.api.AnalysisResult` equals what one
process finds (tests/test_analysis_shard.py compares them on every capture),
because nothing in the analysis crosses a port pair, except the caps over all
associations (live associations, association records, messages kept): when
a shard or the total reaches one of those, the merge is refused and the
caller analyses in one process, which applies the caps in capture order.

Only for the commands that read nothing but the result (``assoc``,
``streams``): no per-packet hooks, no kept packets.  ``multiprocessing`` with
``fork`` (the standard library): shards inherit the imported decoder and
start in milliseconds; each sends its Analyzer's result back pickled.
"""
from __future__ import annotations

import os
import pickle
from collections import Counter

MIN_BYTES = 16 << 20        # below this file size one process: start-up would not pay


def default_shards(path) -> int:
    """Processes for the analysis of ``path`` (a file, or a list of files
    that are one trace): one per usable CPU (at most 4) for regular files of
    16 MiB or more in all, else 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    if cpus < 2 or path == "-":
        return 1
    paths = path if isinstance(path, (list, tuple)) else [path]   # a set: its total size
    try:
        if not all(os.path.isfile(p) for p in paths) \
                or sum(os.path.getsize(p) for p in paths) < MIN_BYTES:
            return 1
    except OSError:
        return 1
    return min(cpus, 4)


def owner(sport: int, dport: int, n: int) -> int:
    """The shard of a port pair (either direction gives the same)."""
    if sport > dport:
        sport, dport = dport, sport
    return (sport * 65599 + dport) % n


def run_shard(records, options, decode_options, k: int, n: int, feed_with=None):
    """Shard ``k`` of ``n``: (Analyzer, frames, CaptureFileError or None).
    ``feed_with(analyzer)`` returns what is fed each packet of the shard in
    place of ``analyzer.feed`` (scale/dask_run.py: a message collector on it)."""
    from ..decode import Decoder
    from ..decode.frame import sctp_ports
    from ..errors import CaptureFileError
    from .core import Analyzer
    an = Analyzer(options)
    dec = Decoder(decode_options)
    impl = dec._impl
    decode = impl.decode
    feed = an.feed if feed_with is None else feed_with(an)
    frames = 0
    error = None
    try:
        for rec in records:
            frames += 1
            if impl.first_ns is None:           # frame.time_relative counts from frame 1
                impl.first_ns = rec.ts_ns
            ports = sctp_ports(rec)
            if ports is not None:
                a, b = ports
                if a > b:
                    a, b = b, a
                if (a * 65599 + b) % n == k:
                    feed(decode(rec))
                continue
            pkt = decode(rec)                   # every shard: fragments, tunnels, ...
            if pkt.sctp_offset >= 0 and owner(pkt.sport, pkt.dport, n) == k:
                feed(pkt)
    except CaptureFileError as e:
        error = e
    return an, frames, error


def _child(conn, records_factory, options, decode_options, k, n) -> None:
    try:
        an, frames, error = run_shard(records_factory(), options, decode_options, k, n)
        for a in an.associations:       # only the summaries travel (see analyze_sharded)
            a.release()
        payload = ("ok", an.associations, an.messages, dict(an.evicted), an.sctp_packets,
                   frames, error is not None)
        conn.send_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException as e:          # the parent falls back to one process
        try:
            conn.send_bytes(pickle.dumps(("error", f"{type(e).__name__}: {e}")))
        except Exception:
            pass
    finally:
        conn.close()


def _capped(options, evicted: dict, associations: int, messages: int) -> bool:
    """True when one process would have applied a cap over all associations."""
    if evicted.get("associations") or evicted.get("associations_untracked") \
            or evicted.get("messages"):
        return True
    return (associations > options.max_associations
            or associations > options.max_association_records
            or (options.keep_messages and messages > options.max_messages))


def analyze_sharded(records_factory, options, decode_options, n: int):
    """Analyse the records ``records_factory()`` yields in ``n`` processes.

    The merged associations are summaries: their live state (TSN windows,
    pending fragments, pending heartbeats) is released, as for an association
    the LRU cap evicts.
    Returns ``(Analyzer-like merge, frames, error)`` or None when the shards
    cannot give exactly the one-process result (a cap over all associations
    was reached, a shard failed): the caller then analyses in one process.
    """
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    children = []
    for k in range(1, n):
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(w, records_factory, options, decode_options, k, n),
                        daemon=True)
        p.start()
        w.close()
        children.append((p, r))
    try:
        an0, frames, error = run_shard(records_factory(), options, decode_options, 0, n)
        # the commands that shard read only the summaries: the live state (TSN windows,
        # pending fragments and heartbeats) is released before the others arrive, so the
        # merge holds every association's summary but nobody's windows
        for a in an0.associations:
            a.release()
        parts = [(an0.associations, an0.messages, dict(an0.evicted), an0.sctp_packets,
                  frames, error is not None)]
        for p, r in children:
            try:
                payload = pickle.loads(r.recv_bytes())
            except (EOFError, OSError, pickle.UnpicklingError):
                return None
            if payload[0] != "ok":
                return None
            parts.append(payload[1:])
    finally:
        for p, r in children:
            r.close()
            p.join(timeout=5)
            if p.is_alive():            # pragma: no cover - a stuck shard
                p.kill()
    # every shard read the same records and met the same damage, if any
    if any(part[4] != frames or part[5] != (error is not None) for part in parts):
        return None
    evicted = Counter()
    nassoc = nmsg = 0
    for part in parts:
        evicted.update(part[2])
        nassoc += len(part[0])
        nmsg += len(part[1])
    if _capped(options, evicted, nassoc, nmsg):
        return None
    return _merge(an0, parts, evicted), frames, error


def _merge(an0, parts, evicted):
    """Shards' associations in order of their first frame (the order in which one
    process creates them), renumbered; messages in completion order."""
    tagged = []
    for s, part in enumerate(parts):
        for a in part[0]:
            tagged.append((a.first_frame, s, a.index, a))
    tagged.sort(key=lambda t: (t[0], t[1], t[2]))
    new_index = {(s, old): i for i, (_f, s, old, _a) in enumerate(tagged)}
    associations = []
    for i, (_f, s, old, a) in enumerate(tagged):
        a.index = i
        if a.restart_of is not None:
            a.restart_of = new_index[(s, a.restart_of)]
        if a.restarted_in is not None:
            a.restarted_in = new_index[(s, a.restarted_in)]
        associations.append(a)
    messages = []
    for s, part in enumerate(parts):
        for m in part[1]:
            m.assoc = new_index[(s, m.assoc)]
            messages.append((m.frame, s, m))
    messages.sort(key=lambda t: (t[0], t[1]))   # stable: a frame's messages keep their order
    an0.associations = associations
    an0.messages = [m for _f, _s, m in messages]
    an0.evicted = evicted
    an0.sctp_packets = sum(part[3] for part in parts)
    return an0
