"""User messages in the order a receiver would deliver them (``sctpinspect messages``).

:class:`MessageCollector` sits on the one :class:`~.core.Analyzer`: it takes
the messages the reassembly completes (``Analyzer.on_message``), the pending
fragments a FORWARD TSN / I-FORWARD TSN abandons (``Analyzer.on_abandon``,
RFC 3758 3.5, RFC 8260 3.3) and, at the end, the fragments still pending
(messages incomplete at the end of the capture).  Each becomes a
:class:`MessageRow` holding only the message's facts (no payload unless
``keep_payload``), which is handed to ``emit`` in delivery order per stream:

* unordered messages (U bit) are delivered when complete (RFC 9260 6.6);
* ordered ones by SSN (DATA) or MID (I-DATA): a message ahead of the next
  expected number waits in a per-stream buffer until the numbers before it
  arrive, are abandoned (a FORWARD TSN moves the stream on, RFC 3758 3.6), or
  the capture ends / the buffer is full; then the lowest waiting one is
  delivered with status ``gap`` (numbers before it were never seen).

Rows are emitted as soon as they are in order, so memory is the reorder
buffers (at most ``max_waiting`` rows per stream; the cap that forces a
``gap`` is counted in ``evicted["messages_waiting"]``), not the capture.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

FORWARD_TSN, I_FORWARD_TSN = 192, 194

COMPLETE, INCOMPLETE, ABANDONED, GAP = "complete", "incomplete", "abandoned", "gap"


class MessageRow:
    """The facts of one user message (RFC 9260 6.9 / RFC 8260 2.1)."""

    __slots__ = ("assoc", "side", "sender", "sid", "seq", "idata", "ppid", "unordered", "size",
                 "tsn_first", "tsn_last", "frames", "fragments", "first_time", "last_time",
                 "status", "frame", "shown", "data")

    def to_dict(self) -> dict:
        from ..decode.sctp.names import PPIDS
        return {"assoc": self.assoc, "sender": self.sender, "sid": self.sid,
                "ssn": None if self.idata else self.seq, "mid": self.seq if self.idata else None,
                "ppid": self.ppid, "ppid_name": PPIDS.get(self.ppid) if self.ppid is not None
                else None,
                "unordered": self.unordered, "size": self.size, "tsn_first": self.tsn_first,
                "tsn_last": self.tsn_last, "fragments": self.fragments, "frames": self.frames,
                "status": self.status, "first_time": self.first_time, "last_time": self.last_time}


def _row(assoc, side: int, frags, status: str, idata: bool, keep_payload: bool) -> MessageRow:
    first = frags[0]
    r = MessageRow()
    r.assoc = assoc.index
    r.side = side
    ep = assoc.ep[side]
    addr = ep.addresses[0] if ep.addresses else "?"
    r.sender = f"[{addr}]:{ep.port}" if ":" in addr else f"{addr}:{ep.port}"
    r.sid = first.sid
    r.seq = first.seq
    r.idata = idata
    # I-DATA: only the B fragment carries the PPID (RFC 8260 2.1)
    r.ppid = first.ppid
    r.unordered = bool(first.u)
    size = 0
    frames = []
    t0 = t1 = None
    for f in frags:
        size += f.length
        if not frames or frames[-1] != f.frame:
            frames.append(f.frame)
        if f.ts is not None:
            if t0 is None or f.ts < t0:
                t0 = f.ts
            if t1 is None or f.ts > t1:
                t1 = f.ts
    r.size = size
    r.tsn_first = first.tsn
    r.tsn_last = frags[-1].tsn
    r.frames = frames
    r.fragments = len(frags)
    r.first_time = t0
    r.last_time = t1
    r.status = status
    r.frame = None
    r.shown = True
    r.data = None
    if keep_payload and status == COMPLETE:
        parts = [f.data for f in frags]
        if all(p is not None for p in parts):     # else a truncated capture: no bytes
            r.data = b"".join(parts)
    return r


class _Stream:
    __slots__ = ("expected", "waiting", "mask")

    def __init__(self, mask: int):
        self.expected = None        # next SSN/MID the receiver delivers
        self.waiting: dict = {}     # SSN/MID -> MessageRow, ahead of ``expected``
        self.mask = mask


class MessageCollector:
    """Feed it packets (``feed``) instead of the analyzer; call ``finish()`` at the end.

    ``emit(row)`` receives each :class:`MessageRow` in delivery order per stream
    (rows of different streams interleave in the order they become
    deliverable).  ``predicate(pkt)`` (a ``-Y`` filter) is evaluated on the
    frame that completes a message (tshark's "reassembled in" frame) or
    abandons it; ``row.shown`` says whether it matched.  Messages incomplete at
    the end have no such frame: they are shown only when there is no filter.
    ``keep``: ``(assoc index, sid) -> bool``, which messages to keep at all.
    """

    def __init__(self, analyzer, emit: Callable[[MessageRow], object],
                 predicate: Callable | None = None, keep: Callable | None = None,
                 keep_payload: bool = False, max_waiting: int = 4096):
        self.analyzer = analyzer
        self.emit = emit
        self.predicate = predicate
        self.keep = keep
        self.keep_payload = keep_payload
        self.max_waiting = max_waiting
        self.streams: dict = {}          # (assoc, side, sid) -> _Stream
        self.evicted = Counter()
        self._fresh: list = []           # rows made by the current packet
        if keep_payload:
            analyzer.options.keep_payload = True     # the fragments keep their user data
        analyzer.on_message = self._on_message
        analyzer.on_abandon = self._on_abandon

    # -- analyzer callbacks
    def _on_message(self, pkt, msg, frags) -> None:
        if self.keep is not None and not self.keep(msg.assoc, msg.sid):
            return
        assoc = self.analyzer.associations[msg.assoc]
        row = _row(assoc, msg.sender - 1, frags, COMPLETE, msg.idata, self.keep_payload)
        row.frame = pkt.record.number
        self._fresh.append(row)

    def _on_abandon(self, pkt, assoc, d, frags) -> None:
        idata = any(c.type == I_FORWARD_TSN for c in pkt.chunks)
        for group in _messages_of(frags, idata):
            if self.keep is not None and not self.keep(assoc.index, group[0].sid):
                continue
            row = _row(assoc, d.sender - 1, group, ABANDONED, idata, False)
            row.frame = pkt.record.number
            self._fresh.append(row)

    # -- feeding
    def feed(self, pkt):
        info = self.analyzer.feed(pkt)
        fresh = self._fresh
        if fresh:
            shown = self.predicate(pkt) if self.predicate is not None else True
            self._fresh = []
            for row in fresh:
                row.shown = shown
                self._place(row)
        if info is not None and info.get("forward_tsn") is not None:
            self._forward(pkt, info)
        return info

    def _key(self, row):
        return (row.assoc, row.side, row.sid)

    def _stream(self, row) -> _Stream:
        key = self._key(row)
        st = self.streams.get(key)
        if st is None:
            st = self.streams[key] = _Stream(0xFFFFFFFF if row.idata else 0xFFFF)
        return st

    def _out(self, row) -> None:
        self.emit(row)

    def _place(self, row: MessageRow) -> None:
        if row.unordered:
            self._out(row)
            return
        st = self._stream(row)
        seq = row.seq
        if st.expected is None:
            st.expected = seq
        ahead = (seq - st.expected) & st.mask
        if ahead == 0:
            self._out(row)
            st.expected = (seq + 1) & st.mask
            self._drain(st)
        elif ahead < (st.mask >> 1):
            if seq in st.waiting:                 # the same number again (SSN wrap): deliver the older
                self._gap(st)
            st.waiting[seq] = row
            if len(st.waiting) > self.max_waiting:
                self.evicted["messages_waiting"] += 1
                self._gap(st)
        else:                                     # older than the next expected: late
            self._out(row)

    def _drain(self, st: _Stream) -> None:
        w = st.waiting
        while w:
            row = w.pop(st.expected, None)
            if row is None:
                return
            self._out(row)
            st.expected = (st.expected + 1) & st.mask

    def _gap(self, st: _Stream) -> None:
        """Deliver the lowest waiting message: the numbers before it never came."""
        exp, mask = st.expected, st.mask
        seq = min(st.waiting, key=lambda s: (s - exp) & mask)
        row = st.waiting.pop(seq)
        if row.status == COMPLETE:
            row.status = GAP
        self._out(row)
        st.expected = (seq + 1) & mask
        self._drain(st)

    def _forward(self, pkt, info) -> None:
        """A FORWARD TSN moves each listed stream past its SSN/MID (RFC 3758 3.6, RFC 8260 2.3.1)."""
        assoc = info.get("assoc_index")
        side = info.get("sender", 1) - 1
        for c in pkt.chunks:
            t = c.type
            if (t != FORWARD_TSN and t != I_FORWARD_TSN) or c.v is None:
                continue
            for e in c.v[1]:
                if t == I_FORWARD_TSN:
                    sid, fl, seq = e
                    if fl & 1:
                        continue              # unordered: no sequence to move
                else:
                    sid, seq = e
                st = self.streams.get((assoc, side, sid))
                if st is None or st.expected is None:
                    continue
                mask = st.mask
                nxt = (seq + 1) & mask
                if ((nxt - st.expected) & mask) < (mask >> 1):
                    for s in sorted((s for s in st.waiting if ((s - st.expected) & mask)
                                     < ((nxt - st.expected) & mask)),
                                    key=lambda s: (s - st.expected) & mask):
                        self._out(st.waiting.pop(s))
                    st.expected = nxt
                    self._drain(st)

    def finish(self) -> None:
        """The capture ended: pending fragments become ``incomplete`` rows, and every
        stream's waiting messages are delivered (with ``gap`` where numbers are missing)."""
        shown = self.predicate is None
        for assoc in self.analyzer.associations:
            for side, d in enumerate(assoc.dirs):
                if d.data is None:               # no DATA yet (made on the first one)
                    continue
                for idata, groups in ((False, _join_ordered(_data_runs(d.data))),
                                      (True, _idata_groups(d.idata))):
                    for group in groups:
                        if self.keep is not None and not self.keep(assoc.index, group[0].sid):
                            continue
                        row = _row(assoc, side, group, INCOMPLETE, idata, False)
                        row.shown = shown
                        self._place(row)
        for st in self.streams.values():
            while st.waiting:
                self._gap(st)


def _messages_of(frags, idata: bool) -> list:
    """Abandoned fragments grouped per message: I-DATA by (SID, MID, U); DATA by
    consecutive TSNs of one stream and SSN (or U)."""
    groups: list = []
    if idata:
        by: dict = {}
        for f in frags:
            by.setdefault((f.sid, f.seq, f.u), []).append(f)
        return list(by.values())
    for f in sorted(frags, key=lambda g: g.x):
        if groups:
            p = groups[-1][-1]
            if (p.x + 1 == f.x and not p.e and not f.b and p.sid == f.sid and p.u == f.u
                    and (p.u or p.seq == f.seq)):
                groups[-1].append(f)
                continue
        groups.append([f])
    return _join_ordered(groups)


def _join_ordered(groups: list) -> list:
    """Runs of one ordered DATA message that lost fragments in between (TSNs missing
    between them): same stream and SSN, the earlier without E, the later without B,
    in TSN order.  A message's fragments have consecutive TSNs (RFC 9260 6.9), so the
    missing TSNs are its own lost fragments: one message, not one row per run."""
    out: list = []
    for g in groups:
        if out and g:
            p, f = out[-1][-1], g[0]
            if (not p.u and not f.u and not p.e and not f.b and p.sid == f.sid
                    and p.seq == f.seq and f.x > p.x):
                out[-1].extend(g)
                continue
        out.append(list(g))
    return out


def _data_runs(r) -> list:
    """The pending DATA fragments of a direction, one list per run of consecutive TSNs."""
    return [[r.frags[x] for x in range(s, e + 1)] for s, e in sorted(r.run_end.items())
            if all(x in r.frags for x in range(s, e + 1))]


def _idata_groups(r) -> list:
    out = []
    for g in r.groups.values():
        group = ([g.first] if g.first is not None else []) + [g.rest[k] for k in sorted(g.rest)]
        if group:
            out.append(group)
    return out
