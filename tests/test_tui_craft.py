"""The Send panel's craft mode (role "craft") driven with Textual's pilot on
this host.

The form is checked before anything is built or sent (each mistake is one
sentence in the panel).  Real sends go to 127.0.0.1: this host's kernel has
no SCTP, so nobody answers with SCTP (the kernel sends ICMP protocol
unreachable), but an independent AF_PACKET socket on ``lo`` sees the packet
the panel sent, and tshark (the oracle) decodes it: the vtag, INIT
parameters and the bad checksum are those the form asked for.  The lab
test against a kernel SCTP listener is tests/kernel/test_tui_craft_lab.py.
"""
from __future__ import annotations

import asyncio
import os
import select
import socket
import struct

import pytest

from conftest import PUBLIC
from sctpinspect.tui.app import SctpInspectApp
from sctpinspect.tui.craft_panel import KIND_CHOICES, CraftForm
from sctpinspect.tui.send_panel import SendPanel

SCTP_TEST = PUBLIC / "pkts" / "sctp-test.cap"
ETH_P_ALL = 0x0003

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_craft(body, size=(160, 50)):
    """The app on a capture file, tab 7, role "craft"."""
    async def main():
        app = SctpInspectApp(str(SCTP_TEST))
        async with app.run_test(size=size) as pilot:
            await pilot.press("7")
            for mounting in app.mount_views():    # the Send tab's widgets are mounted on demand
                await mounting
            await pilot.pause(0.1)
            panel = app.query_one(SendPanel)
            panel.query_one("#send-role").value = "craft"
            await pilot.pause(0.1)
            await body(app, pilot, panel, panel.query_one(CraftForm))
            app.shutdown()
    asyncio.run(main())


async def fill(pilot, panel, **fields):
    for name, value in fields.items():
        panel.query_one(f"#craft-{name}").value = value
    await pilot.pause()


async def wait_for(pilot, cond, seconds=15.0):
    for _ in range(int(seconds / 0.05)):
        if cond():
            return True
        await pilot.pause(0.05)
    return cond()


def text_of(panel, wid) -> str:
    return str(panel.query_one(wid).render())


def test_craft_mode_shows_the_craft_kinds_and_hides_the_kernel_form():
    from sctpinspect import craft as K
    # the menu is sctpinspect.craft's table (kept without importing scapy at start)
    assert [(label, name) for label, name in KIND_CHOICES] == \
        [(k.label, k.name) for k in K.KINDS.values()]

    async def body(app, pilot, panel, form):
        assert form.display and panel.crafting
        assert app.focused.id == "craft-dest"
        for wid in ("#send-kernel", "#send-style", "#send-bind"):
            assert not panel.query_one(wid).display
        assert text_of(panel, "#send-state").startswith("craft: type the destination")
        for kind in ("abort", "data", "chunk", "init"):
            panel.query_one("#craft-kind").value = kind
            await pilot.pause()
            shown = [r.id for r in form.query(".craft-kind-row") if r.display]
            assert shown == [f"craft-row-{kind}"]
        # back from another tab, keys go to the craft form, not the hidden kernel form
        app.action_tab("packets")
        await pilot.pause()
        app.action_tab("send")
        await pilot.pause()
        assert app.focused.id == "send-role"       # a menu, not a hidden kernel-form field
        # F7/F8 have nothing to act on in craft mode
        await pilot.press("f8")
        assert panel.last_error.startswith("craft mode sends single packets")
        panel.query_one("#send-role").value = "client"
        await pilot.pause()
        assert not form.display and panel.query_one("#send-kernel").display
        assert str(panel.query_one("#send-start").label) == "Connect F5"
    run_craft(body)


BASE = {"dest": "127.0.0.1:5000", "sport": "", "vtag": "", "wait": "2", "streams": "10,10",
        "ext": "", "addrs": "", "causes": "", "payload": "", "chunk_type": "0x7f"}
BAD = [
    ("init", {"dest": ""}, "give the destination as ADDR:PORT (an IP address typed literally, "
     "IPv6 as [ADDR]:PORT): a crafted packet goes only there"),
    ("init", {"dest": "127.0.0.1:70000"}, "port '70000' is not a number from 0 to 65535"),
    ("init", {"dest": "127.0.0.1"}, "'127.0.0.1': expected ADDR:PORT (IPv6 as [ADDR]:PORT)"),
    ("init", {"dest": "localhost:5000"}, "'localhost' is not an IP address: craft sends only "
     "to an address typed literally (no name resolution)"),
    ("init", {"dest": "2001:db8::1:5000"}, "'2001:db8::1:5000': expected ADDR:PORT (IPv6 as "
     "[ADDR]:PORT)"),
    ("init", {"sport": "70000"}, "source port 70000 is outside 0..65535"),
    ("init", {"vtag": "0x1ffffffff"}, "vtag 8589934591 is outside 0..4294967295"),
    ("init", {"wait": "soon"}, "wait 'soon' is not a number of seconds"),
    ("init", {"streams": "0,4"}, "streams '0,4': expected OUT,IN, two numbers from 1 to 65535"),
    ("init", {"addrs": "192.0.2.1, 192.0.2.300"},
     "address parameter '192.0.2.300' is not an IPv4 or IPv6 address"),
    ("init", {"ext": "forward-tsn,nope"}, "supported extension 'nope': a chunk type number or "
     "one of asconf, asconf-ack, auth, forward-tsn, i-data, i-forward-tsn, pktdrop, re-config, "
     "reconfig"),
    ("abort", {"causes": "12:6279652e x"}, "cause 'x': expected CODE or CODE:HEX (e.g. "
     "12:6279652e for User-Initiated Abort \"bye.\")"),
    ("chunk", {"chunk_type": "300"}, "chunk type 300 is outside 0..255"),
]


def test_craft_form_mistakes_are_sentences_and_nothing_is_sent():
    """One app, every case in turn (an app start costs seconds on a loaded host)."""
    async def body(app, pilot, panel, form):
        for kind, fields, sentence in BAD:
            panel.query_one("#craft-kind").value = kind
            await fill(pilot, panel, **{**BASE, **fields})
            for key in ("f5", "f6"):          # build and send check the same way
                await pilot.press(key)
                await pilot.pause(0.05)
                assert text_of(panel, "#send-error") == sentence, (kind, fields, key)
                assert panel.log_lines[-1] == "error: " + sentence
        assert form.sender is None and form.built is None       # nothing built or sent
        assert not any(ln.startswith(("built", "sending")) for ln in panel.log_lines)
    run_craft(body)


def _lo_sniffer() -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind(("lo", 0))
    return s


def _sctp_from(sniffer, sport: int, seconds: float = 3.0) -> list[bytes]:
    """IPv4 SCTP packets with source port ``sport`` seen on lo (each once: the
    outgoing copy)."""
    out = []
    while select.select([sniffer], [], [], seconds)[0]:
        data, addr = sniffer.recvfrom(65535)
        if addr[2] != socket.PACKET_OUTGOING or addr[1] != 0x0800:
            continue
        ihl = (data[0] & 15) * 4
        if data[9] == 132 and struct.unpack_from("!H", data, ihl)[0] == sport:
            out.append(data)
        seconds = 0.3
    return out


INIT_FIELDS = ["sctp.srcport", "sctp.dstport", "sctp.verification_tag", "sctp.chunk_type",
               "sctp.checksum.status", "sctp.init_initiate_tag", "sctp.init_credit",
               "sctp.init_nr_out_streams", "sctp.init_nr_in_streams", "sctp.init_initial_tsn",
               "sctp.parameter_ipv4_address", "sctp.parameter_ipv6_address",
               "sctp.supported_chunk_type"]


@pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")
def test_crafted_packets_from_the_panel_leave_as_asked(tmp_path, tshark):
    from sctpinspect import craft as K
    from sctpinspect.lab.tshark import tshark_rows
    sniffer = _lo_sniffer()
    seen: dict = {}

    async def body(app, pilot, panel, form):
        # 1. an INIT with a wrong vtag, chosen parameters and a bad checksum
        await fill(pilot, panel, dest="127.0.0.1:5999", sport="41517", vtag="0xdeadbeef",
                   bad_checksum=True, wait="1", init_tag="0x0badcafe", streams="17,5",
                   tsn="1000", a_rwnd="65536", addrs="192.0.2.1, [2001:db8::1]",
                   ext="forward-tsn,re-config")
        await pilot.press("f6")
        assert await wait_for(pilot, lambda: not form.sender.is_alive())
        seen["init_log"] = list(panel.log_lines)
        seen["init"] = await asyncio.get_running_loop().run_in_executor(
            None, _sctp_from, sniffer, 41517)
        # 2. F5 then F6: the packet shown (random source port and vtag) is the one sent
        panel.query_one("#craft-kind").value = "chunk"
        await fill(pilot, panel, sport="", vtag="", bad_checksum=False, wait="0",
                   chunk_type="0xbf", chunk_flags="0x5a", value="00 01 02")
        await pilot.press("f5")
        assert await wait_for(pilot, lambda: form.built is not None)
        seen["built"] = form.built[1].sctp_bytes
        seen["built_log"] = list(panel.log_lines)
        await pilot.press("f6")
        assert await wait_for(pilot, lambda: not form.sender.is_alive())
        seen["chunk_log"] = list(panel.log_lines)

    try:
        run_craft(body)
        sport = struct.unpack_from("!H", seen["built"])[0]
        chunk_pkts = _sctp_from(sniffer, sport, 2.0)
    finally:
        sniffer.close()

    # the wire, read by tshark (the oracle): what the form asked for
    assert len(seen["init"]) == 1, seen["init"]
    pcap = tmp_path / "init.pcap"
    K.write_pcap(str(pcap), [(0.0, seen["init"][0])])
    row = dict(zip(INIT_FIELDS, tshark_rows(pcap, INIT_FIELDS)[0]))
    assert row == {"sctp.srcport": "41517", "sctp.dstport": "5999",
                   "sctp.verification_tag": "0xdeadbeef", "sctp.chunk_type": "1",
                   "sctp.checksum.status": "0",          # bad
                   "sctp.init_initiate_tag": "0x0badcafe", "sctp.init_credit": "65536",
                   "sctp.init_nr_out_streams": "17", "sctp.init_nr_in_streams": "5",
                   "sctp.init_initial_tsn": "1000",
                   "sctp.parameter_ipv4_address": "192.0.2.1",
                   "sctp.parameter_ipv6_address": "2001:db8::1",
                   # RFC 5061 Supported Extensions: FORWARD TSN 192, RE-CONFIG 130
                   "sctp.supported_chunk_type": "192,130"}
    # bad checksum = the right CRC32c minus 1 (RFC 9260 appendix A), computed here
    import crc32c
    sctp = bytearray(seen["init"][0][20:])
    stored = int.from_bytes(sctp[8:12], "big")
    sctp[8:12] = bytes(4)
    assert stored == (int.from_bytes(crc32c.crc32c(bytes(sctp)).to_bytes(4, "little"), "big")
                      - 1) & 0xFFFFFFFF
    # the panel's log: the summary before and after, and the kernel's answer (no SCTP
    # on this host: ICMP protocol unreachable quoting our packet)
    log = seen["init_log"]
    sending = next(ln for ln in log if ln.startswith("sending: "))
    assert "127.0.0.1:41517 -> 127.0.0.1:5999 vtag=0xdeadbeef [CRC bad" in sending
    assert "INIT(itag=0x0badcafe os=17 mis=5 tsn=1000 a_rwnd=65536" in sending
    assert any(ln.startswith("sent: ") for ln in log)
    reply = next(ln for ln in log if ln.startswith("reply: "))
    assert "ICMP" in reply and "127.0.0.1:41517 -> 127.0.0.1:5999 vtag=0xdeadbeef" in reply
    assert not any("Traceback" in ln or ln.startswith("error") for ln in log), log
    # F5 showed the packet; F6 sent exactly those bytes
    built = seen["built"]
    assert f"  hex: {built.hex()}" in seen["built_log"]
    assert [p[20:] for p in chunk_pkts] == [built]
    assert built[12:16] == bytes([0xBF, 0x5A, 0, 7])        # type, flags, length 4+3
    assert not any(ln.startswith("sending") for ln in seen["built_log"][len(log):])
    assert any(ln.startswith("sent: ") and "UNKNOWN(type=191" in ln
               for ln in seen["chunk_log"]), seen["chunk_log"]


def test_no_raw_socket_permission_is_a_sentence(monkeypatch):
    real = socket.socket

    def no_raw(family=-1, type=-1, proto=-1, fileno=None):
        if type == socket.SOCK_RAW or family == socket.AF_PACKET:
            raise PermissionError(1, "Operation not permitted")
        return real(family, type, proto, fileno)

    async def body(app, pilot, panel, form):
        await fill(pilot, panel, dest="127.0.0.1:5999", wait="1")
        monkeypatch.setattr(socket, "socket", no_raw)
        try:
            await pilot.press("f6")
            assert await wait_for(pilot, lambda: form.sender and not form.sender.is_alive())
        finally:
            monkeypatch.undo()
        assert panel.last_error == ("raw sockets need root or CAP_NET_RAW: start sctpinspect "
                                    "with sudo to send (F5 only builds the packet)")
        assert not any("Traceback" in ln for ln in panel.log_lines)
        assert text_of(panel, "#send-state").startswith("craft: done")
    run_craft(body)


KIND_FIELDS = ["ip.dst", "ipv6.dst", "sctp.srcport", "sctp.dstport", "sctp.verification_tag",
               "sctp.chunk_type", "sctp.chunk_flags", "sctp.chunk_length",
               "sctp.checksum.status", "sctp.abort_t_bit", "sctp.cause_code",
               "sctp.cause_length", "sctp.data_tsn_raw", "sctp.data_sid", "sctp.data_ssn",
               "sctp.data_payload_proto_id", "sctp.data_u_bit", "data.data"]


def test_form_values_reach_the_packet_for_every_kind(tmp_path, tshark):
    """parse_craft_form -> craft_packet, without the app or the network: the
    packets of the abort, data and chunk forms (IPv4 and IPv6) decoded by tshark."""
    from sctpinspect import craft as K
    from sctpinspect.lab.tshark import tshark_rows
    from sctpinspect.tui.craft_panel import parse_craft_form
    forms = [
        {"kind": "abort", "dest": "[2001:db8::2]:5000", "sport": "40100", "vtag": "0xcafe",
         "causes": "12:6279652e, 1:00030000", "t_bit": True},
        {"kind": "data", "dest": "192.0.2.2:5001", "sport": "40101", "vtag": "7",
         "data_tsn": "4000000000", "sid": "3", "ssn": "9", "ppid": "0x65", "unordered": True,
         "payload": "68 65 6c 6c 6f", "payload_hex": True, "bad_checksum": True},
        {"kind": "chunk", "dest": "192.0.2.2:5002", "sport": "40102", "vtag": "9",
         "chunk_type": "0x7f", "chunk_flags": "0xa5", "value": "0001020304"},
    ]
    packets = [parse_craft_form(f).build() for f in forms]
    assert [p.dst for p in packets] == ["2001:db8::2", "192.0.2.2", "192.0.2.2"]
    pcap = tmp_path / "kinds.pcap"
    K.write_pcap(str(pcap), [(0.0, p.ip_bytes()) for p in packets])
    rows = [dict(zip(KIND_FIELDS, r)) for r in tshark_rows(pcap, KIND_FIELDS)]
    abort, data, chunk = rows
    # ABORT (RFC 9260 3.3.7) with two causes: User-Initiated Abort (12), Invalid
    # Stream Identifier (1); T bit set
    assert (abort["ipv6.dst"], abort["sctp.srcport"], abort["sctp.dstport"],
            abort["sctp.verification_tag"], abort["sctp.chunk_type"],
            abort["sctp.abort_t_bit"], abort["sctp.cause_code"], abort["sctp.cause_length"],
            abort["sctp.checksum.status"]) == \
        ("2001:db8::2", "40100", "5000", "0x0000cafe", "6", "1", "0x000c,0x0001", "8,8", "1")
    # DATA (RFC 9260 3.3.1): U bit, chosen TSN/SID/SSN/PPID, payload from hex, bad CRC
    assert (data["ip.dst"], data["sctp.verification_tag"], data["sctp.data_tsn_raw"],
            data["sctp.data_sid"], data["sctp.data_ssn"], data["sctp.data_payload_proto_id"],
            data["sctp.data_u_bit"], data["data.data"], data["sctp.checksum.status"]) == \
        ("192.0.2.2", "0x00000007", "4000000000", "0x0003", "9", "101", "1", "68656c6c6f", "0")
    # an unassigned chunk type with chosen flags and value (RFC 9260 3.2: length 4+5)
    assert (chunk["sctp.chunk_type"], chunk["sctp.chunk_flags"], chunk["sctp.chunk_length"],
            chunk["sctp.checksum.status"]) == ("127", "0xa5", "9", "1")
