"""The diagnoser: runs the rule catalogue over analysed packets, streaming.

``Diagnoser.feed(pkt)`` decodes nothing itself: it runs the
:class:`~sctpinspect.analysis.Analyzer` on the Packet (unless told that the
caller already did) and then checks the packet against the rules.  It
returns the findings that *became certain* with this packet (a finding is
reported once, when first certain; later evidence is added to the same
finding).  ``finish()`` runs the end-of-capture checks (an INIT never
answered, a shutdown never completed, heartbeats without answer, the
checksum-offload heuristic, abort loops) and returns the findings it added.
``findings`` is the full list at any time.

Findings are aggregated: one per (rule, association, subject) -- e.g. one
``retransmission`` finding per association and sender, one ``cause-*``
finding per cause code and association -- with ``count`` occurrences and up
to ``max_frames`` proving frames.  Packets proving a finding get a
``sctpinspect.rule`` field in their ``sctp`` (or ``icmp``) layer when the
finding is certain at that packet, so ``-Y 'sctpinspect.rule == "abort"'``
works in a streaming pipeline.
"""
from __future__ import annotations

from ..analysis import Analyzer
from ..decode.sctp.names import CHUNK_NAMES, PARAMETER_NAMES, PPIDS
from ..model import ERROR as NOTE_ERROR, WARN as NOTE_WARN, Field, Packet
from ..registry import FT_STRING, register
from .field import FieldChecks
from .rules import CAUSE_RULE_ID, INFO, RULES, SEVERITY_RANK, WARN, at_least, thresholds

register("sctpinspect.rule", "Diagnostic rule", FT_STRING,
         description="id of a sctpinspect diagnose rule this packet proves")

DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT = 0, 1, 2, 3, 4, 5, 6
SHUTDOWN, SHUTDOWN_ACK, ERROR_CHUNK, COOKIE_ECHO, COOKIE_ACK = 7, 8, 9, 10, 11
SHUTDOWN_COMPLETE, I_DATA, ASCONF_ACK, FORWARD_TSN = 14, 64, 0x80, 192
MASK32 = 0xFFFFFFFF

# Extension -> how an INIT / INIT ACK announces it (RFC 4895, 5061, 6525, 8260, 3758,
# 9260 App. A, 9653): supported-extension chunk types and/or a parameter type.
EXTENSIONS = {
    "AUTH": ({0x0F}, {0x8002, 0x8003, 0x8004}),
    "ASCONF": ({0xC1, 0x80}, set()),
    "RE-CONFIG": ({0x82}, set()),
    "I-DATA": ({0x40}, set()),
    "PR-SCTP": ({0xC0}, {0xC000}),
    "ECN": (set(), {0x8000}),
    "zero checksum": (set(), {0x8001}),
}
# A rejected chunk type (Unrecognized Chunk Type cause) -> the extension it belongs to.
CHUNK_EXTENSION = {0x0F: "AUTH", 0xC1: "ASCONF", 0x80: "ASCONF", 0x82: "RE-CONFIG",
                   0x40: "I-DATA", 0xC2: "I-DATA", 0xC0: "PR-SCTP", 12: "ECN", 13: "ECN"}
PARAM_EXTENSION = {t: name for name, (_, ps) in EXTENSIONS.items() for t in ps}

# ICMP (RFC 792) / ICMPv6 (RFC 4443) errors that quote a packet we care about.
ICMP4 = {(3, 2): "protocol unreachable (the host has no SCTP)", (3, 3): "port unreachable",
         (3, 4): "fragmentation needed", (3, 0): "network unreachable",
         (3, 1): "host unreachable", (3, 13): "communication administratively prohibited",
         (11, 0): "time to live exceeded in transit"}
ICMP6 = {(1, 4): "port unreachable", (1, 0): "no route to destination",
         (1, 1): "communication administratively prohibited", (1, 3): "address unreachable",
         (2, 0): "packet too big", (4, 1): "unrecognized next header (the host has no SCTP)",
         (3, 0): "hop limit exceeded in transit"}


def bswap32(v: int) -> int:
    return int.from_bytes((v & MASK32).to_bytes(4, "big"), "little")


class Finding:
    """One diagnosis: a rule that fired, where, and the frames that prove it."""

    __slots__ = ("rule", "severity", "rfc", "association", "assoc_label", "frames", "count",
                 "message", "hint", "key", "first_ts", "extra", "max_frames", "by", "order")

    def __init__(self, rule_id: str, association, assoc_label: str, message: str, key=None,
                 severity: str | None = None, max_frames: int = 50):
        r = RULES[rule_id]
        self.rule = rule_id
        self.severity = severity or r.severity
        self.rfc = r.rfc
        self.association = association
        self.assoc_label = assoc_label
        self.frames: list[int] = []
        self.count = 0
        self.message = message
        self.hint = r.next
        self.key = key
        self.first_ts = None
        self.extra: dict = {}
        self.max_frames = max_frames
        self.by = None              # the endpoint that sent the ABORT (abort rules)
        self.order = None           # where it was made (Diagnoser._emit; the shard merge sorts by it)

    def add_frame(self, frame: int) -> None:
        if frame in self.frames[-4:]:
            return
        if len(self.frames) < self.max_frames:
            self.frames.append(frame)

    def to_dict(self) -> dict:
        d = {"rule": self.rule, "severity": self.severity, "rfc": self.rfc,
             "association": self.association, "endpoints": self.assoc_label,
             "frames": list(self.frames), "count": self.count, "message": self.message,
             "hint": self.hint}
        if self.extra:
            d["details"] = self.extra
        return d

    def __repr__(self) -> str:  # pragma: no cover
        return f"Finding({self.rule}, {self.severity}, assoc={self.association}, frames={self.frames[:5]})"


class _AState:
    """What the diagnoser remembers per association (beyond the Analyzer's state)."""

    __slots__ = ("init_side", "inits", "init_acked", "echo_side", "echoes", "cookie_acked",
                 "features", "init_params", "rejected", "shutdown_frame", "aborted",
                 "misses", "retrans", "alias", "stale", "zero", "bad", "adler", "shutdown_done")

    def __init__(self):
        self.init_side = None          # 0/1: which endpoint sent the first INIT
        self.inits: list = []          # (frame, ts) of the initiator's INITs
        self.init_acked = 0            # frame of the first INIT ACK
        self.echo_side = None
        self.echoes: list = []         # (frame, ts) COOKIE ECHOs
        self.cookie_acked = 0
        self.features = [None, None]   # set of extension names announced in INIT / INIT ACK
        self.init_params = [None, None]  # (os, mis) per side
        self.rejected: set = set()
        self.shutdown_frame = 0
        self.shutdown_done = 0
        self.aborted = 0
        # per data sender: tsn -> miss indications (7.2.4), and [t3, fast, frames];
        # made on the first SACK / retransmission (an INIT flood never needs them)
        self.misses = None
        self.retrans = None
        self.alias = None              # index of the association this stray one belongs to
        self.stale = False
        self.zero = 0
        self.bad = 0
        self.adler = 0


def _ep_label(assoc, side: int) -> str:
    ep = assoc.ep[side]
    addr = ep.addresses[0] if ep.addresses else "?"
    if ":" in addr:
        addr = f"[{addr}]"
    return f"{addr}:{ep.port}"


def assoc_label(assoc) -> str:
    return f"{_ep_label(assoc, 0)} <-> {_ep_label(assoc, 1)}"


def _params(chunk):
    """(parameter types, supported extension chunk types, rejected parameter types) of an
    INIT / INIT ACK, from its compact parameters."""
    types, sup, rejected = set(), set(), set()
    v = chunk.v
    for t, value in (v[5] if v is not None else ()):
        types.add(t)
        if t == 0x8008 and value:
            sup.update(value)
        elif t == 8 and value:  # Unrecognized Parameter: copies of the parameters the peer rejected
            rejected.update(x for x, _ in value)
    return types, sup, rejected


def _features(types, sup) -> set:
    out = set()
    for name, (chunks, params) in EXTENSIONS.items():
        if (chunks and chunks <= sup) or (params & types):
            out.add(name)
    return out


def _causes(chunk) -> list:
    """The compact causes ``(code, info, text)`` of an ABORT, ERROR or ASCONF ACK."""
    v = chunk.v
    if v is None:
        return []
    if chunk.type == ASCONF_ACK:
        out = []
        for t, value in v[1]:
            if t == 0xC003 and value:
                out.extend(value[1])
        return out
    return list(v[0])


# causes whose information is text people quote in their reports: the reason of a
# User Initiated Abort (RFC 9260 3.3.10.12), the additional information of a Protocol
# Violation (3.3.10.13)
TEXT_CAUSES = (12, 13)
MAX_REASON = 200


def cause_reason(c) -> str | None:
    """The quoted text of a User Initiated Abort / Protocol Violation cause, escaped
    (non-printable bytes as \\xNN, trailing NULs dropped, at most MAX_REASON chars)."""
    if c[0] not in TEXT_CAUSES or not isinstance(c[1], (bytes, bytearray)):
        return None
    raw = bytes(c[1]).rstrip(b"\0")
    if not raw:
        return None
    s = "".join(chr(b) if 32 <= b < 127 and b != 0x5C else f"\\x{b:02x}" for b in raw[:MAX_REASON])
    if len(raw) > MAX_REASON:
        s += "..."
    return s


def _cause_text(c) -> str:
    if c[2]:
        text = c[2]
    else:
        from ..decode.sctp.names import CAUSE_NAMES
        text = CAUSE_NAMES.get(c[0], f"cause {c[0]}")
    reason = cause_reason(c)
    if reason is not None:
        text += f' "{reason}"'
    return text


class Diagnoser:
    """Streaming rule engine; see the module docstring."""

    def __init__(self, analyzer: Analyzer | None = None, annotate: bool = True,
                 max_frames: int = 50, abort_loop: int = 3, max_findings: int = 1000,
                 thresholds: dict | None = None):
        self.analyzer = analyzer if analyzer is not None else Analyzer()
        # the rules' named thresholds (rules.THRESHOLDS) with the caller's overrides
        self.thresholds = _thresholds(thresholds)
        self.field = FieldChecks(self, self.thresholds)
        self.annotate = annotate
        self.max_frames = max_frames
        # findings of one rule listed one by one; beyond, the rule's further
        # associations fold into one "overflow" finding (an INIT flood makes
        # one finding per association: memory and output stay bounded)
        self.max_findings = max_findings
        self._per_rule: dict = {}        # rule id -> findings listed
        self.abort_loop = abort_loop
        self.findings: list[Finding] = []
        self._by_key: dict = {}
        self._st: dict = {}             # assoc index -> _AState
        self._ports: dict = {}          # (low, high port) -> [assoc, ...]
        self._seen = 0                  # associations registered in _ports
        self._ck: dict = {}             # src address -> [bad, good, zero, adler]
        self._aborts: dict = {}         # endpoint pair -> [frames of ABORTs ending associations]
        self._abort_assocs: dict = {}
        self._ppid_ok: dict = {}
        self.last_ts = None
        self.frames = 0
        self.finished = False
        # where a new finding is made, kept in Finding.order so that the findings of
        # several shards (analysis/shard.py) merge into the order one process makes them:
        # phase 0 = while feeding (_ref: the frame fed), 1 = the end-of-capture checks per
        # association (_ref: its index), 2 = FieldChecks.finish (_ref: the frame that made
        # the association's flow), 3 = the capture-wide end checks
        self._phase = 0
        self._ref = 0

    # ------------------------------------------------------------------ findings
    def _emit(self, new: list, rule_id: str, pkt: Packet | None, assoc, message: str,
              key=None, severity: str | None = None, frames=(), label: str | None = None):
        index = None if assoc is None else assoc.index
        k = (rule_id, index, key)
        f = self._by_key.get(k)
        if f is None:
            listed = self._per_rule.get(rule_id, 0)
            if listed >= self.max_findings:
                return self._overflow(new, rule_id, pkt, index, frames)
            self._per_rule[rule_id] = listed + 1
            f = Finding(rule_id, index, label if label is not None else
                        (assoc_label(assoc) if assoc is not None else ""), message, key,
                        severity, self.max_frames)
            self._by_key[k] = f
            f.order = (self._phase, self._ref)
            self.findings.append(f)
            if pkt is not None:
                f.first_ts = pkt.ts
            new.append(f)
        elif severity is not None and SEVERITY_RANK[severity] > SEVERITY_RANK[f.severity]:
            f.severity = severity
        f.count += 1
        for fr in frames:
            f.add_frame(fr)
        if pkt is not None:
            f.add_frame(pkt.number)
            if self.annotate:
                self._mark(pkt, rule_id)
        return f

    def _overflow(self, new: list, rule_id: str, pkt, index, frames) -> Finding:
        """The one finding that counts a rule's occurrences beyond ``max_findings``."""
        k = (rule_id, None, "overflow")
        f = self._by_key.get(k)
        if f is None:
            f = Finding(rule_id, None, "further associations", "", "overflow", None, self.max_frames)
            f.extra["folded"] = 0
            self._by_key[k] = f
            f.order = (self._phase, self._ref)
            self.findings.append(f)
            if pkt is not None:
                f.first_ts = pkt.ts
            new.append(f)
        if index != f.extra.get("_last"):
            f.extra["_last"] = index
            f.extra["folded"] += 1
        f.count += 1
        for fr in frames:
            f.add_frame(fr)
        if pkt is not None:
            f.add_frame(pkt.number)
        self._overflow_text(f)
        return f

    def _overflow_text(self, f: Finding) -> None:
        f.message = (f"{f.extra['folded']} more occurrences in further associations, not listed "
                     f"one by one (cap: {self.max_findings} findings per rule)")

    @staticmethod
    def _mark(pkt: Packet, rule_id: str) -> None:
        """A ``sctpinspect.rule`` field in the packet's sctp (or icmp) layer; on a
        compact packet it is made with the tree."""
        if pkt.sctp_offset >= 0:
            for f in pkt.sctp_fields() if not pkt.built else (pkt.sctp.children or ()):
                if f.name == "sctpinspect.rule" and f.value == rule_id:
                    return
            pkt.add_sctp_field(Field("sctpinspect.rule", rule_id, pkt.sctp_offset, 0))
            return
        layer = pkt.icmp
        if layer is None:
            return
        kids = layer.children
        if kids is None:
            kids = layer.children = []
        for c in kids:
            if c.name == "sctpinspect.rule" and c.value == rule_id:
                return
        kids.append(Field("sctpinspect.rule", rule_id, layer.offset, 0))

    def _state(self, assoc) -> _AState:
        st = self._st.get(assoc.index)
        if st is None:
            st = self._st[assoc.index] = _AState()
        return st

    # ------------------------------------------------------------------ feeding
    def feed(self, pkt: Packet, analysed: bool = False) -> list[Finding]:
        """Analyse (unless ``analysed``) and check one packet; the findings it made certain."""
        if not analysed:
            self.analyzer.feed(pkt)
        self.frames += 1
        self.last_ts = pkt.ts
        self._ref = pkt.number
        new: list = []
        if pkt.sctp_offset < 0:
            if pkt.icmp is not None:
                self._icmp(pkt, new)
            if pkt.notes:
                self._notes(pkt, None, new)
            return new
        an = self.analyzer
        if len(an.associations) > self._seen:
            for a in an.associations[self._seen:]:
                self._ports.setdefault(_pkey(a.ep[0].port, a.ep[1].port), []).append(a)
                if a.restart_of is not None:
                    old = an.associations[a.restart_of]
                    self._emit(new, "restart", pkt, old,
                               f"endpoint {_ep_label(a, 0)} sent a new INIT in frame {pkt.number} while the association was "
                               f"{old.state[0]}/{old.state[1]}: restart, continued as association "
                               f"{a.index}")
            self._seen = len(an.associations)
        info = pkt.analysis
        index = info.get("assoc_index") if info else None
        assoc = an.associations[index] if index is not None else None
        if assoc is None:
            if pkt.notes:
                self._notes(pkt, None, new)
            return new
        st = self._state(assoc)
        sender = info["sender"] - 1
        if assoc.first_frame == pkt.number and assoc.inferred and st.alias is None:
            self._stray(pkt, assoc, st, sender, new)
        if st.alias is not None:
            self._stray_more(pkt, assoc, st, sender, new)
            self._checksum(pkt, an.associations[st.alias], self._state(an.associations[st.alias]), new)
            return new
        self._checksum(pkt, assoc, st, new)
        field = self.field
        field.packet(pkt, assoc, st, sender, new)
        if pkt.notes:
            self._notes(pkt, assoc, new)
        if assoc.ended and assoc.end_frame < pkt.number and assoc.end_reason != "restart":
            ctypes = [c.type for c in pkt.chunks]
            if ctypes and ctypes[0] not in (ABORT, SHUTDOWN_COMPLETE, SHUTDOWN_ACK, INIT):
                self._emit(new, "ootb", pkt, assoc,
                           f"{_ep_label(assoc, sender)} sent {_chunk_list(pkt)} after the "
                           f"association ended ({assoc.end_reason} in frame {assoc.end_frame})")
        if assoc.collision_frame and assoc.collision_frame == pkt.number:
            self._emit(new, "init-collision", pkt, assoc,
                       f"both endpoints sent INIT (frames {st.inits[0][0] if st.inits else '?'} "
                       f"and {pkt.number}): initialisation collision",
                       frames=[st.inits[0][0]] if st.inits else ())
        receiver = 1 - sender
        has_data = False
        for c in pkt.chunks:
            t = c.type
            if t == DATA or t == I_DATA:
                self._data(pkt, assoc, st, sender, c, new)
                if t == DATA:
                    has_data = True
                    field.data(pkt, assoc, sender, c)
            elif t == SACK:
                self._sack(st, receiver, c)
                field.sack(pkt, assoc, st, sender, c, new)
            elif t == HEARTBEAT:
                field.heartbeat(pkt, assoc, c)
            elif t == HEARTBEAT_ACK:
                field.heartbeat_ack(pkt, assoc, sender, c, new)
            elif t == FORWARD_TSN:
                field.forward_tsn(pkt, assoc, sender, c, new)
            elif t == INIT:
                self._init(pkt, assoc, st, sender, c, new)
            elif t == INIT_ACK:
                self._init_ack(pkt, assoc, st, sender, c, new)
            elif t == COOKIE_ECHO:
                self._cookie_echo(pkt, assoc, st, sender, new)
            elif t == COOKIE_ACK:
                if not st.cookie_acked:
                    st.cookie_acked = pkt.number
                    field.flow(assoc).cookie_ack_how = "sent COOKIE ACK"
            elif t == ABORT:
                self._abort(pkt, assoc, st, sender, c, new)
            elif t == ERROR_CHUNK or t == ASCONF_ACK:
                self._error(pkt, assoc, st, sender, c, new)
            elif t == SHUTDOWN:
                if not st.shutdown_frame:
                    st.shutdown_frame = pkt.number
            elif t == SHUTDOWN_COMPLETE:
                st.shutdown_done = pkt.number
            if st.echoes and not st.cookie_acked and sender != st.echo_side and \
                    t in (DATA, I_DATA, SACK, HEARTBEAT, HEARTBEAT_ACK, SHUTDOWN, SHUTDOWN_ACK):
                st.cookie_acked = pkt.number   # the peer acts ESTABLISHED: cookie accepted
                field.flow(assoc).cookie_ack_how = (
                    f"acted established ({CHUNK_NAMES.get(t, t)})")
        if has_data:
            field.data_packet(pkt, assoc, st, sender, new)
        if info.get("retransmissions"):
            self._retrans(pkt, assoc, st, sender, new)
        dups = info.get("duplicate_tsns")
        if dups:
            self._emit(new, "duplicate-tsn", pkt, assoc,
                       f"{_ep_label(assoc, sender)} reported duplicate TSNs it received from "
                       f"{_ep_label(assoc, receiver)}", key=receiver)
            f = self._by_key[("duplicate-tsn", assoc.index, receiver)]
            f.extra["duplicates"] = f.extra.get("duplicates", 0) + len(dups)
        if info.get("zero_window"):
            self._emit(new, "zero-window", pkt, assoc,
                       f"{_ep_label(assoc, sender)} advertised a zero receive window (a_rwnd 0) "
                       f"to {_ep_label(assoc, receiver)}", key=sender)
        pc = info.get("path_change")
        if pc:
            asconf = assoc.chunk_counts[0].get("ASCONF") or assoc.chunk_counts[1].get("ASCONF")
            self._emit(new, "path-failover", pkt, assoc,
                       f"{_ep_label(assoc, sender)} moved DATA from path {pc['from'][0]} -> "
                       f"{pc['from'][1]} to {pc['to'][0]} -> {pc['to'][1]}"
                       + (" (after ASCONF address changes: probably deliberate)" if asconf else ""),
                       key=(sender, pc['from'], pc['to']), severity=INFO if asconf else None)
        return new

    # ------------------------------------------------------------------ per-packet checks
    def _checksum(self, pkt, assoc, st, new) -> None:
        s = pkt.checksum_status
        if s == "good" or s is None or s == "unverified":
            if s == "good":
                self._ck.setdefault(pkt.src, [0, 0, 0, 0])[1] += 1
            return
        row = self._ck.setdefault(pkt.src, [0, 0, 0, 0])
        if s == "bad":
            row[0] += 1
            st.bad += 1
            self._emit(new, "checksum-bad", pkt, assoc,
                       f"CRC32c wrong in packets from {pkt.src}: 0x{pkt.checksum:08x} where "
                       f"0x{(pkt.checksum_expected or 0):08x} was expected (first at frame "
                       f"{pkt.number})", key=pkt.src)
        elif s == "zero":
            row[2] += 1
            st.zero += 1
            self._emit(new, "checksum-zero", pkt, assoc,
                       f"zero checksum in packets from {pkt.src}", key=pkt.src)
        elif s == "adler32":
            row[3] += 1
            st.adler += 1
            self._emit(new, "checksum-adler32", pkt, assoc,
                       f"Adler-32 checksum (RFC 2960) in packets from {pkt.src}", key=pkt.src)

    def _notes(self, pkt, assoc, new) -> None:
        for n in pkt.notes:
            k = n.key or ""
            if k == "sctpinspect.chunk_unknown":
                self._emit(new, "unknown-chunk", pkt, assoc, n.message, key=n.message)
            elif k == "sctpinspect.parameter_unknown":
                self._emit(new, "unknown-param", pkt, assoc, n.message, key=n.message)
            elif (n.group == "Malformed" and n.severity in (NOTE_ERROR, NOTE_WARN)) or \
                    (n.group == "Protocol" and n.severity == NOTE_ERROR):
                where = f" at byte {n.offset}" if n.offset else ""
                rfc = f" ({n.rfc})" if n.rfc else ""
                self._emit(new, "malformed", pkt, assoc,
                           f"{n.message}{where}{rfc}", key=k or n.message,
                           severity=WARN if n.severity == NOTE_WARN else None)

    def _stray(self, pkt, assoc, st, sender, new) -> None:
        """A packet that made the Analyzer start a new mid-capture association: is there an
        association between the same endpoints whose tags it should have carried?"""
        first = pkt.chunks[0] if pkt.chunks else None
        if first is None or first.type == INIT:
            return
        if first.type == INIT_ACK:
            self._stray_init_ack(pkt, assoc, st, new)
            return
        for other in reversed(self._ports.get(_pkey(pkt.sport, pkt.dport), ())):
            if other is assoc or other.index > assoc.index:
                continue
            # both addresses must belong to the endpoints of that association
            s = other.side_of(pkt.src, pkt.sport)
            r = other.side_of(pkt.dst, pkt.dport)
            if s is None or r is None or s == r:
                continue
            own, peer = other.ep[s].vtag, other.ep[r].vtag
            if own is None or peer is None:
                continue
            st.alias = other.index
            ost = self._state(other)
            tbit = first.type in (ABORT, SHUTDOWN_COMPLETE) and first.flags & 1
            name = CHUNK_NAMES.get(first.type, str(first.type))
            if first.type in (ABORT, SHUTDOWN_COMPLETE) and (
                    (tbit and pkt.vtag == peer) or (not tbit and pkt.vtag == own)):
                self._emit(new, "vtag-tbit", pkt, other,
                           f"{_ep_label(other, s)} sent {name} with the T bit "
                           f"{'set' if tbit else 'clear'} and vtag 0x{pkt.vtag:08x}, which is "
                           f"the {'peer' if tbit else 'sender'}'s tag: with T "
                           f"{'set' if tbit else 'clear'} it must be 0x"
                           f"{(own if tbit else peer):08x}")
                return
            if other.ended:
                self._emit(new, "ootb", pkt, other,
                           f"{_ep_label(other, s)} sent {_chunk_list(pkt)} with vtag "
                           f"0x{pkt.vtag:08x} after the association ended "
                           f"({other.end_reason} in frame {other.end_frame})")
            else:
                self._emit(new, "vtag-mismatch", pkt, other,
                           f"{_ep_label(other, s)} sent {_chunk_list(pkt)} with vtag "
                           f"0x{pkt.vtag:08x}; the receiver's tag is 0x{peer:08x}")
            del ost
            return

    def _stray_init_ack(self, pkt, assoc, st, new) -> None:
        """An INIT ACK whose vtag is not the Initiate Tag of the INIT it answers (8.5)."""
        for other in reversed(self._ports.get(_pkey(pkt.sport, pkt.dport), ())):
            if other is assoc or other.index > assoc.index or other.ended:
                continue
            r = other.side_of(pkt.dst, pkt.dport)
            s = other.side_of(pkt.src, pkt.sport)
            if r is None or s is None or r == s:
                continue
            ep = other.ep[r]
            if ep.state != "COOKIE-WAIT" or ep.vtag is None or ep.vtag == pkt.vtag:
                continue
            st.alias = other.index
            ost = self._state(other)
            if not ost.init_acked:
                ost.init_acked = pkt.number
            self._emit(new, "vtag-mismatch", pkt, other,
                       f"{_ep_label(other, s)} answered the INIT with an INIT ACK whose vtag is "
                       f"0x{pkt.vtag:08x}; it must be the INIT's Initiate Tag 0x{ep.vtag:08x}")
            return

    def _stray_more(self, pkt, assoc, st, sender, new) -> None:
        """Later packets of a stray pseudo-association: the same bad tag, or the answer to it."""
        other = self.analyzer.associations[st.alias]
        first = pkt.chunks[0] if pkt.chunks else None
        if first is None or pkt.number == assoc.first_frame:
            return
        if sender != 0 and not (first.type == ABORT and first.flags & 1):
            return     # the other side carrying on with the stray tags
        for rid in ("vtag-mismatch", "ootb", "vtag-tbit"):
            f = self._by_key.get((rid, other.index, None))
            if f is not None:
                if first.type == ABORT and first.flags & 1:
                    f.extra.setdefault("answered_by_abort", pkt.number)
                self._emit(new, rid, pkt, other, f.message)
                return

    def _init(self, pkt, assoc, st, sender, chunk, new) -> None:
        if pkt.vtag != 0:
            self._emit(new, "vtag-init-nonzero", pkt, assoc,
                       f"INIT from {_ep_label(assoc, sender)} with vtag 0x{pkt.vtag:08x} "
                       "(must be 0)")
        if st.init_side is None:
            st.init_side = sender
        if self.field.init(pkt, assoc, st, sender, chunk, new):
            return      # a late copy of the INIT (init-after-established), not a retransmission
        if sender == st.init_side:
            st.inits.append((pkt.number, pkt.ts))
            if len(st.inits) > 1:
                t0 = st.inits[0][1]
                times = ", ".join(f"+{t - t0:.3f}" for _, t in st.inits)
                self._emit(new, "init-unanswered", pkt, assoc,
                           f"INIT from {_ep_label(assoc, sender)} retransmitted: sent at {times} s",
                           severity=WARN)
                f = self._by_key[("init-unanswered", assoc.index, None)]
                f.message = (f"INIT from {_ep_label(assoc, sender)} retransmitted "
                             f"{len(st.inits) - 1} times: sent at {times} s")
                if st.init_acked:
                    f.message += (f", although the peer answered with INIT ACK in frame "
                                  f"{st.init_acked}: the answer was lost after the capture point "
                                  "or discarded by the initiator")
                f.add_frame(st.inits[0][0])
                f.frames.sort()
        types, sup, _ = _params(chunk)
        st.features[sender] = _features(types, sup)
        st.init_params[sender] = (chunk.get("sctp.init_nr_out_streams"),
                                  chunk.get("sctp.init_nr_in_streams"))

    def _init_ack(self, pkt, assoc, st, sender, chunk, new) -> None:
        if not st.init_acked:
            st.init_acked = pkt.number
        self.field.init_ack(pkt, assoc, st, sender, chunk, new)
        types, sup, rejected = _params(chunk)
        mine = _features(types, sup)
        st.features[sender] = mine
        st.init_params[sender] = (chunk.get("sctp.initack_nr_out_streams"),
                                  chunk.get("sctp.initack_nr_in_streams"))
        peer = 1 - sender
        theirs = st.features[peer]
        init_frame = st.inits[-1][0] if st.inits else None
        ev = [init_frame] if init_frame else []
        for t in sorted(rejected):
            ext = PARAM_EXTENSION.get(t)
            pname = PARAMETER_NAMES.get(t, f"0x{t:04x}")
            self._emit(new, "extension-mismatch", pkt, assoc,
                       f"{_ep_label(assoc, sender)} reported the {pname} parameter of the INIT as "
                       f"unrecognized" + (f": {ext} is not supported by it" if ext else ""),
                       key=("rejected", t), severity=WARN if ext else INFO, frames=ev)
        if theirs is not None:
            for ext in sorted(theirs - mine):
                self._emit(new, "extension-mismatch", pkt, assoc,
                           f"{_ep_label(assoc, peer)} offers {ext} in its INIT but "
                           f"{_ep_label(assoc, sender)} does not announce it in its INIT ACK: "
                           f"{ext} is off for this association", key=ext, frames=ev)
            for ext in sorted(mine - theirs):
                self._emit(new, "extension-mismatch", pkt, assoc,
                           f"{_ep_label(assoc, sender)} offers {ext} in its INIT ACK but "
                           f"{_ep_label(assoc, peer)} did not announce it in its INIT: "
                           f"{ext} is off for this association", key=ext, frames=ev)
        a, b = st.init_params[peer], st.init_params[sender]
        if a is not None and b is not None:
            for x, y, xs, ys in ((a, b, peer, sender), (b, a, sender, peer)):
                if x[0] is not None and y[1] is not None and x[0] > y[1]:
                    self._emit(new, "stream-limit", pkt, assoc,
                               f"{_ep_label(assoc, xs)} asked for {x[0]} outbound streams, "
                               f"{_ep_label(assoc, ys)} allows {y[1]} inbound: "
                               f"{_ep_label(assoc, xs)} may use streams 0-{y[1] - 1}",
                               key=xs, frames=ev)

    def _cookie_echo(self, pkt, assoc, st, sender, new) -> None:
        if st.echo_side is None:
            st.echo_side = sender
        if sender != st.echo_side:
            return
        st.echoes.append((pkt.number, pkt.ts))
        if len(st.echoes) > 1 and (not st.cookie_acked or st.cookie_acked < pkt.number):
            t0 = st.echoes[0][1]
            times = ", ".join(f"+{t - t0:.3f}" for _, t in st.echoes)
            f = self._emit(new, "cookie-unanswered", pkt, assoc,
                           f"COOKIE ECHO from {_ep_label(assoc, sender)} retransmitted",
                           severity=WARN, frames=[st.echoes[0][0]])
            f.message = (f"COOKIE ECHO from {_ep_label(assoc, sender)} retransmitted "
                         f"{len(st.echoes) - 1} times: sent at {times} s")
            if st.cookie_acked:
                self.field.cookie_echo_again(pkt, assoc, st, sender, new)
                f.message += (f", although the peer answered in frame {st.cookie_acked}: the "
                              "answer was lost after the capture point or discarded by the "
                              "initiator (a firewall on its side?)")
                f.add_frame(st.cookie_acked)
            f.frames.sort()

    def _abort(self, pkt, assoc, st, sender, chunk, new) -> None:
        causes = _causes(chunk)
        ctext = "; ".join(_cause_text(c) for c in causes) or "no cause"
        tbit = chunk.flags & 1
        before = (pkt.analysis or {}).get("state_before") or {}
        rstate = before.get(f"ep{2 - sender}")  # the receiver's state before
        peer = 1 - sender
        if not st.aborted:
            st.aborted = pkt.number
            pair = _pair_key(assoc)
            lst = self._aborts.setdefault(pair, [])
            lst.append(pkt.number)
            idx = self._abort_assocs.setdefault(pair, [])
            idx.append(assoc.index)
            if len(lst) >= self.abort_loop:
                f = self._emit(new, "abort-loop", pkt, None, "", key=pair,
                               frames=lst if len(lst) == self.abort_loop else (),
                               label=assoc_label(assoc))
                f.extra["associations"] = list(idx)
                f.message = (f"{len(lst)} associations between these endpoints were ended by "
                             f"ABORT (frames {', '.join(map(str, lst[:10]))}"
                             f"{', ...' if len(lst) > 10 else ''})")
                f.count = len(lst)
        self.field.abort(pkt, assoc, st, sender, ctext, new)
        if rstate == "COOKIE-WAIT" and st.inits and not st.init_acked:
            dt = pkt.ts - st.inits[-1][1]
            f = self._emit(new, "init-aborted", pkt, assoc,
                       f"INIT from {_ep_label(assoc, peer)} (frame {st.inits[-1][0]}) answered by "
                       f"ABORT from {_ep_label(assoc, sender)} {dt:.6f} s later ({ctext})"
                       + ("" if causes else ": nobody listens on that port, or the peer refuses"),
                       frames=[st.inits[-1][0]])
        else:
            when = pkt.ts - assoc.first_ts
            f = self._emit(new, "abort", pkt, assoc,
                           f"{_ep_label(assoc, sender)} aborted the association at frame "
                           f"{pkt.number} (+{when:.6f} s, {rstate or '?'} on the receiving side"
                           f"{', T bit' if tbit else ''}): {ctext}", key=pkt.number)
        if f is not None:
            f.by = _ep_label(assoc, sender)
        self._cause_findings(pkt, assoc, st, sender, causes, "ABORT", new)

    def _error(self, pkt, assoc, st, sender, chunk, new) -> None:
        causes = _causes(chunk)
        self._cause_findings(pkt, assoc, st, sender, causes,
                             "ERROR" if chunk.type == ERROR_CHUNK else "ASCONF-ACK", new)

    def _cause_findings(self, pkt, assoc, st, sender, causes, where, new) -> None:
        seen = set()
        for c in causes:
            code = c[0]
            if code in seen:
                continue
            seen.add(code)
            rid = CAUSE_RULE_ID.get(code)
            text = _cause_text(c)
            if rid is None:
                self._emit(new, "malformed", pkt, assoc,
                           f"{where} from {_ep_label(assoc, sender)} carries unknown cause code "
                           f"{code}", key=("cause", code))
                continue
            self._emit(new, rid, pkt, assoc, f"{where} from {_ep_label(assoc, sender)}: {text}",
                       key=sender)
            if code == 3 and st.echoes and not st.cookie_acked:
                st.stale = True
                self._emit(new, "stale-cookie", pkt, assoc,
                           f"COOKIE ECHO (frame {st.echoes[-1][0]}) answered by a Stale Cookie "
                           f"ERROR from {_ep_label(assoc, sender)}: {text}",
                           frames=[st.echoes[-1][0]])
            elif code == 6:
                inner = [c[1]] if c[1] is not None else []
                for t in inner[:1]:
                    ext = CHUNK_EXTENSION.get(t)
                    if ext:
                        self._emit(new, "extension-mismatch", pkt, assoc,
                                   f"{_ep_label(assoc, sender)} does not understand "
                                   f"{CHUNK_NAMES.get(t, t)} chunks: {ext} is used by "
                                   f"{_ep_label(assoc, 1 - sender)} but not supported by the peer",
                                   key=("chunk", t), severity=WARN)
            elif code == 8:
                inner = [t for t, _ in c[1]] if c[1] else []
                for t in inner[:1]:
                    ext = PARAM_EXTENSION.get(t)
                    if ext:
                        self._emit(new, "extension-mismatch", pkt, assoc,
                                   f"{_ep_label(assoc, sender)} does not understand the "
                                   f"{PARAMETER_NAMES.get(t, t)} parameter: {ext} not supported",
                                   key=("param", t), severity=WARN)

    def _data(self, pkt, assoc, st, sender, chunk, new) -> None:
        sid = chunk.get("sctp.data_sid")
        n = assoc.streams_negotiated(sender)
        if sid is not None and n is not None and sid >= n:
            self._emit(new, "data-invalid-stream", pkt, assoc,
                       f"{_ep_label(assoc, sender)} sent DATA on stream {sid}, but only streams "
                       f"0-{n - 1} were negotiated", key=sender)
        ppid = chunk.get("sctp.data_payload_proto_id")
        if ppid is not None:
            ok = self._ppid_ok.get(ppid)
            if ok is None:
                sw = bswap32(ppid)
                ok = self._ppid_ok[ppid] = not (ppid not in PPIDS and sw != 0 and sw in PPIDS)
            if not ok:
                sw = bswap32(ppid)
                self._emit(new, "ppid-byte-order", pkt, assoc,
                           f"{_ep_label(assoc, sender)} sends PPID {ppid} (0x{ppid:08x}): "
                           f"unregistered, but byte-swapped it is {sw} ({PPIDS[sw]})",
                           key=(sender, ppid))

    def _sack(self, st, data_sender, chunk) -> None:
        """Count miss indications per TSN from gap blocks (RFC 9260 7.2.4)."""
        v = chunk.v
        if v is None:
            return
        cum, _rwnd, _ngaps, _ndups, gaps, _dups = v
        if st.misses is None:
            if not gaps:
                return
            st.misses = [{}, {}]
        misses = st.misses[data_sender]
        if misses:
            for t in [t for t in misses if ((cum - t) & MASK32) < 0x80000000]:
                del misses[t]
        if not gaps:
            return
        prev_end = 0
        budget = 1000
        for s, e in gaps:
            for off in range(prev_end + 1, s):
                if budget <= 0:
                    break
                budget -= 1
                t = (cum + off) & MASK32
                misses[t] = misses.get(t, 0) + 1
            prev_end = max(prev_end, e)
        if len(misses) > 20000:
            misses.clear()

    def _retrans(self, pkt, assoc, st, sender, new) -> None:
        if st.retrans is None:
            st.retrans = [[0, 0, []], [0, 0, []]]
        if st.misses is None:
            st.misses = [{}, {}]
        r = st.retrans[sender]
        misses = st.misses[sender]
        times = []
        for _k, tsn, _first, delay in pkt.analysis.get("retransmitted", ()):
            if _first is None:
                continue
            if misses.get(tsn, 0) >= 3:
                r[1] += 1
            else:
                r[0] += 1
            times.append(delay)
        f = self._emit(new, "retransmission", pkt, assoc,
                       "", key=sender)
        d = assoc.dirs[sender]
        f.message = (f"{_ep_label(assoc, sender)} retransmitted {d.retransmissions} DATA chunks "
                     f"({d.retransmitted_tsns} TSNs): {r[0]} after T3-rtx timeout, {r[1]} by "
                     f"fast retransmit")
        f.extra["t3"], f.extra["fast"] = r[0], r[1]
        if times:
            f.extra["max_delay"] = max(times + [f.extra.get("max_delay", 0)])

    def _icmp(self, pkt, new) -> None:
        icmp = pkt.icmp
        v6 = icmp.name == "icmpv6"
        t = icmp.get("icmpv6.type" if v6 else "icmp.type")
        code = icmp.get("icmpv6.code" if v6 else "icmp.code")
        table = ICMP6 if v6 else ICMP4
        what = table.get((t, code))
        if what is None:
            what = f"{'ICMPv6' if v6 else 'ICMP'} type {t} code {code}"
        mtu = icmp.get("icmpv6.mtu" if v6 else "icmp.mtu")
        if mtu and (t == 2 if v6 else (t, code) == (3, 4)):
            what += f" (MTU {mtu})"
        src, sport, dst, dport = icmp_quoted(icmp)
        assoc = None
        if sport is not None:
            for a in reversed(self._ports.get(_pkey(sport, dport), ())):
                s = a.side_of(str(src), sport) if src is not None else None
                if s is not None and a.ep[1 - s].port == dport:
                    assoc = a
                    break
        ttl = "ICMPv6" if v6 else "ICMP"
        msg = (f"{ttl} {what} from {pkt.src or '?'} about the SCTP packet "
               f"{src}:{sport} -> {dst}:{dport}")
        label = "" if assoc is not None else f"{src}:{sport} -> {dst}:{dport}"
        self._emit(new, "icmp-unreachable", pkt, assoc, msg, key=(what, src, dst),
                   label=None if assoc is not None else label)
        if assoc is not None and dst is not None:
            self.field.icmp(pkt, assoc, str(src), sport, str(dst), msg, new)

    # ------------------------------------------------------------------ end of capture
    def finish(self) -> list[Finding]:
        """End-of-capture checks; returns the findings added (call once)."""
        if self.finished:
            return []
        self.finished = True
        new: list = []
        end = self.last_ts
        self._phase = 1
        for a in self.analyzer.associations:
            self._ref = a.index
            st = self._st.get(a.index)
            if st is None or st.alias is not None:
                continue
            if st.inits and not st.init_acked and not st.aborted:
                t0 = st.inits[0][1]
                times = ", ".join(f"+{t - t0:.3f}" for _, t in st.inits)
                f = self._emit(new, "init-unanswered", None, a, "",
                               frames=[x for x, _ in st.inits])
                f.severity = RULES["init-unanswered"].severity
                f.message = (f"INIT from {_ep_label(a, st.init_side)} never answered by INIT ACK "
                             f"({len(st.inits)} INIT{'s' if len(st.inits) > 1 else ''}, sent at "
                             f"{times} s)")
            if st.echoes and not st.cookie_acked and not st.aborted and not st.stale:
                t0 = st.echoes[0][1]
                times = ", ".join(f"+{t - t0:.3f}" for _, t in st.echoes)
                f = self._emit(new, "cookie-unanswered", None, a, "",
                               frames=[x for x, _ in st.echoes])
                f.severity = RULES["cookie-unanswered"].severity
                f.message = (f"COOKIE ECHO from {_ep_label(a, st.echo_side)} never answered by "
                             f"COOKIE ACK ({len(st.echoes)} sent, at {times} s)")
            if st.shutdown_frame and not st.shutdown_done and not a.ended and not st.aborted:
                self._emit(new, "shutdown-incomplete", None, a,
                           f"SHUTDOWN in frame {st.shutdown_frame} but no SHUTDOWN COMPLETE by "
                           f"the end of the capture (states {a.state[0]}/{a.state[1]})",
                           frames=[st.shutdown_frame])
            if a.hb_pending and end is not None:
                late = [(fr, ts, path) for fr, ts, path in a.hb_pending.values()
                        if end - ts / 1e9 > self._hb_grace(a)]
                for fr, ts, path in late:
                    self._emit(new, "heartbeat-unanswered", None, a,
                               f"HEARTBEAT on path {path[0]} -> {path[1]} not answered",
                               key=tuple(path), frames=[fr])
            for side, d in enumerate(a.dirs):
                for f0, f1, secs in d.zero_windows:
                    f = self._by_key.get(("zero-window", a.index, 1 - side))
                    if f is not None:
                        f.extra.setdefault("stalls", []).append(
                            {"frame": f0, "end_frame": f1, "seconds": round(secs, 6)})
                if d.zero_window_since is not None:
                    f = self._by_key.get(("zero-window", a.index, 1 - side))
                    if f is not None:
                        f.extra.setdefault("stalls", []).append(
                            {"frame": d.zero_window_since[0], "end_frame": None, "seconds": None})
        self._phase = 2
        self.field.finish(new)
        self._phase, self._ref = 3, 0
        self._offload_heuristic()
        capped = {k: v for k, v in self.analyzer.evicted.items() if v}
        capped.update({k: v for k, v in self.field.evicted.items() if v})
        folded = {f.rule: f.extra["folded"] for f in self.findings
                  if f.key == "overflow" and f.association is None}
        if capped or folded:
            parts = [f"{k.replace('_', ' ')} {v}" for k, v in sorted(capped.items())]
            parts += [f"{r} findings in {n} further associations" for r, n in sorted(folded.items())]
            f = self._emit(new, "analysis-capped", None, None,
                           "memory caps reached, counted but not analysed one by one: "
                           + ", ".join(parts), label="")
            f.extra["evicted"] = capped
            if folded:
                f.extra["folded_findings"] = folded
        for f in self.findings:        # callers rewrite messages; the cap's text stands
            if f.key == "overflow" and f.association is None:
                f.extra.pop("_last", None)
                self._overflow_text(f)
        return new

    def _hb_grace(self, a) -> float:
        worst = max((p.rtt_max or 0.0 for p in a.paths.values()), default=0.0)
        return max(1.0, 4 * worst)

    def _offload_heuristic(self) -> None:
        bad_srcs = [src for src, row in self._ck.items() if row[0]]
        for f in self.findings:
            if f.rule != "checksum-bad":
                continue
            src = f.key
            row = self._ck.get(src, [0, 0, 0, 0])
            f.extra.update({"bad": row[0], "good": row[1]})
            msg = f"{row[0]} packet{'s' if row[0] != 1 else ''} from {src} with a wrong CRC32c"
            if len(bad_srcs) == 1 and row[1] == 0:
                others_good = sum(r[1] for s, r in self._ck.items() if s != src)
                msg += (f"; every bad checksum is in packets sent by {src} and none of its packets "
                        f"has a good one{f' (while {others_good} from other hosts do)' if others_good else ''}: "
                        f"suspect transmit checksum offload on {src} if that is the capturing host")
                f.severity = WARN
                f.extra["offload_suspected"] = True
            elif row[1]:
                msg += f" and {row[1]} with a good one: corruption or a buggy sender, not offload"
            f.message = msg

    # ------------------------------------------------------------------ views
    def by_frame(self) -> dict:
        """frame number -> [rule ids] for every finding's proving frames (TUI, filters)."""
        out: dict = {}
        for f in self.findings:
            for fr in f.frames:
                lst = out.setdefault(fr, [])
                if f.rule not in lst:
                    lst.append(f.rule)
        return out


def icmp_quoted(icmp) -> tuple:
    """(src, sport, dst, dport) of the SCTP packet an ICMP error quotes (None where
    the quote is too short to say)."""
    q = None
    qip = None
    for c in icmp.children or ():
        if c.name == "sctp":
            q = c
        elif c.name in ("ip", "ipv6"):
            qip = c
    sport = q.get("sctp.srcport") if q is not None else None
    dport = q.get("sctp.dstport") if q is not None else None
    src = dst = None
    if qip is not None:
        src = qip.get("ipv6.src" if qip.name == "ipv6" else "ip.src")
        dst = qip.get("ipv6.dst" if qip.name == "ipv6" else "ip.dst")
    return src, sport, dst, dport


def _thresholds(overrides):
    try:
        return thresholds(overrides)
    except KeyError as e:
        from ..errors import UserError
        raise UserError(f"unknown diagnose threshold {e.args[0]!r} (known: "
                        f"{', '.join(sorted(thresholds()))})") from None
    except (TypeError, ValueError) as e:
        from ..errors import UserError
        raise UserError(f"bad diagnose threshold value: {e}") from None


def _pkey(a: int, b: int) -> tuple:
    return (a, b) if a <= b else (b, a)


def _pair_key(assoc) -> tuple:
    x = (assoc.ep[0].addresses[0] if assoc.ep[0].addresses else "", assoc.ep[0].port)
    y = (assoc.ep[1].addresses[0] if assoc.ep[1].addresses else "", assoc.ep[1].port)
    return (x, y) if x <= y else (y, x)


def _chunk_list(pkt) -> str:
    names = [CHUNK_NAMES.get(c.type, f"type {c.type}") for c in pkt.chunks[:4]]
    if len(pkt.chunks) > 4:
        names.append("...")
    return "+".join(names) or "a packet without chunks"


def filter_findings(findings, min_severity: str = INFO) -> list:
    return [f for f in findings if at_least(f.severity, min_severity)]
