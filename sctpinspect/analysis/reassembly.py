"""User-message reassembly from DATA and I-DATA fragments, linear and bounded.

DATA (RFC 9260 6.9): the fragments of one message carry consecutive TSNs,
from the one with the B bit to the one with the E bit, on one stream with
one SSN (ordered) or the U bit.  Fragments are kept in *runs* of
consecutive, compatible TSNs; a new fragment only looks at the runs ending
just before it and starting just after it, so each fragment costs O(1) and
a run of 100,000 middle fragments costs 100,000 steps, not 100,000²
(issue: all-middle fragments).

I-DATA (RFC 8260 2.1): fragments share (SID, MID, U); the B fragment carries
the PPID where the others carry their Fragment Sequence Number.  RFC 8260
numbers the fragments from 0 at B (the B fragment's FSN is implicitly 0, the
next is 1); the Linux kernel numbers the fragments after B from 0 (its
second fragment says FSN 0).  Both are reassembled, and the numbering seen is
counted (``fsn_from_zero``), so the diagnostics can say which a stack uses
instead of losing its messages.

Bounded: at most ``max_fragments`` pending fragments and
``max_reassembly_bytes`` of user data per direction; when a cap is reached
the oldest incomplete message is dropped whole and counted.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict


class Frag:
    """One pending DATA/I-DATA fragment (compact facts, no packet kept)."""

    __slots__ = ("x", "tsn", "frame", "sid", "seq", "ppid", "u", "b", "e", "length", "fsn", "data",
                 "chunk", "offset", "k", "ts")

    def __init__(self, x, tsn, frame, sid, seq, ppid, u, b, e, length, fsn=0, data=None, chunk=None,
                 offset=0, k=0, ts=None):
        self.x = x              # unwrapped TSN
        self.tsn = tsn
        self.frame = frame
        self.sid = sid
        self.seq = seq          # SSN (DATA) or MID (I-DATA)
        self.ppid = ppid
        self.u = u
        self.b = b
        self.e = e
        self.length = length
        self.fsn = fsn
        self.data = data        # the user data bytes, when the payload dissectors need them
        self.chunk = chunk      # the Chunk, while its packet is the current one
        self.offset = offset    # the chunk's offset in its frame
        self.k = k              # the chunk's index in its packet
        self.ts = ts            # its packet's time (the messages command's first/last time)

    # A Frag pickled (sent from an analysis shard to the merging process) leaves
    # its Chunk behind: that is only valid while its packet is the current one.
    def __getstate__(self):
        return tuple(None if n == "chunk" else getattr(self, n) for n in self.__slots__)

    def __setstate__(self, state):
        for n, v in zip(self.__slots__, state):
            setattr(self, n, v)


class DataReassembly:
    """Pending DATA fragments of one direction, in runs of consecutive TSNs."""

    __slots__ = ("frags", "order", "run_end", "run_start", "bytes", "evicted")

    def __init__(self):
        self.frags: dict = {}               # ext TSN -> Frag (insertion order = arrival order)
        self.order: list = []               # their ext TSNs, sorted
        self.run_end: dict = {}             # run start -> run end
        self.run_start: dict = {}           # run end -> run start
        self.bytes = 0
        self.evicted = 0                    # fragments dropped by the caps

    def __len__(self) -> int:
        return len(self.frags)

    def add(self, f: Frag) -> list | None:
        """Add fragment ``f``; the fragments of the message it completes, in TSN order, or None."""
        x = f.x
        frags = self.frags
        if x in frags:                      # the same TSN again (a retransmission): keep the first
            return None
        frags[x] = f
        order = self.order
        if not order or order[-1] < x:
            order.append(x)
        else:
            insort(order, x)
        self.bytes += f.length
        s = e = x
        prev = frags.get(x - 1)
        if prev is not None and _fits(prev, f):
            s0 = self.run_start.pop(x - 1, None)
            if s0 is not None:
                del self.run_end[s0]
                s = s0
        nxt = frags.get(x + 1)
        if nxt is not None and _fits(f, nxt):
            e0 = self.run_end.pop(x + 1, None)
            if e0 is not None:
                del self.run_start[e0]
                e = e0
        if frags[s].b and frags[e].e:
            return self._take(s, e)
        self.run_end[s] = e
        self.run_start[e] = s
        return None

    def _take(self, s: int, e: int) -> list:
        """Remove the run ``s..e`` (its TSNs are consecutive) and return its fragments."""
        frags = self.frags
        out = [frags.pop(t) for t in range(s, e + 1)]
        order = self.order
        i = bisect_left(order, s)
        del order[i:i + len(out)]
        for g in out:
            self.bytes -= g.length
        return out

    def drop_oldest(self) -> int:
        """Drop the run holding the oldest pending fragment; how many fragments went."""
        frags = self.frags
        if not frags:
            return 0
        s = next(iter(frags))
        run_end = self.run_end
        while s not in run_end and (s - 1) in frags:     # walk down to its run's start
            s -= 1
        e = run_end.pop(s, s)
        self.run_start.pop(e, None)
        n = len(self._take(s, e))
        self.evicted += n
        return n

    def drop_upto(self, x: int, out: list | None = None) -> int:
        """FORWARD TSN to ``x``: the fragments at or below it are abandoned (RFC 3758 3.6);
        they are appended to ``out`` when given."""
        order = self.order
        if not order or order[0] > x:
            return 0
        j = bisect_right(order, x)
        gone = order[:j]
        del order[:j]
        frags = self.frags
        run_end = self.run_end
        for t in gone:
            g = frags.pop(t)
            self.bytes -= g.length
            if out is not None:
                out.append(g)
            e = run_end.pop(t, None)
            if e is not None:               # t started a run
                self.run_start.pop(e, None)
                if e > x:                   # the part above x stays a run (its TSNs are consecutive)
                    run_end[x + 1] = e
                    self.run_start[e] = x + 1
        return j

    def clear(self) -> None:
        self.frags.clear()
        self.order.clear()
        self.run_end.clear()
        self.run_start.clear()
        self.bytes = 0


def _fits(a: Frag, b: Frag) -> bool:
    """May ``b`` (TSN after ``a``'s) follow ``a`` in one message?"""
    return (not a.e and not b.b and a.sid == b.sid and a.u == b.u
            and (a.u or a.seq == b.seq))


class IDataReassembly:
    """Pending I-DATA fragments of one direction, by (SID, MID, U)."""

    __slots__ = ("groups", "count", "bytes", "evicted", "fsn_from_zero", "fsn_from_one")

    def __init__(self):
        self.groups: OrderedDict = OrderedDict()    # (sid, mid, u) -> _Group
        self.count = 0
        self.bytes = 0
        self.evicted = 0
        self.fsn_from_zero = 0      # messages whose fragments after B count from FSN 0 (Linux)
        self.fsn_from_one = 0       # ... from FSN 1 (RFC 8260)

    def __len__(self) -> int:
        return self.count

    def add(self, f: Frag) -> list | None:
        key = (f.sid, f.seq, f.u)
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = _Group()
        if f.b:
            if g.first is not None:
                return None                 # a second B: keep the first
            g.first = f
        else:
            if f.fsn in g.rest:
                return None
            g.rest[f.fsn] = f
            if g.low is None or f.fsn < g.low:
                g.low = f.fsn
            if f.e:
                g.last = f.fsn
        self.count += 1
        self.bytes += f.length
        if g.first is None:
            return None
        if g.first.e:                       # a whole message in one chunk
            order = [g.first]
        elif g.last is None:
            return None
        else:
            n = len(g.rest)
            if g.low == 1 and n == g.last:             # RFC 8260: FSN 1..k after B
                zero = False
            elif g.low == 0 and n == g.last + 1:       # FSN 0..k-1 after B (Linux)
                zero = True
            else:
                return None
            rest = g.rest
            order = [g.first] + [rest[i] for i in range(g.low, g.last + 1)]
            if zero:
                self.fsn_from_zero += 1
            else:
                self.fsn_from_one += 1
        del self.groups[key]
        for h in order:
            self.bytes -= h.length
        self.count -= len(order)
        return order

    def drop_oldest(self) -> int:
        if not self.groups:
            return 0
        _k, g = self.groups.popitem(last=False)
        n = len(g.rest) + (g.first is not None)
        self.count -= n
        self.bytes -= sum(h.length for h in g.rest.values()) + (g.first.length if g.first else 0)
        self.evicted += n
        return n

    def drop(self, sid: int, mid: int, u: int, out: list | None = None) -> int:
        """I-FORWARD TSN abandoned message (sid, mid, u) (RFC 8260 3.3); its fragments
        are appended to ``out`` (B first, then by FSN) when given."""
        g = self.groups.pop((sid, mid, u), None)
        if g is None:
            return 0
        if out is not None:
            out.extend(([g.first] if g.first is not None else []) + [g.rest[k] for k in sorted(g.rest)])
        n = len(g.rest) + (g.first is not None)
        self.count -= n
        self.bytes -= sum(h.length for h in g.rest.values()) + (g.first.length if g.first else 0)
        return n

    def clear(self) -> None:
        self.groups.clear()
        self.count = 0
        self.bytes = 0


class _Group:
    __slots__ = ("first", "rest", "low", "last")

    def __init__(self):
        self.first = None       # the B fragment
        self.rest: dict = {}    # FSN -> fragment
        self.low = None         # lowest FSN seen after B
        self.last = None        # FSN of the E fragment
