"""Fuzzing in the suite: corpus and crasher replay, a short atheris run per
target, and the decode properties on every frame of the public captures.

The long runs (minutes per target) are done by hand with
``python tests/fuzz/run.py TARGET -max_total_time=N``; their figures are in
docs/robustness.md.  Here each target gets a few seconds only (the machine is
shared).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PUBLIC, public_captures

FUZZ = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ))
from targets import TARGETS, check_packet  # noqa: E402

SHORT_RUN_SECONDS = int(os.environ.get("SCTPINSPECT_FUZZ_SECONDS", "6"))


def _inputs(kind: str):
    out = []
    for name in TARGETS:
        d = FUZZ / kind / name
        if d.is_dir():
            out += [pytest.param(name, p, id=f"{name}/{p.name}") for p in sorted(d.iterdir())
                    if p.is_file()]
    return out


@pytest.mark.parametrize("target,path", _inputs("corpus"))
def test_corpus(target, path):
    """Every seed satisfies its target's properties."""
    TARGETS[target](path.read_bytes())


CRASHERS = _inputs("crashers")


@pytest.mark.parametrize("target,path", CRASHERS or [pytest.param(None, None, marks=pytest.mark.skip(
    reason="no crasher recorded"))])
def test_crasher_regressions(target, path):
    """Inputs that once crashed a decoder (tests/fuzz/crashers/TARGET/) pass now."""
    TARGETS[target](path.read_bytes())


def test_every_target_has_seeds():
    for name in TARGETS:
        assert len(list((FUZZ / "corpus" / name).iterdir())) >= 2, name


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                    reason="atheris not installed (pip install -e .[test])")
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_atheris_short_run(target, tmp_path):
    """A few seconds of coverage-guided fuzzing finds no crash, hang or leak."""
    crashers = tmp_path / "crashers"
    r = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), target, "--work", str(tmp_path / "work"),
         "--crashers", str(crashers), f"-max_total_time={SHORT_RUN_SECONDS}", "-timeout=10"],
        capture_output=True, text=True, timeout=SHORT_RUN_SECONDS + 120)
    found = list(crashers.glob("*")) if crashers.exists() else []
    assert r.returncode == 0 and not found, (
        f"atheris found a problem in {target} (input kept in {found}):\n{r.stderr[-3000:]}")
    assert "Done" in r.stderr, r.stderr[-2000:]


def test_public_capture_frames_keep_the_properties():
    """Real frames (every public capture, first 3000 frames each): no contained
    exception, every field inside its buffer, bounded tree."""
    from sctpinspect.decode import Decoder
    from sctpinspect.errors import CaptureFileError
    from sctpinspect.sources import open_capture
    checked = 0
    for path in public_captures():
        dec = Decoder()
        try:
            for rec in open_capture(path):
                if rec.number > 3000:
                    break
                check_packet(dec.decode(rec))
                checked += 1
        except CaptureFileError:
            pass   # damaged captures are in the set on purpose (MANIFEST.tsv)
    assert checked > 1000, f"only {checked} frames under {PUBLIC}"
