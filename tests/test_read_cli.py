"""``sctpinspect read``: summary lines, -V tree, JSON, fields options, -c, -t, errors, stdin.

Expected values come from tshark 4.0.17 on the same public captures (quoted
in comments as the tshark command that shows them) or from the RFC 9260
packet layout, never from this project's output.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from conftest import PUBLIC
from sctpinspect import registry
from sctpinspect.errors import UserError
from sctpinspect.model import Chunk, Field, Packet, Record
from sctpinspect.output.fields import FieldOptions, FieldsPrinter, formatter_for
from sctpinspect.output.text import SummaryPrinter

TEST_CAP = PUBLIC / "pkts" / "sctp-test.cap"


def run(*argv: str) -> tuple[int, str, str]:
    from sctpinspect.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["read", "--no-progress", *argv])
    return rc, out.getvalue(), err.getvalue()


def lines_by_number(out: str) -> dict[int, str]:
    return {int(line.split()[0]): line for line in out.splitlines()}


# --------------------------------------------------------------------------- summary


def test_summary_lines_match_tshark_values():
    rc, out, err = run(str(TEST_CAP))
    assert rc == 0
    lines = lines_by_number(out)
    assert len(lines) == 74
    # tshark -r sctp-test.cap -T fields -e ip.src -e ip.dst -e sctp.srcport -e sctp.dstport
    #   -e sctp.verification_tag -e sctp.chunk_type:
    # 1 192.168.170.8 -> 192.168.170.56 7 7 0x00000000 INIT
    # 2 192.168.170.56 -> 192.168.170.8 7 7 0x43232544 INIT_ACK
    # 6 192.168.170.56 -> 192.168.170.8 vtag 0x43232544 SACK(cum 1560164256, a_rwnd 4096), DATA, DATA
    assert "192.168.170.8:7 -> 192.168.170.56:7 vtag=0x00000000" in lines[1]
    assert "INIT" in lines[1] and "INIT_ACK" not in lines[1]
    assert "192.168.170.56:7 -> 192.168.170.8:7 vtag=0x43232544" in lines[2]
    assert "INIT_ACK" in lines[2]
    l6 = lines[6]
    assert l6.index("SACK") < l6.index("DATA")
    assert "1560164256" in l6 and "4096" in l6
    # DATA chunks of frame 5: TSNs 1560164255 and 1560164256 (absolute), SIDs 0 and 1
    assert "1560164255" in lines[5] and "1560164256" in lines[5]
    assert err.strip().splitlines()[-1] == "74 frames, 74 SCTP"


def test_summary_relative_time_column():
    # tshark -T fields -e frame.time_relative: frame 3 = 0.000783000, frame 4 = 0.001001000
    rc, out, _ = run(str(TEST_CAP), "-c", "4")
    lines = lines_by_number(out)
    assert lines[1].split()[1] == "0.000000"
    assert lines[3].split()[1] == "0.000783"
    assert lines[4].split()[1] == "0.001001"


@pytest.mark.parametrize("mode,frame,expected", [
    ("e", 2, "1108716598.686375"),      # frame.time_epoch 1108716598.686375000
    ("d", 3, "0.000487"),               # frame.time_delta 0.000487000
    ("ud", 1, "2005-02-18 08:49:58.686079"),   # tshark -t ud
])
def test_time_formats(mode, frame, expected):
    rc, out, _ = run(str(TEST_CAP), "-c", "4", "-t", mode)
    line = lines_by_number(out)[frame]
    assert expected in line


def test_summary_checksum_marks():
    # mm.pcap: tshark -o sctp.checksum:crc-32c -V:
    #   "Checksum (CRC32C): 0x0b3f9b4c incorrect, should be 0xad3886cc" (frame 1)
    rc, out, _ = run(str(PUBLIC / "pcapsctpspliter" / "mm.pcap"))
    lines = lines_by_number(out)
    assert "[CRC bad, expected 0xad3886cc]" in lines[1]
    assert "[CRC bad, expected 0x42ce6aad]" in lines[2]
    # frame 1 of mm.pcap: tshark "Chunk length (300) is longer than remaining data (272)"
    assert "300" in lines[1] and "272" in lines[1] and "[error:" in lines[1]
    assert "[error:" not in lines[2]
    # sctp001.pcap: every checksum field is 0x00000000 (tshark -e sctp.checksum)
    rc, out, _ = run(str(PUBLIC / "pkts" / "sctp001.pcap"))
    assert all("[CRC zero]" in line for line in out.splitlines())
    # isup.pcap: Adler-32 (tshark -o sctp.checksum:adler-32: "0xb0b01883 [correct]")
    rc, out, _ = run(str(PUBLIC / "tcpdump" / "isup.pcap"))
    assert all("[Adler-32]" in line for line in out.splitlines())
    # --no-checksum: no marks at all
    rc, out, _ = run("--no-checksum", str(PUBLIC / "pcapsctpspliter" / "mm.pcap"))
    assert "CRC" not in out


def test_summary_ipv6_in_brackets():
    # tshark -Y "sctp && ipv6": frame 81 1234::e -> 5678:: ports 57005 48879
    rc, out, err = run(str(PUBLIC / "zeek" / "cisco-fabric-path.pcap"))
    assert rc == 0
    assert "[1234::e]:57005 -> [5678::]:48879" in lines_by_number(out)[81]


def test_non_sctp_frames_skipped_and_counted():
    # 5g-roaming-hr: 1894 frames, 23 SCTP (MANIFEST.tsv, tshark -Y sctp | wc -l)
    rc, out, err = run(str(PUBLIC / "open5gs" / "5g-roaming-hr.pcapng"))
    assert rc == 0
    assert len(out.splitlines()) == 23
    assert err.strip().splitlines()[-1] == "1894 frames, 23 SCTP"


def test_count_limits_packets():
    rc, out, _ = run("-c", "3", str(TEST_CAP))
    assert [int(line.split()[0]) for line in out.splitlines()] == [1, 2, 3]
    rc, out, _ = run("-c", "5", "-T", "fields", "-e", "frame.number",
                     str(PUBLIC / "arkime" / "arkime_synthetic.pcap"))
    assert out.split() == ["1", "2", "3", "4", "5"]


# --------------------------------------------------------------------------- -V


def test_verbose_tree_has_wireshark_lines():
    rc, out, _ = run("-V", "-c", "1", str(TEST_CAP))
    got = {line.strip() for line in out.splitlines()}
    # tshark -V -c 1 sctp-test.cap, SCTP part:
    for want in ("Source port: 7", "Destination port: 7", "Verification tag: 0x00000000",
                 "Chunk type: INIT (1)", "Chunk length: 32", "Initiate tag: 0x43232544",
                 "Number of outbound streams: 17", "Initial TSN: 1560164255",
                 "Parameter type: Forward TSN supported (0xc000)"):
        assert want in got, want
    # the tree is indented: chunk fields deeper than the SCTP header fields
    indent = {line.strip(): len(line) - len(line.lstrip()) for line in out.splitlines()}
    assert indent["Initiate tag: 0x43232544"] > indent["Source port: 7"]
    assert indent["Source port: 7"] > indent.get("Frame 1: 78 bytes on wire, 78 bytes captured", -1)


def test_verbose_field_names():
    rc, out, _ = run("-V", "--field-names", "-c", "1", str(TEST_CAP))
    assert "Source port: 7  [sctp.srcport]" in [line.strip() for line in out.splitlines()]
    assert "[sctp.init_initiate_tag]" in out


# --------------------------------------------------------------------------- JSON


def test_json_parses_and_carries_offsets():
    rc, out, _ = run("-T", "json", "-c", "2", str(TEST_CAP))
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["number"] for o in objs] == [1, 2]
    first = objs[0]
    assert (first["src"], first["dst"], first["sport"], first["dport"]) == \
        ("192.168.170.8", "192.168.170.56", 7, 7)
    assert first["vtag"] == 0 and objs[1]["vtag"] == 0x43232544
    assert first["chunks"][0]["type"] == 1
    assert first["chunks"][0]["fields"]["sctp.init_initiate_tag"] == 0x43232544

    def find(node, name):
        if node["name"] == name:
            return node
        for c in node.get("children", ()):
            r = find(c, name)
            if r:
                return r

    found = {n: next(filter(None, (find(layer, n) for layer in first["layers"])))
             for n in ("sctp.srcport", "sctp.verification_tag", "sctp.chunk_type",
                       "sctp.init_initiate_tag")}
    # tshark -T pdml: srcport pos=34 size=2, verification_tag pos=38 size=4,
    # chunk_type pos=46 size=1, init_initiate_tag pos=50 size=4
    assert (found["sctp.srcport"]["offset"], found["sctp.srcport"]["length"]) == (34, 2)
    assert (found["sctp.verification_tag"]["offset"], found["sctp.verification_tag"]["length"]) == (38, 4)
    assert (found["sctp.chunk_type"]["offset"], found["sctp.chunk_type"]["length"]) == (46, 1)
    assert (found["sctp.init_initiate_tag"]["offset"], found["sctp.init_initiate_tag"]["length"]) == (50, 4)


# --------------------------------------------------------------------------- fields


def test_fields_every_frame_printed():
    # tshark -T fields -e frame.number 5g-roaming-hr.pcapng | wc -l -> 1894
    rc, out, _ = run("-T", "fields", "-e", "frame.number", "-e", "sctp.srcport",
                     str(PUBLIC / "open5gs" / "5g-roaming-hr.pcapng"))
    lines = out.splitlines()
    assert len(lines) == 1894
    assert [line.split("\t")[0] for line in lines] == [str(i) for i in range(1, 1895)]


def test_fields_occurrence_number_extension():
    # frame 6 of sctp-test: chunk types 3,0,0; flags 0x00,0x07,0x07 (tshark -e sctp.chunk_type)
    rc, out, _ = run("-T", "fields", "-E", "occurrence=2", "-e", "sctp.chunk_type",
                     "-e", "sctp.chunk_flags", "-c", "6", str(TEST_CAP))
    assert out.splitlines()[5] == "0\t0x07"
    rc, out, _ = run("-T", "fields", "-E", "occurrence=-3", "-e", "sctp.chunk_type",
                     "-c", "6", str(TEST_CAP))
    assert out.splitlines()[5] == "3"
    assert out.splitlines()[0] == ""       # frame 1 has one chunk: no 3rd-from-last


def _pkt_with(fields):
    rec = Record(9, 1_000_000_000, b"\0" * 64, 64, 1)
    p = Packet(rec)
    root = Field("sctp", None, 34, 30)
    for name, value in fields:
        root.add(name, value, 34, 2)
    p.layers = [root]
    return p


def test_fields_quoting_and_empty_columns():
    registry.register("test.fmt_hex16", "Hex16", registry.FT_UINT16, registry.BASE_HEX)
    registry.register("test.fmt_bool", "Bool", registry.FT_BOOLEAN, 8, None, 0x80)
    p = _pkt_with([("test.fmt_hex16", 0xc000), ("test.fmt_hex16", 12), ("test.fmt_bool", False)])
    opts = FieldOptions.parse(["quote=d", "separator=,", "aggregator=/s"])
    fp = FieldsPrinter(["test.fmt_hex16", "test.absent", "test.fmt_bool"], opts)
    # tshark: absent fields are empty and never quoted; all occurrences share one pair of quotes
    assert fp.line(p) == '"0xc000 0x000c",,"0"'
    assert FieldsPrinter(["test.fmt_hex16"], FieldOptions.parse(["header=y"])).header() == "test.fmt_hex16"


@pytest.mark.parametrize("bad", ["occurrence=x", "occurrence=0", "quote=q", "header=maybe",
                                 "color=y", "separator="])
def test_fields_bad_options(bad):
    with pytest.raises(UserError):
        FieldOptions.parse([bad])


def test_fast_formatters_agree_with_registry():
    """The hot-path formatters must print what registry.format_tshark prints."""
    import sctpinspect.decode  # noqa: F401  (registers the decoders' fields)
    from sctpinspect.decode.frame import FrameDecoder  # noqa: F401
    checked = 0
    for name, s in list(registry.FIELDS.items()):
        if s.is_int:
            values = (0, 1, 7, 255)
        elif s.ftype == registry.FT_BOOLEAN:
            values = (True, False, 0, 1)
        else:
            continue
        for v in values:
            assert formatter_for(name)(v) == registry.format_tshark(name, v), name
        checked += 1
    assert checked > 50


def test_prunable_layers_hold_only_their_own_fields():
    """-T fields skips walking e.g. the ip layer when no ip.* field is asked for;
    that is only right if such layers never hold another protocol's fields."""
    from conftest import public_captures
    from sctpinspect.output.fields import PRUNABLE_LAYERS
    from sctpinspect.pipeline import Pipeline, open_records
    seen = set()
    for path in public_captures():
        for pkt, _ in Pipeline(open_records(str(path))):
            for layer in pkt.layers:
                if layer.name in PRUNABLE_LAYERS:
                    seen.add(layer.name)
                    for f in layer.walk():
                        assert f.name.split(".", 1)[0] in PRUNABLE_LAYERS[layer.name], \
                            (path.name, layer.name, f.name)
    assert {"frame", "eth", "sll", "ip", "ipv6", "udp"} <= seen


def test_unknown_field_is_one_line_error():
    rc, out, err = run("-T", "fields", "-e", "sctp.no_such_field", str(TEST_CAP))
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "sctp.no_such_field" in err


# --------------------------------------------------------------------------- summary unit


def test_summary_folds_runs_of_identical_chunks():
    sp = SummaryPrinter()
    rec = Record(1, 0, b"", 0, 1)
    p = Packet(rec)
    p.sctp = Field("sctp", None, 0, 0)
    p.sctp_offset = 0
    p.src, p.dst, p.sport, p.dport, p.vtag = "10.0.0.1", "10.0.0.2", 1, 2, 5
    p.chunks = [Chunk(6, 0, 4, 12 + 4 * i, 4) for i in range(5)] + [Chunk(14, 0, 4, 32, 4)]
    sp.chunk_summary = lambda c: {6: "ABORT", 14: "SHUTDOWN_COMPLETE"}[c.type]
    sp.time.first = 0
    assert sp.line(p).endswith("vtag=0x00000005 ABORT x5 SHUTDOWN_COMPLETE")


# --------------------------------------------------------------------------- errors


def test_missing_file():
    rc, out, err = run("/nonexistent/trace.pcap")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "no such file" in err


def test_not_a_capture(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello, this is not a pcap\n")
    rc, out, err = run(str(f))
    assert rc == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_truncated_file_prints_good_records_then_error(tmp_path, tshark):
    data = TEST_CAP.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) * 2 // 3])
    # tshark prints the complete records, then "appears to have been cut short"
    ts = subprocess.run([tshark, "-r", str(cut), "-T", "fields", "-e", "frame.number"],
                        capture_output=True, text=True)
    good = ts.stdout.split()
    assert "cut short" in ts.stderr
    rc, out, err = run(str(cut))
    assert rc == 1
    assert [line.split()[0] for line in out.splitlines()] == good
    errs = err.strip().splitlines()
    assert "offset" in errs[-1] and "Traceback" not in err
    assert errs[-2] == f"{len(good)} frames, {len(good)} SCTP"


def test_stdin_same_as_file():
    cmd = [sys.executable, "-m", "sctpinspect", "read", "-T", "fields", "-e", "frame.number",
           "-e", "sctp.verification_tag", "-e", "sctp.chunk_type"]
    from_file = subprocess.run(cmd + [str(TEST_CAP)], capture_output=True, text=True)
    with open(TEST_CAP, "rb") as f:
        from_stdin = subprocess.run(cmd + ["-"], stdin=f, capture_output=True, text=True)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_file.stdout
    assert len(from_stdin.stdout.splitlines()) == 74


def test_icmp_error_quoting_sctp_gets_a_line(tmp_path):
    # Built here: an ICMP port-unreachable from 10.0.0.9 quoting the first 8 bytes of
    # SCTP (RFC 792 quotes the IP header + 64 bits: ports and vtag), and the ICMPv6 analogue.
    from scapy.all import ICMP, IP, SCTP, Ether, ICMPv6DestUnreach, IPv6, SCTPChunkInit, wrpcap
    inner = IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=2905, dport=2906, tag=0x1234) / SCTPChunkInit()
    inner6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / SCTP(sport=1, dport=2, tag=7) / SCTPChunkInit()
    pkts = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.9", dst="10.0.0.1")
            / ICMP(type=3, code=3) / bytes(inner)[:28],
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv6(src="2001:db8::9", dst="2001:db8::1")
            / ICMPv6DestUnreach(code=4) / bytes(inner6)[:48]]
    path = tmp_path / "icmp.pcap"
    wrpcap(str(path), pkts)
    rc, out, err = run(str(path))
    lines = lines_by_number(out)
    assert "ICMP error from 10.0.0.9 quoting SCTP 10.0.0.1:2905 -> 10.0.0.2:2906 vtag=0x00001234" in lines[1]
    assert "ICMPv6 error from [2001:db8::9] quoting SCTP [2001:db8::1]:1 -> [2001:db8::2]:2 vtag=0x00000007" in lines[2]
    assert err.strip().splitlines()[-1] == "2 frames, 0 SCTP, 2 ICMP quoting SCTP"


@pytest.mark.parametrize("flt", ["sctp.chunk_type == 1", "sctp.data_sid == 0 && sctp.data_ssn > 2",
                                 "sctp.chunk_type == 3 || sctp.chunk_type == 4"])
def test_display_filter_selects_what_tshark_selects(flt, tshark):
    path = PUBLIC / "pkts" / "sctp-www.cap"
    ts = subprocess.run([tshark, "-r", str(path), "-Y", flt, "-T", "fields", "-e", "frame.number"],
                        capture_output=True, text=True).stdout.split()
    assert ts, "the filter should match something"
    rc, out, _ = run("-Y", flt, str(path))
    assert [line.split()[0] for line in out.splitlines()] == ts
    rc, out, _ = run("-Y", flt, "-T", "fields", "-e", "frame.number", str(path))
    assert out.split() == ts


def test_bad_display_filter_is_one_line():
    rc, out, err = run("-Y", "sctp.chunk_type ==", str(TEST_CAP))
    assert rc == 2 and out == ""
    # one sentence, then (from the filter compiler) the filter with a caret under the error
    assert err.startswith("sctpinspect: display filter: ") and "Traceback" not in err
