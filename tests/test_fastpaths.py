"""The byte-level paths of ``read`` (output/fastsummary.py, output/fastfields.py)
against the decoder they shortcut.

They must print exactly what the general path prints: the same summary line
for every frame, the same ``{field: [values]}`` for every field name.  Checked
frame by frame on every public and project capture, on a generated capture
with the benchmark's traffic mix, and on thousands of mutated clean frames
whose checksum is recomputed (so that they pass the CRC gate and exercise
the chunk checks).  The fast paths must also actually take the clean frames:
a path that always declined would be "equal" and useless.
"""
from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import crc32c
import pytest

from conftest import REPO, project_captures, public_captures
from sctpinspect import registry
from sctpinspect.decode import Decoder, DecodeOptions
from sctpinspect.model import Record
from sctpinspect.output.fastfields import FAST_NAMES, fast_collector
from sctpinspect.output.fastsummary import clean_frame, fast_line, write_summary
from sctpinspect.output.fields import FieldsPrinter
from sctpinspect.output.text import SummaryPrinter
from sctpinspect.pipeline import Pipeline
from sctpinspect.sources import open_capture

registry.load_core_fields()
# every SCTP and IP field name the registry knows, plus the frame fields fastfields reads
SCTP_NAMES = sorted(n for n in registry.FIELDS if n.startswith(("sctp.", "sctpinspect.", "ip.")))
ALL_NAMES = SCTP_NAMES + ["frame.number", "frame.len", "frame.cap_len"]


@pytest.fixture(scope="module")
def mix_capture(tmp_path_factory) -> Path:
    """6,000 frames of the benchmark's traffic mix (benchmarks/gen_capture.py)."""
    out = tmp_path_factory.mktemp("mix") / "mix.pcap"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "gen_capture.py"), "-n", "6000",
                    "--seed", "7", "-o", str(out)], check=True, capture_output=True)
    return out


def _records(path):
    try:
        yield from open_capture(str(path))
    except Exception:    # a damaged public capture: its good records are enough here
        return


def _summary_both(records, verify=True, mode="r"):
    """(lines of the general path, lines of write_summary, frames fast_line took)."""
    records = list(records)
    slow_printer = SummaryPrinter(mode)
    slow = []
    pipe = Pipeline(iter(records), DecodeOptions(verify_checksum=verify))
    t = slow_printer.time
    for pkt, _shown in pipe:
        if t.first is None:
            t.first = pkt.record.ts_ns
        if pkt.sctp is not None or pkt.icmp is not None:
            slow.append(slow_printer.line(pkt))
        t.prev = pkt.record.ts_ns
    fast_pipe = Pipeline(iter(records), DecodeOptions(verify_checksum=verify))
    out = io.StringIO()
    shown = [0]
    write_summary(fast_pipe, SummaryPrinter(mode), out, None, shown, verify)
    assert (fast_pipe.frames, fast_pipe.sctp, fast_pipe.icmp) == (pipe.frames, pipe.sctp, pipe.icmp)
    probe = SummaryPrinter(mode)
    probe.time.first = records[0].ts_ns if records else 0
    line = fast_line(probe, verify)
    taken = sum(1 for r in records if line(r) is not None)
    return slow, out.getvalue().splitlines(), taken


def _fields_compare(records, names, verify=True):
    """Compare fastfields' values with the tree's for every frame it takes;
    returns how many it took."""
    printer = FieldsPrinter(names)
    collect = fast_collector(printer.index, verify)
    assert collect is not None
    dec = Decoder(DecodeOptions(verify_checksum=verify))
    taken = 0
    for rec in records:
        pkt = dec.decode(rec)
        fast = collect(rec)
        if fast is None:
            continue
        taken += 1
        slow = printer.collect(pkt)
        assert fast == slow, f"frame {rec.number}: {_diff(fast, slow)}"
        assert pkt.notes == [], f"frame {rec.number} taken by the fast path has notes {pkt.notes}"
        assert printer.clean_formatter()(dict(fast), rec) == printer.line(pkt)
    return taken


def _diff(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b))
    return "; ".join(f"{k}: fast={a.get(k)!r} tree={b.get(k)!r}" for k in keys if a.get(k) != b.get(k))


CAPTURES = public_captures() + project_captures()


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_summary_lines_equal_on_captures(path):
    slow, fast, _taken = _summary_both(_records(path))
    assert fast == slow


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_field_values_equal_on_captures(path):
    _fields_compare(list(_records(path)), ALL_NAMES)


def test_mix_capture_summary_fields_and_options(mix_capture):
    records = list(_records(mix_capture))
    for verify in (True, False):
        slow, fast, taken = _summary_both(records, verify)
        assert fast == slow
        # the mix is ~98 % clean SCTP (INITs, INIT ACKs and 2 % UDP take the decoder)
        assert taken > 0.9 * len(records)
    for mode in ("d", "dd", "e", "u"):
        slow, fast, _ = _summary_both(records, True, mode)
        assert fast == slow
    assert _fields_compare(records, ALL_NAMES) > 0.9 * len(records)


def test_fields_path_declines_names_it_cannot_read():
    assert fast_collector({"eth.src": (0,)}) is None
    assert fast_collector({"ipv6.src": (0,)}) is None
    assert fast_collector({"frame.time_relative": (0,)}) is None
    assert fast_collector({"sctp.init_initiate_tag": (0,), "frame.number": (1,)}) is not None
    assert "sctp.data_tsn_raw" in FAST_NAMES and "sctp.sack_gap_block_start" in FAST_NAMES


def _fix_crc(data: bytearray, s: int, pend: int) -> None:
    data[s + 8:s + 12] = b"\0\0\0\0"
    data[s + 8:s + 12] = crc32c.crc32c(bytes(data[s:pend])).to_bytes(4, "little")


def test_mutated_clean_frames(mix_capture):
    """Random byte flips in the chunks of clean frames (CRC recomputed), and
    truncations: both paths still agree, frame by frame."""
    rnd = random.Random(20261124)
    clean = [r for r in _records(mix_capture) if clean_frame(r, header_only=True) is not None]
    mutated = []
    for i in range(8000):
        r = rnd.choice(clean)
        ip, pend, _ = clean_frame(r, header_only=True)
        buf, s = r.data, ip + 20
        data = bytearray(buf)
        for _ in range(rnd.choice((1, 1, 2, 3))):
            pos = rnd.randrange(s + 12, pend)
            data[pos] = rnd.choice((0, 1, 3, 4, 0x10, 0xFF, rnd.randrange(256)))
        if rnd.random() < 0.1:              # the IPv4 header: version/IHL, flags/fragment, protocol
            pos = ip + rnd.choice((0, 6, 7, 9))
            data[pos] = rnd.choice((0x46, 0x20, 0x40, 1, 17, rnd.randrange(256)))
        if rnd.random() < 0.1:              # shorten the IP packet
            cut = rnd.randrange(s + 12, pend)
            data[ip + 2:ip + 4] = (cut - ip).to_bytes(2, "big")
            pend = cut
        _fix_crc(data, s, pend)
        mutated.append(Record(i + 1, r.ts_ns + i, bytes(data), len(data), r.linktype))
    slow, fast, taken = _summary_both(mutated)
    assert fast == slow
    assert 0.1 * len(mutated) < taken < 0.9 * len(mutated)   # many stay clean, many do not
    assert _fields_compare(mutated, ALL_NAMES) > 0


# --- worker processes (output/workers.py) ------------------------------------

def _read(*args):
    return subprocess.run([sys.executable, "-m", "sctpinspect", "read", *map(str, args)],
                          capture_output=True, text=True)


def test_workers_print_what_one_process_prints(mix_capture, monkeypatch):
    import sctpinspect.output.workers as W
    monkeypatch.setattr(W, "BATCH", 500)     # many batches, round robin over the workers
    records = list(_records(mix_capture))
    for workers in (1, 3):
        for verify in (True, False):
            for limit in (None, 2999, 1):
                pipe = Pipeline(iter(records), DecodeOptions(verify_checksum=verify))
                out = io.StringIO()
                shown = [0]
                write_summary(pipe, SummaryPrinter("r"), out, limit, shown, verify, workers,
                              str(mix_capture))
                one = Pipeline(iter(records), DecodeOptions(verify_checksum=verify))
                ref = io.StringIO()
                ref_shown = [0]
                write_summary(one, SummaryPrinter("r"), ref, limit, ref_shown, verify)
                assert out.getvalue() == ref.getvalue()
                assert (shown, pipe.frames, pipe.sctp, pipe.icmp) == (ref_shown, one.frames,
                                                                     one.sctp, one.icmp)
            slow, _fast, _ = _summary_both(records, verify)
            assert ref.getvalue().splitlines()[:1] == slow[:1]


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
    assert bad.returncode == 2 and "--workers -1" in bad.stderr and "Traceback" not in bad.stderr
