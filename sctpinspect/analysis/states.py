"""Handshake/teardown state of one SCTP endpoint, as a table (RFC 9260 section 4).

Like the Linux kernel's ``sm_statetable.c``, every transition is one entry
keyed by ``(state, event)``; an event is ``(direction, chunk)`` where direction
is ``"send"`` (the endpoint put the chunk on the wire) or ``"recv"`` (the chunk
was addressed to it).  Each entry names the RFC 9260 section that prescribes
it.  To teach the analyser a new rule add one row to ``TABLE``.

A capture only shows chunks, so the primitive-driven SHUTDOWN-PENDING state
(``SHUTDOWN`` primitive with data still outstanding, 9.2) is reachable only via
the ``("user", "SHUTDOWN")`` event, which the analyser never sees on the wire;
it is in the table for completeness.
"""
from __future__ import annotations

CLOSED = "CLOSED"
COOKIE_WAIT = "COOKIE-WAIT"
COOKIE_ECHOED = "COOKIE-ECHOED"
ESTABLISHED = "ESTABLISHED"
SHUTDOWN_PENDING = "SHUTDOWN-PENDING"
SHUTDOWN_SENT = "SHUTDOWN-SENT"
SHUTDOWN_RECEIVED = "SHUTDOWN-RECEIVED"
SHUTDOWN_ACK_SENT = "SHUTDOWN-ACK-SENT"

STATES = (CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_PENDING,
          SHUTDOWN_SENT, SHUTDOWN_RECEIVED, SHUTDOWN_ACK_SENT)

# Chunk type -> RFC name used in events.
CHUNK_NAMES = {
    0: "DATA", 1: "INIT", 2: "INIT ACK", 3: "SACK", 4: "HEARTBEAT", 5: "HEARTBEAT ACK",
    6: "ABORT", 7: "SHUTDOWN", 8: "SHUTDOWN ACK", 9: "ERROR", 10: "COOKIE ECHO",
    11: "COOKIE ACK", 12: "ECNE", 13: "CWR", 14: "SHUTDOWN COMPLETE", 15: "AUTH",
    16: "NR-SACK", 64: "I-DATA", 128: "ASCONF ACK", 130: "RE-CONFIG", 132: "PAD",
    192: "FORWARD TSN", 193: "ASCONF", 194: "I-FORWARD TSN",
}


class Transition:
    __slots__ = ("next", "section", "text")

    def __init__(self, next_state: str, section: str, text: str):
        self.next = next_state
        self.section = section
        self.text = text

    def __repr__(self) -> str:  # pragma: no cover
        return f"-> {self.next} (RFC 9260 {self.section}: {self.text})"


S, R, U = "send", "recv", "user"
_T = Transition

# (state, (direction, chunk)) -> Transition
TABLE: dict[tuple[str, tuple[str, str]], Transition] = {
    # ---- association establishment, 5.1 -------------------------------------------------
    (CLOSED, (S, "INIT")): _T(COOKIE_WAIT, "5.1 A", "INIT sent, T1-init started"),
    (COOKIE_WAIT, (S, "INIT")): _T(COOKIE_WAIT, "5.1 A / 6.3.3", "INIT retransmitted on T1-init expiry"),
    (CLOSED, (R, "INIT")): _T(CLOSED, "5.1 B", "INIT answered with INIT ACK, no TCB kept"),
    (CLOSED, (S, "INIT ACK")): _T(CLOSED, "5.1 B", "INIT ACK with State Cookie, stays CLOSED"),
    (COOKIE_WAIT, (R, "INIT ACK")): _T(COOKIE_WAIT, "5.1 C", "INIT ACK received, COOKIE ECHO follows"),
    (COOKIE_WAIT, (S, "COOKIE ECHO")): _T(COOKIE_ECHOED, "5.1 C", "COOKIE ECHO sent, T1-cookie started"),
    (COOKIE_ECHOED, (S, "COOKIE ECHO")): _T(COOKIE_ECHOED, "5.1 C / 6.3.3", "COOKIE ECHO retransmitted on T1-cookie expiry"),
    (CLOSED, (R, "COOKIE ECHO")): _T(ESTABLISHED, "5.1 D", "valid State Cookie: TCB built, ESTABLISHED"),
    (ESTABLISHED, (S, "COOKIE ACK")): _T(ESTABLISHED, "5.1 D", "COOKIE ACK sent"),
    (CLOSED, (S, "COOKIE ACK")): _T(ESTABLISHED, "5.1 D", "COOKIE ACK sent (COOKIE ECHO not captured)"),
    (COOKIE_ECHOED, (R, "COOKIE ACK")): _T(ESTABLISHED, "5.1 E", "COOKIE ACK received, ESTABLISHED"),
    # ---- INIT collision, duplicate INIT/INIT ACK/COOKIE, restart: 5.2 ---------------------
    (COOKIE_WAIT, (R, "INIT")): _T(COOKIE_WAIT, "5.2.1", "INIT collision: INIT ACK with the original Initiate Tag"),
    (COOKIE_ECHOED, (R, "INIT")): _T(COOKIE_ECHOED, "5.2.1", "INIT collision: INIT ACK with the original Initiate Tag"),
    (COOKIE_WAIT, (S, "INIT ACK")): _T(COOKIE_WAIT, "5.2.1", "INIT ACK answering a colliding INIT"),
    (COOKIE_ECHOED, (S, "INIT ACK")): _T(COOKIE_ECHOED, "5.2.1", "INIT ACK answering a colliding INIT"),
    (ESTABLISHED, (R, "INIT")): _T(ESTABLISHED, "5.2.2", "unexpected INIT: INIT ACK with new tags (possible restart)"),
    (ESTABLISHED, (S, "INIT ACK")): _T(ESTABLISHED, "5.2.2", "INIT ACK for an unexpected INIT"),
    (SHUTDOWN_PENDING, (R, "INIT")): _T(SHUTDOWN_PENDING, "5.2.2", "unexpected INIT"),
    (SHUTDOWN_SENT, (R, "INIT")): _T(SHUTDOWN_SENT, "5.2.2", "unexpected INIT"),
    (SHUTDOWN_RECEIVED, (R, "INIT")): _T(SHUTDOWN_RECEIVED, "5.2.2", "unexpected INIT"),
    (SHUTDOWN_ACK_SENT, (R, "INIT")): _T(SHUTDOWN_ACK_SENT, "9.2", "INIT in SHUTDOWN-ACK-SENT: SHUTDOWN ACK is resent, INIT discarded"),
    (COOKIE_ECHOED, (R, "INIT ACK")): _T(COOKIE_ECHOED, "5.2.3", "unexpected INIT ACK discarded"),
    (ESTABLISHED, (R, "INIT ACK")): _T(ESTABLISHED, "5.2.3", "unexpected INIT ACK discarded"),
    (COOKIE_WAIT, (R, "COOKIE ECHO")): _T(ESTABLISHED, "5.2.4 B", "COOKIE ECHO during INIT collision: ESTABLISHED"),
    (COOKIE_ECHOED, (R, "COOKIE ECHO")): _T(ESTABLISHED, "5.2.4 B/D", "COOKIE ECHO during INIT collision: ESTABLISHED"),
    (ESTABLISHED, (R, "COOKIE ECHO")): _T(ESTABLISHED, "5.2.4", "duplicate COOKIE ECHO (or restart, 5.2.4 A)"),
    (ESTABLISHED, (S, "COOKIE ECHO")): _T(ESTABLISHED, "5.2.4 B", "COOKIE ECHO already queued when the peer's COOKIE ECHO established the association"),
    (COOKIE_ECHOED, (S, "COOKIE ACK")): _T(ESTABLISHED, "5.2.4 D", "COOKIE ACK for the peer's COOKIE ECHO during collision"),
    (COOKIE_WAIT, (S, "COOKIE ACK")): _T(ESTABLISHED, "5.2.4 B", "COOKIE ACK for the peer's COOKIE ECHO during collision"),
    (ESTABLISHED, (R, "COOKIE ACK")): _T(ESTABLISHED, "5.2.5", "duplicate COOKIE ACK discarded"),
    (SHUTDOWN_ACK_SENT, (R, "COOKIE ECHO")): _T(SHUTDOWN_ACK_SENT, "5.2.4 A", "COOKIE ECHO in SHUTDOWN-ACK-SENT: SHUTDOWN ACK resent"),
    # ---- ABORT, 9.1 (and out-of-the-blue handling, 8.4) ----------------------------------
    **{(st, (S, "ABORT")): _T(CLOSED, "9.1", "ABORT sent: association closed")
       for st in STATES if st != CLOSED},
    **{(st, (R, "ABORT")): _T(CLOSED, "9.1", "ABORT received: association closed")
       for st in STATES if st != CLOSED},
    (CLOSED, (S, "ABORT")): _T(CLOSED, "8.4 / 5.1 B", "ABORT for an INIT or out-of-the-blue packet"),
    (CLOSED, (R, "ABORT")): _T(CLOSED, "8.4 item 2", "ABORT for a closed endpoint is silently discarded"),
    # ---- graceful shutdown, 9.2 ----------------------------------------------------------
    (ESTABLISHED, (U, "SHUTDOWN")): _T(SHUTDOWN_PENDING, "9.2", "SHUTDOWN primitive: wait for outstanding data"),
    (SHUTDOWN_PENDING, (S, "SHUTDOWN")): _T(SHUTDOWN_SENT, "9.2", "all data acknowledged: SHUTDOWN sent"),
    (ESTABLISHED, (S, "SHUTDOWN")): _T(SHUTDOWN_SENT, "9.2", "SHUTDOWN sent, T2-shutdown started"),
    (SHUTDOWN_SENT, (S, "SHUTDOWN")): _T(SHUTDOWN_SENT, "9.2", "SHUTDOWN (re)sent"),
    (ESTABLISHED, (R, "SHUTDOWN")): _T(SHUTDOWN_RECEIVED, "9.2", "SHUTDOWN received"),
    (SHUTDOWN_PENDING, (R, "SHUTDOWN")): _T(SHUTDOWN_ACK_SENT, "9.2", "SHUTDOWN received in SHUTDOWN-PENDING: SHUTDOWN ACK follows"),
    (SHUTDOWN_RECEIVED, (R, "SHUTDOWN")): _T(SHUTDOWN_RECEIVED, "9.2", "SHUTDOWN (cumulative TSN update)"),
    (SHUTDOWN_SENT, (R, "SHUTDOWN")): _T(SHUTDOWN_ACK_SENT, "9.2", "SHUTDOWN collision: SHUTDOWN ACK sent"),
    (SHUTDOWN_ACK_SENT, (R, "SHUTDOWN")): _T(SHUTDOWN_ACK_SENT, "9.2", "SHUTDOWN retransmitted by peer"),
    (SHUTDOWN_RECEIVED, (S, "SHUTDOWN ACK")): _T(SHUTDOWN_ACK_SENT, "9.2", "outstanding data acknowledged: SHUTDOWN ACK sent"),
    (SHUTDOWN_SENT, (S, "SHUTDOWN ACK")): _T(SHUTDOWN_ACK_SENT, "9.2", "SHUTDOWN collision: SHUTDOWN ACK sent"),
    (SHUTDOWN_ACK_SENT, (S, "SHUTDOWN ACK")): _T(SHUTDOWN_ACK_SENT, "9.2", "SHUTDOWN ACK retransmitted on T2-shutdown expiry"),
    (ESTABLISHED, (S, "SHUTDOWN ACK")): _T(SHUTDOWN_ACK_SENT, "9.2", "SHUTDOWN ACK sent (SHUTDOWN not captured)"),
    (SHUTDOWN_SENT, (R, "SHUTDOWN ACK")): _T(CLOSED, "9.2", "SHUTDOWN ACK received: SHUTDOWN COMPLETE, CLOSED"),
    (SHUTDOWN_ACK_SENT, (R, "SHUTDOWN ACK")): _T(CLOSED, "9.2", "SHUTDOWN ACK collision: SHUTDOWN COMPLETE, CLOSED"),
    (COOKIE_WAIT, (R, "SHUTDOWN ACK")): _T(COOKIE_WAIT, "8.5.1 E", "SHUTDOWN ACK in COOKIE-WAIT is out of the blue"),
    (COOKIE_ECHOED, (R, "SHUTDOWN ACK")): _T(COOKIE_ECHOED, "8.5.1 E", "SHUTDOWN ACK in COOKIE-ECHOED is out of the blue"),
    (CLOSED, (R, "SHUTDOWN ACK")): _T(CLOSED, "8.4 item 5", "out-of-the-blue SHUTDOWN ACK: SHUTDOWN COMPLETE with T bit"),
    (CLOSED, (S, "SHUTDOWN COMPLETE")): _T(CLOSED, "9.2 / 8.4", "SHUTDOWN COMPLETE sent"),
    (SHUTDOWN_SENT, (S, "SHUTDOWN COMPLETE")): _T(CLOSED, "9.2", "SHUTDOWN COMPLETE sent: CLOSED"),
    (SHUTDOWN_ACK_SENT, (R, "SHUTDOWN COMPLETE")): _T(CLOSED, "9.2", "SHUTDOWN COMPLETE received: CLOSED"),
    (CLOSED, (R, "SHUTDOWN COMPLETE")): _T(CLOSED, "8.4 item 6", "SHUTDOWN COMPLETE for a closed endpoint is discarded"),
}

# Chunks that carry no state change in the states where they are legitimate: data
# transfer (6), SACK (6.2), heartbeat (8.3), errors (3.3.10), ECN (Appendix A),
# ASCONF (RFC 5061), RE-CONFIG (RFC 6525), FORWARD TSN (RFC 3758), AUTH (RFC 4895), PAD (RFC 4820).
_SEND_OK = {
    # DATA may be bundled with COOKIE ECHO (5.1 C); in SHUTDOWN-RECEIVED and -PENDING
    # only outstanding data is (re)transmitted (9.2).
    "DATA": (COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_PENDING, SHUTDOWN_RECEIVED),
    "SACK": (ESTABLISHED, SHUTDOWN_PENDING, SHUTDOWN_SENT, SHUTDOWN_RECEIVED),
}
_SEND_OK["I-DATA"] = _SEND_OK["DATA"]
_SEND_OK["NR-SACK"] = _SEND_OK["SACK"]
_SECTION = {"DATA": "6", "I-DATA": "6 / RFC 8260", "SACK": "6.2", "NR-SACK": "6.2",
            "HEARTBEAT": "8.3", "HEARTBEAT ACK": "8.3", "ERROR": "3.3.10", "ECNE": "Appendix A",
            "CWR": "Appendix A", "ASCONF": "RFC 5061", "ASCONF ACK": "RFC 5061",
            "RE-CONFIG": "RFC 6525", "FORWARD TSN": "RFC 3758", "I-FORWARD TSN": "RFC 8260",
            "AUTH": "RFC 4895", "PAD": "RFC 4820"}
_LIVE = (COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_PENDING, SHUTDOWN_SENT, SHUTDOWN_RECEIVED,
         SHUTDOWN_ACK_SENT)
for _chunk, _sec in _SECTION.items():
    for _st in _SEND_OK.get(_chunk, _LIVE):
        TABLE.setdefault((_st, (S, _chunk)), _T(_st, _sec, f"{_chunk} sent"))
    # Receiving data-transfer chunks is legitimate once the TCB exists.
    for _st in (COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_PENDING, SHUTDOWN_SENT,
                SHUTDOWN_RECEIVED, SHUTDOWN_ACK_SENT):
        if _st == COOKIE_WAIT and _chunk not in ("ERROR",):
            continue
        TABLE.setdefault((_st, (R, _chunk)), _T(_st, _sec, f"{_chunk} received"))
    # ERROR may answer an INIT in CLOSED/COOKIE-WAIT (e.g. Stale Cookie, 5.2.6).
TABLE[(COOKIE_ECHOED, (R, "ERROR"))] = _T(COOKIE_ECHOED, "5.2.6", "ERROR (e.g. Stale Cookie) received")
TABLE[(CLOSED, (S, "ERROR"))] = _T(CLOSED, "5.2.6 / 8.4", "ERROR sent (e.g. Stale Cookie)")
# Out-of-the-blue packets (8.4): a closed endpoint receiving DATA etc. answers with ABORT.
for _chunk in ("DATA", "I-DATA", "SACK", "HEARTBEAT", "COOKIE ACK", "SHUTDOWN", "ASCONF"):
    TABLE.setdefault((CLOSED, (R, _chunk)), _T(CLOSED, "8.4 item 8", f"out-of-the-blue {_chunk}: answered by ABORT"))
del _chunk, _sec, _st


def lookup(state: str, direction: str, chunk: str) -> Transition | None:
    """The table entry for ``state`` on ``(direction, chunk)``, None if the RFC has no such transition."""
    return TABLE.get((state, (direction, chunk)))


def chunk_name(ctype: int) -> str:
    return CHUNK_NAMES.get(ctype, f"chunk type {ctype}")
