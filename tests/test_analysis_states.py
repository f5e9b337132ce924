"""The endpoint state table against RFC 9260 (sections 4, 5.1, 5.2, 9.1, 9.2)."""
import pytest

from sctpinspect.analysis import STATES, TABLE, lookup

# (state, direction, chunk, next state, section) copied from the RFC text, not the code:
RFC_ROWS = [
    # 5.1 A-E: the four-way handshake
    ("CLOSED", "send", "INIT", "COOKIE-WAIT", "5.1"),
    ("CLOSED", "recv", "INIT", "CLOSED", "5.1"),          # no TCB before COOKIE ECHO
    ("CLOSED", "send", "INIT ACK", "CLOSED", "5.1"),
    ("COOKIE-WAIT", "recv", "INIT ACK", "COOKIE-WAIT", "5.1"),
    ("COOKIE-WAIT", "send", "COOKIE ECHO", "COOKIE-ECHOED", "5.1"),
    ("CLOSED", "recv", "COOKIE ECHO", "ESTABLISHED", "5.1"),
    ("COOKIE-ECHOED", "recv", "COOKIE ACK", "ESTABLISHED", "5.1"),
    # 5.2.1 INIT in COOKIE-WAIT/COOKIE-ECHOED: answer, do not change state
    ("COOKIE-WAIT", "recv", "INIT", "COOKIE-WAIT", "5.2.1"),
    ("COOKIE-ECHOED", "recv", "INIT", "COOKIE-ECHOED", "5.2.1"),
    # 5.2.2 unexpected INIT in ESTABLISHED
    ("ESTABLISHED", "recv", "INIT", "ESTABLISHED", "5.2.2"),
    # 5.2.3 unexpected INIT ACK is discarded
    ("ESTABLISHED", "recv", "INIT ACK", "ESTABLISHED", "5.2.3"),
    ("COOKIE-ECHOED", "recv", "INIT ACK", "COOKIE-ECHOED", "5.2.3"),
    # 5.2.4 COOKIE ECHO during collision enters ESTABLISHED
    ("COOKIE-WAIT", "recv", "COOKIE ECHO", "ESTABLISHED", "5.2.4"),
    ("COOKIE-ECHOED", "recv", "COOKIE ECHO", "ESTABLISHED", "5.2.4"),
    ("ESTABLISHED", "recv", "COOKIE ECHO", "ESTABLISHED", "5.2.4"),
    # 5.2.5 duplicate COOKIE ACK
    ("ESTABLISHED", "recv", "COOKIE ACK", "ESTABLISHED", "5.2.5"),
    # 9.2 graceful shutdown
    ("ESTABLISHED", "user", "SHUTDOWN", "SHUTDOWN-PENDING", "9.2"),
    ("SHUTDOWN-PENDING", "send", "SHUTDOWN", "SHUTDOWN-SENT", "9.2"),
    ("ESTABLISHED", "send", "SHUTDOWN", "SHUTDOWN-SENT", "9.2"),
    ("ESTABLISHED", "recv", "SHUTDOWN", "SHUTDOWN-RECEIVED", "9.2"),
    ("SHUTDOWN-RECEIVED", "send", "SHUTDOWN ACK", "SHUTDOWN-ACK-SENT", "9.2"),
    ("SHUTDOWN-SENT", "recv", "SHUTDOWN ACK", "CLOSED", "9.2"),
    ("SHUTDOWN-ACK-SENT", "recv", "SHUTDOWN COMPLETE", "CLOSED", "9.2"),
    ("SHUTDOWN-SENT", "recv", "SHUTDOWN", "SHUTDOWN-ACK-SENT", "9.2"),      # shutdown collision
    ("SHUTDOWN-ACK-SENT", "recv", "SHUTDOWN ACK", "CLOSED", "9.2"),         # SHUTDOWN ACK collision
    ("SHUTDOWN-PENDING", "recv", "SHUTDOWN", "SHUTDOWN-ACK-SENT", "9.2"),
    # 8.5.1 E: SHUTDOWN ACK in COOKIE-WAIT is out of the blue (no state change)
    ("COOKIE-WAIT", "recv", "SHUTDOWN ACK", "COOKIE-WAIT", "8.5.1"),
]


@pytest.mark.parametrize("state,direction,chunk,nxt,section", RFC_ROWS)
def test_transition_matches_rfc(state, direction, chunk, nxt, section):
    t = lookup(state, direction, chunk)
    assert t is not None, f"no entry for {state} on {direction} {chunk}"
    assert t.next == nxt
    assert t.section.startswith(section)


@pytest.mark.parametrize("state", [s for s in STATES if s != "CLOSED"])
@pytest.mark.parametrize("direction", ["send", "recv"])
def test_abort_closes_from_every_state(state, direction):
    # RFC 9260 9.1: ABORT sent or received ends the association in any state
    t = lookup(state, direction, "ABORT")
    assert t.next == "CLOSED" and t.section == "9.1"


def test_every_entry_is_well_formed():
    for (state, (direction, chunk)), t in TABLE.items():
        assert state in STATES and t.next in STATES
        assert direction in ("send", "recv", "user")
        assert t.section and t.text


def test_no_data_before_cookie():
    # 5.1: an endpoint in COOKIE-WAIT has no TCB for DATA; DATA may first ride with COOKIE ECHO
    assert lookup("COOKIE-WAIT", "send", "DATA") is None
    assert lookup("COOKIE-ECHOED", "send", "DATA").next == "COOKIE-ECHOED"
    # 9.2: no new DATA once SHUTDOWN was sent
    assert lookup("SHUTDOWN-SENT", "send", "DATA") is None
    assert lookup("SHUTDOWN-ACK-SENT", "send", "DATA") is None
