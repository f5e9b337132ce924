"""Differential test: our display filters select the frames tshark selects.

Several public captures (IPv4/IPv6, SLL/Ethernet, non-SCTP frames, bundling,
INIT collisions, ASCONF, HTTP over SCTP, M3UA, Diameter) plus the project's
own captures are concatenated with ``mergecap -a`` into one file, decoded once
by our decoder, and for each filter the frame numbers our predicate selects
must equal ``tshark -r F -o sctp.relative_tsns:FALSE -Y FILTER``.

Frames inside tunnels our decoder does not follow (GTP-U, Cisco FabricPath:
tshark finds a second, inner ``ip`` layer there) are left out of the
comparison; they are listed once with tshark's ``frame.protocols``.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import PUBLIC, project_captures

from sctpinspect.decode import Decoder
from sctpinspect.filter import compile_filter
from sctpinspect.sources import open_capture

CAPTURES = [
    "pkts/sctp-addip.cap", "pkts/sctp-www.cap", "pkts/sctp_init_collision.cap",
    "pkts/sctp-test.cap", "tcpdump/forces2.pcap", "tcpdump/isup.pcap",
    "suricata-verify/sctp-keywords/input.pcap", "arkime/diameter_synthetic.pcap",
    "magma/nsa_connection.pcap", "pcapsctpspliter/mm.pcap", "open5gs/volte.pcapng",
    "zeek/cisco-fabric-path.pcap",
]

# Encapsulations tshark follows and our decoder does not (yet).
TUNNELS = {"gtp", "cfp"}

FILTERS = [
    # protocols as presence tests, not
    "sctp", "ip", "ipv6", "udp", "!sctp", "not sctp && ip",
    # chunk types by number and by value name, quoted and not
    "sctp.chunk_type == INIT", 'sctp.chunk_type == "COOKIE_ECHO"', "sctp.chunk_type eq 3",
    "sctp.chunk_type == init_ack",
    # multi-occurrence semantics of each comparison operator
    "sctp.chunk_type != 0", "sctp.chunk_type ne 3", "sctp.chunk_type ~= 0",
    "sctp.chunk_type === 0", "sctp.chunk_type all_eq 3", "sctp.chunk_type any_ne 3",
    "sctp.chunk_type == 0 and sctp.chunk_type == 3",
    "sctp.chunk_type > 10", "sctp.chunk_type >= 10", "sctp.chunk_type < 3",
    "sctp.chunk_type <= 1", "sctp.chunk_type gt 100", "sctp.chunk_type le 0",
    # sets and ranges
    "sctp.chunk_type in {1, 2, 10..11}", "sctp.chunk_type not in {0, 3}",
    "sctp.port in {80, 2905, 3868, 36412}", "frame.len in {60..100}",
    "sctp.chunk_type in {INIT, SHUTDOWN..SHUTDOWN_ACK}",
    # frame fields
    "frame.number <= 10 || frame.number > 700", "frame.number ge 5 and frame.number lt 9",
    "frame.len > 200", "frame.cap_len != frame.len", "frame.time_relative < 1",
    # addresses, CIDR
    "ip.src == 192.168.0.100", "ip.addr == 10.0.0.0/8", "ip.dst != 192.168.0.101",
    "ip.addr == 192.168.0.0/16 && !(ip.dst == 192.168.1.143)",
    "ip.src in {172.16.0.0/12, 192.168.1.142}", "ip.dst > 192.168.0.100",
    "ipv6.addr == ::/0", "ipv6.src == fe80::/10 || ipv6.dst == 2001:db8::/32",
    "ipv6.addr ~= ::1", "sctp.parameter_ipv4_address == 192.168.0.0/16",
    # ports
    "udp.port == 9899", "sctp.port == 2905", "sctp.srcport == 80 or sctp.dstport == 80",
    "sctp.srcport > sctp.dstport", "sctp.srcport == sctp.dstport",
    # integers in hex and octal, flags, booleans
    "sctp.verification_tag == 0", "sctp.verification_tag > 0x80000000",
    "sctp.data_sid == 0x0001", "sctp.data_ssn == 010", "sctp.data_u_bit == 1",
    "sctp.data_e_bit == True && sctp.data_b_bit == 0", "sctp.data_b_bit",
    "sctp.chunk_flags & 0x03", "sctp.chunk_flags & 0x03 == 3",
    "sctp.data_payload_proto_id == 3", "sctp.data_payload_proto_id != 0",
    "sctp.data_tsn > 1000000000", "sctp.sack_a_rwnd < 65536",
    "sctp.sack_number_of_gap_blocks > 0", "sctp.init_nr_out_streams > 10",
    "sctp.parameter_type == 0x000c", "sctp.parameter_type == 0x8000",
    # bytes: slices, contains, matches, len
    "sctp.parameter_state_cookie[0:1] > 80", "len(sctp.parameter_state_cookie) > 100",
    "sctp.parameter_state_cookie[-2:2] == 00:00", "sctp.parameter_heartbeat_information[0:2] == 00:01",
    'sctp contains "GET"', 'sctp matches "http/1\\\\.[01]"', "sctp contains 00:00:00:00:00:00:00:00",
    "sctp[0:2] == 00:50", "sctp[8:4] == 00:00:00:00", "sctp[2-3] == 0b:59", "sctp[12] == 00",
    "sctp[0:2,12] == 0b:59:00",
    "count(sctp.chunk_type) >= 2", "len(sctp.chunk_value) > 4", "sctp.chunk_length >= 100 && sctp.chunk_type == DATA",
    # precedence and grouping
    "!(sctp.chunk_type == DATA || sctp.chunk_type == SACK) && sctp",
    "not sctp.chunk_type == 0 or frame.number == 1",
    "sctp.chunk_type == 0 && sctp.data_payload_proto_id == 0 || sctp.chunk_type == 3 && sctp.sack_a_rwnd > 100000",
    "sctp.port == 80 or ip.src == 192.168.1.142 and sctp.chunk_type == INIT",
]


@pytest.fixture(scope="module")
def merged(tmp_path_factory, tshark):
    mergecap = shutil.which("mergecap")
    if mergecap is None:
        pytest.fail("mergecap (part of tshark) is required")
    files = [str(PUBLIC / c) for c in CAPTURES] + [str(p) for p in project_captures()]
    out = tmp_path_factory.mktemp("filter") / "merged.pcapng"
    subprocess.run([mergecap, "-a", "-w", str(out)] + files, check=True,
                   capture_output=True)
    decoder = Decoder()
    packets = [decoder.decode(r) for r in open_capture(str(out))]
    assert len(packets) > 900
    r = subprocess.run([tshark, "-r", str(out), "-T", "fields", "-e", "frame.protocols"],
                       capture_output=True, text=True, check=True)
    protos = r.stdout.splitlines()
    assert len(protos) == len(packets)
    tunnelled = {i + 1 for i, p in enumerate(protos) if set(p.split(":")) & TUNNELS}
    assert len(packets) - len(tunnelled) > 550   # most frames are compared
    return out, packets, tunnelled


def test_filter_list_is_broad():
    assert len(FILTERS) >= 40
    text = " ".join(FILTERS)
    for op in ("==", "!=", "~=", "===", "<", "<=", ">", ">=", " eq ", " ne ", " gt ", " le ",
               "&&", "||", " and ", " or ", "!", "not ", " in {", " not in ", "..",
               "contains", "matches", "[0:", "[-2:", "[12]", "[2-3]", "/8", "/10", "0x", "len(",
               "count(", "& 0x"):
        assert op in text, op


@pytest.mark.parametrize("flt", FILTERS)
def test_same_frames_as_tshark(merged, tshark, flt):
    path, packets, tunnelled = merged
    r = subprocess.run([tshark, "-r", str(path), "-o", "sctp.relative_tsns:FALSE", "-Y", flt,
                        "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    theirs = [int(x) for x in r.stdout.split() if int(x) not in tunnelled]
    pred = compile_filter(flt)
    ours = [p.number for p in packets if pred(p) and p.number not in tunnelled]
    only_ours = sorted(set(ours) - set(theirs))[:10]
    only_theirs = sorted(set(theirs) - set(ours))[:10]
    assert ours == theirs, f"only we select {only_ours}; only tshark selects {only_theirs}"
