"""Every registered sctp.* field exists in tshark 4.0 with the same type,
base and bitmask; the dissector only emits registered names."""
from __future__ import annotations

import struct
import subprocess

import pytest

from sctpinspect.decode.sctp import fields as sctp_fields
from sctpinspect.registry import FIELDS
from test_sctp_helpers import DATA, cause, chunk, decode, param, sctp


@pytest.fixture(scope="module")
def tshark_sctp_fields(tshark):
    out = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) >= 7 and cols[0] == "F" and cols[4] == "sctp":
            rows[cols[2]] = cols
    return rows


def test_registered_sctp_fields_match_tshark(tshark_sctp_fields):
    mine = [n for n in FIELDS if n.startswith("sctp.")]
    assert len(mine) > 100
    for name in mine:
        assert name in tshark_sctp_fields, name
        _, label, _, ftype, _, base, mask = tshark_sctp_fields[name][:7]
        s = FIELDS[name]
        assert (s.label, s.ftype, s.base, s.bitmask) == (label, ftype, base or "BASE_NONE", int(mask, 16)), name


def test_emitted_names_are_registered():
    fixed = struct.pack("!IIHHI", 1, 1, 1, 1, 1)
    frames = [
        sctp([chunk(1, 0, fixed + param(5, bytes(4)) + param(0x8001, bytes(4)) + param(0xC003, bytes(4) + cause(6, chunk(0x99, 0, b"x"))))]),
        sctp([chunk(0, 3, DATA.pack(1, 0, 0, 0) + b"x"), chunk(3, 0, struct.pack("!IIHHHHI", 1, 0, 1, 1, 1, 2, 9)),
              chunk(16, 0, struct.pack("!IIHHHHHHHHI", 1, 0, 1, 1, 1, 0, 1, 1, 2, 2, 3)),
              chunk(0xC2, 0, struct.pack("!IHHI", 1, 1, 1, 1)), chunk(0x81, 0, bytes(12) + sctp([chunk(11, 0, b"")])),
              chunk(0x84, 0, b"\0"), chunk(0x42, 0, b"zz")]),
        b"\x01\x02\x03",
    ]
    for f in frames:
        pkt, layer = decode(f)
        for fld in layer.walk():
            assert fld.name in FIELDS or fld.name in sctp_fields.SUBTREES, fld.name
