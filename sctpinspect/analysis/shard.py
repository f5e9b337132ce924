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
    from ..output.workers import usable_cpus
    cpus = usable_cpus()
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


def run_shard(records, options, decode_options, k: int, n: int, feed_with=None, route=None,
              analyzer=None):
    """Shard ``k`` of ``n``: (Analyzer, frames, CaptureFileError or None).
    ``feed_with(analyzer)`` returns what is fed each packet of the shard in
    place of ``analyzer.feed`` (scale/dask_run.py: a message collector on it;
    the diagnoser).  ``route(pkt, n)``, when given, names the shard of a frame
    that is not SCTP (ICMP, ...): it is fed there; without it nobody gets one.
    ``analyzer``: the Analyzer to use (default: a new one with ``options``)."""
    from ..decode import Decoder
    from ..decode.frame import sctp_ports
    from ..errors import CaptureFileError
    from .core import Analyzer
    an = Analyzer(options) if analyzer is None else analyzer
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
            if pkt.sctp_offset >= 0:
                if owner(pkt.sport, pkt.dport, n) == k:
                    feed(pkt)
            elif route is not None and route(pkt, n) == k:
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


def _renumber(shard_associations):
    """The shards' associations in order of their first frame (the order in which
    one process creates them), renumbered: (associations, {(shard, old index): new})."""
    tagged = []
    for s, assocs in enumerate(shard_associations):
        for a in assocs:
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
    return associations, new_index


def _merge(an0, parts, evicted):
    """Shards' associations renumbered (:func:`_renumber`); messages in completion order."""
    associations, new_index = _renumber([part[0] for part in parts])
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


# ---------------------------------------------------------------------------- diagnose
#
# The diagnoser (diagnostics/engine.py) adds state across associations to the
# analysis: the checksum counts per source address (the offload heuristic and
# one-sided-checksum read them at the end), the State Cookies seen (static-cookie),
# the per-rule cap on findings, and the order of its findings.  The shards
# exchange the first before their end-of-capture checks; when a State Cookie was
# seen in two shards, or any cap was reached, the merge is refused and the caller
# diagnoses in one process.  Findings carry where they were made (Finding.order),
# so the merge restores the order one process makes them in.  Findings that name
# another association by its index are renumbered by this table (rule -> the
# pattern of its message that holds an index; "details" keys that hold indices are
# in _INDEX_DETAILS):
_INDEX_TEXT = {
    "restart": r"(continued as association )(\d+)$",
    "static-cookie": r"(the INIT ACK of association )(\d+)( \(frame)",
}
_INDEX_DETAILS = ("same_as_association", "associations")


def diagnose_route(pkt, n: int) -> int:
    """The shard of a frame without SCTP: an ICMP error goes where the SCTP packet it
    quotes goes (its association's shard), everything else to shard 0."""
    if pkt.icmp is not None:
        from ..diagnostics.engine import icmp_quoted
        _src, sport, _dst, dport = icmp_quoted(pkt.icmp)
        if sport is not None and dport is not None:
            return owner(sport, dport, n)
    return 0


def _diag_shard(records, decode_options, make_diagnoser, predicate, k, n):
    """Feed shard ``k``'s frames to a new diagnoser; (diagnoser, frames, error, matched)."""
    d = make_diagnoser()
    matched = set() if predicate is not None else None
    if predicate is None:
        def feed_with(_an):
            return d.feed
    else:
        def feed_with(_an):
            feed = d.feed

            def fed(pkt):
                feed(pkt)
                if predicate(pkt):
                    matched.add(pkt.number)
            return fed
    last = [None]

    def stamped(recs):
        for rec in recs:
            last[0] = rec.ts_ns
            yield rec
    _an, frames, error = run_shard(stamped(records), d.analyzer.options, decode_options, k, n,
                                   feed_with=feed_with, route=diagnose_route,
                                   analyzer=d.analyzer)
    d.frames = frames
    if last[0] is not None:
        d.last_ts = last[0] / 1e9       # the capture's end, as one process sees it (Packet.ts)
    return d, frames, error, matched


def _diag_facts(d, frames, error) -> tuple:
    """What the parent needs to decide whether the shards can merge exactly."""
    return (frames, error is not None, {a: list(r) for a, r in d._ck.items()},
            set(d.field.cookies), _diag_caps(d), len(d.analyzer.associations))


def _diag_caps(d) -> tuple:
    """(a cap evicted, {rule: findings listed})."""
    evicted = any(v for v in d.analyzer.evicted.values()) or \
        any(v for v in d.field.evicted.values()) or \
        any(f.key == "overflow" and f.association is None for f in d.findings)
    per_rule = Counter(f.rule for f in d.findings)
    return evicted, per_rule


def _diag_finish(d, ck):
    """The end-of-capture checks with the capture-wide checksum counts; what goes back."""
    d._ck = ck
    d.finish()
    for a in d.analyzer.associations:
        a.release()
    return (d.analyzer.associations, d.findings, d.analyzer.sctp_packets, _diag_caps(d))


def _diag_child(conn, records_factory, decode_options, make_diagnoser, predicate, k, n):
    try:
        d, frames, error, matched = _diag_shard(records_factory(), decode_options,
                                                make_diagnoser, predicate, k, n)
        conn.send_bytes(pickle.dumps(("ok", _diag_facts(d, frames, error)),
                                     protocol=pickle.HIGHEST_PROTOCOL))
        go = pickle.loads(conn.recv_bytes())
        if go[0] != "go":
            return
        conn.send_bytes(pickle.dumps(("ok", _diag_finish(d, go[1]), matched),
                                     protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException as e:          # the parent falls back to one process
        try:
            conn.send_bytes(pickle.dumps(("error", f"{type(e).__name__}: {e}")))
        except Exception:
            pass
    finally:
        conn.close()


def _diag_mergeable(facts, d0) -> dict | None:
    """The capture-wide checksum counts, or None when one process would differ."""
    frames, err = facts[0][0], facts[0][1]
    if any(f[0] != frames or f[1] != err for f in facts):
        return None
    ck: dict = {}
    seen_cookies: set = set()
    cookies = cookie_bytes = 0
    per_rule = Counter()
    nassoc = 0
    for f in facts:
        for addr, row in f[2].items():
            acc = ck.setdefault(addr, [0, 0, 0, 0])
            for i, v in enumerate(row):
                acc[i] += v
        if seen_cookies & f[3]:
            return None                 # one State Cookie in two shards: static-cookie spans them
        seen_cookies |= f[3]
        cookies += len(f[3])
        cookie_bytes += sum(len(c) if isinstance(c, (bytes, bytearray)) else 0 for c in f[3])
        evicted, rules = f[4]
        if evicted:
            return None
        per_rule.update(rules)
        nassoc += f[5]
    from ..diagnostics.field import MAX_COOKIE_BYTES, MAX_COOKIES
    options = d0.analyzer.options
    if cookies > MAX_COOKIES or cookie_bytes > MAX_COOKIE_BYTES \
            or any(v > d0.max_findings for v in per_rule.values()) \
            or _capped(options, {}, nassoc, 0):
        return None
    return ck


def diagnose_sharded(records_factory, decode_options, n: int, make_diagnoser, predicate=None):
    """Diagnose the records ``records_factory()`` yields in ``n`` processes.

    ``make_diagnoser()`` makes a shard's Diagnoser (with its Analyzer); ``predicate``
    a display filter evaluated on each frame after the diagnoser, as one process does.
    Returns ``(diagnoser, frames, matched, error)``: a diagnoser holding the merged
    findings and association summaries (what DiagnosisResult reads, not its live
    state), or None when the shards cannot give exactly the one-process result.
    """
    import multiprocessing as mp
    import re
    ctx = mp.get_context("fork")
    children = []
    for k in range(1, n):
        r, w = ctx.Pipe(duplex=True)
        p = ctx.Process(target=_diag_child,
                        args=(w, records_factory, decode_options, make_diagnoser, predicate, k, n),
                        daemon=True)
        p.start()
        w.close()
        children.append((p, r))
    try:
        d0, frames, error, matched0 = _diag_shard(records_factory(), decode_options,
                                                  make_diagnoser, predicate, 0, n)
        facts = [_diag_facts(d0, frames, error)]
        for _p, r in children:
            got = _recv(r)
            if got is None or got[0] != "ok":
                return None
            facts.append(got[1])
        ck = _diag_mergeable(facts, d0)
        if ck is None:
            return None
        for _p, r in children:
            r.send_bytes(pickle.dumps(("go", ck), protocol=pickle.HIGHEST_PROTOCOL))
        parts = [_diag_finish(d0, ck)]
        matched = matched0
        for _p, r in children:
            got = _recv(r)
            if got is None or got[0] != "ok":
                return None
            parts.append(got[1])
            if matched is not None:
                matched |= got[2]
    finally:
        for p, r in children:
            try:
                r.close()
            except OSError:
                pass
            p.join(timeout=5)
            if p.is_alive():            # pragma: no cover - a stuck shard
                p.kill()
    per_rule = Counter()
    for part in parts:
        evicted, rules = part[3]
        if evicted:
            return None
        per_rule.update(rules)
    if any(v > d0.max_findings for v in per_rule.values()):
        return None
    associations, new_index = _renumber([part[0] for part in parts])
    tagged = []
    for s, part in enumerate(parts):
        for pos, f in enumerate(part[1]):
            phase, ref = f.order
            if phase == 1:
                ref = new_index[(s, ref)]
            _renumber_finding(f, s, new_index, re)
            tagged.append(((phase, ref, s, pos), f))
    tagged.sort(key=lambda t: t[0])
    d0.findings = [f for _k, f in tagged]
    d0.analyzer.associations = associations
    d0.analyzer.sctp_packets = sum(part[2] for part in parts)
    d0.frames = frames
    return d0, frames, matched, error


def _renumber_finding(f, s, new_index, re) -> None:
    def new(i):
        return new_index[(s, i)]
    if f.association is not None:
        f.association = new(f.association)
    pattern = _INDEX_TEXT.get(f.rule)
    if pattern is not None:
        f.message = re.sub(pattern, lambda m: m.group(1) + str(new(int(m.group(2))))
                           + (m.group(3) if m.lastindex >= 3 else ""), f.message)
    for key in _INDEX_DETAILS:
        v = f.extra.get(key)
        if isinstance(v, int):
            f.extra[key] = new(v)
        elif isinstance(v, list):
            f.extra[key] = [new(i) for i in v]


def _recv(conn):
    try:
        return pickle.loads(conn.recv_bytes())
    except (EOFError, OSError, pickle.UnpicklingError):
        return None
