"""IPv4/IPv6 fragment reassembly, bounded in memory.

Fragments are kept per datagram key (src, dst, id, protocol) until the
datagram is complete.  The total of buffered bytes is capped by
``max_bytes``; when a new fragment would exceed it, the oldest incomplete
datagrams are evicted (and counted, so the decoder can say so in a Note).
"""
from __future__ import annotations

from collections import OrderedDict


class _Datagram:
    __slots__ = ("pieces", "total", "size", "frames")

    def __init__(self):
        self.pieces: dict[int, bytes] = {}   # offset -> data
        self.total = -1                        # length once the last fragment is seen
        self.size = 0                          # bytes buffered
        self.frames: list[tuple[int, int, int]] = []  # (frame number, length, offset)


class Reassembler:
    """Collect fragments; :meth:`add` returns the whole payload when complete."""

    def __init__(self, max_bytes: int = 16 << 20):
        self.max_bytes = max_bytes
        self.buffered = 0
        self.evicted = 0            # datagrams dropped to stay under max_bytes
        self._pending: "OrderedDict[tuple, _Datagram]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, key: tuple, offset: int, more: bool, data: bytes, frame: int):
        """Add one fragment (``offset`` in bytes).

        Returns ``(payload, frames, evicted_now)`` where ``payload`` is the
        reassembled bytes (None while incomplete) and ``frames`` the list of
        ``(frame number, length, offset)`` of its fragments; ``evicted_now`` is how
        many datagrams were dropped to make room for this fragment.
        """
        evicted_now = 0
        dg = self._pending.get(key)
        if dg is None:
            dg = self._pending[key] = _Datagram()
        old = dg.pieces.get(offset)
        if old is not None:                       # retransmitted fragment: replace
            dg.size -= len(old)
            self.buffered -= len(old)
            dg.frames = [f for f in dg.frames if f[2] != offset]
        dg.pieces[offset] = data
        dg.size += len(data)
        self.buffered += len(data)
        dg.frames.append((frame, len(data), offset))
        if not more:
            dg.total = offset + len(data)
        # Keep memory bounded: evict the oldest other datagrams first.
        while self.buffered > self.max_bytes and self._pending:
            k, victim = next(iter(self._pending.items()))
            if victim is dg and len(self._pending) == 1:
                break
            if victim is dg:
                self._pending.move_to_end(k)
                continue
            del self._pending[k]
            self.buffered -= victim.size
            self.evicted += 1
            evicted_now += 1
        if self.buffered > self.max_bytes:        # this datagram alone is too big
            del self._pending[key]
            self.buffered -= dg.size
            self.evicted += 1
            return None, dg.frames, evicted_now + 1
        if dg.total < 0:
            return None, dg.frames, evicted_now
        # Complete when the pieces cover [0, total) without a gap.
        covered = 0
        for off in sorted(dg.pieces):
            if off > covered:
                return None, dg.frames, evicted_now
            covered = max(covered, off + len(dg.pieces[off]))
        if covered < dg.total:
            return None, dg.frames, evicted_now
        out = bytearray(dg.total)
        for off in sorted(dg.pieces):
            piece = dg.pieces[off]
            out[off:off + len(piece)] = piece[:max(0, dg.total - off)]
        del self._pending[key]
        self.buffered -= dg.size
        return bytes(out), dg.frames, evicted_now
