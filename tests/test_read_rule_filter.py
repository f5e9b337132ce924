"""`read -Y 'sctpinspect.rule == ...'` and `-e sctpinspect.rule` run the
diagnostics, and agree with `sctpinspect diagnose` on the proving frames."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import PUBLIC

CAP = PUBLIC / "pkts" / "sctp_init_collision.cap"


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sctpinspect", *args], capture_output=True, text=True)


def test_rule_filter_selects_frames_that_prove_the_finding():
    findings = json.loads(_run("diagnose", str(CAP), "--json").stdout)
    proving = {}
    for f in findings:
        proving.setdefault(f["rule"], set()).update(f["frames"])
    assert "init-collision" in proving and "init-aborted" in proving
    for rule in ("init-collision", "init-aborted"):
        out = _run("read", str(CAP), "-Y", f'sctpinspect.rule == "{rule}"',
                   "-T", "fields", "-e", "frame.number")
        assert out.returncode == 0, out.stderr
        frames = {int(x) for x in out.stdout.split()}
        assert frames and frames <= proving[rule]


def test_rule_field_lists_rule_ids():
    out = _run("read", str(CAP), "-T", "fields", "-e", "frame.number", "-e", "sctpinspect.rule")
    rows = dict(line.split("\t") for line in out.stdout.splitlines())
    assert rows["18"] == "init-collision"
    assert "init-aborted" in rows["2"].split(",")
    assert rows["1"] == ""
