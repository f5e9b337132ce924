"""Summary lines made by worker processes (output/workers.py) against one process.

The workers decode and format their batches through the one source ->
decode loop; the reading process prints in order and decodes what they
declined.  Output, counts, ``-c``, errors and exit status must be exactly
those of one process.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from sctpinspect.decode import DecodeOptions
from sctpinspect.output.text import SummaryPrinter
from sctpinspect.output.workers import summary_with_workers
from sctpinspect.pipeline import Pipeline
from sctpinspect.sources import open_capture


@pytest.fixture(scope="module")
def mix_capture(tmp_path_factory) -> Path:
    """6,000 frames of the benchmark's traffic mix (benchmarks/gen_capture.py)."""
    out = tmp_path_factory.mktemp("mix") / "mix.pcap"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "gen_capture.py"), "-n", "6000",
                    "--seed", "7", "-o", str(out)], check=True, capture_output=True)
    return out


def _summary(path, verify, limit, workers):
    """(output, shown, frames, sctp, icmp) of the plain summary, with or without workers."""
    pipe = Pipeline(open_capture(str(path)), DecodeOptions(verify_checksum=verify))
    printer = SummaryPrinter("r")
    out = io.StringIO()
    shown = [0]
    if not (workers and summary_with_workers(pipe, str(path), workers, printer, out, limit, shown)):
        n = shown[0]
        t = printer.time
        if limit is None or n < limit:
            for pkt, _s in pipe:
                if t.first is None:
                    t.first = pkt.record.ts_ns
                if pkt.is_sctp or pkt.icmp is not None:
                    out.write(printer.line(pkt) + "\n")
                    n += 1
                    if limit is not None and n >= limit:
                        break
        shown[0] = n
    return out.getvalue(), shown[0], pipe.frames, pipe.sctp, pipe.icmp


def test_workers_print_what_one_process_prints(mix_capture, monkeypatch):
    import sctpinspect.output.workers as W
    monkeypatch.setattr(W, "BATCH", 500)     # many batches, round robin over the workers
    for workers in (1, 3):
        for verify in (True, False):
            for limit in (None, 2999, 1):
                one = _summary(mix_capture, verify, limit, 0)
                many = _summary(mix_capture, verify, limit, workers)
                assert many == one, (workers, verify, limit)
                assert one[1] == (limit or one[3] + one[4])


def _read(*args):
    return subprocess.run([sys.executable, "-m", "sctpinspect", "read", *map(str, args)],
                          capture_output=True, text=True)


def test_workers_on_the_command_line(mix_capture, tmp_path):
    one = _read("--workers", 0, mix_capture)
    two = _read("--workers", 2, mix_capture)
    assert one.returncode == two.returncode == 0
    assert two.stdout == one.stdout and two.stderr == one.stderr
    # -c stops early and the workers with it
    c = _read("--workers", 2, "-c", 10, mix_capture)
    assert c.returncode == 0 and c.stdout.splitlines() == one.stdout.splitlines()[:10]
    # a file cut in the middle of a record: every good line, then the error, exit 1
    data = mix_capture.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:len(data) * 2 // 3])
    a, b = _read("--workers", 0, cut), _read("--workers", 2, cut)
    assert a.returncode == b.returncode == 1
    assert b.stdout == a.stdout and b.stderr == a.stderr and "truncated record" in b.stderr
    bad = _read("--workers", -1, mix_capture)
    assert bad.returncode == 2 and "--workers" in bad.stderr and "'-1'" in bad.stderr and "Traceback" not in bad.stderr
