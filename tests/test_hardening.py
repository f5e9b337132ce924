"""Issue 18: hostile filters, arguments and outputs give answers or one sentence.

Each test reproduces one finding of the attack in issue 18 (the point number is
in the test's name); expected values come from tshark on the same capture or
from the limits documented in docs/robustness.md.
"""
from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from conftest import PUBLIC, REPO
from sctpinspect.argtypes import _fmt
from sctpinspect.filter import FilterError, compile_filter
from sctpinspect.filter.parser import MAX_NESTING

TEST_CAP = PUBLIC / "pkts" / "sctp-test.cap"


def run(*argv: str) -> tuple[int, str, str]:
    from sctpinspect.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def cli(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sctpinspect", *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=120, **kw)


def frames(out: str) -> list[int]:
    return [int(line.split()[0]) for line in out.splitlines() if line[:1].isspace() or
            line[:1].isdigit()]


def tshark_frames(tshark, flt: str) -> list[int]:
    p = subprocess.run([tshark, "-r", str(TEST_CAP), "-Y", flt, "-T", "fields",
                        "-e", "frame.number"], capture_output=True, text=True, check=True)
    return [int(x) for x in p.stdout.split()]


# ------------------------------------------------------------------ 1. deep filters

def test_1_long_and_chain_matches_tshark(tshark):
    flt = " && ".join(["sctp.srcport >= %d" % (i % 8) for i in range(2000)])
    expect = tshark_frames(tshark, flt)
    assert expect                            # the filter selects frames in tshark
    rc, out, err = run("read", "--no-progress", "-Y", flt, str(TEST_CAP))
    assert rc == 0 and "Traceback" not in err
    assert frames(out) == expect


def test_1_long_or_chain_matches_tshark(tshark):
    flt = " || ".join(["sctp.data_sid == %d" % i for i in range(2000)])
    expect = tshark_frames(tshark, flt)
    rc, out, err = run("read", "--no-progress", "-Y", flt, str(TEST_CAP))
    assert rc == 0 and frames(out) == expect


def test_1_deep_parentheses_and_many_nots(tshark):
    plain = tshark_frames(tshark, "sctp.chunk_type == 3")
    assert plain
    for flt, expect in [("(" * 1000 + "sctp.chunk_type == 3" + ")" * 1000, plain),
                        ("not " * 10000 + "sctp.chunk_type == 3", plain),
                        ("!" * 10001 + "sctp.chunk_type == 3",
                         tshark_frames(tshark, "!sctp.chunk_type == 3"))]:
        rc, out, err = run("read", "--no-progress", "-Y", flt, str(TEST_CAP))
        assert rc == 0 and "Traceback" not in err, flt[:40]
        assert frames(out) == expect


@pytest.mark.parametrize("flt", [
    "(sctp && (sctp || " * 600 + "sctp" + "))" * 600,
    "!(sctp && " * 3000 + "sctp" + ")" * 3000,
    "len(" * 3000 + "sctp.data_payload" + ")" * 3000 + " > 0",
])
def test_1_nesting_beyond_the_limit_is_one_filter_error(flt):
    with pytest.raises(FilterError) as e:
        compile_filter(flt)
    assert f"{MAX_NESTING} levels" in e.value.message
    p = cli("read", "--no-progress", "-Y", flt, str(TEST_CAP))
    assert p.returncode == 2 and p.stdout == ""
    assert "Traceback" not in p.stderr and f"{MAX_NESTING} levels" in p.stderr


def test_1_nesting_up_to_the_limit_evaluates(tshark):
    depth = MAX_NESTING - 2
    flt = "(sctp.srcport > 0 && (sctp.srcport > 0 || " * (depth // 2) + "sctp" + "))" * (depth // 2)
    rc, out, err = run("read", "--no-progress", "-Y", flt, str(TEST_CAP))
    assert rc == 0 and "Traceback" not in err
    assert frames(out) == tshark_frames(tshark, "sctp.srcport > 0")


# ------------------------------------------------------------------ 2. numeric options

def _numeric_options():
    """(command, option string, parser) for every option whose value is a number."""
    import argparse
    from sctpinspect.cli import build_parser
    out = []
    root = build_parser()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for act in p._actions:
            if act.option_strings and (act.type in (int, float) or hasattr(act.type, "bounds")):
                out.append((name, act.option_strings[-1], act))
    return out


def test_2_every_numeric_option_has_a_bounded_type():
    opts = _numeric_options()
    assert len(opts) >= 20                    # capture -B/-c/--udp-port, send, craft, listen, ...
    raw = [f"{c} {o}" for c, o, act in opts if act.type in (int, float)]
    assert raw == []                          # a bare int/float lets inf, nan, 10**30 through


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400", str(10 ** 30), "-5", "x"])
def test_2_bad_numbers_are_one_sentence(value):
    for command, option, act in _numeric_options():
        lo, hi = act.type.bounds
        rc, out, err = _main_exit(command, f"{option}={value}")
        assert rc == 2, (command, option, value)
        last = err.strip().splitlines()[-1]
        assert "Traceback" not in err and option in last and repr(value) in last
        assert f"from {_fmt(lo)} to {_fmt(hi)}" in last


def _main_exit(*argv):
    from sctpinspect.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def test_2_capture_buffer_values_from_the_issue():
    for value in ("inf", "nan", "1e300", "0"):
        p = cli("capture", "-i", "lo", "-B", value)
        assert p.returncode == 2 and "Traceback" not in p.stderr
        assert p.stderr.splitlines()[-1] == (
            f"sctpinspect capture: error: argument -B: {value!r} is not allowed: "
            "give a size in MiB: a number from 0.0625 to 2047")
    for spec in ("duration:nan", "duration:inf", "filesize:1e999", "packets:0"):
        p = cli("capture", "-i", "lo", "-a" if spec[0] in "dp" else "-b", spec)
        assert p.returncode != 0 and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and spec in p.stderr


# ------------------------------------------------------------------ 12. read --help

def test_12_read_help_is_true(tshark):
    rc, out, _ = _main_exit("read", "--help")
    text = " ".join(out.split())
    assert "not available" not in text
    # --relative-tsn works: it fills sctp.data_tsn as tshark's default does
    rc, ours, _ = run("read", "--no-progress", "--relative-tsn", "-T", "fields",
                      "-e", "frame.number", "-e", "sctp.data_tsn", str(TEST_CAP))
    theirs = subprocess.run([tshark, "-r", str(TEST_CAP), "-T", "fields", "-e", "frame.number",
                             "-e", "sctp.data_tsn"], capture_output=True, text=True).stdout
    assert rc == 0 and ours == theirs and any(line.split("\t")[1] for line in ours.splitlines())
    # every -T fields example of the help prints a value for each -e on some frame
    examples = [line.strip() for line in out.splitlines()
                if line.strip().startswith("sctpinspect read") and "-T fields" in line]
    assert examples
    for ex in examples:
        argv = ex.split()[2:-1] + [str(TEST_CAP)]
        rc, got, _ = run("read", "--no-progress", *argv)
        rows = [line.split("\t") for line in got.splitlines()]
        if "header=y" in ex:
            rows = rows[1:]
        assert rc == 0 and rows
        for col in range(len(rows[0])):
            assert any(r[col] for r in rows), (ex, col)     # no column that is always empty
    assert "sctp.data_tsn_raw" in text


# ------------------------------------------------------------------ 10. diagnose on a non-capture

def test_10_diagnose_on_text_prints_only_the_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a capture\n")
    for extra in ([], ["--json"]):
        p = cli("diagnose", *extra, str(text))
        assert p.returncode == 1 and p.stdout == ""
        assert p.stderr.strip().splitlines() == [
            f"sctpinspect: {text}: not a pcap or pcapng file (it looks like text) at byte offset 0"]


def test_10_diagnose_on_a_cut_capture_still_reports_the_good_part(tmp_path):
    src = REPO / "captures" / "lossy-retransmissions.pcapng"
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(src.read_bytes()[:src.stat().st_size // 2 + 3])
    whole = cli("read", "--no-progress", str(cut))
    n = len(whole.stdout.splitlines())
    assert n > 0 and whole.returncode == 1
    p = cli("diagnose", str(cut))
    assert p.returncode == 1 and f"(frames 1-{n}, {n} packets" in p.stdout
    assert "byte offset" in p.stderr and len(p.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ 13. mistyped capture filter

@pytest.mark.parametrize("flt", ["sctp port", "host 10.0.0.1 and (port 5", "sctp portrange 9-"])
def test_13_mistyped_capture_filter_is_libpcaps_message_in_one_line(flt):
    # tcpdump (libpcap's own front end) is the oracle for the message
    td = subprocess.run(["tcpdump", "-d", "-i", "lo", flt], capture_output=True, text=True)
    assert td.returncode != 0
    libpcap_says = td.stderr.strip().splitlines()[-1].removeprefix("tcpdump: ")
    p = cli("capture", "-i", "lo", "-c", "1", "-f", flt)
    assert p.returncode != 0 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [
        f"sctpinspect: invalid capture filter {flt!r}: {libpcap_says}"]
