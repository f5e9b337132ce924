"""`read` shows the payload dissectors' fields (issue 8): `-T fields` with
M3UA/Diameter names equals tshark, `-Y` on them selects tshark's frames,
`-V` carries the payload layer, `--decode-as` forces a dissector."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import PUBLIC

CASES = [
    ("tcpdump/isup.pcap", ["m3ua.version", "m3ua.message_class", "m3ua.message_type",
                           "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc",
                           "m3ua.protocol_data_si", "m3ua.protocol_data_sls"]),
    ("arkime/m3ua_synthetic.pcap", ["m3ua.message_class", "m3ua.message_type",
                                    "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc"]),
    ("magma/gx_gy_combined_05_210505_133111-1.pcapng",
     ["diameter.cmd.code", "diameter.flags.request", "diameter.applicationId",
      "diameter.hopbyhopid", "diameter.endtoendid"]),
]


def _ours(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sctpinspect", "read", *args],
                          capture_output=True, text=True)


def _ef(fields):
    return [a for f in ["frame.number", *fields] for a in ("-e", f)]


@pytest.mark.tshark
@pytest.mark.parametrize("name,fields", CASES, ids=[c[0] for c in CASES])
def test_payload_fields_equal_tshark(name, fields, tshark):
    path = str(PUBLIC / name)
    # complete (unfragmented) messages only: sctpinspect's read decodes those
    flt = "sctp.data_b_bit == 1 && sctp.data_e_bit == 1"
    ref = subprocess.run([tshark, "-r", path, "-Y", flt, "-T", "fields", *_ef(fields)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    ours = _ours(path, "-Y", flt, "-T", "fields", *_ef(fields))
    assert ours.returncode == 0, ours.stderr
    rows = ours.stdout.splitlines()
    assert rows == ref
    assert any(r.split("\t")[1] for r in rows)     # the payload fields are really there


@pytest.mark.tshark
def test_filter_on_payload_field_selects_tshark_frames(tshark):
    path = str(PUBLIC / "magma/gx_gy_combined_05_210505_133111-1.pcapng")
    flt = "diameter.cmd.code == 272 && diameter.flags.request == 1"
    ref = subprocess.run([tshark, "-r", path, "-Y", flt, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout.split()
    ours = _ours(path, "-Y", flt, "-T", "fields", "-e", "frame.number").stdout.split()
    assert ours == ref and ours


def test_verbose_tree_has_payload_layer_and_decode_as():
    path = str(PUBLIC / "tcpdump/isup.pcap")
    tree = _ours(path, "-V", "-c", "1").stdout
    assert "MTP 3 User Adaptation Layer" in tree or "M3UA" in tree
    forced = _ours(path, "-V", "-c", "1", "--decode-as", "ppid:3=diameter").stdout
    assert "Diameter" in forced
    bad = _ours(path, "--decode-as", "ppid:x=m3ua")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1
