"""The analysis' data model: associations, endpoints, directions, streams, paths, messages.

What :class:`~sctpinspect.analysis.core.Analyzer` keeps per association, with
``to_dict()`` views for ``assoc --json`` and ``streams --json``.  Everything
here is bounded: addresses per endpoint (MAX_ADDRESSES), streams per
direction, TSN windows (analysis/tsn.py), pending fragments
(analysis/reassembly.py), events per association; what a cap drops is
counted.
"""
from __future__ import annotations

from collections import Counter

from .reassembly import DataReassembly, IDataReassembly
from .tsn import TsnLog

UNSPECIFIED = ("0.0.0.0", "::")
MAX_ADDRESSES = 1024     # addresses remembered per endpoint (an INIT may announce thousands)


_SHORT = 8     # address lists up to this length are searched, not hashed


class Endpoint:
    """One side of an association: port, addresses, Verification Tag, state."""

    __slots__ = ("port", "addresses", "announced", "deleted", "vtag", "state",
                 "os", "mis", "initial_tsn", "a_rwnd", "number", "_known", "_announced",
                 "dropped_addresses")

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
        # membership of ``addresses``/``announced``: the list itself while short,
        # a set once it grows (an INIT may list thousands; an INIT flood has
        # hundreds of thousands of endpoints of one address each)
        self._known = self.addresses
        self._announced = self.announced
        self.dropped_addresses = 0       # beyond MAX_ADDRESSES

    def add_address(self, addr: str | None, announced: bool = False) -> None:
        if addr is None or addr in UNSPECIFIED:
            return
        known = self._known
        if addr not in known:
            addresses = self.addresses
            if len(addresses) >= MAX_ADDRESSES:
                self.dropped_addresses += 1
                return
            addresses.append(addr)
            if known is not addresses:
                known.add(addr)
            elif len(addresses) > _SHORT:
                self._known = set(addresses)
        if announced:
            if addr not in self._announced:
                ann = self.announced
                ann.append(addr)
                if self._announced is not ann:
                    self._announced.add(addr)
                elif len(ann) > _SHORT:
                    self._announced = set(ann)
            if self.deleted and addr in self.deleted:
                self.deleted.remove(addr)

    def owns(self, addr: str) -> bool:
        return addr in self._known

    def unannounce(self, addr: str) -> None:
        """ASCONF Delete IP (RFC 5061 4.2.2)."""
        if addr in self._announced:
            if self._announced is not self.announced:
                self._announced.discard(addr)
            self.announced.remove(addr)
        if addr not in self.deleted:
            self.deleted.append(addr)

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


class Direction:
    """Everything one endpoint sent: streams, TSNs, messages; and its peer's SACK view of it.

    The TSN window and the reassembly state exist only once the direction
    carries DATA, a SACK or a FORWARD TSN (:meth:`start`): an INIT flood's
    associations never pay for them.
    """

    __slots__ = ("sender", "streams", "log", "data", "idata", "max_tsns", "history",
                 "data_chunks", "data_bytes", "messages", "message_bytes", "retransmissions",
                 "retransmitted_tsns", "duplicates_reported", "duplicates_count", "gap_blocks",
                 "sacks", "cum_ack", "highest_tsn", "forward_tsns", "rwnd_samples", "rwnd_min",
                 "rwnd_max", "zero_window_since", "zero_windows", "current_path", "first_tsn",
                 "evicted_streams", "evicted_seen")

    def __init__(self, sender: int, max_tsns: int = 65536, history: int = 16384):
        self.sender = sender                     # endpoint number 1/2
        self.streams: dict[int, StreamStats] = {}
        self.max_tsns = max_tsns
        self.history = history
        self.log: TsnLog | None = None           # the TSN window (analysis/tsn.py), see start()
        self.data: DataReassembly | None = None  # pending DATA fragments
        self.idata: IDataReassembly | None = None  # pending I-DATA fragments
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
        self.rwnd_samples = 0                    # a_rwnd values advertised by the peer
        self.rwnd_min: int | None = None
        self.rwnd_max: int | None = None
        self.zero_window_since = None            # (frame, ts)
        self.zero_windows: list = []             # (start frame, end frame or None, seconds)
        self.current_path = None
        self.first_tsn: int | None = None        # first TSN seen in DATA (relative TSN base)
        self.evicted_streams = 0
        self.evicted_seen = 0                    # log.evicted already counted by the analyzer

    def start(self) -> TsnLog:
        """The TSN window, made with the reassembly state on first use."""
        log = self.log
        if log is None:
            log = self.log = TsnLog(self.max_tsns, self.history)
            self.data = DataReassembly()
            self.idata = IDataReassembly()
        return log

    def stop(self) -> None:
        """Drop the TSN window and pending fragments (an evicted association);
        what they counted stays."""
        self.log = self.data = self.idata = None

    @property
    def pending_bytes(self) -> int:
        return 0 if self.data is None else self.data.bytes + self.idata.bytes

    @property
    def evicted_tsns(self) -> int:
        return 0 if self.log is None else self.log.evicted

    @property
    def evicted_fragments(self) -> int:
        return 0 if self.data is None else self.data.evicted + self.idata.evicted

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
                "a_rwnd_samples": self.rwnd_samples,
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

    __slots__ = ("index", "ep", "dirs", "first_frame", "last_frame", "first_ts", "last_ts",
                 "packets", "inferred", "ended", "end_reason", "end_frame", "restarted_in",
                 "restart_of", "collision_frame", "transitions", "paths", "path_changes",
                 "hb_pending", "chunk_counts", "events_dropped")

    def __init__(self, index: int, sender: Endpoint, receiver: Endpoint, frame: int, ts: float,
                 inferred: bool, max_tsns: int = 65536, history: int = 16384):
        self.index = index
        self.ep = [sender, receiver]          # endpoint 1 = sender of the first packet seen
        self.dirs = [Direction(1, max_tsns, history), Direction(2, max_tsns, history)]
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
        self.hb_pending: dict = {}            # heartbeat info -> (frame, ts, path), oldest first
        self.chunk_counts = [Counter(), Counter()]     # per sender: chunk name -> count
        self.events_dropped = 0

    # -- helpers --------------------------------------------------------
    def side_of(self, addr: str, port: int) -> int | None:
        """Index (0/1) of the endpoint owning ``addr``:``port``, None if neither does."""
        e0, e1 = self.ep
        if e0.port != e1.port:
            if port == e0.port and addr in e0._known:
                return 0
            if port == e1.port and addr in e1._known:
                return 1
            return None
        if addr in e0._known:
            return 0
        if addr in e1._known:
            return 1
        return None

    def release(self) -> None:
        """Drop the heavy live state (TSN windows, pending fragments, heartbeats) of
        an association evicted by the cap on live associations; its summary stays."""
        for d in self.dirs:
            d.stop()
        self.hb_pending.clear()

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


