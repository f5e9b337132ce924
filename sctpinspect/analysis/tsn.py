"""What one direction's TSNs did: first transmission, retransmissions, acks.

The analysis needs, per DATA sender, for every TSN still of interest: the
frame and time of its first transmission (``sctp.retransmission``,
``sctp.retransmission_time``, RTTs), how often it was retransmitted, and the
frame that acknowledged it (``sctp.retransmitted_after_ack``).  A long
association sends billions of TSNs, so this is a *window*: the TSNs not yet
acknowledged plus a bounded history behind the cumulative TSN ack
(``history``), at most ``cap`` TSNs, in parallel arrays (17 bytes a TSN
instead of a few hundred for an object per TSN).  What leaves the window is
counted in ``evicted``.

TSNs are 32-bit serial numbers (RFC 9260 1.6): they are *unwrapped* here to
plain integers relative to the highest TSN seen (``ext``), so comparisons and
ranges need no serial arithmetic and survive wrap-around.

The unacknowledged TSNs are also kept in a sorted list, so that a cumulative
TSN ack, a gap block or a FORWARD TSN costs O(log n) plus the TSNs it newly
acknowledges, whatever their count or overlap: the work per chunk is bounded
by the chunk, not by the association's state (a SACK of 16,000 overlapping
gap blocks costs 16,000 bisections).

Hand-written (not a library) because it is per-chunk hot code and its
semantics are SCTP's.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort

MASK32 = 0xFFFFFFFF
HALF = 0x80000000


class TsnLog:
    """The TSN window of one direction (see the module docstring)."""

    __slots__ = ("lo", "start", "frame", "ts", "count", "acked", "chunk", "out", "hi", "hi_raw",
                 "cap", "history", "evicted", "first")

    def __init__(self, cap: int = 65536, history: int = 16384):
        self.cap = cap                  # TSNs in the window at most
        self.history = history          # acknowledged TSNs kept behind the cumulative ack
        self.lo = 0                     # ext TSN at index ``start``
        self.start = 0
        self.frame = array("I")         # frame of the first transmission (0: not seen)
        self.ts = array("q")            # its time, ns
        self.count = bytearray()        # retransmissions (saturating at 255)
        self.acked = array("I")         # frame that first acknowledged it (0: not yet)
        self.chunk = array("H")         # index of its chunk in the first transmission's packet
        self.out: list = []             # ext TSNs sent and not acknowledged, sorted
        self.hi = None                  # highest ext TSN seen (None before any)
        self.hi_raw = 0
        self.evicted = 0                # TSNs that left the window before their ack
        self.first = None               # lowest ext TSN ever recorded

    # -- serial numbers ---------------------------------------------------------
    def ext(self, tsn: int) -> int:
        """The unwrapped value of ``tsn`` (RFC 1982 arithmetic around the highest seen)."""
        hi = self.hi
        if hi is None:
            return tsn
        d = (tsn - self.hi_raw) & MASK32
        return hi + d if d < HALF else hi + d - 0x100000000

    def anchor(self, tsn: int) -> None:
        """Start the numbering at ``tsn`` (a SACK seen before any DATA)."""
        if self.hi is None:
            self.hi = self.hi_raw = tsn
            self.lo = tsn
            self.first = tsn

    # -- the window ----------------------------------------------------------------
    def index(self, x: int) -> int:
        """Array index of ext TSN ``x``, -1 outside the window or never sent."""
        i = x - self.lo + self.start
        if self.start <= i < len(self.frame) and self.frame[i]:
            return i
        return -1

    def add(self, x: int, tsn: int, frame: int, ts: int, chunk: int) -> int:
        """Record the first transmission of ext TSN ``x``; returns its index."""
        if self.hi is None:
            self.hi = self.hi_raw = tsn
            self.lo = x
            self.first = x
        n = len(self.frame)
        i = x - self.lo + self.start
        if i >= n:                                  # beyond the highest: grow
            gap = i - n
            if gap > self.cap:                      # a jump past the window: start afresh
                self._reset(x)
                i = self.start
                gap = 0
            if gap:
                self._grow(gap)
            self.frame.append(frame)
            self.ts.append(ts)
            self.count.append(0)
            self.acked.append(0)
            self.chunk.append(chunk & 0xFFFF)
            if x > self.hi:
                self.hi, self.hi_raw = x, tsn
            out = self.out
            if not out or out[-1] < x:
                out.append(x)
            else:
                insort(out, x)
            if len(self.frame) - self.start > self.cap:
                self._evict(len(self.frame) - self.start - self.cap)
                i = x - self.lo + self.start
            return i
        if i < self.start:                          # below the window
            if x < self.lo - self.cap:
                return -1                           # far below: not tracked
            self._prepend(self.lo - x)
            i = x - self.lo + self.start
            if self.first is None or x < self.first:
                self.first = x
        self.frame[i] = frame
        self.ts[i] = ts
        self.count[i] = 0
        self.acked[i] = 0
        self.chunk[i] = chunk & 0xFFFF
        insort(self.out, x)
        return i

    def _grow(self, n: int) -> None:
        z = bytes(n)
        self.frame.frombytes(z * 4)
        self.ts.frombytes(z * 8)
        self.count += z
        self.acked.frombytes(z * 4)
        self.chunk.frombytes(z * 2)

    def _prepend(self, n: int) -> None:
        """Make room for ``n`` TSNs below the window (a TSN older than any seen)."""
        if n <= self.start:
            self.start -= n
            self.lo -= n
            return
        k = n - self.start
        self.frame = _pre(self.frame, "I", k)
        self.ts = _pre(self.ts, "q", k)
        self.count = bytearray(k) + self.count
        self.acked = _pre(self.acked, "I", k)
        self.chunk = _pre(self.chunk, "H", k)
        self.lo -= n
        self.start = 0

    def _reset(self, x: int) -> None:
        dropped = sum(1 for t in self.out if t < x)
        self.evicted += dropped
        self.out = [t for t in self.out if t >= x]
        self.frame = array("I")
        self.ts = array("q")
        self.count = bytearray()
        self.acked = array("I")
        self.chunk = array("H")
        self.start = 0
        self.lo = x

    def _evict(self, n: int) -> None:
        """Drop the ``n`` oldest TSNs (the window is full)."""
        new_lo = self.lo + n
        j = bisect_left(self.out, new_lo)
        if j:
            self.evicted += j
            del self.out[:j]
        self._trim_to(new_lo)

    def _trim_to(self, new_lo: int) -> None:
        k = new_lo - self.lo
        if k <= 0:
            return
        self.start += k
        self.lo = new_lo
        if self.start > 4096 and self.start * 2 > len(self.frame):
            s = self.start
            del self.frame[:s]
            del self.ts[:s]
            del self.count[:s]
            del self.acked[:s]
            del self.chunk[:s]
            self.start = 0

    def forget_below(self, x: int) -> None:
        """The cumulative ack reached ``x``: keep ``history`` acknowledged TSNs behind it."""
        limit = x - self.history
        if limit > self.lo:
            out = self.out
            if out and out[0] < limit:
                j = bisect_left(out, limit)
                self.evicted += j
                del out[:j]
            n = len(self.frame)
            self._trim_to(min(limit, self.lo + (n - self.start)))

    def retire(self, history: int) -> None:
        """The association ended (both endpoints CLOSED, RFC 9260 9.1, 9.2): keep the
        outstanding TSNs and at most ``history`` TSNs behind the highest, and give
        the memory of the rest back.  A TSN below the window still counts as a
        retransmission if it comes again (``first``), only without the frame of
        its first transmission.  Nothing is counted as evicted: these TSNs were
        acknowledged, not dropped."""
        if self.hi is None:
            return
        limit = self.hi + 1 - history
        if self.out and self.out[0] < limit:
            limit = self.out[0]
        self._trim_to(min(limit, self.lo + (len(self.frame) - self.start)))
        s = self.start
        if s:
            del self.frame[:s]
            del self.ts[:s]
            del self.count[:s]
            del self.acked[:s]
            del self.chunk[:s]
            self.start = 0
        # arrays grown by append keep spare room: copy them to their exact size
        self.frame = array("I", self.frame)
        self.ts = array("q", self.ts)
        self.count = bytearray(self.count)
        self.acked = array("I", self.acked)
        self.chunk = array("H", self.chunk)

    # -- acknowledgements -------------------------------------------------------------
    def ack_upto(self, x: int) -> list:
        """Acknowledge every outstanding TSN <= ``x``; returns them (ascending)."""
        out = self.out
        if not out or out[0] > x:
            return []
        j = bisect_right(out, x)
        done = out[:j]
        del out[:j]
        return done

    def ack_range(self, a: int, b: int) -> list:
        """Acknowledge the outstanding TSNs in ``[a, b]``; returns them (ascending)."""
        out = self.out
        if not out or a > b or out[-1] < a or out[0] > b:
            return []
        i = bisect_left(out, a)
        j = bisect_right(out, b, i)
        if i == j:
            return []
        done = out[i:j]
        del out[i:j]
        return done

    def outstanding(self) -> int:
        return len(self.out)

    def size(self) -> int:
        return len(self.frame) - self.start


def _pre(arr: array, code: str, k: int) -> array:
    out = array(code, bytes(k * arr.itemsize))
    out.extend(arr)
    return out
