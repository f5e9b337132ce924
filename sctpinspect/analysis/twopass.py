"""``read -2``: the analysis fields that belong to an earlier frame, as tshark ``-2`` shows them.

The streaming analysis learns some facts about a DATA chunk only later: the
SACK that acknowledges it (``sctp.acked``, ``sctp.data_rtt``, RFC 9260 6.2),
its retransmissions (``sctp.retransmitted``, ``sctp.retransmitted_count``,
6.3.3), the frame that completes its message (``sctp.reassembled_in``, 6.9).
The first pass runs the analyzer over the whole file and keeps only those
facts, compactly: per frame a tuple of ``(chunk index, field, value)``, in
the order they were learnt (one entry per fact, no packet, no tree; about
150 bytes per DATA chunk when every field is asked for (measured: 17 MB
more than a one-pass read for 116,000 DATA chunks), less when ``-e`` /
``-Y`` name only some).  The second pass is the ordinary read with the
annotating analyzer; :meth:`LateFacts.apply` adds the facts of each frame to
its chunks before the display filter and the output see it, and forgets
them, so what is kept shrinks as the second pass goes.
"""
from __future__ import annotations

LATE_FIELDS = ("sctp.acked", "sctp.data_rtt", "sctp.retransmitted", "sctp.retransmitted_count",
               "sctp.reassembled_in")


class LateFacts:
    """Facts about earlier frames, from a first pass, for a second."""

    MAX_RETRANSMITTED = 65536    # retransmitted TSNs awaiting their ack

    def __init__(self, names=None):
        self.names = frozenset(LATE_FIELDS if names is None else names)
        self.by_frame: dict = {}        # frame -> [(chunk index, name, value), ...]
        self.count = 0
        self.current = None             # the packet being analysed
        # (frame, chunk) of a first transmission -> [(frame, chunk) of its retransmissions]:
        # tshark -2 shows the SACK that acks the TSN (and the RTT since the first
        # transmission) on each of them; forgotten once acked
        self.retransmissions: dict = {}
        self.dropped = 0

    def _add(self, frame: int, k: int, name: str, value) -> None:
        facts = self.by_frame.get(frame)
        if facts is None:
            self.by_frame[frame] = [(k, name, value)]
        else:
            if name == "sctp.retransmitted_count":     # the final count only
                for i, (k0, n0, _v) in enumerate(facts):
                    if k0 == k and n0 == name:
                        facts[i] = (k, name, value)
                        return
            facts.append((k, name, value))
        self.count += 1

    def on_late(self, frame, k, name, value) -> None:
        if name == "sctp.retransmitted":
            # the entry the analyzer just appended for this retransmission: (k, tsn, frame, delay)
            info = self.current.analysis
            mine = info["retransmitted"][-1][0] if info and info.get("retransmitted") else None
            if mine is not None:
                lst = self.retransmissions.get((frame, k))
                if lst is not None:
                    lst.append((value, mine))
                elif len(self.retransmissions) < self.MAX_RETRANSMITTED:
                    self.retransmissions[(frame, k)] = [(value, mine)]
                else:
                    self.dropped += 1
        elif name == "sctp.acked" or name == "sctp.data_rtt":
            again = self.retransmissions.get((frame, k))
            if again is not None:
                for f2, k2 in again:
                    if name in self.names:
                        self._add(f2, k2, name, value)
                if name == "sctp.data_rtt":      # it follows sctp.acked
                    del self.retransmissions[(frame, k)]
        # reassembled_in comes from on_message (it also covers same-frame fragments)
        if name in self.names and name != "sctp.reassembled_in":
            self._add(frame, k, name, value)

    def on_message(self, pkt, msg, frags) -> None:
        """Every fragment but the one that carries the ``sctp.fragments`` tree
        (the last one in the completing frame) says where its message was
        reassembled, as tshark -2 does."""
        if len(frags) < 2 or "sctp.reassembled_in" not in self.names:
            return
        frame = msg.frame
        holder = None
        for f in reversed(frags):
            if f.frame == frame:
                holder = f
                break
        for f in frags:
            if f is not holder:
                self._add(f.frame, f.k, "sctp.reassembled_in", frame)

    def apply(self, pkt) -> None:
        """Add (and forget) the facts of ``pkt``'s frame to its chunks."""
        facts = self.by_frame.pop(pkt.record.number, None)
        if facts is None:
            return
        chunks = pkt.chunks
        for k, name, value in facts:
            if k < len(chunks):
                chunks[k].annotate(name, value)


def first_pass(records, decode_options, names=None) -> LateFacts:
    """Run the analysis over ``records`` (the whole file) and keep the late facts."""
    from ..pipeline import Pipeline
    from .core import AnalysisOptions, Analyzer
    facts = LateFacts(names)
    an = Analyzer(AnalysisOptions(annotate=False, keep_messages=False))
    an.on_late = facts.on_late
    an.on_message = facts.on_message
    feed = an.feed

    def analyse(pkt):
        facts.current = pkt
        feed(pkt)
    for _pkt, _shown in Pipeline(records, decode_options, analyse=analyse):
        pass
    facts.current = None
    facts.retransmissions.clear()
    return facts


def wanted(fields, display_filter, everything: bool):
    """The late fields the output names (all of them for -V / JSON trees)."""
    if everything:
        return None
    from .hook import filter_names
    named = set(fields or ()) | set(filter_names(display_filter))
    return [n for n in LATE_FIELDS if n in named]
