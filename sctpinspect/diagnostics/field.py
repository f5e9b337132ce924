"""Checks for the failures engineers report from the field (issue 19): patterns over
time that no single packet shows.

:class:`FieldChecks` is driven by the :class:`~sctpinspect.diagnostics.engine.Diagnoser`
with the packets' compact records (``chunk.v``, quick attributes) and the analysis'
per-packet facts (``pkt.analysis``); it keeps a small :class:`_Flow` per association,
made on the first packet that needs it (an INIT flood never does), every container in
it capped (the caps are counted in ``evicted`` and reported by ``analysis-capped``).
The rules, their RFC sections and thresholds are rows in :mod:`.rules`.
"""
from __future__ import annotations


DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT = 0, 1, 2, 3, 4, 5, 6
FORWARD_TSN = 192
MASK32 = 0xFFFFFFFF
HALF = 0x80000000

MAX_HB = 64            # heartbeats remembered per association (their destination address)
MAX_FRAGS = 4096       # fragment flags remembered per direction (forward-tsn-partial)
MAX_RETX = 256         # retransmitted TSNs followed per direction (pmtu-blackhole)
MAX_SIZES = 512        # DATA packet sizes waiting for their ack per direction
MAX_SECONDARY = 16     # secondary destination addresses followed per association
MAX_COOKIES = 65536    # State Cookies remembered capture-wide (static-cookie) ...
MAX_COOKIE_BYTES = 8 << 20   # ... and their bytes at most (Linux cookies are ~300 bytes)
# RFC 9260 6.3.1 / 16: RTO.Alpha and RTO.Beta of the smoothed RTT (the stall rule's RTO)
RTO_ALPHA, RTO_BETA = 1 / 8, 1 / 4
MAX_EVENTS = 64        # timeline events (window, RTO backoff) kept per association


def lt(a: int, b: int) -> bool:
    """Serial number arithmetic on TSNs (RFC 9260 1.6): a < b."""
    return a != b and ((b - a) & MASK32) < HALF


class _Dir:
    """One data sender's view for the hang rules."""

    __slots__ = ("cum", "since_ts", "since_frame", "answers", "stall", "probes", "zw_frame",
                 "frags", "retx", "sizes", "max_ok", "deadlock", "frags_lost", "zw_open",
                 "srtt", "rttvar", "rtt_n", "rtt_after")

    def __init__(self):
        self.cum = None            # last cumulative TSN ack of the peer
        self.since_ts = 0.0        # when it last moved
        self.since_frame = 0
        self.answers = 0           # SACKs / HEARTBEAT ACKs since, cum unchanged
        self.stall = None          # the stall finding of the current episode
        self.probes = 0            # DATA sent while the peer's window is 0
        self.zw_frame = 0          # the zero-window episode the probes belong to
        self.frags = {}            # tsn -> DATA flags of fragments (B/E bits)
        self.retx = {}             # tsn -> [transmissions, min size, max size, frames]
        self.sizes = []            # [last tsn of a DATA packet, size, ts, retransmission?]
        self.max_ok = 0            # largest packet of this sender the peer acknowledged
        self.deadlock = None
        self.frags_lost = False    # the fragment window dropped its oldest entries
        self.zw_open = None        # frame of the zero-window episode under way (timeline)
        self.srtt = self.rttvar = None   # RFC 9260 6.3.1 from DATA -> SACK samples
        self.rtt_n = 0
        self.rtt_after = 0.0       # one sample per round trip (6.3.1 C4): DATA sent after it

    def rto(self, th) -> tuple:
        """(RTO in s, how it was found): RFC 9260 6.3.1 from the samples, clamped to
        [stall.rto (RTO.Min), stall.rto_max]; with no sample, RTO.Min."""
        lo = th["stall.rto"]
        if self.srtt is None:
            return lo, "RTO.Min, no RTT sample"
        r = self.srtt + 4 * self.rttvar
        how = (f"measured: SRTT {self.srtt:.3f} s, RTTVAR {self.rttvar:.3f} s from "
               f"{self.rtt_n} RTT sample{'s' if self.rtt_n != 1 else ''}")
        if r < lo:
            return lo, how + f", {r:.3f} s clamped to RTO.Min"
        if r > th["stall.rto_max"]:
            return th["stall.rto_max"], how + f", {r:.3f} s clamped to RTO.Max"
        return r, how

    def rtt_sample(self, r: float) -> None:
        """RFC 9260 6.3.1 C2/C3 (the first sample, then the smoothed update)."""
        if self.srtt is None:
            self.srtt, self.rttvar = r, r / 2
        else:
            self.rttvar = (1 - RTO_BETA) * self.rttvar + RTO_BETA * abs(self.srtt - r)
            self.srtt = (1 - RTO_ALPHA) * self.srtt + RTO_ALPHA * r
        self.rtt_n += 1


class _Flow:
    __slots__ = ("dirs", "hbs", "secondary", "ck", "init_tag", "init_ack_ts",
                 "cookie_ack_how", "events", "events_dropped", "created")

    def __init__(self):
        self.dirs = [None, None]
        self.hbs = {}              # heartbeat info -> (frame, dst address, packet size)
        self.secondary = {}        # address of a side -> (frame, what was sent to it)
        self.ck = [[0, 0], [0, 0]]   # per side: bad packets, first bad frame
        self.init_tag = None
        self.init_ack_ts = None
        self.cookie_ack_how = None
        self.events = []           # (ts, frame, text) for diagnose --timeline
        self.events_dropped = 0

    def event(self, ts, frame, text) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append((ts, frame, text))
        else:
            self.events_dropped += 1

    def dir(self, side: int) -> _Dir:
        d = self.dirs[side]
        if d is None:
            d = self.dirs[side] = _Dir()
        return d


class FieldChecks:
    def __init__(self, diag, th: dict):
        self.d = diag
        self.th = th
        self.flows: dict = {}
        self.cookies: dict = {}    # State Cookie bytes -> (association, frame)
        self.cookie_bytes = 0
        # what a cap dropped and a rule then could not judge (analysis-capped reports it);
        # the windows of recent fragments, retransmissions and packet sizes slide, and
        # only count when a FORWARD TSN falls behind the fragment window
        self.evicted = {"heartbeat addresses": 0, "fragment flags": 0, "state cookies": 0,
                        "secondary addresses": 0}

    def flow(self, assoc) -> _Flow:
        f = self.flows.get(assoc.index)
        if f is None:
            f = self.flows[assoc.index] = _Flow()
            f.created = self.d._ref     # the frame being fed (the shard merge orders by it)
        return f

    # ------------------------------------------------------------------ per packet
    def packet(self, pkt, assoc, st, sender, new) -> None:
        """Before the chunk loop: bad checksums per side, traffic to secondary addresses.
        Makes no state for a packet that shows neither (an INIT flood)."""
        s = pkt.checksum_status
        if s == "bad":
            fl = self.flow(assoc)
            row = fl.ck[sender]
            row[0] += 1
            if not row[1]:
                row[1] = pkt.number
        elif s == "zero":
            self._zero_checksum(pkt, assoc, st, sender, new)
        # what is sent to a secondary address of the peer (HEARTBEAT, retransmission);
        # the primary is the first address the analysis saw for that endpoint
        r = assoc.ep[1 - sender]
        if r.addresses and pkt.dst != r.addresses[0]:
            what = None
            for c in pkt.chunks:
                if c.type == HEARTBEAT:
                    what = "HEARTBEAT"
                    break
                if c.type == DATA:
                    what = "DATA"
            if what is not None:
                fl = self.flow(assoc)
                if pkt.dst in fl.secondary or len(fl.secondary) < MAX_SECONDARY:
                    fl.secondary[pkt.dst] = (pkt.number, what)
                else:
                    self.evicted["secondary addresses"] += 1

    def _zero_checksum(self, pkt, assoc, st, sender, new) -> None:
        # only a sender that itself announced Zero Checksum Acceptable knows RFC 9653: zeros
        # from any other are checksum offload on the capturing host (loopback, veth)
        feats, mine = st.features[1 - sender], st.features[sender]
        if feats is None or "zero checksum" in feats or not mine or "zero checksum" not in mine:
            return
        if any(c.type == INIT for c in pkt.chunks):
            return
        self.d._emit(new, "zero-checksum-unrequested", pkt, assoc,
                     f"{_label(assoc, sender)} sends packets with a zero checksum, but "
                     f"{_label(assoc, 1 - sender)} did not announce Zero Checksum Acceptable "
                     f"in its INIT/INIT ACK: it checks the CRC32c and drops them", key=sender)

    def data(self, pkt, assoc, sender, chunk) -> None:
        v = chunk.v
        zw = assoc.dirs[sender].zero_window_since
        if v is None or (chunk.flags & 3 == 3 and zw is None):
            return      # the common case: a whole message, the window open
        fl = self.flow(assoc)
        d = fl.dir(sender)
        tsn = v[0]
        if chunk.flags & 3 != 3:
            frags = d.frags
            if len(frags) >= MAX_FRAGS:
                del frags[next(iter(frags))]
                d.frags_lost = True
            frags[tsn] = chunk.flags
        if zw is not None:
            if d.zw_frame != zw[0]:
                d.zw_frame, d.probes = zw[0], 0
            d.probes += 1

    def data_packet(self, pkt, assoc, st, sender, new) -> None:
        """After the chunk loop of a packet from ``sender`` carrying DATA."""
        fl = self.flow(assoc)
        d = fl.dir(sender)
        size = pkt.record.wirelen
        last = None
        for c in pkt.chunks:
            if c.type == DATA and c.v is not None:
                last = c.v[0]
        info = pkt.analysis
        if last is not None:
            if len(d.sizes) >= MAX_SIZES:
                del d.sizes[0]
            d.sizes.append((last, size, pkt.ts, bool(info and info.get("retransmitted"))))
        for _k, tsn, first, delay in info.get("retransmitted", ()) if info else ():
            if first is None:
                continue
            n = d.retx[tsn][0] + 1 if tsn in d.retx else 2
            fl.event(pkt.ts, pkt.number, f"{_label(assoc, sender)} sends TSN {tsn} for the "
                                         f"{_nth(n)} time, {delay:.3f} s after the first")
            r = d.retx.get(tsn)
            if r is None:
                if len(d.retx) >= MAX_RETX:
                    del d.retx[next(iter(d.retx))]
                r = d.retx[tsn] = [1, size, size, [first]]
            r[0] += 1
            r[1] = min(r[1], size)
            r[2] = max(r[2], size)
            if len(r[3]) < 8:
                r[3].append(pkt.number)
            self._pmtu(pkt, assoc, sender, d, tsn, r, new)

    def _pmtu(self, pkt, assoc, sender, d, tsn, r, new) -> None:
        n, lo, hi, frames = r
        if n < self.th["pmtu-blackhole.retransmissions"] or lo < self.th["pmtu-blackhole.min_bytes"]:
            return
        if hi != lo or not d.max_ok or d.max_ok >= lo:
            return
        if d.cum is not None and not lt(d.cum, tsn):
            return
        f = self.d._emit(new, "pmtu-blackhole", pkt, assoc, "", key=sender, frames=frames)
        f.message = (f"{_label(assoc, sender)} sent TSN {tsn} {n} times in packets of {lo} bytes, "
                     f"never acknowledged, while its packets up to {d.max_ok} bytes got through: "
                     f"the path drops packets between {d.max_ok + 1} and {lo} bytes")
        f.extra.update({"tsn": tsn, "size": lo, "largest_through": d.max_ok, "transmissions": n,
                        "summary": f"packets of {lo} bytes from {_label(assoc, sender)} never "
                                   f"get through, {d.max_ok} bytes do"})

    def sack(self, pkt, assoc, st, sender, chunk, new) -> None:
        """A SACK from ``sender`` about the DATA of the peer."""
        v = chunk.v
        if v is None:
            return
        fl = self.flow(assoc)
        ds = 1 - sender
        d = fl.dir(ds)
        cum, rwnd = v[0], v[1]
        ts = pkt.ts
        if d.cum is None or lt(d.cum, cum):
            d.cum = cum
            d.since_ts, d.since_frame, d.answers = ts, pkt.number, 0
            d.stall = None
            sizes = d.sizes
            i = 0
            sample = None
            while i < len(sizes) and not lt(cum, sizes[i][0]):
                e = sizes[i]
                if e[1] > d.max_ok:
                    d.max_ok = e[1]
                # Karn (RFC 9260 6.3.1 C5): never from a retransmitted TSN
                if not e[3] and e[0] not in d.retx and e[2] >= d.rtt_after:
                    sample = e
                i += 1
            if i:
                del sizes[:i]
            if sample is not None:      # the newest newly acknowledged packet
                d.rtt_sample(ts - sample[2])
                d.rtt_after = ts
            for box in (d.frags, d.retx):     # acknowledged: nothing left to judge
                while box:
                    t = next(iter(box))
                    if lt(cum, t):
                        break
                    del box[t]
        else:
            d.answers += 1
            self._stall(pkt, assoc, ds, d, new)
        zw = assoc.dirs[ds].zero_window_since
        info = pkt.analysis
        if info and info.get("zero_window"):
            fl.event(ts, pkt.number, f"{_label(assoc, sender)} closes its window (a_rwnd 0)")
        if rwnd == 0 and zw is not None:
            self._deadlock(pkt, assoc, ds, d, zw, pkt.ts, new)
            d.zw_open = zw[0]
        elif d.zw_open is not None:
            fl.event(ts, pkt.number, f"{_label(assoc, sender)} opens its window again "
                                     f"(a_rwnd {rwnd})")
            d.zw_open = None

    def _outstanding(self, assoc, ds, d) -> int:
        hi = assoc.dirs[ds].highest_tsn
        if hi is None or d.cum is None or not lt(d.cum, hi):
            return 0
        return (hi - d.cum) & MASK32

    def _stall(self, pkt, assoc, ds, d, new) -> None:
        rto, how = d.rto(self.th)
        limit = self.th["stall.rtos"] * rto
        dt = pkt.ts - d.since_ts
        if d.answers < 2 or dt < limit:
            return
        n = self._outstanding(assoc, ds, d)
        if not n:
            return
        if d.stall is None:
            d.stall = self.d._emit(new, "stall", pkt, assoc, "", key=ds, frames=[d.since_frame])
        else:
            d.stall.add_frame(pkt.number)
        f = d.stall
        f.message = (f"the cumulative TSN ack for {_label(assoc, ds)}'s DATA stayed at {d.cum} "
                     f"for {dt:.3f} s (from frame {d.since_frame}, more than "
                     f"{self.th['stall.rtos']} x {rto:.3f} s RTO, {how}) with {n} TSN"
                     f"{'s' if n != 1 else ''} outstanding while "
                     f"{_label(assoc, 1 - ds)} kept answering ({d.answers} SACKs/HEARTBEAT ACKs)")
        f.extra.update({"cum_tsn": d.cum, "seconds": round(dt, 6), "outstanding": n,
                        "rto": round(rto, 6), "rto_from": "measured" if d.srtt is not None
                        else "RTO.Min",
                        "summary": f"no progress of the cumulative TSN ack for {dt:.1f} s "
                                   f"while {_label(assoc, 1 - ds)} kept answering"})

    def _deadlock(self, pkt, assoc, ds, d, zw, now, new, at_end=False) -> None:
        f0, t0 = zw
        secs = now - t0 / 1e9
        if d.zw_frame != f0 or d.probes < 1:
            return
        if secs < self.th["rwnd-deadlock.seconds"] and not at_end:
            return
        if d.deadlock is None or d.deadlock.extra.get("frame") != f0:
            d.deadlock = self.d._emit(new, "rwnd-deadlock", pkt, assoc, "", key=ds, frames=[f0])
        f = d.deadlock
        if pkt is not None:
            f.add_frame(pkt.number)
        rcv = _label(assoc, 1 - ds)
        f.message = (f"{rcv} advertised a_rwnd 0 from frame {f0} and kept it at 0 for "
                     f"{secs:.3f} s{(' (until the ABORT)' if assoc.ended else ' (until the end of the capture)') if at_end else ''} while "
                     f"{_label(assoc, ds)} probed with {d.probes} DATA chunk"
                     f"{'s' if d.probes != 1 else ''}: no window update")
        f.extra.update({"frame": f0, "seconds": round(secs, 6), "probes": d.probes,
                        "summary": f"the receiver's window stayed at 0 for {secs:.1f} s"})

    def heartbeat(self, pkt, assoc, chunk) -> None:
        v = chunk.v
        if not v or v[0] is None:
            return
        fl = self.flow(assoc)
        hbs = fl.hbs
        if len(hbs) >= MAX_HB:
            del hbs[next(iter(hbs))]
            self.evicted["heartbeat addresses"] += 1
        hbs[bytes(v[0])] = (pkt.number, pkt.dst, pkt.record.wirelen)

    def heartbeat_ack(self, pkt, assoc, sender, chunk, new) -> None:
        v = chunk.v
        if not v or v[0] is None:
            return
        fl = self.flows.get(assoc.index)
        if fl is None:
            return
        hit = fl.hbs.pop(bytes(v[0]), None)
        if hit is None:
            return
        frame, dst, size = hit
        d = fl.dir(1 - sender)
        if size > d.max_ok:
            d.max_ok = size
        if d.cum is not None:
            d.answers += 1
            self._stall(pkt, assoc, 1 - sender, d, new)
        # the source is only judged when the peer's addresses are known from its INIT /
        # INIT ACK (mid-capture, e.g. loopback captures, every local address may answer)
        if pkt.src != dst and assoc.ep[sender].announced:
            self.d._emit(new, "heartbeat-ack-address", pkt, assoc,
                         f"HEARTBEAT to {dst} (frame {frame}) answered by a HEARTBEAT ACK from "
                         f"{pkt.src}: the path to {dst} is not confirmed", key=(dst, pkt.src),
                         frames=[frame])

    def forward_tsn(self, pkt, assoc, sender, chunk, new) -> None:
        v = chunk.v
        if v is None:
            return
        fl = self.flows.get(assoc.index)
        d = fl.dirs[sender] if fl is not None else None
        if d is None or not d.frags:
            return
        new_cum = v[0]
        here, nxt = d.frags.get(new_cum), d.frags.get((new_cum + 1) & MASK32)
        if here is None and nxt is None and d.frags_lost and lt(new_cum, next(iter(d.frags))):
            self.evicted["fragment flags"] += 1     # behind the window: not judged
            return
        if here is not None and not here & 1:
            why = f"TSN {new_cum} is a fragment without the E bit: the message goes on after it"
        elif nxt is not None and not nxt & 2:
            why = (f"TSN {(new_cum + 1) & MASK32} is a later fragment (no B bit) of a message "
                   f"whose first part was abandoned")
        else:
            return
        self.d._emit(new, "forward-tsn-partial", pkt, assoc,
                     f"{_label(assoc, sender)} sent FORWARD TSN to {new_cum} in frame "
                     f"{pkt.number}: {why}", key=sender)

    def abort(self, pkt, assoc, st, sender, ctext, new) -> None:
        fl = self.flow(assoc)
        # secondary-path-abort: the ABORT comes from an address the peer sent a HEARTBEAT or
        # DATA to that is not the address the association started on
        sec = fl.secondary.get(pkt.src)
        ep = assoc.ep[sender]
        primary = ep.addresses[0] if ep.addresses else None
        if sec is not None and primary is not None and pkt.src != primary:
            f = self.d._emit(new, "secondary-path-abort", pkt, assoc,
                             f"ABORT from {pkt.src} (a secondary address of "
                             f"{_label(assoc, sender)}, the association runs on "
                             f"{primary}) in frame {pkt.number} answers the "
                             f"{sec[1]} sent to it in frame {sec[0]}: {ctext}",
                             key=pkt.src, frames=[sec[0]])
            f.by = pkt.src
        # abort-after-init-ack: the initiator refused the INIT ACK
        if sender == st.init_side and st.init_acked and not st.echoes and not st.cookie_acked:
            p = st.init_params[1 - sender] or (None, None)
            q = st.init_params[sender] or (None, None)
            mine, theirs = st.features[sender] or set(), st.features[1 - sender] or set()
            offer = (f"the INIT ACK (frame {st.init_acked}) offered {p[0]} outbound / {p[1]} "
                     f"inbound streams (the INIT asked {q[0]} / {q[1]})")
            if theirs != mine:
                extra = []
                if theirs - mine:
                    extra.append("it added " + ", ".join(sorted(theirs - mine)))
                if mine - theirs:
                    extra.append("it lacks " + ", ".join(sorted(mine - theirs)))
                offer += "; " + "; ".join(extra)
            dt = (pkt.ts - fl.init_ack_ts) if fl.init_ack_ts is not None else None
            f = self.d._emit(new, "abort-after-init-ack", pkt, assoc,
                             f"{_label(assoc, sender)} aborted in frame {pkt.number}"
                             + (f", {dt:.6f} s after the INIT ACK" if dt is not None else "")
                             + f", instead of sending COOKIE ECHO: {ctext}; {offer}",
                             frames=[st.init_acked])
            f.by = _label(assoc, sender)
            f.extra["summary"] = (f"{_label(assoc, sender)} refused the INIT ACK ({offer}): "
                                  f"{ctext}")

    def icmp(self, pkt, assoc, src, sport, dst, what, new) -> None:
        """An ICMP error about a packet sent to a secondary address of the peer."""
        s = assoc.side_of(src, sport)
        if s is None:
            return
        ep = assoc.ep[1 - s]
        if not ep.addresses or dst == ep.addresses[0]:
            return
        fl = self.flows.get(assoc.index)
        sec = fl.secondary.get(dst) if fl is not None else None
        if sec is None:
            return
        self.d._emit(new, "secondary-path-abort", pkt, assoc,
                     f"the {sec[1]} to {dst} (a secondary address of {_label(assoc, 1 - s)}, "
                     f"the association runs on {ep.addresses[0]}) in frame {sec[0]} was answered "
                     f"by {what}", key=dst, frames=[sec[0]])

    def init(self, pkt, assoc, st, sender, chunk, new) -> bool:
        """True when this INIT is a late copy for a live association (not an INIT
        retransmission of the handshake)."""
        v = chunk.v
        tag = v[0] if v is not None else None
        fl = self.flow(assoc)
        if fl.init_tag is None and sender == st.init_side:
            fl.init_tag = tag
        ep = assoc.ep[sender]
        if not (st.cookie_acked and st.cookie_acked < pkt.number) or tag is None \
                or tag != ep.vtag:
            return False
        f = self.d._emit(new, "init-after-established", pkt, assoc,
                         f"INIT from {_label(assoc, sender)} in frame {pkt.number} carries the "
                         f"association's own Initiate Tag 0x{tag:08x} but arrives after it was "
                         f"established (frame {st.cookie_acked}): a retransmitted, delayed or "
                         f"duplicated INIT", key=sender, frames=[st.cookie_acked])
        f.extra["summary"] = (f"a late copy of the INIT (frame {pkt.number}) hit the established "
                              "association")
        return True

    def init_ack(self, pkt, assoc, st, sender, chunk, new) -> None:
        fl = self.flow(assoc)
        if fl.init_ack_ts is None:
            fl.init_ack_ts = pkt.ts
        v = chunk.v
        if v is None:
            return
        cookie = None
        for t, value in v[5]:
            if t == 7 and value:
                cookie = bytes(value)
                break
        if cookie is None:
            return
        # keyed by the cookie's bytes: the dict compares them, so "the same State Cookie"
        # is a byte-for-byte match, never a hash collision
        hit = self.cookies.get(cookie)
        if hit is None:
            if len(self.cookies) >= MAX_COOKIES \
                    or self.cookie_bytes + len(cookie) > MAX_COOKIE_BYTES:
                self.evicted["state cookies"] += 1
                return
            self.cookies[cookie] = (assoc.index, pkt.number)
            self.cookie_bytes += len(cookie)
            return
        index, frame = hit
        n = len(cookie)
        if index == assoc.index:
            return
        f = self.d._emit(new, "static-cookie", pkt, assoc,
                         f"INIT ACK from {_label(assoc, sender)} in frame {pkt.number} carries "
                         f"the same State Cookie ({n} bytes) as the INIT ACK of association "
                         f"{index} (frame {frame})", frames=[frame])
        f.extra["same_as_association"] = index

    def cookie_echo_again(self, pkt, assoc, st, sender, new) -> None:
        """A COOKIE ECHO retransmitted after the peer's answer (``st.cookie_acked``)."""
        how = self.flow(assoc).cookie_ack_how or "answered"
        f = self.d._emit(new, "cookie-echo-ignored", pkt, assoc,
                         f"{_label(assoc, sender)} retransmitted COOKIE ECHO in frame "
                         f"{pkt.number} although {_label(assoc, 1 - sender)} had {how} in frame "
                         f"{st.cookie_acked}", key=sender, frames=[st.cookie_acked])
        f.extra["summary"] = (f"{_label(assoc, sender)} ignored the answer to its COOKIE ECHO "
                              f"(frame {st.cookie_acked})")

    # ------------------------------------------------------------------ end of capture
    def finish(self, new) -> None:
        an = self.d.analyzer
        end = self.d.last_ts
        for index, fl in self.flows.items():
            self.d._ref = fl.created
            a = an.associations[index]
            st = self.d._st.get(index)
            if st is None or st.alias is not None:
                continue
            for ds in (0, 1):
                d = fl.dirs[ds]
                if d is None:
                    continue
                zw = a.dirs[ds].zero_window_since
                if zw is not None and end is not None:
                    stop = a.last_ts if a.ended else end
                    secs = stop - zw[1] / 1e9
                    if secs >= self.th["rwnd-deadlock.seconds"] or (a.ended and st.aborted):
                        self._deadlock(None, a, ds, d, zw, stop, new, at_end=True)
            self._one_sided(a, st, fl, new)

    def _one_sided(self, a, st, fl, new) -> None:
        ck = self.d._ck          # source address -> [bad, good, zero, adler32], capture-wide
        for x in (0, 1):
            bad, first = fl.ck[x]
            obad = fl.ck[1 - x][0]
            if bad < self.th["one-sided-checksum.packets"] or obad:
                continue
            if any(ck.get(addr, (0, 0))[1] for addr in a.ep[x].addresses[:MAX_SECONDARY]):
                continue    # that side also sends good ones: corruption, not a rewrite
            ogood = sum(ck.get(addr, (0, 0))[1] for addr in a.ep[1 - x].addresses[:MAX_SECONDARY])
            # answered at all (INIT ACK, COOKIE ACK, a SACK of its DATA): the peer got them,
            # so they were only bad in the capture (offload on the capturing host)
            if (st.init_side == x and st.init_acked) or (st.echo_side == x and st.cookie_acked) \
                    or a.dirs[x].sacks:
                continue
            again = []
            if st.init_side == x and len(st.inits) > 1:
                again.append(f"INIT sent {len(st.inits)} times")
            if st.echo_side == x and len(st.echoes) > 1:
                again.append(f"COOKIE ECHO sent {len(st.echoes)} times")
            if a.dirs[x].retransmissions:
                again.append(f"{a.dirs[x].retransmissions} DATA retransmissions")
            if not again:
                continue    # answered: offload on the capturing host, not the wire
            other = f" (the {ogood} from {_label(a, 1 - x)} are right)" if ogood else ""
            f = self.d._emit(new, "one-sided-checksum", None, a,
                             f"all {bad} packets from {_label(a, x)} have a wrong CRC32c{other} "
                             f"and they go unanswered ({', '.join(again)}): they are bad on the "
                             f"wire, so something between the peers rewrote them", key=x,
                             frames=[first])
            f.extra["summary"] = (f"the packets from {_label(a, x)} reach the peer with a "
                                  f"wrong CRC32c ({bad} of them, unanswered)")


def _nth(n: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _label(assoc, side: int) -> str:
    from .engine import _ep_label
    return _ep_label(assoc, side)
