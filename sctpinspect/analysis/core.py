"""Streaming SCTP analysis: associations, endpoint states, streams, messages, TSNs.

:class:`Analyzer` consumes decoded :class:`~sctpinspect.model.Packet`s in capture
order (``feed(pkt)``), adds Wireshark-named fields to them (``sctp.assoc_index``,
``sctp.retransmission``, ``sctp.acked``, ``sctp.reassembled_in`` ...), sets
``pkt.analysis`` and keeps per-association state.  Memory is bounded by the
caps in :class:`AnalysisOptions`; whatever a cap drops is counted in
``Analyzer.evicted``.

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

from ..model import CHAT, NOTE, WARN, Chunk, Field, Packet
from . import fields as _fields  # noqa: F401  (registers the analysis fields)
from .states import (CLOSED, COOKIE_ECHOED, COOKIE_WAIT, ESTABLISHED, chunk_name, lookup)

MASK32 = 0xFFFFFFFF

# chunk types
DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT = 0, 1, 2, 3, 4, 5, 6
SHUTDOWN_COMPLETE, NR_SACK, I_DATA = 14, 16, 64
ASCONF_ACK, FORWARD_TSN, ASCONF, I_FORWARD_TSN = 128, 192, 193, 194

# ASCONF parameter types (RFC 5061 4.2)
ADD_IP, DELETE_IP, SET_PRIMARY = 0xC001, 0xC002, 0xC004

UNSPECIFIED = ("0.0.0.0", "::")


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
                 max_association_records: int = 50000, relative_tsn: bool = False):
        self.max_associations = max_associations      # live associations (LRU)
        # associations recorded in total (live + evicted summaries, ~4 KB each):
        # beyond it, packets that would start a new one are counted, not tracked
        self.max_association_records = max_association_records
        self.max_streams = max_streams                  # per direction
        self.max_tsns = max_tsns                        # TSNs remembered per direction
        self.max_fragments = max_fragments              # pending fragments per direction
        self.max_reassembly_bytes = max_reassembly_bytes  # per direction
        self.max_messages = max_messages                # Message records kept in total
        self.max_samples = max_samples                  # a_rwnd / RTT samples per direction
        self.max_events = max_events                    # transitions, gaps, path changes per assoc
        self.keep_packets = keep_packets                # keep per-packet annotations
        self.annotate = annotate                        # add fields to the packets
        # add tshark's relative TSN fields (sctp.data_tsn, sctp.sack_cumulative_tsn_ack)
        self.relative_tsn = relative_tsn


# --------------------------------------------------------------------------- model

class Endpoint:
    """One side of an association: port, addresses, Verification Tag, state."""

    __slots__ = ("port", "addresses", "announced", "deleted", "vtag", "state",
                 "os", "mis", "initial_tsn", "a_rwnd", "number")

    def __init__(self, number: int, port: int, state: str):
        self.number = number          # 1 or 2
        self.port = port
        self.addresses: list[str] = []   # every address seen or announced, first-seen order
        self.announced: list[str] = []   # addresses in INIT/INIT ACK/ASCONF Add IP
        self.deleted: list[str] = []     # ASCONF Delete IP
        self.vtag: int | None = None     # this endpoint's Initiate Tag (what the peer puts in vtag)
        self.state = state
        self.os: int | None = None       # Number of Outbound Streams it requested
        self.mis: int | None = None      # Number of Inbound Streams it allows
        self.initial_tsn: int | None = None
        self.a_rwnd: int | None = None

    def add_address(self, addr: str | None, announced: bool = False) -> None:
        if addr is None or addr in UNSPECIFIED:
            return
        if addr not in self.addresses:
            self.addresses.append(addr)
        if announced and addr not in self.announced:
            self.announced.append(addr)
        if announced and addr in self.deleted:
            self.deleted.remove(addr)

    def to_dict(self) -> dict:
        return {"endpoint": self.number, "port": self.port, "addresses": list(self.addresses),
                "announced_addresses": list(self.announced), "deleted_addresses": list(self.deleted),
                "vtag": self.vtag, "state": self.state, "os": self.os, "mis": self.mis,
                "initial_tsn": self.initial_tsn, "a_rwnd": self.a_rwnd}


class StreamStats:
    """One outbound stream of one endpoint (messages it sent on stream ``sid``)."""

    __slots__ = ("sid", "messages", "bytes", "ordered", "unordered", "ppids", "chunks",
                 "next_seq", "gaps", "missing", "reordered", "first_frame", "last_frame")

    def __init__(self, sid: int):
        self.sid = sid
        self.messages = 0
        self.bytes = 0
        self.ordered = 0
        self.unordered = 0
        self.ppids: Counter = Counter()
        self.chunks = 0
        self.next_seq: int | None = None   # next expected SSN (DATA) or MID (I-DATA), ordered only
        self.gaps: list = []               # (frame, expected, got)
        self.missing = 0                   # sequence numbers never seen
        self.reordered = 0                 # sequence numbers that arrived late
        self.first_frame = 0
        self.last_frame = 0

    def to_dict(self) -> dict:
        return {"sid": self.sid, "messages": self.messages, "bytes": self.bytes,
                "ordered": self.ordered, "unordered": self.unordered,
                "ppids": dict(sorted(self.ppids.items())), "chunks": self.chunks,
                "next_seq": self.next_seq, "missing": self.missing, "reordered": self.reordered,
                "gaps": [{"frame": f, "expected": e, "got": g} for f, e, g in self.gaps],
                "first_frame": self.first_frame, "last_frame": self.last_frame}


class Message:
    """A user message reassembled from DATA / I-DATA chunks (RFC 9260 6.9, RFC 8260)."""

    __slots__ = ("assoc", "sender", "sid", "seq", "ppid", "unordered", "length", "frames",
                 "first_tsn", "last_tsn", "frame", "ts", "idata")

    def __init__(self, assoc: int, sender: int, sid: int, seq: int, ppid: int, unordered: bool,
                 length: int, frames: list, first_tsn: int, last_tsn: int, frame: int, ts: float,
                 idata: bool):
        self.assoc = assoc
        self.sender = sender          # endpoint number 1/2 that sent it
        self.sid = sid
        self.seq = seq                # SSN (DATA) or MID (I-DATA)
        self.ppid = ppid
        self.unordered = unordered
        self.length = length
        self.frames = frames          # frames of its fragments, in TSN/FSN order
        self.first_tsn = first_tsn
        self.last_tsn = last_tsn
        self.frame = frame            # frame in which it became complete
        self.ts = ts
        self.idata = idata

    def to_dict(self) -> dict:
        return {"assoc_index": self.assoc, "sender": self.sender, "sid": self.sid,
                ("mid" if self.idata else "ssn"): self.seq, "ppid": self.ppid,
                "unordered": self.unordered, "length": self.length, "frames": list(self.frames),
                "first_tsn": self.first_tsn, "last_tsn": self.last_tsn,
                "reassembled_in": self.frame}


class _Frag:
    __slots__ = ("tsn", "frame", "chunk", "sid", "seq", "ppid", "u", "b", "e", "length", "fsn")

    def __init__(self, tsn, frame, chunk, sid, seq, ppid, u, b, e, length, fsn=0):
        self.tsn = tsn
        self.frame = frame
        self.chunk = chunk
        self.sid = sid
        self.seq = seq
        self.ppid = ppid
        self.u = u
        self.b = b
        self.e = e
        self.length = length
        self.fsn = fsn


class _Tsn:
    __slots__ = ("frame", "ts", "chunk", "count", "count_field", "acked", "path")

    def __init__(self, frame, ts, chunk, path):
        self.frame = frame
        self.ts = ts
        self.chunk = chunk
        self.count = 0
        self.count_field = None
        self.acked = 0
        self.path = path


class Direction:
    """Everything one endpoint sent: streams, TSNs, messages; and its peer's SACK view of it."""

    def __init__(self, sender: int):
        self.sender = sender                     # endpoint number 1/2
        self.streams: dict[int, StreamStats] = {}
        self.tsns: OrderedDict = OrderedDict()   # tsn -> _Tsn (first transmissions)
        self.outstanding: dict = {}              # tsn -> _Tsn not yet acked
        self.pending: dict = {}                  # DATA fragments: tsn -> _Frag
        self.ipending: dict = {}                 # I-DATA: (sid, mid, u) -> {fsn: _Frag}
        self.pending_bytes = 0
        self.data_chunks = 0                     # DATA/I-DATA chunks incl. retransmissions
        self.data_bytes = 0                      # user data bytes incl. retransmissions
        self.messages = 0
        self.message_bytes = 0
        self.retransmissions = 0
        self.retransmitted_tsns = 0
        self.duplicates_reported: list = []      # (sack frame, tsn) the peer reported as duplicate
        self.duplicates_count = 0
        self.gap_blocks = 0                      # gap ack blocks in the peer's SACKs
        self.sacks = 0
        self.cum_ack: int | None = None
        self.highest_tsn: int | None = None
        self.forward_tsns: list = []             # (frame, new cumulative TSN, TSNs skipped)
        self.rwnd: list = []                     # (frame, ts, a_rwnd advertised by the peer)
        self.zero_window_since = None            # (frame, ts)
        self.zero_windows: list = []             # (start frame, end frame or None, seconds)
        self.current_path = None
        self.first_tsn: int | None = None        # first TSN seen in DATA (relative TSN base)
        self.evicted_tsns = 0
        self.evicted_fragments = 0
        self.evicted_streams = 0

    def to_dict(self) -> dict:
        return {"sender": self.sender, "data_chunks": self.data_chunks, "data_bytes": self.data_bytes,
                "messages": self.messages, "message_bytes": self.message_bytes,
                "retransmissions": self.retransmissions,
                "retransmitted_tsns": self.retransmitted_tsns,
                "duplicates_reported": self.duplicates_count, "gap_blocks": self.gap_blocks,
                "sacks": self.sacks, "cum_ack": self.cum_ack, "highest_tsn": self.highest_tsn,
                "forward_tsns": [{"frame": f, "new_cum_tsn": t, "skipped": n}
                                 for f, t, n in self.forward_tsns],
                "zero_windows": [{"frame": s, "end_frame": e, "seconds": d}
                                 for s, e, d in self.zero_windows],
                "a_rwnd_samples": len(self.rwnd),
                "streams": [s.to_dict() for _, s in sorted(self.streams.items())]}


class PathStats:
    """One (source address, destination address) pair of a multihomed association."""

    __slots__ = ("src", "dst", "packets", "data_chunks", "data_bytes", "heartbeats",
                 "heartbeat_acks", "rtt_min", "rtt_max", "rtt_sum", "first_frame", "last_frame")

    def __init__(self, src, dst, frame):
        self.src = src
        self.dst = dst
        self.packets = 0
        self.data_chunks = 0
        self.data_bytes = 0
        self.heartbeats = 0
        self.heartbeat_acks = 0
        self.rtt_min = None
        self.rtt_max = None
        self.rtt_sum = 0.0
        self.first_frame = frame
        self.last_frame = frame

    def to_dict(self) -> dict:
        n = self.heartbeat_acks
        return {"src": self.src, "dst": self.dst, "packets": self.packets,
                "data_chunks": self.data_chunks, "data_bytes": self.data_bytes,
                "heartbeats": self.heartbeats, "heartbeat_acks": n,
                "rtt_min": self.rtt_min, "rtt_max": self.rtt_max,
                "rtt_avg": (self.rtt_sum / n) if n else None,
                "first_frame": self.first_frame, "last_frame": self.last_frame}


class Association:
    """Two endpoints, their tags, states, streams, TSN and path statistics."""

    def __init__(self, index: int, sender: Endpoint, receiver: Endpoint, frame: int, ts: float,
                 inferred: bool):
        self.index = index
        self.ep = [sender, receiver]          # endpoint 1 = sender of the first packet seen
        self.dirs = [Direction(1), Direction(2)]
        self.first_frame = frame
        self.last_frame = frame
        self.first_ts = ts
        self.last_ts = ts
        self.packets = 0
        self.inferred = inferred              # started mid-capture: states inferred
        self.ended = False
        self.end_reason: str | None = None    # "ABORT", "SHUTDOWN", "restart"
        self.end_frame = 0
        self.restarted_in: int | None = None  # index of the association that replaced it
        self.restart_of: int | None = None
        self.collision_frame = 0              # frame of the colliding INIT (5.2.1)
        self.transitions: list = []           # dicts, see Analyzer._apply
        self.paths: dict = {}                 # (src, dst) -> PathStats
        self.path_changes: list = []          # (frame, ts, sender, from (src,dst), to (src,dst))
        self.hb_pending: OrderedDict = OrderedDict()   # heartbeat info -> (frame, ts, path)
        self.chunk_counts = [Counter(), Counter()]     # per sender: chunk name -> count
        self.events_dropped = 0

    # -- helpers --------------------------------------------------------
    def side_of(self, addr: str, port: int) -> int | None:
        """Index (0/1) of the endpoint owning ``addr``:``port``, None if neither does."""
        e0, e1 = self.ep
        if e0.port != e1.port:
            if port == e0.port and (addr in e0.addresses):
                return 0
            if port == e1.port and (addr in e1.addresses):
                return 1
            return None
        if addr in e0.addresses:
            return 0
        if addr in e1.addresses:
            return 1
        return None

    @property
    def state(self) -> tuple:
        return (self.ep[0].state, self.ep[1].state)

    def streams_negotiated(self, side: int) -> int | None:
        """Outbound streams usable by endpoint ``side``: min(its OS, the peer's MIS) (5.1.1)."""
        a, b = self.ep[side], self.ep[1 - side]
        if a.os is None or b.mis is None:
            return None        # an INIT/INIT ACK was not captured
        return min(a.os, b.mis)

    def to_dict(self) -> dict:
        d = {"assoc_index": self.index,
             "endpoints": [e.to_dict() for e in self.ep],
             "streams_out": [self.streams_negotiated(0), self.streams_negotiated(1)],
             "first_frame": self.first_frame, "last_frame": self.last_frame,
             "first_time": self.first_ts, "last_time": self.last_ts,
             "duration": self.last_ts - self.first_ts, "packets": self.packets,
             "inferred": self.inferred, "ended": self.ended, "end_reason": self.end_reason,
             "end_frame": self.end_frame, "restarted_in": self.restarted_in,
             "restart_of": self.restart_of, "init_collision_frame": self.collision_frame or None,
             "directions": [d.to_dict() for d in self.dirs],
             "paths": [p.to_dict() for p in self.paths.values()],
             "path_changes": [{"frame": f, "time": t, "sender": s, "from": list(a), "to": list(b)}
                              for f, t, s, a, b in self.path_changes],
             "transitions": list(self.transitions),
             "chunk_counts": [dict(c) for c in self.chunk_counts]}
        return d


# ---------------------------------------------------------------------------- analyzer

def _addresses(field: Field) -> list:
    """IPv4/IPv6 address parameter values anywhere under ``field``, in order."""
    out = []
    for f in field.walk():
        if f.name == "sctp.parameter_ipv4_address" or f.name == "sctp.parameter_ipv6_address":
            out.append(str(f.value))
    return out


def _child(chunk: Field, *names):
    """First direct child Field with one of ``names`` (tries them in order)."""
    ch = chunk.children
    if not ch:
        return None
    for name in names:
        for c in ch:
            if c.name == name:
                return c
    return None


def _val(chunk: Field, *names, default=None):
    f = _child(chunk, *names)
    return default if f is None else f.value


def _gen(parent: Field, name: str, value, at: Field) -> Field:
    """Add a generated field (zero length, located at ``at``) under ``parent``."""
    return parent.add(name, value, at.offset, 0)


class _RecordsFull(Exception):
    """AnalysisOptions.max_association_records reached: no new association."""


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
        self.sctp_packets = 0
        # called as on_message(pkt, Message, [DATA/I-DATA chunk Fields in order]) for each
        # completed user message (sctpinspect.payload dissects the reassembled ones)
        self.on_message = None

    # ------------------------------------------------------------------ public
    def feed(self, pkt: Packet) -> dict | None:
        """Analyse one packet; returns (and sets) ``pkt.analysis``, None if no SCTP."""
        if pkt.sctp is None:
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
        self._live.move_to_end(assoc.index)
        ts = pkt.ts
        frame = pkt.number
        assoc.packets += 1
        assoc.last_frame = frame
        assoc.last_ts = ts
        receiver = 1 - sender
        se, re_ = assoc.ep[sender], assoc.ep[receiver]
        se.add_address(pkt.src)
        re_.add_address(pkt.dst)
        path = (pkt.src, pkt.dst)
        ps = assoc.paths.get(path)
        if ps is None:
            ps = assoc.paths[path] = PathStats(pkt.src, pkt.dst, frame)
        ps.packets += 1
        ps.last_frame = frame
        before = {"ep1": assoc.ep[0].state, "ep2": assoc.ep[1].state}
        info = {"assoc_index": assoc.index, "sender": sender + 1, "path": path,
                "state_before": before, "transitions": []}
        pkt.analysis = info
        if self.options.annotate:
            self._add_index_field(pkt, assoc.index)
        if self.options.relative_tsn:
            self._relative_tsns(assoc, sender, chunks)
        counts = assoc.chunk_counts[sender]
        for c in chunks:
            ctype = c.type
            name = chunk_name(ctype)
            counts[name] += 1
            if ctype == DATA or ctype == I_DATA:
                self._data(pkt, assoc, sender, c, ps, info)
            elif ctype == SACK or ctype == NR_SACK:
                self._sack(pkt, assoc, receiver, c)
            elif ctype == INIT or ctype == INIT_ACK:
                self._init_params(pkt, assoc, sender, c)
            elif ctype == HEARTBEAT:
                self._heartbeat(pkt, assoc, c, path, ps)
            elif ctype == HEARTBEAT_ACK:
                self._heartbeat_ack(pkt, assoc, c)
            elif ctype == ASCONF:
                self._asconf(pkt, assoc, sender, c)
            elif ctype == FORWARD_TSN or ctype == I_FORWARD_TSN:
                self._forward_tsn(pkt, assoc, sender, c)
            self._apply(assoc, sender, "send", name, frame, ts, info)
            self._apply(assoc, receiver, "recv", name, frame, ts, info)
        after = {"ep1": assoc.ep[0].state, "ep2": assoc.ep[1].state}
        info["state_after"] = after
        if not assoc.ended and assoc.ep[0].state == CLOSED and assoc.ep[1].state == CLOSED:
            self._end(assoc, frame, "ABORT" if any(c.type == ABORT for c in chunks) else "SHUTDOWN")
        if self.options.keep_packets:
            self.packets.append((frame, info))
        return info

    def _relative_tsns(self, assoc, sender, chunks) -> None:
        """tshark's relative TSNs: TSN minus the first TSN seen in DATA of its
        direction (for a normal association, the Initial TSN of RFC 9260 5.1),
        added beside the absolute ``*_raw`` fields."""
        for c in chunks:
            t = c.type
            if t == DATA or t == I_DATA:
                d = assoc.dirs[sender]
                raw = _child(c, "sctp.data_tsn_raw")
                if raw is None:
                    continue
                if d.first_tsn is None:
                    d.first_tsn = raw.value
                ch = c.children
                ch.insert(ch.index(raw), Field("sctp.data_tsn", (raw.value - d.first_tsn) & MASK32,
                                               raw.offset, raw.length))
            elif t == SACK:
                d = assoc.dirs[1 - sender]
                raw = _child(c, "sctp.sack_cumulative_tsn_ack_raw")
                if raw is None:
                    continue
                # tshark: a SACK for a direction whose first TSN is not known yet
                # is numbered from 0 (shown as the absolute value)
                base = d.first_tsn or 0
                ch = c.children
                ch.insert(ch.index(raw), Field("sctp.sack_cumulative_tsn_ack",
                                               (raw.value - base) & MASK32, raw.offset, raw.length))
                for f in c.walk():
                    if f.name in ("sctp.sack_gap_block_start_tsn", "sctp.sack_gap_block_end_tsn"):
                        f.value = (f.value - base) & MASK32

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
                self._learn_initack(assoc, 1 - owner, pkt, first)
            return assoc, 1 - owner
        if ctype == INIT_ACK:
            # INIT not captured: the INIT ACK gives both tags (5.1 B)
            assoc = self._new(pkt, inferred=True, sender_state=CLOSED, receiver_state=COOKIE_WAIT)
            self._register(assoc, 1, vtag)
            self._learn_initack(assoc, 0, pkt, first)
            return assoc, 0
        if vtag == 0:
            return self._half(pkt, owner_is_sender=False, register=False)
        return self._half(pkt, owner_is_sender=False)

    def _learn_initack(self, assoc, side, pkt, chunk):
        tag = _val(chunk, "sctp.initack_initiate_tag")
        if tag is not None:
            self._register(assoc, side, tag)

    def _on_init(self, pkt: Packet, chunk: Chunk):
        sport, dport, src, dst = pkt.sport, pkt.dport, pkt.src, pkt.dst
        tag = _val(chunk, "sctp.init_initiate_tag")
        announced = _addresses(chunk)
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
        if index >= self.options.max_association_records:
            raise _RecordsFull
        a = Association(index, Endpoint(1, pkt.sport, sender_state),
                        Endpoint(2, pkt.dport, receiver_state), pkt.number, pkt.ts, inferred)
        a.ep[0].add_address(pkt.src)
        a.ep[1].add_address(pkt.dst)
        self.associations.append(a)
        self._by_ports.setdefault(_pkey(pkt.sport, pkt.dport), []).append(a)
        self._live[index] = a
        if len(self._live) > self.options.max_associations:
            self._evict()
        return a

    def _evict(self) -> None:
        """Drop the least recently active association's live state (its summary stays)."""
        _, old = self._live.popitem(last=False)
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
        for d in old.dirs:       # heavy per-direction state
            d.tsns.clear()
            d.outstanding.clear()
            d.pending.clear()
            d.ipending.clear()
        old.hb_pending.clear()

    def _end(self, assoc: Association, frame: int, reason: str) -> None:
        assoc.ended = True
        assoc.end_reason = reason
        assoc.end_frame = frame

    # ------------------------------------------------------------------ states
    def _apply(self, assoc: Association, side: int, direction: str, chunk: str, frame: int,
               ts: float, info: dict) -> None:
        ep = assoc.ep[side]
        t = lookup(ep.state, direction, chunk)
        if t is None:
            if direction == "recv" or chunk.startswith("chunk type"):
                return
            # a chunk the table has no entry for (e.g. capture started mid-handshake)
            rec = {"frame": frame, "endpoint": ep.number, "event": f"{direction} {chunk}",
                   "from": ep.state, "to": ep.state, "rfc": None, "unexpected": True,
                   "text": "no RFC 9260 transition for this chunk in this state"}
            info["transitions"].append(rec)
            return
        if t.next == ep.state:
            return
        rec = {"frame": frame, "time": ts, "endpoint": ep.number, "event": f"{direction} {chunk}",
               "from": ep.state, "to": t.next, "rfc": f"RFC 9260 {t.section}"
               if not t.section.startswith("RFC") else t.section, "text": t.text}
        ep.state = t.next
        info["transitions"].append(rec)
        if len(assoc.transitions) < self.options.max_events:
            assoc.transitions.append(rec)
        else:
            assoc.events_dropped += 1

    # ------------------------------------------------------------------ chunk handlers
    def _add_index_field(self, pkt: Packet, index: int) -> None:
        layer = pkt.sctp
        f = Field("sctp.assoc_index", index, layer.offset, 0)
        ch = layer.children
        if ch is None:
            layer.children = [f]
            return
        for i, c in enumerate(ch):
            if c.name == "sctp.verification_tag":   # tshark's position
                ch.insert(i + 1, f)
                return
        ch.append(f)

    def _init_params(self, pkt, assoc, sender, chunk) -> None:
        ep = assoc.ep[sender]
        ack = chunk.type == INIT_ACK
        p = "sctp.initack_" if ack else "sctp.init_"
        ep.os = _val(chunk, p + "nr_out_streams", default=ep.os)
        ep.mis = _val(chunk, p + "nr_in_streams", default=ep.mis)
        ep.initial_tsn = _val(chunk, p + "initial_tsn", default=ep.initial_tsn)
        ep.a_rwnd = _val(chunk, p + "credit", default=ep.a_rwnd)
        # 5.1.2: with no address parameters the source address is the only one
        for a in _addresses(chunk):
            ep.add_address(a, announced=True)
        ep.add_address(pkt.src, announced=True)

    def _asconf(self, pkt, assoc, sender, chunk) -> None:
        ep = assoc.ep[sender]
        for p in chunk.children or ():
            if p.name != "sctp.parameter":
                continue
            ptype = p.get("sctp.parameter_type")
            addrs = _addresses(p)
            if ptype in (ADD_IP, SET_PRIMARY):
                for a in addrs:
                    ep.add_address(pkt.src if a in UNSPECIFIED else a, announced=True)
            elif ptype == DELETE_IP:
                for a in addrs:
                    if a in ep.announced:
                        ep.announced.remove(a)
                    if a not in ep.deleted:
                        ep.deleted.append(a)
            elif addrs:   # the Address Parameter naming the sender (RFC 5061 3.1.1)
                for a in addrs:
                    ep.add_address(pkt.src if a in UNSPECIFIED else a)

    def _heartbeat(self, pkt, assoc, chunk, path, ps) -> None:
        ps.heartbeats += 1
        key = chunk.find("sctp.parameter_heartbeat_information")
        key = bytes(key.value) if key is not None and key.value is not None else (path, "fifo")
        assoc.hb_pending[key] = (pkt.number, pkt.record.ts_ns, path)
        while len(assoc.hb_pending) > 64:
            assoc.hb_pending.popitem(last=False)
            self.evicted["heartbeats"] += 1

    def _heartbeat_ack(self, pkt, assoc, chunk) -> None:
        key = chunk.find("sctp.parameter_heartbeat_information")
        key = bytes(key.value) if key is not None and key.value is not None \
            else ((pkt.dst, pkt.src), "fifo")
        hit = assoc.hb_pending.pop(key, None)
        if hit is None:
            return
        frame, ts, path = hit
        ps = assoc.paths.get(path)
        if ps is None:
            return
        rtt = (pkt.record.ts_ns - ts) / 1e9
        ps.heartbeat_acks += 1
        ps.rtt_sum += rtt
        ps.rtt_min = rtt if ps.rtt_min is None else min(ps.rtt_min, rtt)
        ps.rtt_max = rtt if ps.rtt_max is None else max(ps.rtt_max, rtt)
        pkt.analysis["heartbeat_rtt"] = rtt
        pkt.analysis["heartbeat_frame"] = frame

    def _data(self, pkt, assoc, sender, chunk, ps, info) -> None:
        d = assoc.dirs[sender]
        idata = chunk.type == I_DATA
        tsn = _val(chunk, "sctp.data_tsn_raw", "sctp.data_tsn")
        if tsn is None:
            return
        length = max(0, chunk.clen - (20 if idata else 16))
        frame, ts = pkt.number, pkt.ts
        d.data_chunks += 1
        d.data_bytes += length
        ps.data_chunks += 1
        ps.data_bytes += length
        path = (pkt.src, pkt.dst)
        if d.current_path is not None and d.current_path != path:
            if len(assoc.path_changes) < self.options.max_events:
                assoc.path_changes.append((frame, ts, sender + 1, d.current_path, path))
            info["path_change"] = {"from": d.current_path, "to": path}
        d.current_path = path
        if d.highest_tsn is None or tsn_le(d.highest_tsn, tsn):
            d.highest_tsn = tsn
        t = d.tsns.get(tsn)
        annotate = self.options.annotate
        if t is not None:                       # retransmission (6.3.3, 7.2.4)
            t.count += 1
            d.retransmissions += 1
            if t.count == 1:
                d.retransmitted_tsns += 1
            info["retransmissions"] = info.get("retransmissions", 0) + 1
            if annotate:
                _gen(chunk, "sctp.retransmission", t.frame, chunk)
                _gen(chunk, "sctp.retransmission_time", (pkt.record.ts_ns - t.ts) / 1e9, chunk)
                pkt.note(NOTE, "Sequence", "Retransmitted TSN", chunk.offset, chunk.length,
                         "RFC 9260 6.3.3", "sctp.retransmission.expert")
                if t.acked:
                    _gen(chunk, "sctp.retransmitted_after_ack", t.acked, chunk)
                    pkt.note(WARN, "Sequence",
                             "This TSN was acked prior to this retransmission (reneged ack?).",
                             chunk.offset, chunk.length, "RFC 9260 6.2",
                             "sctp.retransmitted_after_ack.expert")
                if t.count > 2:
                    pkt.note(WARN, "Sequence", "This TSN was retransmitted more than 2 times.",
                             chunk.offset, chunk.length, "RFC 9260 6.3.3",
                             "sctp.retransmission.more_than_twice")
                if t.chunk is not None:
                    _gen(t.chunk, "sctp.retransmitted", frame, t.chunk)
                    if t.count_field is None:
                        t.count_field = _gen(t.chunk, "sctp.retransmitted_count", 1, t.chunk)
                    else:
                        t.count_field.value = t.count
            return
        t = _Tsn(frame, pkt.record.ts_ns, chunk if annotate else None, path)
        d.tsns[tsn] = t
        d.outstanding[tsn] = t
        if len(d.tsns) > self.options.max_tsns:
            old_tsn, _ = d.tsns.popitem(last=False)
            d.outstanding.pop(old_tsn, None)
            d.evicted_tsns += 1
            self.evicted["tsns"] += 1
        self._stream_data(pkt, assoc, d, chunk, tsn, length, idata)

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

    def _stream_data(self, pkt, assoc, d, chunk, tsn, length, idata) -> None:
        flags = chunk.flags
        e, b, u = flags & 1, flags & 2, flags & 4
        sid = _val(chunk, "sctp.data_sid", default=0)
        if idata:
            seq = _val(chunk, "sctp.data_mid", default=0)
            ppid = _val(chunk, "sctp.data_payload_proto_id") if b else None
            fsn = 0 if b else _val(chunk, "sctp.data_fsn", default=0)
        else:
            seq = _val(chunk, "sctp.data_ssn", default=0)
            ppid = _val(chunk, "sctp.data_payload_proto_id")
            fsn = 0
        st = self._stream(d, sid)
        frame = pkt.number
        if st is not None:
            st.chunks += 1
            if not st.first_frame:
                st.first_frame = frame
            st.last_frame = frame
            if b and not u:
                self._check_seq(st, seq, frame, 0xFFFFFFFF if idata else 0xFFFF)
        if b and e:
            self._complete(pkt, assoc, d, st, [_Frag(tsn, frame, chunk, sid, seq, ppid, u, b, e,
                                                      length)], idata)
            return
        frag = _Frag(tsn, frame, chunk, sid, seq, ppid, u, b, e, length, fsn)
        d.pending_bytes += length
        opt = self.options
        if idata:
            key = (sid, seq, u)
            group = d.ipending.setdefault(key, {})
            group[fsn] = frag
            self._bound_fragments(d)
            self._try_idata(pkt, assoc, d, st, key)
        else:
            d.pending[tsn] = frag
            self._bound_fragments(d)
            self._try_data(pkt, assoc, d, st, tsn)
        del opt

    def _bound_fragments(self, d: Direction) -> None:
        opt = self.options
        while d.pending and (len(d.pending) > opt.max_fragments
                             or d.pending_bytes > opt.max_reassembly_bytes):
            _, f = next(iter(d.pending.items()))
            del d.pending[f.tsn]
            d.pending_bytes -= f.length
            d.evicted_fragments += 1
            self.evicted["fragments"] += 1
        while d.ipending and (sum(len(g) for g in d.ipending.values()) > opt.max_fragments
                              or d.pending_bytes > opt.max_reassembly_bytes):
            k = next(iter(d.ipending))
            g = d.ipending.pop(k)
            for f in g.values():
                d.pending_bytes -= f.length
            d.evicted_fragments += len(g)
            self.evicted["fragments"] += len(g)

    def _try_data(self, pkt, assoc, d, st, tsn) -> None:
        """Fragments of a DATA message are consecutive TSNs from B to E (6.9)."""
        pend = d.pending
        f = pend[tsn]
        start, cur = tsn, f
        while not cur.b:
            prev = pend.get((start - 1) & MASK32)
            if prev is None or prev.sid != f.sid or prev.u != f.u or prev.e \
                    or (not f.u and prev.seq != f.seq):
                return
            start, cur = (start - 1) & MASK32, prev
        end, cur = tsn, f
        while not cur.e:
            nxt = pend.get((end + 1) & MASK32)
            if nxt is None or nxt.sid != f.sid or nxt.u != f.u or nxt.b \
                    or (not f.u and nxt.seq != f.seq):
                return
            end, cur = (end + 1) & MASK32, nxt
        frags = []
        t = start
        while True:
            fr = pend.pop(t)
            d.pending_bytes -= fr.length
            frags.append(fr)
            if t == end:
                break
            t = (t + 1) & MASK32
        self._complete(pkt, assoc, d, st, frags, False)

    def _try_idata(self, pkt, assoc, d, st, key) -> None:
        """I-DATA fragments share (SID, MID, U) and count FSN from 0 at B (RFC 8260 2.1)."""
        group = d.ipending[key]
        if 0 not in group or not group[0].b:
            return
        last = None
        for fsn, fr in group.items():
            if fr.e:
                last = fsn
                break
        if last is None or len(group) != last + 1 or any(i not in group for i in range(last + 1)):
            return
        del d.ipending[key]
        frags = [group[i] for i in range(last + 1)]
        for fr in frags:
            d.pending_bytes -= fr.length
        self._complete(pkt, assoc, d, st, frags, True)

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

    def _complete(self, pkt, assoc, d, st, frags, idata) -> None:
        first = frags[0]
        size = sum(f.length for f in frags)
        frame = pkt.number
        d.messages += 1
        d.message_bytes += size
        if st is not None:
            st.messages += 1
            st.bytes += size
            if first.u:
                st.unordered += 1
            else:
                st.ordered += 1
            if first.ppid is not None:
                st.ppids[first.ppid] += 1
        frames = [f.frame for f in frags]
        if len(frags) > 1 and self.options.annotate:
            for f in frags:
                if f.frame != frame:
                    _gen(f.chunk, "sctp.reassembled_in", frame, f.chunk)
            last = frags[-1].chunk
            tree = _gen(last, "sctp.fragments", None, last)
            tree.show = f"[{len(frags)} Message fragments ({size} bytes)]"
            for f in frags:
                tree.add("sctp.fragment", f.frame, f.chunk.offset, 0)
        msg = Message(assoc.index, d.sender, first.sid, first.seq,
                      first.ppid if first.ppid is not None else 0, bool(first.u), size, frames,
                      first.tsn, frags[-1].tsn, frame, pkt.ts, idata)
        if len(self.messages) < self.options.max_messages:
            self.messages.append(msg)
        else:
            self.evicted["messages"] += 1
        pkt.analysis.setdefault("messages", []).append(
            {"sid": msg.sid, "seq": msg.seq, "ppid": msg.ppid, "length": size, "frames": frames})
        if self.on_message is not None:
            self.on_message(pkt, msg, [f.chunk for f in frags])

    # -- SACK / NR-SACK (6.2, RFC 9260 3.3.4; NR-SACK: draft-tuexen-tsvwg-sctp-multipath)
    def _sack(self, pkt, assoc, data_sender, chunk) -> None:
        d = assoc.dirs[data_sender]
        nr = chunk.type == NR_SACK
        pre = "sctp.nr_sack_" if nr else "sctp.sack_"
        cumf = _child(chunk, pre + "cumulative_tsn_ack_raw", pre + "cumulative_tsn_ack")
        if cumf is None:
            return
        cum = cumf.value
        frame, ts = pkt.number, pkt.ts
        d.sacks += 1
        d.cum_ack = cum
        annotate = self.options.annotate
        out = d.outstanding
        acked = 0
        while out:
            tsn = next(iter(out))
            if not tsn_le(tsn, cum):
                break
            t = out.pop(tsn)
            self._ack(tsn, t, frame, pkt.record.ts_ns, cumf if acked < 5000 and annotate else None)
            acked += 1
        gs, ge, gd = pre + "gap_block_start", pre + "gap_block_end", pre + "duplicate_tsn"
        starts, ends, dups = [], [], []
        for f in chunk.walk():      # gap blocks sit in sctp.sack_gap_block subtrees
            n = f.name
            if n == gs:
                starts.append(f)
            elif n == ge:
                ends.append(f.value)
            elif n == gd:
                dups.append(f.value)
        d.gap_blocks += len(starts)
        for sf, end in zip(starts, ends):
            s = sf.value
            if end < s or end - s > 5000:
                continue
            for off in range(s, end + 1):
                tsn = (cum + off) & MASK32
                t = out.pop(tsn, None)
                if t is not None:
                    self._ack(tsn, t, frame, pkt.record.ts_ns, sf if annotate else None)
        if dups:
            d.duplicates_count += len(dups)
            for x in dups:
                if len(d.duplicates_reported) < self.options.max_events:
                    d.duplicates_reported.append((frame, x))
            pkt.analysis["duplicate_tsns"] = dups
        rwnd = _val(chunk, pre + "a_rwnd")
        if rwnd is not None:
            if len(d.rwnd) < self.options.max_samples:
                d.rwnd.append((frame, ts, rwnd))
            else:
                self.evicted["rwnd_samples"] += 1
            if rwnd == 0:
                if d.zero_window_since is None:
                    d.zero_window_since = (frame, pkt.record.ts_ns)
                    pkt.analysis["zero_window"] = True
            elif d.zero_window_since is not None:
                f0, t0 = d.zero_window_since
                d.zero_window_since = None
                if len(d.zero_windows) < self.options.max_events:
                    d.zero_windows.append((f0, frame, (pkt.record.ts_ns - t0) / 1e9))

    def _ack(self, tsn, t: _Tsn, frame, ts, under: Field | None) -> None:
        t.acked = frame
        chunk, t.chunk = t.chunk, None   # release the Packet tree: bounded live objects
        if under is None or chunk is None:
            return
        t.chunk = None
        _gen(chunk, "sctp.acked", frame, chunk)
        _gen(chunk, "sctp.data_rtt", (ts - t.ts) / 1e9, chunk)
        a = _gen(under, "sctp.ack", tsn, under)
        _gen(a, "sctp.ack_frame", t.frame, under)
        _gen(a, "sctp.sack_rtt", (ts - t.ts) / 1e9, under)

    def _forward_tsn(self, pkt, assoc, sender, chunk) -> None:
        """FORWARD TSN / I-FORWARD TSN: the sender abandons TSNs up to the new cum TSN (RFC 3758 3.5)."""
        d = assoc.dirs[sender]
        new = _val(chunk, "sctp.forward_tsn_tsn", "sctp.i_forward_tsn_tsn")
        if new is None:
            return
        skipped = 0
        out = d.outstanding
        for tsn in [x for x in out if tsn_le(x, new)]:
            del out[tsn]
            skipped += 1
        for tsn in [x for x in d.pending if tsn_le(x, new)]:
            d.pending_bytes -= d.pending.pop(tsn).length
        # streams skipped past: their next expected SSN moves on (RFC 3758 3.6)
        sids = [f.value for f in chunk.children if f.name in ("sctp.forward_tsn_sid", "sctp.i_forward_tsn_sid")]
        seqs = [f.value for f in chunk.children if f.name in ("sctp.forward_tsn_ssn", "sctp.forward_tsn_mid")]
        for sid, seq in zip(sids, seqs):
            st = d.streams.get(sid)
            if st is not None:
                mask = 0xFFFFFFFF if chunk.type == I_FORWARD_TSN else 0xFFFF
                if st.next_seq is None or ((seq + 1 - st.next_seq) & mask) < (mask >> 1):
                    st.next_seq = (seq + 1) & mask
        if len(d.forward_tsns) < self.options.max_events:
            d.forward_tsns.append((pkt.number, new, skipped))
        pkt.analysis["forward_tsn"] = {"new_cum_tsn": new, "skipped": skipped}


def _pkey(a: int, b: int) -> tuple:
    return (a, b) if a <= b else (b, a)


__all__ = ["Analyzer", "AnalysisOptions", "Association", "Endpoint", "Direction", "StreamStats",
           "Message", "PathStats", "tsn_le", "CHAT"]
