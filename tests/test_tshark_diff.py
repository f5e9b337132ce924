"""Differential test: ``sctpinspect read -T fields`` against tshark 4.0, frame by frame.

For every public capture (MANIFEST.tsv) and every capture in the repo's
``captures/``, tshark runs once per file::

    tshark -r F -o sctp.relative_tsns:FALSE -T fields -E occurrence=a -E aggregator=, -e ...

and ``sctpinspect read -T fields`` runs in-process with the same fields.
Every frame, every field must match.  A difference is allowed only when it is
listed in :data:`EXCEPTIONS` (capture, frame, field), each documented with the
RFC text that makes this project right in docs/fidelity.md; an exception that
no longer differs fails too, so the table stays narrow and current.

TSN fields: with ``relative_tsns:FALSE`` tshark 4.0 leaves ``sctp.data_tsn`` and
``sctp.sack_cumulative_tsn_ack`` (the *relative* fields) empty and puts the
absolute value in the ``*_raw`` twins; sctpinspect does the same by default
(absolute TSNs), so both are compared as they are.
"""
from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import PUBLIC, project_captures, public_manifest

pytestmark = pytest.mark.tshark

DIFF_FIELDS = """frame.number sctp.srcport sctp.dstport sctp.verification_tag sctp.checksum
sctp.chunk_type sctp.chunk_flags sctp.chunk_length sctp.data_tsn sctp.data_tsn_raw sctp.data_sid
sctp.data_ssn sctp.data_payload_proto_id sctp.data_mid sctp.data_fsn sctp.init_initiate_tag
sctp.init_nr_out_streams sctp.init_nr_in_streams sctp.init_initial_tsn sctp.init_credit
sctp.initack_initiate_tag sctp.initack_credit sctp.initack_initial_tsn sctp.sack_cumulative_tsn_ack
sctp.sack_cumulative_tsn_ack_raw sctp.sack_a_rwnd sctp.sack_number_of_gap_blocks
sctp.sack_gap_block_start sctp.sack_gap_block_end sctp.sack_duplicate_tsn sctp.parameter_type
sctp.parameter_length sctp.cause_code sctp.shutdown_cumulative_tsn_ack sctp.forward_tsn_tsn
sctp.abort_t_bit sctp.shutdown_complete_t_bit sctp.data_e_bit sctp.data_b_bit sctp.data_u_bit
sctp.asconf_seq_nr_number sctp.asconf_ack_seq_nr_number""".split()

# (capture id, frame number, field) -> why; each row has a section in docs/fidelity.md.
# Capture id: path under shared/captures/public, or "captures/<name>" for the repo's own.
EXCEPTIONS: dict[tuple[str, int, str], str] = {
    # 4 bytes of SCTP: tshark throws on the 12-byte common header and adds no field;
    # we decode the two port fields that are there (docs/fidelity.md, "Truncated common header").
    ("suricata-verify/sctp-pkt-too-small/input.pcap", 1, "sctp.srcport"): "truncated common header",
    ("suricata-verify/sctp-pkt-too-small/input.pcap", 1, "sctp.dstport"): "truncated common header",
}


def _all_captures() -> list[tuple[str, Path]]:
    caps = [(r["path"], PUBLIC / r["path"]) for r in public_manifest()]
    caps += [(f"captures/{p.name}", p) for p in project_captures()]
    return caps


CAPTURES = _all_captures()


def tshark_fields(tshark: str, path: Path, fields: list[str], extra: list[str] = ()) -> str:
    cmd = [tshark, "-n", "-r", str(path), "-o", "sctp.relative_tsns:FALSE", "-T", "fields",
           *extra]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    # tshark exits 2 on a file "cut short in the middle of a packet" but prints the good frames.
    assert res.returncode in (0, 2), res.stderr
    return res.stdout


def ours(argv: list[str]) -> tuple[int, str, str]:
    from sctpinspect.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def ours_fields(path: Path, fields: list[str], extra: list[str] = ()) -> str:
    argv = ["read", "--no-progress", "-T", "fields", *extra]
    for f in fields:
        argv += ["-e", f]
    rc, out, err = ours(argv + [str(path)])
    assert rc in (0, 1), err
    return out


def compare(cap_id: str, ts_out: str, our_out: str, fields: list[str]) -> tuple[list, set]:
    """Differences not covered by EXCEPTIONS, and the exceptions that were used."""
    ts_rows = [line.split("\t") for line in ts_out.splitlines()]
    our_rows = [line.split("\t") for line in our_out.splitlines()]
    col = {f: i for i, f in enumerate(fields)}
    diffs, used = [], set()
    if len(ts_rows) != len(our_rows):
        diffs.append(f"{cap_id}: tshark printed {len(ts_rows)} frames, sctpinspect {len(our_rows)}")
    for frame, (t, o) in enumerate(zip(ts_rows, our_rows), start=1):
        for f in fields:
            want = t[col[f]] if col[f] < len(t) else "<missing column>"
            got = o[col[f]] if col[f] < len(o) else "<missing column>"
            if want == got:
                continue
            key = (cap_id, frame, f)
            if key in EXCEPTIONS:
                used.add(key)
                continue
            diffs.append(f"{cap_id} frame {frame} {f}: tshark {want!r} sctpinspect {got!r}")
    return diffs, used


@pytest.mark.parametrize("cap_id,path", CAPTURES, ids=[c for c, _ in CAPTURES])
def test_fields_match_tshark(cap_id, path, tshark):
    fields = DIFF_FIELDS
    ts_out = tshark_fields(tshark, path, fields, ["-E", "occurrence=a", "-E", "aggregator=,"])
    our_out = ours_fields(path, fields, ["-E", "occurrence=a", "-E", "aggregator=,"])
    diffs, used = compare(cap_id, ts_out, our_out, fields)
    stale = [k for k in EXCEPTIONS if k[0] == cap_id and k not in used]
    msg = "\n".join(diffs[:60] + ([f"... {len(diffs) - 60} more"] if len(diffs) > 60 else []))
    assert not diffs, f"{len(diffs)} undocumented differences from tshark:\n{msg}"
    assert not stale, f"exceptions that no longer differ (remove them and their docs): {stale}"


def test_exceptions_are_documented():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "fidelity.md").read_text()
    for (cap, frame, field), why in EXCEPTIONS.items():
        assert why and f"`{cap}`" in doc and field in doc, (cap, frame, field)


# Byte-for-byte: header line, separators, quoting, occurrence selection, booleans, hex,
# absent fields, non-SCTP frames.  Fields without relative/absolute ambiguity only.
# (ip.src is left out: tshark also decodes IP inside GRE/VXLAN/GTP tunnels, which are
# outside an SCTP inspector's scope and appear in arkime_synthetic.pcap.)
EXACT_FIELDS = ["frame.number", "frame.len", "sctp.srcport", "sctp.verification_tag",
                "sctp.chunk_type", "sctp.chunk_flags", "sctp.data_sid", "sctp.data_tsn_raw",
                "sctp.data_e_bit", "sctp.abort_t_bit", "sctp.parameter_type",
                "sctp.sack_gap_block_start"]
EXACT_OPTIONS = [
    ["-E", "header=y", "-E", "separator=,", "-E", "quote=d"],
    ["-E", "occurrence=f", "-E", "separator=/s"],
    ["-E", "occurrence=l", "-E", "quote=s", "-E", "header=y"],
    ["-E", "aggregator=/s", "-E", "separator=|"],
]
EXACT_FILES = ["pkts/sctp-test.cap", "pkts/sctp-addip.cap", "arkime/arkime_synthetic.pcap",
               "suricata-verify/sctp-keywords/input.pcap", "pkts/sctp_init_collision.cap"]


@pytest.mark.parametrize("name", EXACT_FILES)
@pytest.mark.parametrize("opts", EXACT_OPTIONS, ids=lambda o: " ".join(o[1::2]))
def test_fields_output_byte_for_byte(name, opts, tshark):
    path = PUBLIC / name
    assert ours_fields(path, EXACT_FIELDS, opts) == tshark_fields(tshark, path, EXACT_FIELDS, opts)
