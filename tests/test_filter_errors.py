"""Every display-filter error: Wireshark's message, at Wireshark's column.

For the errors we word exactly as Wireshark does, tshark 4.0 itself is the
oracle: the test runs ``tshark -Y FILTER`` and compares its message and caret
column with ours.  The few deliberate differences (quoted unknown names with a
suggestion, Python's regex wording) are asserted separately.
"""
from __future__ import annotations

import subprocess

import pytest

from sctpinspect.errors import UserError
from sctpinspect.filter import FilterError, check_filter, compile_filter

from conftest import PUBLIC

SMALL = PUBLIC / "pkts" / "sctp.cap"

# (filter, what it exercises)
SAME_AS_TSHARK = [
    ("sctp.port == 80 80", "bad token with column"),
    ("sctp.port == 80)", "unbalanced parenthesis"),
    ("()", "empty parentheses"),
    ("sctp.port == 80 $ 3", "bad character"),
    ("sctp.port ==== 80", "bad operator"),
    ("sctp.port == 80 &&& ip", "bad operator"),
    ("sctp.port == 0x", "bad number"),
    ("frame.len > 1.5", "float for integer field"),
    ("sctp.port == 700000", "value too big"),
    ("sctp.checksum == 0x12345678901", "value too big"),
    ('sctp.port == "abc"', "string for integer field"),
    ("sctp.chunk_type == foo", "unknown value name"),
    ("sctp.chunk_type in {1, foo}", "unknown value name in a set"),
    ("sctp.data_e_bit == yes", "bad boolean"),
    ("ip.src == 1.2.3", "bad IPv4 address"),
    ("ip.src == 10.1.1.1/33", "bad CIDR"),
    ('ip.src == "10.1.1.1"', "string for address"),
    ("ip.src == sctp.srcport", "incompatible field types"),
    ("sctp.port contains 80", "contains on an integer"),
    ('sctp.port matches "x"', "matches on an integer"),
    ('sctp.port ~ "x"', "~ on an integer"),
    ("ip.src contains 0a", "contains on an address"),
    ('sctp matches "a\\q"', "bad escape"),
    ('sctp contains "abc', "unterminated string"),
    ("sctp.verification_tag[0:2] == 00:00", "slice of an integer"),
    ("sctp.chunk_type[0] == 0", "slice of an integer"),
    ("sctp[1:-2] == 00", "bad slice length"),
    ("sctp[0:0] == 00", "bad slice length"),
    ("sctp[a:b] == 00", "bad slice number"),
    ("sctp[0:2 == 00", "unterminated slice"),
    ("sctp[] == 00", "empty slice"),
    ("sctp.chunk_type in {1 2}", "set without commas (4.0 needs them)"),
    ("sctp.port in {1..}", "open range"),
    ("1 == sctp.srcport", "literal on the left"),
    ("sctp.parameter_state_cookie == zz", "bad byte string"),
]

AT_END = ["(sctp.port == 80", "sctp.port ==", "sctp.port == 80 or", "sctp.port == 80 && "]


def _tshark_error(tshark: str, flt: str) -> tuple[int, str, int | None]:
    r = subprocess.run([tshark, "-r", str(SMALL), "-Y", flt], capture_output=True, text=True)
    lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("Running as user")]
    col = None
    for ln in lines:
        if ln.strip().startswith("^"):
            col = ln.index("^") - 4
    msg = lines[0].removeprefix("tshark: ") if lines else ""
    return r.returncode, msg, col


@pytest.mark.parametrize("flt,what", SAME_AS_TSHARK, ids=[w for _, w in SAME_AS_TSHARK])
def test_error_matches_tshark(tshark, flt, what):
    rc, tmsg, tcol = _tshark_error(tshark, flt)
    assert rc != 0, f"tshark accepts {flt!r}"
    err = check_filter(flt)
    assert err is not None, f"we accept {flt!r} ({what}); tshark says {tmsg}"
    assert err.message == tmsg
    assert err.column == tcol


@pytest.mark.parametrize("flt", AT_END)
def test_unexpected_end(tshark, flt):
    rc, tmsg, _ = _tshark_error(tshark, flt)
    err = check_filter(flt)
    assert rc != 0 and err.message == tmsg == "Unexpected end of filter expression."
    assert err.column == len(flt)          # we point past the end; tshark shows no caret


def test_unknown_field_names_the_field_and_suggests():
    for flt in ("sctp.chunk_typ", "sctp.chunk_typ == 1", "!sctp.chunk_typ"):
        err = check_filter(flt)
        assert err.message.startswith('"sctp.chunk_typ" is neither a field nor a protocol name.')
        assert "Did you mean sctp.chunk_type?" in err.message
        assert err.column == flt.index("sctp") and err.length == len("sctp.chunk_typ")
    err = check_filter("ip && bogus")
    assert err.message == '"bogus" is neither a field nor a protocol name.'
    assert err.column == 6


def test_unknown_field_in_function_and_slice():
    assert check_filter("len(sctp.nope) > 1").column == 4
    assert check_filter("nope[0:1] == 00").message.startswith('"nope" is neither')


def test_bad_regex():
    err = check_filter('sctp matches "(["')
    assert err.message.startswith("Regex compilation error: ")
    assert err.column == 13
    assert "matches needs a quoted string" in check_filter("sctp matches abc").message


def test_bad_ipv6():
    err = check_filter("ipv6.src == fe80::x")
    assert err.message == '"fe80::x" is not a valid hostname or IPv6 address.'
    assert check_filter("ipv6.src == ::1/129").message.startswith("Prefix in a IPv6 address")


def test_empty_filter():
    assert check_filter("").message == "The filter is empty."
    assert check_filter("   ").message == "The filter is empty."


def test_error_text_shows_filter_and_caret():
    with pytest.raises(FilterError) as ei:
        compile_filter("sctp.port == 70000 && ip")
    e = ei.value
    assert isinstance(e, UserError) and e.exit_code == 2
    assert str(e).splitlines() == [
        '"70000" too big for this field, maximum 65535.',
        "    sctp.port == 70000 && ip",
        "                 ^~~~~",
    ]
