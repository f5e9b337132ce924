"""Streaming SCTP analysis: associations, endpoint states, streams, messages, TSNs.

:class:`Analyzer` consumes decoded :class:`~sctpinspect.model.Packet`s in capture
order (``feed(pkt)``) and reads only their *compact records* -- the quick
attributes and each chunk's values (``chunk.v``, named by its CHUNK_TYPES
row) -- never their trees.  It sets ``pkt.analysis``, keeps per-association
state, and, when asked (``AnalysisOptions.annotate``), adds Wireshark-named
fields to the packet (``sctp.assoc_index``, ``sctp.retransmission``,
``sctp.ack``, ``sctp.fragments``...), which a compact packet makes only if
its tree is ever built.  Work per chunk is bounded by the chunk; memory by the
caps in :class:`AnalysisOptions` (whatever a cap drops is counted in
``Analyzer.evicted``).

Chunks are dispatched through :data:`HANDLERS` (chunk type -> handler), the
endpoint states through the state table of :mod:`.states`.

Association grouping follows the protocol (RFC 9260 5.1, 8.5), not the 4-tuple:
an association is the pair of endpoints ``(port, set of addresses)`` with one
Verification Tag each.  A packet is matched on ``(ports, vtag)`` where the vtag
names the *receiving* endpoint (or the sender, for ABORT / SHUTDOWN COMPLETE
with the T bit set, 8.5.1 B/C), so every path of a multihomed association lands
in the same association.  Addresses (IP header, INIT / INIT ACK address
parameters, ASCONF Add/Delete IP) are only needed when a vtag is not yet known:
an INIT (its vtag is 0) and mid-capture traffic whose peer tag has not been
seen.  A new INIT from an endpoint of an ESTABLISHED (or later) association
starts a new association (restart, 5.2.2 / 5.2.4 A), as does an INIT after the
previous association ended; an INIT from the CLOSED side while its peer waits
in COOKIE-WAIT/COOKIE-ECHOED joins it (INIT collision, 5.2.1).
"""
from __future__ import annotations

from collections import Counter, OrderedDict

from ..decode.sctp.chunks import set_relative
from ..model import CHAT, NOTE, WARN, Chunk, Field, Packet
from . import fields as _fields  # noqa: F401  (registers the analysis fields)
from .model import (UNSPECIFIED, Association, Direction, Endpoint, Message, PathStats,
                    StreamStats)
from .reassembly import Frag
from .states import CLOSED, COOKIE_ECHOED, COOKIE_WAIT, ESTABLISHED, TABLE, chunk_name

MASK32 = 0xFFFFFFFF
ENDED_TSN_HISTORY = 256     # TSNs an ended association keeps behind its highest (TsnLog.retire)

# chunk types
DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT = 0, 1, 2, 3, 4, 5, 6
SHUTDOWN_COMPLETE, NR_SACK, I_DATA = 14, 16, 64
ASCONF_ACK, FORWARD_TSN, ASCONF, I_FORWARD_TSN = 128, 192, 193, 194

# ASCONF parameter types (RFC 5061 4.2)
ADD_IP, DELETE_IP, SET_PRIMARY = 0xC001, 0xC002, 0xC004


def tsn_le(a: int, b: int) -> bool:
    """Serial-number arithmetic (RFC 1982, RFC 9260 1.6): a <= b for 32-bit TSNs."""
    return ((b - a) & MASK32) < 0x80000000


class AnalysisOptions:
    """Caps that bound memory; defaults fit captures of millions of packets."""

    def __init__(self, max_associations: int = 10000, max_streams: int = 1024,
                 max_tsns: int = 65536, max_fragments: int = 8192,
                 max_reassembly_bytes: int = 16 << 20, max_messages: int = 100000,
                 max_samples: int = 20000, max_events: int = 10000,
                 keep_packets: bool = False, annotate: bool = True,
                 max_association_records: int = 10000, relative_tsn: bool = False,
                 tsn_history: int = 16384, keep_messages: bool = True,
                 keep_payload: bool = False):
        self.max_associations = max_associations      # live associations (LRU)
        # associations recorded in total (live + evicted summaries, ~4 KB each):
        # beyond it, packets that would start a new one are counted, not tracked
        self.max_association_records = max_association_records
        self.max_streams = max_streams                  # per direction
        self.max_tsns = max_tsns                        # TSN window per direction
        self.tsn_history = tsn_history                  # acked TSNs kept behind the cum ack
        self.max_fragments = max_fragments              # pending fragments per direction
        self.max_reassembly_bytes = max_reassembly_bytes  # per direction
        self.max_messages = max_messages                # Message records kept in total
        self.keep_messages = keep_messages              # keep Message records at all
        self.keep_payload = keep_payload                # fragments keep their user data
        self.max_samples = max_samples                  # (kept for callers; samples are counted)
        self.max_events = max_events                    # transitions, gaps, path changes per assoc
        self.keep_packets = keep_packets                # keep per-packet annotations
        self.annotate = annotate                        # add fields to the packets
        # add tshark's relative TSN fields (sctp.data_tsn, sctp.sack_cumulative_tsn_ack)
        self.relative_tsn = relative_tsn


class _RecordsFull(Exception):
    """AnalysisOptions.max_association_records reached: no new association."""


# (state, direction, chunk type) -> Transition or None, filled on first use from the
# state table (keyed by names): the per-chunk lookup is then one dict hit.
_TRANSITIONS: dict = {}
_MISSING = object()


def _transition(state: str, direction: str, ctype: int):
    key = (state, direction, ctype)
    t = _TRANSITIONS.get(key, _MISSING)
    if t is _MISSING:
        t = _TRANSITIONS[key] = TABLE.get((state, (direction, chunk_name(ctype))))
    return t


# (sender state, receiver state, chunk type) -> whether the chunk changes a state or is
# unexpected for the sender (then Analyzer._apply records it); False: nothing to do
_STEPS: dict = {}


def _step_changes(sender_state: str, receiver_state: str, ctype: int) -> bool:
    t = _transition(sender_state, "send", ctype)
    if t is None:
        if ctype in _NAMES:
            return True                 # unexpected: recorded
    elif t.next != sender_state:
        return True
    t = _transition(receiver_state, "recv", ctype)
    return t is not None and t.next != receiver_state


class Analyzer:
    """Feed Packets in capture order; read associations/messages/stats at any time."""

    def __init__(self, options: AnalysisOptions | None = None):
        self.options = options or AnalysisOptions()
        self.associations: list[Association] = []   # every association ever seen, by index
        self.messages: list[Message] = []
        self.packets: list = []                      # per-packet annotations (keep_packets)
        self._tags: dict = {}        # (owner port, peer port, vtag) -> (assoc, owner side)
        self._by_ports: dict = {}    # (low port, high port) -> [assoc, ...] live
        self._live: OrderedDict = OrderedDict()      # index -> assoc, LRU order
        self.evicted = Counter()     # what the caps dropped
        self._mru = None             # index of the association last moved to the LRU end
        self.sctp_packets = 0
        # called as on_message(pkt, Message, [Frag in order]) for each completed user
        # message (sctpinspect.payload dissects the reassembled ones; a Frag's
        # ``chunk`` is its Chunk when it is in ``pkt``, its ``data`` the user data
        # when ``keep_payload``)
        self.on_message = None
        # called as on_late(frame, chunk index, name, value) for a field that belongs
        # to an earlier packet (sctp.retransmitted, sctp.acked, sctp.reassembled_in...):
        # what tshark's second pass (-2) puts on that frame
        self.on_late = None
        # called as on_abandon(pkt, assoc, Direction, [Frag]) with the pending fragments a
        # FORWARD TSN / I-FORWARD TSN in ``pkt`` abandoned (sctpinspect messages)
        self.on_abandon = None

    # ------------------------------------------------------------------ public
    def feed(self, pkt: Packet) -> dict | None:
        """Analyse one packet; returns (and sets) ``pkt.analysis``, None if no SCTP."""
        if pkt.sctp_offset < 0:
            return None
        self.sctp_packets += 1
        chunks = pkt.chunks
        first = chunks[0] if chunks else None
        try:
            assoc, sender = self._associate(pkt, first)
        except _RecordsFull:
            self.evicted["associations_untracked"] += 1
            assoc = None
        if assoc is None:
            pkt.analysis = {"assoc_index": None}
            return pkt.analysis
        if assoc.index != self._mru:                # the LRU order of live associations
            self._live.move_to_end(assoc.index)
            self._mru = assoc.index
        rec = pkt.record
        ts = rec.ts_ns / 1e9                        # pkt.ts, without the property call
        frame = rec.number
        assoc.packets += 1
        assoc.last_frame = frame
        assoc.last_ts = ts
        receiver = 1 - sender
        se, re_ = assoc.ep[sender], assoc.ep[receiver]
        src, dst = pkt.src, pkt.dst
        if src not in se._known:
            se.add_address(src)
        if dst not in re_._known:
            re_.add_address(dst)
        path = (src, dst)
        ps = assoc.paths.get(path)
        if ps is None:
            ps = assoc.paths[path] = PathStats(src, dst, frame)
        ps.packets += 1
        ps.last_frame = frame
        s0, s1 = assoc.ep[0].state, assoc.ep[1].state
        info = {"assoc_index": assoc.index, "sender": sender + 1, "path": path,
                "state_before": {"ep1": s0, "ep2": s1}, "transitions": []}
        pkt.analysis = info
        opts = self.options
        if opts.annotate:
            pkt.assoc_index = assoc.index
            pkt.add_sctp_field(Field("sctp.assoc_index", assoc.index, pkt.sctp_offset, 0),
                               after_vtag=True)
        if opts.relative_tsn:
            self._relative_tsns(assoc, sender, chunks)
        counts = assoc.chunk_counts[sender]
        handlers = HANDLERS
        steps = _STEPS
        names = _COUNT_NAMES
        for k, c in enumerate(chunks):
            ctype = c.type
            name = names.get(ctype)
            if name is None:
                name = names[ctype] = _NAMES.get(ctype) or chunk_name(ctype)
            counts[name] += 1
            h = handlers.get(ctype)
            if h is not None:
                h(self, pkt, assoc, sender, c, k, ps, info)
            # both endpoints' state machines; most chunks change nothing (one dict hit)
            key = (se.state, re_.state, ctype)
            changes = steps.get(key)
            if changes is None:
                changes = steps[key] = _step_changes(*key)
            if changes:
                self._apply(assoc, sender, "send", ctype, frame, ts, info)
                self._apply(assoc, receiver, "recv", ctype, frame, ts, info)
        a0, a1 = assoc.ep[0].state, assoc.ep[1].state
        info["state_after"] = {"ep1": a0, "ep2": a1}
        if not assoc.ended and a0 == CLOSED and a1 == CLOSED:
            self._end(assoc, frame, "ABORT" if any(c.type == ABORT for c in chunks) else "SHUTDOWN")
        if opts.keep_packets:
            self.packets.append((frame, info))
        return info

    def _relative_tsns(self, assoc, sender, chunks) -> None:
        """tshark's relative TSNs: TSN minus the first TSN seen in DATA of its
        direction (for a normal association, the Initial TSN of RFC 9260 5.1),
        shown beside the absolute ``*_raw`` fields."""
        for c in chunks:
            t = c.type
            v = c.v
            if v is None:
                continue
            if t == DATA or t == I_DATA:
                d = assoc.dirs[sender]
                if d.first_tsn is None:
                    d.first_tsn = v[0]
                set_relative(c, d.first_tsn)
            elif t == SACK:
                # tshark: a SACK for a direction whose first TSN is not known yet
                # is numbered from 0 (shown as the absolute value)
                set_relative(c, assoc.dirs[1 - sender].first_tsn or 0)

    # ------------------------------------------------------------------ association lookup
    def _associate(self, pkt: Packet, first: Chunk | None):
        sport, dport, vtag = pkt.sport, pkt.dport, pkt.vtag
        ctype = first.type if first is not None else -1
        if ctype == INIT:
            return self._on_init(pkt, first)
        if (ctype == ABORT or ctype == SHUTDOWN_COMPLETE) and first.flags & 1:
            # T bit: the vtag is the sender's own tag (8.5.1 B, C)
            hit = self._tags.get((sport, dport, vtag))
            if hit is not None:
                return hit[0], hit[1]
            return self._half(pkt, owner_is_sender=True)
        hit = self._tags.get((dport, sport, vtag))
        if hit is not None:
            assoc, owner = hit
            if ctype == INIT_ACK:
                self._learn_initack(assoc, 1 - owner, first)
            return assoc, 1 - owner
        if ctype == INIT_ACK:
            # INIT not captured: the INIT ACK gives both tags (5.1 B)
            assoc = self._new(pkt, inferred=True, sender_state=CLOSED, receiver_state=COOKIE_WAIT)
            self._register(assoc, 1, vtag)
            self._learn_initack(assoc, 0, first)
            return assoc, 0
        if vtag == 0:
            return self._half(pkt, owner_is_sender=False, register=False)
        return self._half(pkt, owner_is_sender=False)

    def _learn_initack(self, assoc, side, chunk):
        v = chunk.v
        if v is not None:
            self._register(assoc, side, v[0])

    def _on_init(self, pkt: Packet, chunk: Chunk):
        sport, dport, src = pkt.sport, pkt.dport, pkt.src
        v = chunk.v
        tag = v[0] if v is not None else None
        announced = _addresses(v[5]) if v is not None else []
        for assoc in reversed(self._by_ports.get(_pkey(sport, dport), ())):
            side = assoc.side_of(src, sport)
            if side is None:
                for a in announced:
                    side = assoc.side_of(a, sport)
                    if side is not None:
                        break
            if side is None or assoc.ep[1 - side].port != dport:
                continue
            if assoc.ended:
                break
            x, y = assoc.ep[side], assoc.ep[1 - side]
            if x.state == COOKIE_WAIT or (tag is not None and x.vtag == tag):
                return assoc, side                               # INIT retransmission (6.3.3)
            if x.state == CLOSED and y.state in (COOKIE_WAIT, COOKIE_ECHOED):
                assoc.collision_frame = pkt.number              # INIT collision (5.2.1)
                if tag is not None:
                    self._register(assoc, side, tag)
                return assoc, side
            # an endpoint of a live association sends a new INIT: restart (5.2.2, 5.2.4 A)
            new = self._new(pkt, inferred=False, sender_state=CLOSED, receiver_state=y.state)
            self._end(assoc, pkt.number, "restart")
            assoc.restarted_in = new.index
            new.restart_of = assoc.index
            if tag is not None:
                self._register(new, 0, tag)
            return new, 0
        assoc = self._new(pkt, inferred=False, sender_state=CLOSED, receiver_state=CLOSED)
        if tag is not None:
            self._register(assoc, 0, tag)
        return assoc, 0

    def _half(self, pkt: Packet, owner_is_sender: bool, register: bool = True):
        """No (ports, vtag) match: join an association whose tag for that side is unknown."""
        sport, dport, src, dst, vtag = pkt.sport, pkt.dport, pkt.src, pkt.dst, pkt.vtag
        for assoc in reversed(self._by_ports.get(_pkey(sport, dport), ())):
            if assoc.ended:
                continue
            s = assoc.side_of(src, sport)
            r = assoc.side_of(dst, dport)
            if s is None and r is not None:
                s = 1 - r
            elif r is None and s is not None:
                r = 1 - s
            if s is None or s == r or assoc.ep[s].port != sport or assoc.ep[r].port != dport:
                continue
            owner = s if owner_is_sender else r
            if assoc.ep[owner].vtag is None:
                if register:
                    self._register(assoc, owner, vtag)
                return assoc, s
        assoc = self._new(pkt, inferred=True, sender_state=ESTABLISHED, receiver_state=ESTABLISHED)
        if register:
            self._register(assoc, 0 if owner_is_sender else 1, vtag)
        return assoc, 0

    def _register(self, assoc: Association, side: int, tag: int) -> None:
        ep = assoc.ep[side]
        ep.vtag = tag
        self._tags[(ep.port, assoc.ep[1 - side].port, tag)] = (assoc, side)

    def _new(self, pkt, inferred, sender_state, receiver_state) -> Association:
        index = len(self.associations)
        opts = self.options
        if index >= opts.max_association_records:
            raise _RecordsFull
        a = Association(index, Endpoint(1, pkt.sport, sender_state),
                        Endpoint(2, pkt.dport, receiver_state), pkt.number, pkt.ts, inferred,
                        opts.max_tsns, opts.tsn_history)
        a.ep[0].add_address(pkt.src)
        a.ep[1].add_address(pkt.dst)
        self.associations.append(a)
        self._by_ports.setdefault(_pkey(pkt.sport, pkt.dport), []).append(a)
        self._live[index] = a
        self._mru = index
        if len(self._live) > opts.max_associations:
            self._evict()
        return a

    def _evict(self) -> None:
        """Drop the least recently active association's live state (its summary stays)."""
        _, old = self._live.popitem(last=False)
        if old.index == self._mru:
            self._mru = None
        self.evicted["associations"] += 1
        pk = _pkey(old.ep[0].port, old.ep[1].port)
        lst = self._by_ports.get(pk)
        if lst is not None and old in lst:
            lst.remove(old)
            if not lst:
                del self._by_ports[pk]     # else a flood of port pairs leaks empty lists
        for side in (0, 1):
            ep = old.ep[side]
            if ep.vtag is not None:
                key = (ep.port, old.ep[1 - side].port, ep.vtag)
                hit = self._tags.get(key)
                if hit is not None and hit[0] is old:
                    del self._tags[key]
        old.release()

    def _end(self, assoc: Association, frame: int, reason: str) -> None:
        assoc.ended = True
        assoc.end_reason = reason
        assoc.end_frame = frame
        # an ended association keeps only a short TSN history (memory flat in the
        # number of associations a long capture goes through)
        for d in assoc.dirs:
            if d.log is not None:
                d.log.retire(ENDED_TSN_HISTORY)

    # ------------------------------------------------------------------ states
    def _apply(self, assoc: Association, side: int, direction: str, ctype: int, frame: int,
               ts: float, info: dict) -> None:
        ep = assoc.ep[side]
        t = _transition(ep.state, direction, ctype)
        if t is None:
            if direction == "recv" or ctype not in _NAMES:
                return
            # a chunk the table has no entry for (e.g. capture started mid-handshake)
            rec = {"frame": frame, "endpoint": ep.number, "event": f"{direction} {_NAMES[ctype]}",
                   "from": ep.state, "to": ep.state, "rfc": None, "unexpected": True,
                   "text": "no RFC 9260 transition for this chunk in this state"}
            info["transitions"].append(rec)
            return
        if t.next == ep.state:
            return
        rec = {"frame": frame, "time": ts, "endpoint": ep.number,
               "event": f"{direction} {chunk_name(ctype)}",
               "from": ep.state, "to": t.next, "rfc": f"RFC 9260 {t.section}"
               if not t.section.startswith("RFC") else t.section, "text": t.text}
        ep.state = t.next
        info["transitions"].append(rec)
        if len(assoc.transitions) < self.options.max_events:
            assoc.transitions.append(rec)
        else:
            assoc.events_dropped += 1

    # ------------------------------------------------------------------ chunk handlers
    # Each is ``handler(self, pkt, assoc, sender, chunk, index in packet, path stats, info)``
    # and reads the chunk's compact values ``chunk.v`` (see CHUNK_TYPES' names).

    def _init_params(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        v = chunk.v
        if v is None:
            return
        ep = assoc.ep[sender]
        _itag, cred, os_, mis, itsn, params = v
        ep.os = os_
        ep.mis = mis
        ep.initial_tsn = itsn
        ep.a_rwnd = cred
        # 5.1.2: with no address parameters the source address is the only one
        for a in _addresses(params):
            ep.add_address(a, announced=True)
        ep.add_address(pkt.src, announced=True)

    def _asconf(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        v = chunk.v
        if v is None:
            return
        ep = assoc.ep[sender]
        for ptype, value in v[1]:
            if ptype in (ADD_IP, SET_PRIMARY, DELETE_IP):
                addrs = _addresses(value[1]) if value else []
                if ptype == DELETE_IP:
                    for a in addrs:
                        ep.unannounce(a)
                else:
                    for a in addrs:
                        ep.add_address(pkt.src if a in UNSPECIFIED else a, announced=True)
            elif ptype == 5 or ptype == 6:
                # the Address Parameter naming the sender (RFC 5061 3.1.1)
                if value:
                    ep.add_address(pkt.src if value in UNSPECIFIED else value)

    def _heartbeat(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        ps.heartbeats += 1
        path = (pkt.src, pkt.dst)
        v = chunk.v
        key = bytes(v[0]) if v and v[0] is not None else (path, "fifo")
        assoc.hb_pending[key] = (pkt.number, pkt.record.ts_ns, path)
        while len(assoc.hb_pending) > 64:
            del assoc.hb_pending[next(iter(assoc.hb_pending))]
            self.evicted["heartbeats"] += 1

    def _heartbeat_ack(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        v = chunk.v
        key = bytes(v[0]) if v and v[0] is not None else ((pkt.dst, pkt.src), "fifo")
        hit = assoc.hb_pending.pop(key, None)
        if hit is None:
            return
        frame, ts, path = hit
        hps = assoc.paths.get(path)
        if hps is None:
            return
        rtt = (pkt.record.ts_ns - ts) / 1e9
        hps.heartbeat_acks += 1
        hps.rtt_sum += rtt
        hps.rtt_min = rtt if hps.rtt_min is None else min(hps.rtt_min, rtt)
        hps.rtt_max = rtt if hps.rtt_max is None else max(hps.rtt_max, rtt)
        info["heartbeat_rtt"] = rtt
        info["heartbeat_frame"] = frame

    def _data(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        v = chunk.v
        if v is None:
            return
        d = assoc.dirs[sender]
        idata = chunk.type == I_DATA
        tsn = v[0]
        length = chunk.clen - (20 if idata else 16)
        if length < 0:
            length = 0
        rec = pkt.record
        frame = rec.number
        d.data_chunks += 1
        d.data_bytes += length
        ps.data_chunks += 1
        ps.data_bytes += length
        path = info["path"]
        cur = d.current_path
        if cur != path:
            if cur is not None:
                if len(assoc.path_changes) < self.options.max_events:
                    assoc.path_changes.append((frame, pkt.ts, sender + 1, cur, path))
                info["path_change"] = {"from": cur, "to": path}
            d.current_path = path
        log = d.log or d.start()
        # log.ext(tsn) and log.index(x), inline: this runs for every DATA chunk
        hi = log.hi
        if hi is None:
            x = tsn
        else:
            dx = (tsn - log.hi_raw) & MASK32
            x = hi + dx if dx < 0x80000000 else hi + dx - 0x100000000
        h = d.highest_tsn
        if h is None or ((tsn - h) & MASK32) < 0x80000000:      # tsn_le(h, tsn)
            d.highest_tsn = tsn
        i = x - log.lo + log.start
        if not (log.start <= i < len(log.frame) and log.frame[i]):
            i = -1
        if i >= 0 or (log.first is not None and log.first <= x < log.lo):
            self._retransmission(pkt, d, chunk, k, log, i, info, self.options.annotate)
            return
        if log.add(x, tsn, frame, rec.ts_ns, k) < 0:
            self.evicted["tsns"] += 1
        elif log.evicted != d.evicted_seen:
            self.evicted["tsns"] += log.evicted - d.evicted_seen
            d.evicted_seen = log.evicted
        self._stream_data(pkt, assoc, d, chunk, k, x, tsn, length, idata)

    def _retransmission(self, pkt, d, chunk, k, log, i, info, annotate) -> None:
        """A DATA/I-DATA chunk whose TSN was sent before (RFC 9260 6.3.3, 7.2.4)."""
        d.retransmissions += 1
        info["retransmissions"] = info.get("retransmissions", 0) + 1
        if i < 0:          # older than the window: retransmitted after its ack, frame unknown
            d.retransmitted_tsns += 1
            rt = info.setdefault("retransmitted", [])
            rt.append((k, chunk.v[0], None, None))
            return
        c = log.count[i]
        if c < 255:
            log.count[i] = c = c + 1
        if c == 1:
            d.retransmitted_tsns += 1
        first_frame = log.frame[i]
        delay = (pkt.record.ts_ns - log.ts[i]) / 1e9
        acked = log.acked[i]
        info.setdefault("retransmitted", []).append((k, chunk.v[0], first_frame, delay))
        if annotate:
            chunk.annotate("sctp.retransmission", first_frame)
            chunk.annotate("sctp.retransmission_time", delay)
            pkt.note(NOTE, "Sequence", "Retransmitted TSN", chunk.offset, chunk.length,
                     "RFC 9260 6.3.3", "sctp.retransmission.expert")
            if acked:
                chunk.annotate("sctp.retransmitted_after_ack", acked)
                pkt.note(WARN, "Sequence",
                         "This TSN was acked prior to this retransmission (reneged ack?).",
                         chunk.offset, chunk.length, "RFC 9260 6.2",
                         "sctp.retransmitted_after_ack.expert")
            if c > 2:
                pkt.note(WARN, "Sequence", "This TSN was retransmitted more than 2 times.",
                         chunk.offset, chunk.length, "RFC 9260 6.3.3",
                         "sctp.retransmission.more_than_twice")
        late = self.on_late
        if late is not None:
            late(first_frame, log.chunk[i], "sctp.retransmitted", pkt.record.number)
            late(first_frame, log.chunk[i], "sctp.retransmitted_count", c)

    # -- streams and reassembly
    def _stream(self, d: Direction, sid: int) -> StreamStats | None:
        st = d.streams.get(sid)
        if st is None:
            if len(d.streams) >= self.options.max_streams:
                d.evicted_streams += 1
                self.evicted["streams"] += 1
                return None
            st = d.streams[sid] = StreamStats(sid)
        return st

    def _stream_data(self, pkt, assoc, d, chunk, k, x, tsn, length, idata) -> None:
        flags = chunk.flags
        e, b, u = flags & 1, flags & 2, flags & 4
        v = chunk.v
        sid = v[1]
        if idata:
            seq = v[3]
            ppid = v[4] if b else None
            fsn = 0 if b else (v[5] or 0)
        else:
            seq = v[2]
            ppid = v[3]
            fsn = 0
        st = d.streams.get(sid)
        if st is None:
            st = self._stream(d, sid)
        frame = pkt.record.number
        if st is not None:
            st.chunks += 1
            if not st.first_frame:
                st.first_frame = frame
            st.last_frame = frame
            if b and not u:
                self._check_seq(st, seq, frame, 0xFFFFFFFF if idata else 0xFFFF)
        opts = self.options
        if b and e and self.on_message is None:  # a whole message in one chunk, nobody needs its Frag
            self._count_message(pkt, assoc, d, st, sid, seq, ppid, u, length, [frame], tsn, tsn,
                                idata)
            return
        data = _user_data(pkt, chunk, idata) if opts.keep_payload else None
        f = Frag(x, tsn, frame, sid, seq, ppid, u, b, e, length, fsn, data, chunk, chunk.offset, k,
                 pkt.record.ts_ns / 1e9)
        if b and e:                              # a whole message in one chunk
            self._complete(pkt, assoc, d, st, (f,), idata)
            return
        r = d.idata if idata else d.data
        done = r.add(f)
        if done is not None:
            self._complete(pkt, assoc, d, st, done, idata)
            return
        if len(r) > opts.max_fragments or r.bytes > opts.max_reassembly_bytes:
            while r and (len(r) > opts.max_fragments or r.bytes > opts.max_reassembly_bytes):
                self.evicted["fragments"] += r.drop_oldest()

    def _check_seq(self, st: StreamStats, seq: int, frame: int, mask: int) -> None:
        exp = st.next_seq
        if exp is not None and seq != exp:
            ahead = (seq - exp) & mask
            if ahead < (mask >> 1):              # later than expected: numbers skipped
                st.missing += ahead
                if len(st.gaps) < 100:
                    st.gaps.append((frame, exp, seq))
            else:                                # an older one arriving late
                st.reordered += 1
                return
        st.next_seq = (seq + 1) & mask

    def _count_message(self, pkt, assoc, d, st, sid, seq, ppid, u, size, frames, first_tsn,
                       last_tsn, idata) -> None:
        """A user message completed in ``pkt``: the counts, the Message record, the
        packet's analysis entry."""
        d.messages += 1
        d.message_bytes += size
        if st is not None:
            st.messages += 1
            st.bytes += size
            if u:
                st.unordered += 1
            else:
                st.ordered += 1
            if ppid is not None:
                st.ppids[ppid] += 1
        opts = self.options
        if opts.keep_messages:
            if len(self.messages) < opts.max_messages:
                self.messages.append(Message(assoc.index, d.sender, sid, seq,
                                             ppid if ppid is not None else 0, bool(u), size,
                                             frames, first_tsn, last_tsn, pkt.record.number,
                                             pkt.ts, idata))
            else:
                self.evicted["messages"] += 1
        pkt.analysis.setdefault("messages", []).append(
            {"sid": sid, "seq": seq, "ppid": ppid if ppid is not None else 0,
             "length": size, "frames": frames})

    def _complete(self, pkt, assoc, d, st, frags, idata) -> None:
        first = frags[0]
        size = 0
        for f in frags:
            size += f.length
        frame = pkt.record.number
        frames = [f.frame for f in frags]
        self._count_message(pkt, assoc, d, st, first.sid, first.seq, first.ppid, first.u, size,
                            frames, first.tsn, frags[-1].tsn, idata)
        n = len(frags)
        if n > 1:
            if self.options.annotate:
                # the tree goes on the completing packet (tshark), not on the last TSN
                last = next((f.chunk for f in reversed(frags) if f.frame == frame), None)
                if last is not None:
                    tree = Field("sctp.fragments", None, last.offset, 0,
                                 f"[{n} Message fragments ({size} bytes)]")
                    for f in frags:
                        tree.add("sctp.fragment", f.frame, f.offset, 0)
                    last.annotate(None, tree)
            late = self.on_late
            if late is not None:
                for f in frags:
                    if f.frame != frame:
                        late(f.frame, f.k, "sctp.reassembled_in", frame)
        if self.on_message is not None:
            msg = Message(assoc.index, d.sender, first.sid, first.seq,
                          first.ppid if first.ppid is not None else 0, bool(first.u), size,
                          frames, first.tsn, frags[-1].tsn, frame, pkt.ts, idata)
            for f in frags:                      # only the current packet's chunks are valid
                if f.frame != frame:
                    f.chunk = None
            self.on_message(pkt, msg, frags)

    # -- SACK / NR-SACK (6.2, RFC 9260 3.3.4; NR-SACK: draft-tuexen-tsvwg-sctp-multipath)
    def _sack(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        v = chunk.v
        if v is None:
            return
        d = assoc.dirs[1 - sender]
        nr = chunk.type == NR_SACK
        if nr:
            cum, rwnd, ngaps, _nnr, _ndups, gaps, nrgaps, dups = v
            gaps = gaps + nrgaps
        else:
            cum, rwnd, ngaps, _ndups, gaps, dups = v
        frame = pkt.record.number
        ts_ns = pkt.record.ts_ns
        d.sacks += 1
        d.cum_ack = cum
        log = d.log or d.start()
        if log.hi is None:
            log.anchor(cum)
        sack = chunk if self.options.annotate else None
        dx = (cum - log.hi_raw) & MASK32            # log.ext(cum), inline (every SACK)
        cx = log.hi + dx if dx < 0x80000000 else log.hi + dx - 0x100000000
        acked = log.ack_upto(cx)
        if acked:
            self._acked(log, acked, frame, ts_ns, sack,
                        "sctp.nr_sack_cumulative_tsn_ack" if nr else "sctp.sack_cumulative_tsn_ack_raw",
                        5000)
        d.gap_blocks += len(gaps)
        start = "sctp.nr_sack_gap_block_start" if nr else "sctp.sack_gap_block_start"
        for g, (s, e) in enumerate(gaps):
            if e < s:
                continue
            if nr and g >= ngaps:       # the NR gap blocks follow the gap blocks
                where = ("sctp.nr_sack_nr_gap_block_start", g - ngaps)
            else:
                where = (start, g)
            acked = log.ack_range(cx + s, cx + e)
            if acked:
                self._acked(log, acked, frame, ts_ns, sack, where, None)
        log.forget_below(cx)
        if dups:
            d.duplicates_count += len(dups)
            room = max(0, self.options.max_events - len(d.duplicates_reported))
            for x in dups[:room]:
                d.duplicates_reported.append((frame, x))
            info["duplicate_tsns"] = list(dups)
        d.rwnd_samples += 1
        if d.rwnd_min is None or rwnd < d.rwnd_min:
            d.rwnd_min = rwnd
        if d.rwnd_max is None or rwnd > d.rwnd_max:
            d.rwnd_max = rwnd
        if rwnd == 0:
            if d.zero_window_since is None:
                d.zero_window_since = (frame, ts_ns)
                info["zero_window"] = True
        elif d.zero_window_since is not None:
            f0, t0 = d.zero_window_since
            d.zero_window_since = None
            if len(d.zero_windows) < self.options.max_events:
                d.zero_windows.append((f0, frame, (ts_ns - t0) / 1e9))

    def _acked(self, log, xs, frame, ts_ns, sack, where, limit) -> None:
        """TSNs ``xs`` acknowledged for the first time by the SACK in ``frame``;
        with ``sack`` (annotating), ``sctp.ack`` with its frame and RTT goes
        under the SACK field ``where`` (at most ``limit`` of them)."""
        base = log.lo - log.start
        acked = log.acked
        late = self.on_late
        if late is None and sack is None:           # only the ack frames (assoc, streams)
            lo, hi = log.start, len(acked)
            for x in xs:
                i = x - base
                if lo <= i < hi:
                    acked[i] = frame
            return
        n = 0
        for x in xs:
            i = x - base
            if i < log.start or i >= len(acked):
                continue
            acked[i] = frame
            if late is not None or sack is not None:
                rtt = (ts_ns - log.ts[i]) / 1e9
                if late is not None:
                    late(log.frame[i], log.chunk[i], "sctp.acked", frame)
                    late(log.frame[i], log.chunk[i], "sctp.data_rtt", rtt)
                if sack is not None and (limit is None or n < limit):
                    f = Field("sctp.ack", x & MASK32, -1, 0)
                    f.add("sctp.ack_frame", log.frame[i], -1, 0)
                    f.add("sctp.sack_rtt", rtt, -1, 0)
                    sack.annotate(None, f, where)
            n += 1

    def _forward_tsn(self, pkt, assoc, sender, chunk, k, ps, info) -> None:
        """FORWARD TSN / I-FORWARD TSN: the sender abandons TSNs up to the new cum TSN (RFC 3758 3.5)."""
        v = chunk.v
        if v is None:
            return
        d = assoc.dirs[sender]
        new, entries = v
        log = d.log or d.start()
        if log.hi is None:
            log.anchor(new)
        x = log.ext(new)
        skipped = len(log.ack_upto(x))
        itsn = chunk.type == I_FORWARD_TSN
        gone = [] if self.on_abandon is not None else None
        if itsn:
            for sid, fl, mid in entries:
                d.idata.drop(sid, mid, fl & 1, gone)
        else:
            d.data.drop_upto(x, gone)
        if gone:
            self.on_abandon(pkt, assoc, d, gone)
        # streams skipped past: their next expected SSN moves on (RFC 3758 3.6)
        mask = 0xFFFFFFFF if itsn else 0xFFFF
        for e in entries:
            sid, seq = (e[0], e[2]) if itsn else e
            st = d.streams.get(sid)
            if st is not None:
                if st.next_seq is None or ((seq + 1 - st.next_seq) & mask) < (mask >> 1):
                    st.next_seq = (seq + 1) & mask
        if len(d.forward_tsns) < self.options.max_events:
            d.forward_tsns.append((pkt.number, new, skipped))
        info["forward_tsn"] = {"new_cum_tsn": new, "skipped": skipped}


def _user_data(pkt, chunk, idata: bool):
    """The user data bytes of a DATA/I-DATA chunk (RFC 9260 3.3.1: a 16-byte
    header, RFC 8260 2.1: 20), as far as captured; None when there are none.
    SCTP inside a reassembled IP datagram has its offsets in that buffer."""
    data = pkt.record.data
    if pkt.buffers:
        name = pkt.buffers.get("layer:sctp")
        if name is not None:
            data = pkt.buffers.get(name, data)
    start = chunk.offset + (20 if idata else 16)
    end = min(chunk.offset + chunk.clen, len(data))
    return bytes(data[start:end]) if end > start else None


def _addresses(params) -> list:
    """The IPv4/IPv6 addresses among compact parameters, in order."""
    return [v for t, v in params if (t == 5 or t == 6) and v]


def _pkey(a: int, b: int) -> tuple:
    return (a, b) if a <= b else (b, a)


# chunk type -> handler (see "chunk handlers" above); the types without one only move
# the endpoint states and the counts
HANDLERS = {
    DATA: Analyzer._data, I_DATA: Analyzer._data,
    SACK: Analyzer._sack, NR_SACK: Analyzer._sack,
    INIT: Analyzer._init_params, INIT_ACK: Analyzer._init_params,
    HEARTBEAT: Analyzer._heartbeat, HEARTBEAT_ACK: Analyzer._heartbeat_ack,
    ASCONF: Analyzer._asconf,
    FORWARD_TSN: Analyzer._forward_tsn, I_FORWARD_TSN: Analyzer._forward_tsn,
}

# chunk type -> the RFC name the counts and events use
from .states import CHUNK_NAMES as _NAMES  # noqa: E402

_COUNT_NAMES: dict = {}      # chunk type -> its name in chunk_counts, filled on first use

__all__ = ["Analyzer", "AnalysisOptions", "Association", "Endpoint", "Direction", "StreamStats",
           "Message", "PathStats", "tsn_le", "CHAT", "HANDLERS"]
