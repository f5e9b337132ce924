"""The decoder's compact path against its full path.

A frame the compact path vouches for (``decode.frame.compact_frame``) must be
exactly the packet the full decoder makes: the same quick attributes, the
same notes, the same compact chunk values, and -- once something asks for
it -- the same tree, field for field (name, value, offset, length, text).
Checked frame by frame on every public and project capture, on a generated
capture with the benchmark's traffic mix, and on thousands of mutated clean
frames whose checksum is recomputed (so that they pass the CRC gate and
exercise the chunk checks).  The compact path must also take the clean
frames: a path that always declined would be "equal" and useless.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import crc32c
import pytest

from conftest import REPO, project_captures, public_captures
from sctpinspect.decode import Decoder, DecodeOptions
from sctpinspect.decode.frame import compact_frame
from sctpinspect.filter import compile_filter
from sctpinspect.model import Record
from sctpinspect import registry
from sctpinspect.output.fields import FieldsPrinter
from sctpinspect.output.text import SummaryPrinter
from sctpinspect.sources import open_capture

registry.load_core_fields()
# every frame and SCTP field: the ones -T fields reads from compact packets
NAMES = ["frame", "sctp", "sctp.chunk"] + sorted(
    n for n in registry.FIELDS if n.startswith(("frame.", "sctp.", "sctpinspect.")))

# display filters over frame and SCTP fields: a compact packet answers them
# without its tree, with the tree's answer
FILTERS = ["sctp", "frame", "sctp.chunk_type == 0", "sctp.chunk_type == 3 && sctp.sack_cumulative_tsn_ack",
           "sctp.data_tsn_raw > 100", "sctp.data_sid == 0 || sctp.data_ssn > 2",
           "sctp.data_payload_proto_id in {3, 46}", "sctp.srcport == sctp.dstport",
           "sctp contains 00:00:00:03", "sctp[0:2] == 0b:59", "sctp.verification_tag == 0",
           "sctp.checksum.status != 1", "sctp.sack_gap_block_start", "!sctp.data_e_bit",
           "frame.len > 200 && sctp.chunk_length < 100", "frame.time_relative > 0.5",
           "sctp.chunk_flags & 0x03", "sctp.parameter_heartbeat_information", "sctp.cause_code",
           "frame.number >= 10 and not sctp.data_u_bit", "len(sctp.parameter_heartbeat_information) > 10", "sctp.chunk_padding"]

QUICK = ("ip_version", "src", "dst", "sport", "dport", "vtag", "checksum", "checksum_expected",
         "checksum_status", "sctp_offset", "encap", "is_sctp")


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


def _tree(pkt) -> list:
    return [(f.name, f.value, f.offset, f.length, f.show) for f in pkt.walk()]


def _notes(pkt) -> list:
    return [n.as_dict() for n in pkt.notes]


def compare(records, verify=True) -> int:
    """Decode every record both ways and compare; returns how many frames the
    compact path took."""
    records = list(records)
    compact = Decoder(DecodeOptions(verify_checksum=verify))
    full = Decoder(DecodeOptions(verify_checksum=verify, compact=False))
    sa, sb = SummaryPrinter(), SummaryPrinter()
    fa, fb = FieldsPrinter(NAMES), FieldsPrinter(NAMES)
    assert fa.compact_ok
    filters = [(f, compile_filter(f)) for f in FILTERS]
    taken = 0
    for rec in records:
        a = compact.decode(rec)
        b = full.decode(rec)
        was_compact = not a.built
        if was_compact:     # -T fields values without the layers, as from the tree
            assert fa.line(a) == fb.line(b), f"frame {rec.number}"
            assert not a.built, f"frame {rec.number}: -T fields built the layers"
            for text, pred in filters:
                assert pred(a) == pred(b), f"frame {rec.number}: {text}"
            assert not a.built, f"frame {rec.number}: a filter built the layers"
        taken += was_compact
        where = f"frame {rec.number}"
        assert [getattr(a, k) for k in QUICK] == [getattr(b, k) for k in QUICK], where
        assert _notes(a) == _notes(b), where
        assert [(c.type, c.flags, c.clen, c.offset, c.length, c.v) for c in a.chunks] == \
               [(c.type, c.flags, c.clen, c.offset, c.length, c.v) for c in b.chunks], where
        if a.is_sctp or a.icmp is not None:
            for p in (sa, sb):
                if p.time.first is None:
                    p.time.first = rec.ts_ns
            assert sa.line(a) == sb.line(b), where
            assert not a.built or not was_compact, f"{where}: the summary built the tree"
        assert _tree(a) == _tree(b), where
        # the tree adopted the packet's own chunk objects
        assert [id(c) for c in a.chunks] == [id(c) for c in a.sctp.children if c.name == "sctp.chunk"] \
            if a.is_sctp else True, where
    return taken


CAPTURES = public_captures() + project_captures()


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_compact_equals_full_on_captures(path):
    compare(_records(path))


def test_compact_on_the_mix_with_and_without_checksums(mix_capture):
    records = list(_records(mix_capture))
    for verify in (True, False):
        taken = compare(records, verify)
        # the mix is ~98 % clean SCTP (INITs, INIT ACKs and 2 % UDP take the full path)
        assert taken > 0.9 * len(records)


def test_compact_takes_loopback_zero_checksums():
    """Kernel SCTP on lo (checksum offload) sends every packet with checksum 0:
    those packets are compact, with the full path's chat note."""
    path = REPO / "captures" / "clean-association.pcapng"
    recs = list(_records(path))
    got = [compact_frame(r, recs[0].ts_ns) for r in recs]
    assert sum(p is not None for p in got) >= len(recs) // 2
    compare(recs)


def _fix_crc(data: bytearray, s: int, pend: int) -> None:
    data[s + 8:s + 12] = b"\0\0\0\0"
    data[s + 8:s + 12] = crc32c.crc32c(bytes(data[s:pend])).to_bytes(4, "little")


def test_mutated_clean_frames(mix_capture):
    """Random byte flips in the chunks of clean frames (CRC recomputed), and
    truncations: both paths still agree, frame by frame."""
    rnd = random.Random(20261124)
    recs = list(_records(mix_capture))
    clean = [r for r in recs if compact_frame(r, 0) is not None]
    mutated = []
    for i in range(8000):
        r = rnd.choice(clean)
        ip = 14
        pend = ip + int.from_bytes(r.data[ip + 2:ip + 4], "big")
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
        if rnd.random() < 0.8:
            _fix_crc(data, s, pend)
        mutated.append(Record(i + 1, r.ts_ns + i, bytes(data), len(data), r.linktype))
    taken = compare(mutated)
    assert 0.1 * len(mutated) < taken < 0.9 * len(mutated)   # many stay clean, many do not
