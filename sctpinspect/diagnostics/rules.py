"""The rule catalogue: one row per diagnostic rule.

Each row: ``id`` (stable, used in ``--json``, the ``sctpinspect.rule`` field
and docs/diagnostics.md), ``severity`` (``info`` < ``warn`` < ``error``),
``rfc`` (the rule behind it), a one-line ``explanation`` and ``next``: what
to check next.  A newcomer adds a rule by adding one row here and one check
in :mod:`sctpinspect.diagnostics.engine` (the cause rules need only a row in
``CAUSE_RULES``).  docs/diagnostics.md is generated from this table
(``python -m sctpinspect.diagnostics.doc``); a test keeps them in sync.
"""
from __future__ import annotations

INFO, WARN, ERROR = "info", "warn", "error"
SEVERITY_RANK = {INFO: 0, WARN: 1, ERROR: 2}


class Rule:
    __slots__ = ("id", "severity", "rfc", "explanation", "next", "group")

    def __init__(self, id, severity, rfc, explanation, next, group):
        self.id = id
        self.severity = severity
        self.rfc = rfc
        self.explanation = explanation
        self.next = next
        self.group = group

    def __repr__(self):  # pragma: no cover
        return f"Rule({self.id!r}, {self.severity})"


# (id, severity, RFC section, explanation, what to check next)
_ROWS = {
    "checksums": [
        ("checksum-bad", ERROR, "RFC 9260 6.8",
         "CRC32c checksum is wrong: the receiver silently discards the packet",
         "if every bad checksum is in packets sent by the capturing host, it is transmit checksum "
         "offload (the NIC fills it in later: ethtool -K IFACE tx-checksum-sctp off to confirm); "
         "otherwise look for corruption on the path or a stack computing the checksum wrongly"),
        ("checksum-zero", INFO, "RFC 9653",
         "checksum field is zero: transmit checksum offload on the capturing host, or the "
         "zero checksum alternative (RFC 9653) if both sides negotiated it",
         "if the peer does not accept zero checksums (no Zero Checksum Acceptable parameter), "
         "check that the packets leave the host with a checksum (capture on the peer side)"),
        ("checksum-adler32", WARN, "RFC 9260 6.8, RFC 2960 6.8",
         "legacy Adler-32 checksum (RFC 2960): an RFC 9260 receiver expects CRC32c and drops it",
         "upgrade or reconfigure the old stack to use CRC32c (RFC 3309)"),
        ("zero-checksum-unrequested", WARN, "RFC 9653 5.2, 5.4",
         "zero checksums sent to a peer that never announced Zero Checksum Acceptable in its "
         "INIT/INIT ACK: that peer checks the CRC32c and drops every such packet",
         "the sender must keep computing CRC32c until the peer offers the alternative; if the "
         "packets are sent by the capturing host, rule out transmit checksum offload first"),
        ("one-sided-checksum", ERROR, "RFC 9260 6.8",
         "every packet from one side of the association has a wrong CRC32c, the other side's "
         "are right, and the bad ones go unanswered (retransmitted): they are bad on the wire, "
         "not just in the capture (offload would still be answered)",
         "a NAT or middlebox on that side that rewrites addresses or ports without fixing the "
         "CRC32c (SCTP NAT helpers, load balancers): capture on both sides of it"),
    ],
    "verification tag": [
        ("vtag-mismatch", ERROR, "RFC 9260 8.5",
         "verification tag is not the tag the receiver chose: the receiver silently discards "
         "the packet",
         "compare with the Initiate Tags of the INIT/INIT ACK; a restarted peer, a NAT or a "
         "middlebox rewriting packets, or a stack bug"),
        ("vtag-init-nonzero", ERROR, "RFC 9260 8.5.1 A",
         "a packet carrying INIT must have verification tag 0",
         "the sender's INIT code path; the receiver may drop the INIT"),
        ("vtag-tbit", ERROR, "RFC 9260 8.5.1 B, C",
         "ABORT or SHUTDOWN COMPLETE with the T bit used wrongly: T set means the verification "
         "tag is the sender's own tag, T clear means it is the peer's tag",
         "the sender reflects the wrong tag; the receiver discards the chunk, so the "
         "association is not torn down on its side"),
        ("ootb", WARN, "RFC 9260 8.4",
         "out-of-the-blue packet: it belongs to no association (sent after the association "
         "ended, or to a tag nobody owns)",
         "a peer that did not notice the association is gone (lost ABORT/SHUTDOWN), or a "
         "restarted application; the receiver answers with ABORT (T bit) or discards it"),
    ],
    "association setup": [
        ("init-unanswered", ERROR, "RFC 9260 5.1, 6.3.3",
         "INIT retransmitted or never answered by INIT ACK",
         "is the peer reachable and is SCTP allowed through firewalls/NAT (IP protocol 132)? "
         "look for ICMP errors; is the INIT too big for the path MTU?"),
        ("init-aborted", ERROR, "RFC 9260 5.1, 8.4",
         "INIT answered by ABORT: nobody listens on that port, or the peer refuses the "
         "association (see the causes)",
         "is the server listening on that address and port (ss -A sctp -l)? the causes say why "
         "a listener refused"),
        ("cookie-unanswered", ERROR, "RFC 9260 5.1 C, D",
         "COOKIE ECHO retransmitted or never answered by COOKIE ACK",
         "a firewall dropping COOKIE ECHO/ACK, a too-big COOKIE ECHO (path MTU), or a peer "
         "that cannot validate its cookie (restarted, load-balanced to another host)"),
        ("stale-cookie", WARN, "RFC 9260 5.1.5, 5.2.6",
         "COOKIE ECHO answered by a Stale Cookie ERROR: the cookie's lifetime expired before "
         "it came back",
         "RTT larger than the cookie lifetime (net.sctp.valid_cookie_life), or clocks/timers "
         "wrong; the initiator should retry with a Cookie Preservative"),
        ("init-collision", INFO, "RFC 9260 5.2.1, 5.2.4",
         "both endpoints sent INIT at the same time (initialisation collision)",
         "legal, but stacks that get 5.2.4 wrong end up with mismatched tags or an ABORT: "
         "follow the tags in the INIT ACKs and COOKIE ECHOs"),
        ("restart", WARN, "RFC 9260 5.2.2, 5.2.4 A",
         "an endpoint of a live association sent a new INIT: the peer restarted and in-flight "
         "data was lost",
         "why did that endpoint restart (application crash, failover)?"),
        ("abort-after-init-ack", ERROR, "RFC 9260 5.1, 3.3.7",
         "the initiator aborted right after the INIT ACK instead of sending COOKIE ECHO: it "
         "refused what the responder offered (streams, extensions, parameters)",
         "compare the INIT ACK's streams, extensions and parameters with what the initiator "
         "needs (the ABORT's causes say which); e.g. fewer inbound streams than the "
         "application requires"),
        ("init-after-established", WARN, "RFC 9260 5.2.1-5.2.4",
         "an INIT with the original Initiate Tag (a retransmitted, delayed or duplicated INIT) "
         "arrived after the association was established: a stack that treats it as a restart "
         "or a new association tears the live one down",
         "netem/reordering or INIT retransmission racing the handshake; the receiver must "
         "answer per 5.2.2 (INIT ACK with the existing tags) and keep the association"),
        ("cookie-echo-ignored", WARN, "RFC 9260 5.2.4, 5.1 D",
         "COOKIE ECHO retransmitted although the peer had already answered it (COOKIE ACK) or "
         "acts established (DATA, SACK): the initiator never processed the answer",
         "COOKIE ACK lost or discarded on the initiator's side (firewall, vtag check, a "
         "bundled chunk it rejects); a peer sending DATA before COOKIE ACK is legal (5.1 D)"),
        ("static-cookie", WARN, "RFC 9260 5.1.3",
         "identical State Cookies in INIT ACKs of different associations: the cookie is not "
         "bound to the association (tags, time), so a replayed or forged COOKIE ECHO is "
         "accepted",
         "the responder's cookie generation: it must hold the tags and a timestamp and be "
         "signed with a secret key (MAC)"),
    ],
    "teardown": [
        ("abort", ERROR, "RFC 9260 9.1",
         "association aborted",
         "the causes say why; an ABORT without cause is often SO_LINGER 0 / close() with "
         "unread data, or a stack giving up after too many retransmissions"),
        ("abort-loop", ERROR, "RFC 9260 9.1",
         "the same endpoints set up and abort associations again and again",
         "an application that reconnects after every failure: fix the first ABORT's cause"),
        ("shutdown-incomplete", WARN, "RFC 9260 9.2",
         "a graceful shutdown started but did not reach SHUTDOWN COMPLETE",
         "SHUTDOWN/SHUTDOWN ACK lost or unanswered; the peer may still hold the association"),
    ],
    "negotiation": [
        ("extension-mismatch", INFO, "RFC 9260 3.2.1, 5.1",
         "one side offers an extension (AUTH, ASCONF, RE-CONFIG, I-DATA, PR-SCTP, ECN, zero "
         "checksum) that the other does not support, so it is not used",
         "enable it on both sides (net.sctp.auth_enable, addip_enable, reconf_enable, "
         "intl_enable, prsctp_enable, ecn_enable or the socket options) if it is needed"),
        ("stream-limit", INFO, "RFC 9260 5.1.1",
         "an endpoint asked for more outbound streams than the peer allows inbound: streams "
         "were negotiated down",
         "an application that sends on stream ids above the negotiated count gets errors "
         "(SCTP_INITMSG on both sides)"),
        ("data-invalid-stream", ERROR, "RFC 9260 6.5, 3.3.10.1",
         "DATA sent on a stream id at or above the number of negotiated streams",
         "the sender ignored the negotiated stream count; the receiver answers with an "
         "Invalid Stream Identifier ERROR"),
        ("unknown-chunk", WARN, "RFC 9260 3.2",
         "chunk type that is not registered: the upper two bits of the type tell the receiver "
         "what to do",
         "an extension the receiver does not support, or garbage"),
        ("unknown-param", WARN, "RFC 9260 3.2.1",
         "parameter type that is not registered: the upper two bits of the type tell the "
         "receiver what to do",
         "an extension the receiver does not support; the INIT ACK/ERROR reports it as "
         "Unrecognized Parameter"),
        ("ppid-byte-order", WARN, "RFC 9260 3.3.1",
         "Payload Protocol Identifier is unregistered, but byte-swapped it is a registered one: "
         "the sender forgot htonl()",
         "fix the sender's sctp_sndrcvinfo/sinfo_ppid (network byte order); peers that "
         "dispatch on PPID drop the messages"),
    ],
    "data transfer": [
        ("retransmission", WARN, "RFC 9260 6.3.3, 7.2.4",
         "DATA retransmitted (timer T3-rtx expiry or fast retransmit)",
         "loss on the path or a slow receiver; T3 retransmissions mean whole windows lost or "
         "SACKs lost, fast retransmits mean single losses"),
        ("duplicate-tsn", WARN, "RFC 9260 6.2",
         "the receiver reported duplicate TSNs in its SACKs: DATA arrived twice",
         "spurious retransmissions (RTO too short, SACKs lost or delayed) or duplication "
         "in the network"),
        ("zero-window", WARN, "RFC 9260 6.2.1",
         "the receiver advertised a zero receive window: the sender had to stop",
         "the receiving application does not read fast enough (socket receive buffer)"),
        ("heartbeat-unanswered", WARN, "RFC 9260 8.3",
         "HEARTBEAT without HEARTBEAT ACK",
         "the path is broken one or both ways (firewall, routing of the secondary address)"),
        ("path-failover", WARN, "RFC 9260 6.4, 8.2",
         "the sender moved DATA to another path (failover or retransmission to an alternate "
         "address)",
         "the first path lost packets or was declared inactive: check heartbeats on it"),
        ("stall", ERROR, "RFC 9260 6.2, 6.3",
         "DATA is outstanding and the peer keeps answering (SACK, HEARTBEAT ACK), but the "
         "cumulative TSN ack does not advance for several RTOs: the transfer hangs",
         "what the receiver does with the outstanding TSN (dropped: too big for the path, a "
         "zero window, a checksum or vtag problem); the rules listed under this one"),
        ("rwnd-deadlock", ERROR, "RFC 9260 6.2.1",
         "the receiver's window fell to 0 and stayed there while the sender probed: the "
         "association hangs instead of recovering",
         "the receiving application stopped reading (blocked, deadlocked on its own send), or "
         "the receiver never sends a window update SACK after reading"),
        ("pmtu-blackhole", ERROR, "RFC 9260 7.3, RFC 8899",
         "the same large DATA packets are retransmitted again and again while smaller packets "
         "of the association get through: a path MTU black hole (ICMP Packet Too Big lost or "
         "filtered)",
         "the MTU on the path (tracepath/ping -M do -s SIZE), ICMP filtering; lower the "
         "association's MTU (SCTP_PEER_ADDR_PARAMS, SCTP_MAXSEG) or enable PLPMTUD "
         "(net.sctp.plpmtud_probe_interval)"),
        ("forward-tsn-partial", ERROR, "RFC 3758 3.5, RFC 9260 6.9",
         "a FORWARD TSN abandons only part of a fragmented message (the new cumulative TSN "
         "falls inside it): the receiver cannot deliver the rest and may abort",
         "the PR-SCTP sender must abandon every fragment of a message (RFC 3758 3.5 A3); "
         "check its policy handling of fragmented messages"),
        ("heartbeat-ack-address", WARN, "RFC 9260 8.3",
         "a HEARTBEAT ACK came from another address than the one the HEARTBEAT was sent to: "
         "the path is not confirmed and stays unused",
         "the responder's source address selection (routing on a multihomed host) or a NAT "
         "between the peers; the HEARTBEAT ACK must come from the HEARTBEAT's destination"),
        ("secondary-path-abort", ERROR, "RFC 9260 8.4, 8.5.1",
         "traffic to a secondary address of the peer (HEARTBEAT, retransmission) was answered "
         "by ABORT or an ICMP error: that address leads to another host (NAT or load "
         "balancer sending the path elsewhere), which tore the association down",
         "where the secondary address really goes (NAT/load-balancer state for SCTP, "
         "multihoming through NAT needs RFC 9260-aware NAT); restrict the addresses bound or "
         "announced"),
    ],
    "network": [
        ("icmp-unreachable", ERROR, "RFC 9260 11.1.2 (RFC 792, RFC 4443)",
         "an ICMP/ICMPv6 error quoting an SCTP packet: protocol unreachable (the host has no "
         "SCTP), port unreachable, or fragmentation needed (path MTU)",
         "protocol unreachable: load the sctp module or reach the right host; fragmentation "
         "needed: lower the MTU or let SCTP fragment (SCTP_MAXSEG)"),
        ("malformed", ERROR, "RFC 9260 3",
         "the packet could not be decoded completely (see where and which rule)",
         "a stack bug, truncation by the capture (snaplen), or corruption"),
    ],
    "limits": [
        ("analysis-capped", WARN, "docs/robustness.md (memory caps)",
         "the analysis reached a memory cap (live associations, association records, TSN "
         "window, fragments, findings per rule): what lies beyond it is counted, not analysed "
         "one by one",
         "an INIT or DATA flood, or a capture larger than the caps: filter it (-Y, or "
         "tshark/editcap by time or port) or raise the caps"),
    ],
}

# Error causes (RFC 9260 3.3.10, RFC 5061 5.1, RFC 4895 4.1): code -> row.
CAUSE_RULES = {
    1: ("cause-invalid-stream", WARN, "RFC 9260 3.3.10.1",
        "the peer received DATA on a stream it does not have",
        "compare the stream id with the negotiated streams (stream-limit)"),
    2: ("cause-missing-param", ERROR, "RFC 9260 3.3.10.2",
        "a mandatory parameter was missing (e.g. the State Cookie in INIT ACK)",
        "the sender's INIT/INIT ACK building; the listed parameter types"),
    3: ("cause-stale-cookie", WARN, "RFC 9260 3.3.10.3",
        "a COOKIE ECHO arrived after the cookie expired",
        "the measure of staleness versus the RTT and net.sctp.valid_cookie_life"),
    4: ("cause-out-of-resource", ERROR, "RFC 9260 3.3.10.4",
        "the peer ran out of resources (memory, associations)",
        "the peer's limits (max associations, memory)"),
    5: ("cause-unresolvable-address", ERROR, "RFC 9260 3.3.10.5",
        "the peer cannot resolve or does not support an address it was given (e.g. a "
        "hostname, or IPv6 to an IPv4-only stack)",
        "the address parameters of the INIT/INIT ACK; Supported Address Types"),
    6: ("cause-unrecognized-chunk", WARN, "RFC 9260 3.3.10.6",
        "the peer did not understand a chunk type",
        "an extension enabled on one side only (extension-mismatch)"),
    7: ("cause-invalid-mandatory-param", ERROR, "RFC 9260 3.3.10.7",
        "a mandatory parameter had an invalid value (e.g. zero streams, Initiate Tag 0)",
        "the INIT/INIT ACK fields of the sender"),
    8: ("cause-unrecognized-param", WARN, "RFC 9260 3.3.10.8",
        "the peer did not understand a parameter",
        "an extension enabled on one side only (extension-mismatch)"),
    9: ("cause-no-user-data", ERROR, "RFC 9260 3.3.10.9",
        "a DATA chunk carried no user data",
        "the sender's DATA building (zero-length send)"),
    10: ("cause-cookie-while-shutdown", WARN, "RFC 9260 3.3.10.10",
         "a COOKIE ECHO arrived while the peer was shutting down",
         "a reconnect racing with the previous association's shutdown"),
    11: ("cause-restart-new-addresses", ERROR, "RFC 9260 3.3.10.11",
         "a restart INIT carried addresses the old association did not have",
         "the restarting endpoint's bound addresses (5.2.1)"),
    12: ("cause-user-abort", WARN, "RFC 9260 3.3.10.12",
         "the application aborted the association (the cause may carry its reason)",
         "the application's logs; SO_LINGER 0 or SCTP_ABORT"),
    13: ("cause-protocol-violation", ERROR, "RFC 9260 3.3.10.13",
          "the peer saw a protocol violation (its text says which)",
          "the additional information text, then the packets just before"),
    160: ("cause-delete-last-address", WARN, "RFC 5061 5.1",
          "an ASCONF tried to delete the peer's last address",
          "the ASCONF sequence: add the new address before deleting the old"),
    161: ("cause-resource-shortage", WARN, "RFC 5061 5.1",
          "an ASCONF operation was refused for lack of resources",
          "the peer's limits"),
    162: ("cause-delete-source-address", WARN, "RFC 5061 5.1",
          "an ASCONF tried to delete the address the ASCONF was sent from",
          "send the Delete IP from another address"),
    163: ("cause-illegal-asconf-ack", ERROR, "RFC 5061 5.1",
          "the association was aborted because of an illegal ASCONF-ACK",
          "the ASCONF-ACK serial numbers and parameters"),
    164: ("cause-no-authorization", WARN, "RFC 5061 5.1",
          "an ASCONF was refused: not authorized",
          "ASCONF needs AUTH (RFC 5061 4.1.1): enable AUTH on both sides"),
    261: ("cause-unsupported-hmac", ERROR, "RFC 4895 4.1",
          "the peer does not support the HMAC identifier used",
          "the Requested HMAC Algorithm parameters of both sides"),
}

RULES: dict[str, Rule] = {}
for _group, _rows in _ROWS.items():
    for _r in _rows:
        RULES[_r[0]] = Rule(*_r, _group)
for _code, _r in CAUSE_RULES.items():
    RULES[_r[0]] = Rule(*_r, "error causes")
CAUSE_RULE_ID = {code: r[0] for code, r in CAUSE_RULES.items()}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[minimum]


# Thresholds of the rules that watch patterns over time: name -> (default, meaning).
# ``Diagnoser(thresholds={...})`` overrides them; docs/diagnostics.md lists them.
THRESHOLDS = {
    "stall.rto": (1.0, "RTO.Min (RFC 9260 16), s: the RTO when the capture has no RTT sample "
                       "(DATA -> SACK) for that sender, else the lower clamp of the RTO "
                       "measured by RFC 9260 6.3.1 (SRTT + 4 x RTTVAR)"),
    "stall.rto_max": (60.0, "RTO.Max (RFC 9260 16), s: upper clamp of the measured RTO"),
    "stall.rtos": (3, "RTOs without cumulative TSN ack progress while DATA is outstanding "
                      "and the peer answers"),
    "rwnd-deadlock.seconds": (3.0, "seconds a_rwnd stays 0 while the sender probes"),
    "pmtu-blackhole.retransmissions": (3, "transmissions of one TSN, all in packets of the "
                                          "same large size, never acknowledged"),
    "pmtu-blackhole.min_bytes": (576, "smallest packet size (bytes on the wire) taken as "
                                      "large"),
    "one-sided-checksum.packets": (2, "bad packets from one side (and no good one)"),
}


def thresholds(overrides=None) -> dict:
    """The defaults with ``overrides`` applied; an unknown name raises KeyError."""
    out = {k: v[0] for k, v in THRESHOLDS.items()}
    for k, v in (overrides or {}).items():
        if k not in out:
            raise KeyError(k)
        out[k] = type(out[k])(v)
    return out


# Causal links between findings of one association: effect rule -> the rules that can
# explain it, most specific first.  ``diagnose`` lists an effect under its cause (root
# cause first) and says the root of the worst chain in a verdict line.  A link holds when
# the cause's first proving frame is not after the effect's last (``"after"``), when
# both share a proving frame (``"same"``: an ABORT and the causes it carries), or always
# (``"any"``: an ICMP error answering the packets that go unanswered).  The table
# must stay acyclic (tests/test_diagnose_field.py checks it).
_ABORTS = ("abort-after-init-ack", "init-aborted", "abort")


def _after(*rules):
    return [(r, "after") for r in rules]


def _any(*rules):
    return [(r, "any") for r in rules]


CAUSED_BY = {
    "zero-window": _after("rwnd-deadlock"),
    "stall": _after("one-sided-checksum", "pmtu-blackhole", "rwnd-deadlock", "vtag-mismatch",
                    "checksum-bad"),
    "retransmission": _after("one-sided-checksum", "pmtu-blackhole", "rwnd-deadlock",
                             "vtag-mismatch", "checksum-bad", "zero-window")
    + _any("icmp-unreachable") + _after("stall"),
    "duplicate-tsn": _after("retransmission"),
    "path-failover": _after("secondary-path-abort", "pmtu-blackhole", "retransmission",
                            "heartbeat-ack-address", "heartbeat-unanswered"),
    "heartbeat-unanswered": _after("one-sided-checksum", "checksum-bad") + _any("icmp-unreachable"),
    "init-unanswered": _after("one-sided-checksum", "checksum-bad") + _any("icmp-unreachable")
    + [("vtag-init-nonzero", "same")],
    "cookie-unanswered": _after("cookie-echo-ignored", "one-sided-checksum", "checksum-bad"),
    "checksum-bad": _after("one-sided-checksum"),
    "checksum-zero": _after("zero-checksum-unrequested"),
    "cause-stale-cookie": [("stale-cookie", "same")],
    "restart": _after("init-after-established"),
    "abort-after-init-ack": _after("stream-limit"),
    "abort": [("abort-after-init-ack", "same"), ("secondary-path-abort", "same")] + _after(
                    "one-sided-checksum", "pmtu-blackhole", "rwnd-deadlock",
                    "forward-tsn-partial", "secondary-path-abort", "init-after-established",
                    "stall", "retransmission", "zero-window", "heartbeat-unanswered"),
    "data-invalid-stream": _after("stream-limit"),
    "cause-invalid-stream": _after("data-invalid-stream"),
    "cause-unrecognized-chunk": _after("extension-mismatch"),
    "cause-unrecognized-param": _after("extension-mismatch"),
}
# every cause carried by an ABORT is listed under that ABORT
for _r in CAUSE_RULES.values():
    CAUSED_BY.setdefault(_r[0], [])
    CAUSED_BY[_r[0]] = [(a, "same") for a in _ABORTS] + CAUSED_BY[_r[0]]
