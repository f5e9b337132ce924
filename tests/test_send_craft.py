"""Host tests of ``sctpinspect craft``: the crafted bytes against RFC 9260
layouts as decoded by the project decoder AND by tshark (the oracle), and a
real send of an INIT to 127.0.0.1 answered by this host's kernel (it has no
SCTP, so it answers ICMP protocol unreachable) seen on an independent raw
ICMP socket."""
from __future__ import annotations

import json
import os
import select
import socket
import struct
import subprocess
import sys

import pytest

from sctpinspect.lab.tshark import tshark_rows

FIELDS = ["sctp.srcport", "sctp.dstport", "sctp.verification_tag", "sctp.chunk_type",
          "sctp.chunk_flags", "sctp.chunk_length", "sctp.checksum.status",
          "sctp.init_initiate_tag", "sctp.init_credit", "sctp.init_nr_out_streams",
          "sctp.init_nr_in_streams", "sctp.init_initial_tsn", "sctp.parameter_type",
          "sctp.parameter_ipv4_address", "sctp.parameter_ipv6_address",
          "sctp.supported_chunk_type", "sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_ssn",
          "sctp.data_payload_proto_id", "sctp.data_u_bit", "sctp.abort_t_bit",
          "sctp.cause_code", "sctp.cause_length"]


def craft(*argv, check=True):
    p = subprocess.run([sys.executable, "-m", "sctpinspect", "craft", *argv],
                       capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def ours(path, fields):
    p = subprocess.run([sys.executable, "-m", "sctpinspect", "read", str(path), "-T", "fields",
                        "-E", "occurrence=a", "-E", "aggregator=,",
                        *[a for f in fields for a in ("-e", f)]],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [line.split("\t") for line in p.stdout.splitlines()]


CASES = {
    "init": ["init", "192.0.2.2:5000", "--sport", "40000", "--init-tag", "0x01020304",
             "--tsn", "1000", "--a-rwnd", "65536", "--streams", "17,5", "--addr", "192.0.2.1",
             "--addr", "2001:db8::1", "--ext", "forward-tsn,re-config,0x40",
             "--forward-tsn-supported"],
    "init_wrong_vtag": ["init", "192.0.2.2:5000", "--sport", "40001", "--vtag", "0xdeadbeef"],
    "abort": ["abort", "[2001:db8::2]:5000", "--sport", "40002", "--vtag", "0xcafe",
              "--cause", "12:6279652e", "--cause", "1:00030000", "--t-bit"],
    "data_bad_crc": ["data", "192.0.2.2:5000", "hello", "--sport", "40003", "--vtag", "7",
                     "--tsn", "4000000000", "--sid", "3", "--ssn", "9", "--ppid", "101",
                     "--unordered", "--bad-checksum"],
    "unknown_chunk": ["chunk", "192.0.2.2:5000", "--sport", "40004", "--vtag", "9",
                      "--chunk-type", "0x7f", "--chunk-flags", "0xa5", "--hex", "0001020304"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dry_run_decoded_same_by_project_and_tshark(case, tmp_path, tshark):
    pcap = tmp_path / f"{case}.pcap"
    p = craft(*CASES[case], "--dry-run", "-w", str(pcap))
    assert p.stdout.startswith("crafted:") and "hex:" in p.stdout
    mine = ours(pcap, FIELDS)
    theirs = tshark_rows(pcap, FIELDS)
    assert mine == theirs
    row = dict(zip(FIELDS, theirs[0]))
    # and the values are the ones asked for (RFC 9260 3 layouts)
    if case == "init":
        assert row["sctp.verification_tag"] == "0x00000000"
        assert row["sctp.init_initiate_tag"] == "0x01020304"
        assert (row["sctp.init_credit"], row["sctp.init_nr_out_streams"],
                row["sctp.init_nr_in_streams"], row["sctp.init_initial_tsn"]) == \
            ("65536", "17", "5", "1000")
        assert row["sctp.parameter_ipv4_address"] == "192.0.2.1"
        assert row["sctp.parameter_ipv6_address"] == "2001:db8::1"
        assert row["sctp.supported_chunk_type"] == "192,130,64"
        assert row["sctp.checksum.status"] == "1"
    elif case == "init_wrong_vtag":
        assert row["sctp.verification_tag"] == "0xdeadbeef" and row["sctp.chunk_type"] == "1"
    elif case == "abort":
        assert row["sctp.chunk_type"] == "6" and row["sctp.abort_t_bit"] == "1"
        assert row["sctp.cause_code"] == "0x000c,0x0001" and row["sctp.cause_length"] == "8,8"
    elif case == "data_bad_crc":
        assert row["sctp.checksum.status"] == "0"            # tshark: bad
        assert (row["sctp.data_tsn_raw"], row["sctp.data_sid"], row["sctp.data_ssn"],
                row["sctp.data_payload_proto_id"], row["sctp.data_u_bit"]) == \
            ("4000000000", "0x0003", "9", "101", "1")
    elif case == "unknown_chunk":
        assert (row["sctp.chunk_type"], row["sctp.chunk_flags"], row["sctp.chunk_length"]) \
            == ("127", "0xa5", "9")


def test_dry_run_json_is_decoded_packet():
    p = craft(*CASES["data_bad_crc"], "--dry-run", "--json")
    d = json.loads(p.stdout.splitlines()[0])
    assert d["direction"] == "crafted" and d["checksum_status"] == "bad"
    assert d["sport"] == 40003 and d["dport"] == 5000 and d["vtag"] == 7
    assert d["chunks"][0]["type"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")
def test_init_to_localhost_gets_icmp_protocol_unreachable():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close()
        pytest.skip("this host has kernel SCTP (it would answer ABORT, not ICMP)")
    except OSError:
        pass
    watch = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        p = craft("init", "127.0.0.1:5999", "--sport", "41234", "--init-tag", "0x0badcafe",
                  "--wait", "2", "--json")
        seen = []
        while select.select([watch], [], [], 0.5)[0]:
            seen.append(watch.recv(65535))
    finally:
        watch.close()
    # what an independent raw ICMP socket saw: type 3 code 2 quoting our INIT
    hits = []
    for pkt in seen:
        ihl = (pkt[0] & 15) * 4
        icmp = pkt[ihl:]
        if icmp[0] != 3:
            continue
        inner = icmp[8:]
        qihl = (inner[0] & 15) * 4
        sport, dport, vtag = struct.unpack_from("!HHI", inner, qihl)
        if inner[9] == 132 and (sport, dport) == (41234, 5999):
            hits.append((icmp[1], vtag, inner[qihl + 12], struct.unpack_from(
                "!I", inner, qihl + 16)[0]))
    # RFC 792: code 2 protocol unreachable; quoted: INIT (type 1), vtag 0, our Initiate Tag
    assert hits == [(2, 0, 1, 0x0BADCAFE)], seen
    # what craft printed: the sent INIT and the ICMP reply, decoded
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["direction"] for x in lines] == ["sent", "reply"]
    assert lines[0]["chunks"][0]["type"] == 1
    assert "icmp" in json.dumps(lines[1]).lower()


def test_craft_errors_are_sentences():
    for argv, msg in [(["data", "127.0.0.1:9", "--dry-run"], "DATA needs a payload"),
                      (["init", "127.0.0.1:9", "--ext", "nope", "--dry-run"], "--ext 'nope'"),
                      (["abort", "127.0.0.1:9", "--cause", "x", "--dry-run"], "--cause 'x'"),
                      (["chunk", "127.0.0.1:9", "--chunk-type", "300", "--dry-run"],
                       "does not fit in 8 bits"),
                      (["init", "2001:db8::1:9", "--dry-run"], "expected ADDR:PORT")]:
        p = craft(*argv, check=False)
        assert p.returncode == 2 and msg in p.stderr and "Traceback" not in p.stderr, p.stderr
