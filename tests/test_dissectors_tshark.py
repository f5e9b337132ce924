"""Payload dissectors against tshark, field by field, on public captures."""
from __future__ import annotations

import struct

import pytest

from dissectors import dissect_payload, registry
from sctpinspect.registry import FIELDS

from conftest import PUBLIC
from test_dissectors_helpers import complete_data_chunks, normalise_show, our_rows, tshark_fields

pytestmark = pytest.mark.tshark

CASES = [
    ("tcpdump/isup.pcap", "m3ua", 6),
    ("suricata-verify/sctp-keywords/input.pcap", "m3ua", 8),
    ("arkime/m3ua_synthetic.pcap", "m3ua", 1),
    ("pypacker/packets_diameter.pcap", "diameter", 1),
    ("arkime/diameter_synthetic.pcap", "diameter", 4),
    ("magma/gx_gy_combined_05_210505_133111-1.pcapng", "diameter", 50),
    ("open5gs/testattach.pcapng", "diameter", 50),
]


def names_for(proto):
    registry.names()  # loads the dissectors, which register their fields
    # Fields Wireshark has (not sctpinspect.*); diameter.avp.unknown is compared
    # by masking: tshark may know AVPs our table does not.
    return {n for n in FIELDS if n.startswith(proto + ".") and n != "diameter.avp.unknown"}


@pytest.mark.parametrize("path,proto,min_messages", CASES, ids=[c[0] for c in CASES])
def test_matches_tshark(tshark, path, proto, min_messages):
    cap = PUBLIC / path
    names = names_for(proto)
    ours: dict[int, list] = {}
    blind: dict[int, list] = {}
    count = 0
    for num, ppid, sport, dport, payload, base in complete_data_chunks(cap):
        notes = []
        tree = dissect_payload(payload, base, ppid, sport, dport, notes=notes)
        if tree is None or tree.name != proto:
            continue
        count += 1
        ours.setdefault(num, []).extend(our_rows(tree, names))
        blind.setdefault(num, []).extend(
            (f.offset, f.offset + f.length) for f in tree.walk() if f.name == "diameter.avp.unknown")
    assert count >= min_messages, f"only {count} {proto} messages found in {path}"
    theirs = tshark_fields(tshark, cap, names, {proto})
    compared = 0
    for num, rows in ours.items():
        spans = blind.get(num, [])
        want = [(n, p, s, normalise_show(n, v)) for n, p, s, v in theirs.get(num, [])
                if not any(a <= p < b for a, b in spans)]
        assert rows == want, f"{path} frame {num}"
        compared += len(rows)
    assert compared > count * 5


def test_registered_names_exist_in_tshark(tshark):
    import subprocess
    out = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True).stdout
    types = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) > 3 and cols[0] == "F":
            types[cols[2]] = cols[3]
    import dissectors.m3ua, dissectors.diameter, dissectors.webrtc  # noqa: F401  (register)
    checked = 0
    for name, spec in FIELDS.items():
        if name.split(".")[0] in ("m3ua", "diameter", "rtcdc") and "." in name:
            assert name in types, f"{name} is not a tshark field"
            ft = types[name]
            if ft == "FT_INT64":
                ft = "FT_INT64"
            assert spec.ftype == ft, f"{name}: {spec.ftype} but tshark says {ft}"
            checked += 1
    assert checked > 100
