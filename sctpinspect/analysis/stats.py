"""SCTP statistics: per association, per endpoint, expert summary; and tshark's ``-z`` tables.

:class:`StatsCollector` runs beside the :class:`~sctpinspect.analysis.core.Analyzer`
(which finds the associations, RFC 9260 5.1 / 8.5: one association per pair
of endpoints, every path of a multihomed one included) and counts, from each
*shown* packet's compact record (quick attributes, ``chunk.v``, the notes and
``pkt.analysis``), what ``sctpinspect stats`` prints:

- per association and direction: packets, bytes (frame length on the wire),
  every chunk by type (bundled chunks included), DATA/I-DATA TSN range,
  retransmissions (RFC 9260 6.3.3), RTT from the SACKs that first acknowledge
  a TSN (Karn's rule, RFC 9260 6.3.1 C5 / RFC 6298 3: TSNs that were
  retransmitted give no sample), a_rwnd min/max advertised (INIT, INIT ACK,
  SACK, NR-SACK), first/last time;
- per endpoint (port and every address): associations, packets, bytes;
- expert notes by severity, group, protocol and summary, with the RFC rule.

The association grouping uses every packet (the analysis needs them all);
the display filter (``-Y``) selects which packets are *counted*.

The ``-z`` taps (:class:`SctpStatTap`, :class:`ConvTap`, :class:`EndpointsTap`,
:class:`ExpertTap`) print tshark 4.0's layouts (``-z sctp,stat``,
``-z conv,sctp``, ``-z endpoints,sctp``, ``-z expert``) for scripts that parse
them; their semantics differ from tshark's where tshark is wrong (see
docs/fidelity.md): ``sctp,stat`` applies its filter and counts every chunk.

Memory: one small record per association (bounded by the analyzer's
``max_association_records``) and per endpoint / conversation / expert
message; nothing per packet.
"""
from __future__ import annotations

from collections import Counter

from ..model import SEVERITY_RANK
from .states import chunk_name

MASK32 = 0xFFFFFFFF
DATA, INIT, INIT_ACK, SACK, NR_SACK, I_DATA = 0, 1, 2, 3, 16, 64

# note key prefix -> the protocol column of tshark's -z expert
PROTOCOLS = {"sctp": "SCTP", "sctpinspect": "SCTP", "ip": "IPv4", "ipv6": "IPv6", "udp": "UDP",
             "eth": "Ethernet", "icmp": "ICMP", "icmpv6": "ICMPv6", "vlan": "802.1Q Virtual LAN",
             "sll": "Linux cooked-mode capture", "frame": "Frame", "null": "Null/Loopback"}

SEVERITY_TITLES = (("error", "Errors"), ("warn", "Warns"), ("note", "Notes"), ("chat", "Chats"))


def _serial_lt(a: int, b: int) -> bool:
    """RFC 1982 serial-number a < b for 32-bit TSNs."""
    return a != b and ((b - a) & MASK32) < 0x80000000


class DirStats:
    """What one endpoint of an association sent (the shown packets only)."""

    __slots__ = ("packets", "bytes", "chunks", "tsn_low", "tsn_high", "data_chunks",
                 "data_bytes", "retransmissions", "rtt_n", "rtt_min", "rtt_max", "rtt_sum",
                 "rwnd_min", "rwnd_max")

    def __init__(self):
        self.packets = 0
        self.bytes = 0
        self.chunks: Counter = Counter()
        self.tsn_low = self.tsn_high = None
        self.data_chunks = 0
        self.data_bytes = 0
        self.retransmissions = 0
        self.rtt_n = 0
        self.rtt_min = self.rtt_max = None
        self.rtt_sum = 0.0
        self.rwnd_min = self.rwnd_max = None

    def rtt(self, r: float) -> None:
        self.rtt_n += 1
        self.rtt_sum += r
        if self.rtt_min is None or r < self.rtt_min:
            self.rtt_min = r
        if self.rtt_max is None or r > self.rtt_max:
            self.rtt_max = r

    def rwnd(self, w: int) -> None:
        if self.rwnd_min is None or w < self.rwnd_min:
            self.rwnd_min = w
        if self.rwnd_max is None or w > self.rwnd_max:
            self.rwnd_max = w

    def to_dict(self) -> dict:
        return {"packets": self.packets, "bytes": self.bytes,
                "chunks": dict(sorted(self.chunks.items())),
                "data_chunks": self.data_chunks, "data_bytes": self.data_bytes,
                "tsn_first": self.tsn_low, "tsn_last": self.tsn_high,
                "retransmissions": self.retransmissions,
                "rtt_samples": self.rtt_n, "rtt_min": self.rtt_min,
                "rtt_avg": (self.rtt_sum / self.rtt_n) if self.rtt_n else None,
                "rtt_max": self.rtt_max, "a_rwnd_min": self.rwnd_min, "a_rwnd_max": self.rwnd_max}


class AssocStats:
    __slots__ = ("index", "dirs", "first_ts", "last_ts", "first_frame", "last_frame")

    def __init__(self, index: int, frame: int, ts: float):
        self.index = index
        self.dirs = (DirStats(), DirStats())
        self.first_frame = self.last_frame = frame
        self.first_ts = self.last_ts = ts


class StatsCollector:
    """Feed every packet through :meth:`feed` (it runs the analyzer), then
    :meth:`count` the shown ones; read :meth:`associations`, :meth:`endpoints`,
    :meth:`expert`."""

    MAX_RETRANSMITTED = 65536      # (frame, chunk) of retransmitted TSNs awaiting their ack

    def __init__(self, analyzer):
        self.analyzer = analyzer
        analyzer.on_late = self._late
        self.assocs: dict[int, AssocStats] = {}
        self.notes: dict = {}            # (severity, group, protocol, message) -> [count, rfc, key]
        self.packets = 0                 # shown SCTP packets
        self._rtts: list = []            # RTT samples of the packet being fed
        self._retransmitted: set = set()  # (frame, k) of TSNs sent again: no RTT sample (Karn)
        self.karn_dropped = 0

    def _late(self, frame, k, name, value) -> None:
        if name == "sctp.data_rtt":
            key = (frame, k)
            if key in self._retransmitted:
                self._retransmitted.discard(key)
                self.karn_dropped += 1
            else:
                self._rtts.append(value)
        elif name == "sctp.retransmitted":
            if len(self._retransmitted) < self.MAX_RETRANSMITTED:
                self._retransmitted.add((frame, k))

    def feed(self, pkt) -> None:
        self._rtts = []
        self.analyzer.feed(pkt)

    def count(self, pkt) -> None:
        """Count one shown packet (after :meth:`feed`)."""
        info = pkt.analysis if pkt.sctp_offset >= 0 else None
        if not info or info.get("assoc_index") is None:
            return
        self.packets += 1
        idx = info["assoc_index"]
        ts = pkt.ts
        frame = pkt.record.number
        a = self.assocs.get(idx)
        if a is None:
            a = self.assocs[idx] = AssocStats(idx, frame, ts)
        a.last_frame = frame
        a.last_ts = ts
        side = info["sender"] - 1
        d = a.dirs[side]
        d.packets += 1
        d.bytes += pkt.record.wirelen
        chunks = d.chunks
        for c in pkt.chunks:
            t = c.type
            chunks[chunk_name(t)] += 1
            v = c.v
            if v is None:
                continue
            if t == DATA or t == I_DATA:
                tsn = v[0]
                d.data_chunks += 1
                d.data_bytes += max(0, c.clen - (20 if t == I_DATA else 16))
                if d.tsn_low is None:
                    d.tsn_low = d.tsn_high = tsn
                elif _serial_lt(tsn, d.tsn_low):
                    d.tsn_low = tsn
                elif _serial_lt(d.tsn_high, tsn):
                    d.tsn_high = tsn
            elif t == SACK or t == NR_SACK or t == INIT or t == INIT_ACK:
                d.rwnd(v[1])       # a_rwnd (SACK, NR-SACK) / Advertised Receiver Window Credit
        d.retransmissions += info.get("retransmissions", 0)
        if self._rtts:             # this packet's SACKs acked DATA of the other side
            other = a.dirs[1 - side]
            for r in self._rtts:
                other.rtt(r)
        notes = self.notes
        for n in pkt.notes:
            key = (n.severity, _group(n.group), _protocol(n.key), n.message)
            hit = notes.get(key)
            if hit is None:
                notes[key] = [1, n.rfc, n.key]
            else:
                hit[0] += 1

    # -- results
    def associations(self) -> list[dict]:
        rows = []
        assocs = self.analyzer.associations
        for idx in sorted(self.assocs):
            s = self.assocs[idx]
            a = assocs[idx]
            rows.append({
                "assoc": idx,
                "endpoints": [{"endpoint": e.number, "port": e.port, "addresses": list(e.addresses),
                               "vtag": e.vtag} for e in a.ep],
                "state": [a.ep[0].state, a.ep[1].state], "end": a.end_reason,
                "first_frame": s.first_frame, "last_frame": s.last_frame,
                "first_time": s.first_ts, "last_time": s.last_ts,
                "duration": s.last_ts - s.first_ts,
                "directions": [dict(sender=i + 1, **d.to_dict()) for i, d in enumerate(s.dirs)],
            })
        return rows

    def endpoints(self) -> list[dict]:
        """One row per endpoint (port + address set); associations sharing it summed."""
        eps: dict = {}
        assocs = self.analyzer.associations
        for idx in sorted(self.assocs):
            s = self.assocs[idx]
            a = assocs[idx]
            for side in (0, 1):
                e = a.ep[side]
                key = (e.port, tuple(sorted(e.addresses)))
                row = eps.get(key)
                if row is None:
                    row = eps[key] = {"port": e.port, "addresses": list(e.addresses),
                                      "associations": [], "tx_packets": 0, "tx_bytes": 0,
                                      "rx_packets": 0, "rx_bytes": 0, "data_chunks_tx": 0,
                                      "retransmissions": 0}
                row["associations"].append(idx)
                tx, rx = s.dirs[side], s.dirs[1 - side]
                row["tx_packets"] += tx.packets
                row["tx_bytes"] += tx.bytes
                row["rx_packets"] += rx.packets
                row["rx_bytes"] += rx.bytes
                row["data_chunks_tx"] += tx.data_chunks
                row["retransmissions"] += tx.retransmissions
        rows = list(eps.values())
        for r in rows:
            r["packets"] = r["tx_packets"] + r["rx_packets"]
            r["bytes"] = r["tx_bytes"] + r["rx_bytes"]
        rows.sort(key=lambda r: -r["packets"])      # stable: first seen first on ties
        return rows

    def expert(self) -> list[dict]:
        rows = [{"severity": sev, "group": g, "protocol": p, "summary": m, "count": v[0],
                 "rfc": v[1], "key": v[2]}
                for (sev, g, p, m), v in self.notes.items()]
        rows.sort(key=lambda r: -SEVERITY_RANK.get(r["severity"], 0))
        return rows


def _group(g: str) -> str:
    return g[:1].upper() + g[1:] if g else g


def _protocol(key: str | None) -> str:
    if not key:
        return "SCTP"
    return PROTOCOLS.get(key.split(".", 1)[0], "SCTP")


# --------------------------------------------------------------------------- tshark -z layouts
def format_size(n: int) -> str:
    """wsutil format_size(..., format_size_unit_bytes | format_size_prefix_si)."""
    for div, prefix in ((10 ** 15, "P"), (10 ** 12, "T"), (10 ** 9, "G"), (10 ** 6, "M"),
                        (10 ** 3, "k")):
        if n // div >= 10:
            return f"{n // div} {prefix}B"
    return f"{n} bytes"


def _sec(ns: int) -> float:
    """nstime_to_sec(): seconds + nanoseconds / 1e9 in double, as tshark rounds them."""
    secs, nsecs = divmod(ns, 1_000_000_000)
    if secs < 0 and nsecs:          # nstime keeps seconds and nanoseconds of one sign
        secs, nsecs = secs + 1, nsecs - 1_000_000_000
    return secs + nsecs / 1e9


def _addr_port(addr: str, port: int) -> str:
    return f"{addr}:{port}"


class SctpStatTap:
    """``-z sctp,stat[,FILTER]``: tshark's table of chunk counts per (source,
    destination, ports), newest row first.  Unlike tshark 4.0 the FILTER is
    applied (tshark compares 11 bytes of the argument with the 10-character
    prefix ``sctp,stat,`` and never sees it) and every chunk of a packet is
    counted (tshark counts only the first chunk of a packet that starts with
    INIT or INIT ACK)."""

    COLUMNS = (DATA, SACK, 4, 5, INIT, INIT_ACK, 10, 11, 6, 9)
    RULE = "-" * 135

    def __init__(self, filter_text=None, predicate=None):
        self.filter_text = filter_text
        self.predicate = predicate
        self.packets = 0
        self.rows: dict = {}

    def feed(self, pkt) -> None:
        if pkt.sctp_offset < 0 or (self.predicate is not None and not self.predicate(pkt)):
            return
        self.packets += 1
        key = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Counter()
        for c in pkt.chunks:
            row[c.type] += 1

    def render(self) -> str:
        out = ["-------------------------------------------- SCTP Statistics "
               "--------------------------------------------------------------------------",
               f"|  Total packets RX/TX {self.packets}", self.RULE,
               "|   Source IP   |PortA|    Dest. IP   |PortB|  DATA  |  SACK  |  HBEAT |HBEATACK|"
               "  INIT  | INITACK| COOKIE |COOKIACK| ABORT  |  ERROR |", self.RULE]
        for (src, sport, dst, dport), row in reversed(list(self.rows.items())):
            out.append(f"|{src:>15}|{sport:5}|{dst:>15}|{dport:5}|"
                       + "".join(f"{row[t]:8}|" for t in self.COLUMNS))
        out.append(self.RULE)
        return "\n".join(out) + "\n"


class _Tap:
    def __init__(self, filter_text=None, predicate=None):
        self.filter_text = filter_text
        self.predicate = predicate
        self.first_ts = None       # the first frame of the file: tshark's relative times

    def frame(self, pkt) -> None:
        if self.first_ts is None:
            self.first_ts = pkt.record.ts_ns

    def _take(self, pkt) -> bool:
        return pkt.sctp_offset >= 0 and (self.predicate is None or self.predicate(pkt))

    def _head(self, title: str) -> list:
        return ["=" * 80, title, f"Filter:{self.filter_text or '<No Filter>'}"]


class ConvTap(_Tap):
    """``-z conv,sctp[,FILTER]``: one row per address/port pair, as tshark
    (a multihomed association is one row per path; ``stats`` has one row)."""

    def __init__(self, filter_text=None, predicate=None):
        super().__init__(filter_text, predicate)
        self.convs: dict = {}      # unordered pair -> [src, sport, dst, dport, tx f, tx b, rx f, rx b, t0, t1]

    def feed(self, pkt) -> None:
        self.frame(pkt)
        if not self._take(pkt):
            return
        a, b = (pkt.src, pkt.sport), (pkt.dst, pkt.dport)
        key = (a, b) if a <= b else (b, a)
        t = pkt.record.ts_ns - self.first_ts
        c = self.convs.get(key)
        if c is None:
            c = self.convs[key] = [a, b, 0, 0, 0, 0, t, t]
        if a == c[0]:
            c[2] += 1
            c[3] += pkt.record.wirelen
        else:
            c[4] += 1
            c[5] += pkt.record.wirelen
        if t > c[7]:               # tshark: the earliest and latest time seen
            c[7] = t
        elif t < c[6]:
            c[6] = t

    def render(self) -> str:
        out = self._head("SCTP Conversations")
        pad = " " * 59
        out.append(pad + "|       <-      | |       ->      | |     Total     |    Relative    |"
                         "   Duration   |")
        out.append(pad + "| Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |"
                         "              |")
        rows = sorted(self.convs.values(), key=lambda c: -(c[2] + c[4]))
        for (sa, sp), (da, dp), txf, txb, rxf, rxb, t0, t1 in rows:
            out.append(f"{_addr_port(sa, sp):<26} <-> {_addr_port(da, dp):<26}  "
                       f"{rxf:6} {format_size(rxb):<9}  {txf:6} {format_size(txb):<9}  "
                       f"{txf + rxf:6} {format_size(txb + rxb):<9}  "
                       f"{_sec(t0):14.9f}   {_sec(t1) - _sec(t0):12.4f}")
        out.append("=" * 80)
        return "\n".join(out) + "\n"


class EndpointsTap(_Tap):
    """``-z endpoints,sctp[,FILTER]``: one row per (address, port), as tshark."""

    def __init__(self, filter_text=None, predicate=None):
        super().__init__(filter_text, predicate)
        self.eps: dict = {}        # (addr, port) -> [tx f, tx b, rx f, rx b]

    def feed(self, pkt) -> None:
        self.frame(pkt)
        if not self._take(pkt):
            return
        n = pkt.record.wirelen
        for key, i in (((pkt.src, pkt.sport), 0), ((pkt.dst, pkt.dport), 2)):
            e = self.eps.get(key)
            if e is None:
                e = self.eps[key] = [0, 0, 0, 0]
            e[i] += 1
            e[i + 1] += n

    def render(self) -> str:
        out = self._head("SCTP Endpoints")
        out.append("                       |  Port  ||  Packets  | |  Bytes  | | Tx Packets | "
                   "| Tx Bytes | | Rx Packets | | Rx Bytes |")
        rows = sorted(self.eps.items(), key=lambda kv: -(kv[1][0] + kv[1][2]))
        for (addr, port), (txf, txb, rxf, rxb) in rows:
            out.append(f"{addr:<20}      {port:5}     {txf + rxf:6}     {txb + rxb:9}     "
                       f"{txf:6}       {txb:9}      {rxf:6}       {rxb:9}   ")
        out.append("=" * 80)
        return "\n".join(out) + "\n"


class ExpertTap(_Tap):
    """``-z expert[,FILTER]``: our expert notes in tshark's layout (the decoder's
    and the analysis' notes: SCTP and the layers below it)."""

    def __init__(self, filter_text=None, predicate=None):
        super().__init__(filter_text, predicate)
        self.notes: dict = {}

    def feed(self, pkt) -> None:
        if not (self.predicate is None or self.predicate(pkt)):
            return
        for n in pkt.notes:
            key = (n.severity, _group(n.group), _protocol(n.key), n.message)
            self.notes[key] = self.notes.get(key, 0) + 1

    def render(self) -> str:
        out = []
        for sev, title in SEVERITY_TITLES:
            rows = [(k, v) for k, v in self.notes.items() if k[0] == sev]
            if not rows:
                continue
            out += ["", f"{title} ({sum(v for _, v in rows)})", "=" * 13,
                    "   Frequency      Group           Protocol  Summary"]
            for (_s, g, p, m), v in rows:
                out.append(f"{v:12} {g:>10} {p:>18}  {m}")
        return "\n".join(out) + ("\n" if out else "")


TAPS = {"sctp,stat": SctpStatTap, "conv,sctp": ConvTap, "endpoints,sctp": EndpointsTap,
        "expert": ExpertTap}


def parse_z(spec: str):
    """``-z`` argument -> (tap class, filter text or None); None if unknown."""
    for name, cls in TAPS.items():
        if spec == name:
            return cls, None
        if spec.startswith(name + ","):
            return cls, spec[len(name) + 1:] or None
    return None
