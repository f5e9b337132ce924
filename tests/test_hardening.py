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


# ------------------------------------------------------------------ 11. every example runs

EXAMPLE_CAP = PUBLIC / "tcpdump" / "forces2.pcap"     # 6 associations: `--assoc 3` exists
OFFLINE = {"read", "assoc", "streams", "flow", "diagnose"}
LIVE = {"capture", "send", "listen", "tui"}          # need a network: their syntax is checked


def _help_examples():
    from sctpinspect.cli import COMMANDS, build_parser
    texts = [("sctpinspect --help", build_parser().format_help())]
    for c in COMMANDS:
        p = build_parser(c)
        sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        texts.append((f"sctpinspect {c} --help", sub.choices[c].format_help()))
    return texts


def _doc_examples():
    out = []
    for md in sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]:
        inside = False
        for line in md.read_text().splitlines():
            if line.strip().startswith("```"):
                inside = not inside
                continue
            if inside:
                out.append((md.name, line))
    return out


def _commands_in(source, lines):
    """Example command lines (continuations joined), without synopses such as
    `sctpinspect read [options] FILE`."""
    import re
    cmds, buf = [], ""
    for line in lines:
        line = buf + line.strip()
        if line.endswith("\\"):
            buf = line[:-1] + " "
            continue
        buf = ""
        m = re.search(r"(?:^|\$ |sudo |\| )(sctpinspect (?:[a-z\-\[]|trace|\S+\.pcap).*)", line)
        if not m:
            continue
        cmd = m.group(1)
        if re.search(r"\[-|\[options\]|\{[a-z]+,|\bFILE\b|IFACE|HOST:PORT|\[ADDR:\]|\.\.\.\]", cmd):
            continue                                  # a synopsis, not an example
        cmds.append((source, cmd))
    return cmds


def all_examples():
    ex = []
    for src, text in _help_examples():
        ex += _commands_in(src, text.splitlines())
    docs = {}
    for name, line in _doc_examples():
        docs.setdefault(name, []).append(line)
    for name, lines in docs.items():
        ex += _commands_in(f"docs/{name}" if name != "README.md" else name, lines)
    return ex


def test_11_examples_are_found():
    ex = all_examples()
    sources = {s for s, _ in ex}
    assert len(ex) >= 40
    assert {"sctpinspect craft --help", "sctpinspect read --help", "docs/send.md",
            "docs/filters.md", "docs/cli.md"} <= sources


def test_11_every_example_in_help_and_docs_runs(tmp_path):
    import shlex
    from sctpinspect.cli import COMMANDS, build_parser
    failures = []
    export_dir = tmp_path / "export"      # every export/sql example uses one export of EXAMPLE_CAP
    subprocess.run([sys.executable, "-m", "sctpinspect", "export", str(EXAMPLE_CAP), "--to",
                    str(export_dir)], cwd=REPO, check=True, capture_output=True, timeout=120)
    for source, cmd in all_examples():
        toks = shlex.split(cmd, comments=True)
        if "|" in toks:
            toks = toks[:toks.index("|")]
        argv = toks[1:]
        if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
            argv = ["tui"] + argv
        stdin = None
        for i, t in enumerate(argv):
            if i and argv[i - 1] == "-w":
                argv[i] = str(tmp_path / ("out" + t[t.rfind("."):]))
            elif i and argv[i - 1] in ("--to", "--export"):
                argv[i] = str(tmp_path / ("written" + str(i)))
            elif i == 1 and argv[0] == "sql" and not t.endswith((".pcap", ".pcapng", ".cap")):
                argv[i] = str(export_dir)
            elif t.endswith((".pcap", ".pcapng", ".cap")):
                argv[i] = str(EXAMPLE_CAP)
            elif t == "-" and argv[0] == "read":
                stdin = EXAMPLE_CAP
        if argv[0] in LIVE or not argv or argv[0].startswith("-"):
            try:
                build_parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
            except SystemExit as e:
                if e.code:
                    failures.append((source, cmd, "argument error"))
            continue
        if argv[0] == "craft" and "--dry-run" not in argv:
            argv.append("--dry-run")
        with open(stdin, "rb") if stdin else open("/dev/null", "rb") as f:
            p = subprocess.run([sys.executable, "-m", "sctpinspect", *argv], cwd=REPO,
                               stdin=f, capture_output=True, text=True, timeout=120)
        quiet = argv[0] == "export" or "--export" in argv     # they report on stderr
        ok = (p.stdout or quiet or "-Y" in argv) and "Traceback" not in p.stderr and "usage:" not in p.stderr and (
            p.returncode == 0 or argv[0] == "diagnose" and p.returncode == 1 and not p.stderr)
        if not ok:
            failures.append((source, cmd, p.returncode, p.stderr[-300:]))
    assert failures == [], "\n".join(map(str, failures))


# ------------------------------------------------------------------ 7g. -T fields like tshark

FIELD_CASES = [
    ["-E", "bom=y"],
    ["-E", "bom=y", "-E", "header=y"],
    ["-E", "separator=ab"],
    ["-E", "separator=/tab"],
    ["-E", "separator=/x"],
    ["-E", "separator=/s"],
    ["-E", "aggregator=xy"],
    ["-E", "aggregator=/s"],
    ["-E", "aggregator=/t"],
    ["-E", "quote=d", "-E", "separator=;;"],
    ["-E", "occurrence=f", "-E", "header=y"],
    ["-E", "occurrence=l", "-E", "quote=s"],
]


@pytest.mark.parametrize("opts", FIELD_CASES, ids=lambda o: " ".join(o))
def test_7g_fields_options_and_repeated_fields_as_tshark(tshark, opts):
    # the same -e twice (frame.number, sctp.data_sid), a multi-occurrence field
    fields = ["-e", "frame.number", "-e", "sctp.data_sid", "-e", "frame.number",
              "-e", "sctp.data_tsn_raw", "-e", "sctp.data_sid"]
    theirs = subprocess.run([tshark, "-r", str(TEST_CAP), "-o", "sctp.relative_tsns:FALSE",
                             "-T", "fields", *opts, *fields], capture_output=True).stdout
    ours = cli("read", "--no-progress", "-T", "fields", *opts, *fields, str(TEST_CAP))
    assert ours.returncode == 0
    assert ours.stdout.encode() == theirs


# ------------------------------------------------------------------ 7f. matches is bounded

def _crafted(tmp_path, payload: str):
    out = tmp_path / "crafted.pcap"
    p = cli("craft", "data", "192.0.2.2:5000", payload, "--dry-run", "-w", str(out))
    assert p.returncode == 0, p.stderr
    return out


def test_7f_catastrophic_matches_stops_with_one_sentence(tmp_path):
    from sctpinspect.filter.compiler import MATCH_TIMEOUT
    cap = _crafted(tmp_path, "a" * 40 + "b")
    # Python's re needs ~2**40 steps for this search: before the fix it hung
    p = cli("read", "--no-progress", "-Y", 'sctp matches "(a|aa)+$"', str(cap))
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        'sctpinspect: matches "(a|aa)+$": the regular expression ran longer than '
        f"{MATCH_TIMEOUT:g} s on one value (catastrophic backtracking); simplify it "
        "(nested repetition such as (a|aa)+ is the usual cause)"]
    # ordinary patterns still match, case-insensitively unless (?-i)
    for flt, n in [('sctp matches "A{40}B"', 1), ('sctp matches "(?-i)A{40}B"', 0),
                   ('sctp matches "a{40}b"', 1)]:
        rc, out, err = run("read", "--no-progress", "-Y", flt, str(cap))
        assert rc == 0 and len(out.splitlines()) == n, flt


# ------------------------------------------------------------------ 7f. no raw control bytes

def test_7f_text_output_escapes_terminal_controls(tmp_path):
    out = tmp_path / "esc.pcap"
    hostile = "\x1b[31mRED\x1b]0;title\x07\u202e"
    p = cli("craft", "data", "192.0.2.2:5000", "--ppid", "51", "--hex",
            hostile.encode().hex(), "--dry-run", "-w", str(out))
    assert p.returncode == 0, p.stderr
    for argv in (["-V"], [], ["-V", "--field-names"]):
        r = cli("read", "--no-progress", *argv, str(out))
        assert r.returncode == 0
        bad = [c for c in r.stdout if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f
               or c == "\u202e"]
        assert bad == [], argv
    tree = cli("read", "--no-progress", "-V", str(out)).stdout
    assert "String: \\x1b[31mRED\\x1b]0;title\\x07\\u202e" in tree   # shown, escaped
