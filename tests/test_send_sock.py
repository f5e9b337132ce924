"""Host tests of the kernel SCTP socket layer (sctpinspect.sock).

Struct layouts and notification decoding are checked against the C compiler
and the Linux uapi header <linux/sctp.h> (the oracle), not against our own
constants; the no-SCTP sentence against this host's real kernel."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from sctpinspect.errors import UserError
from sctpinspect.sock import constants as C
from sctpinspect.sock import events as E
from sctpinspect.sock.addr import parse_hostport, sockaddr
from sctpinspect.sock.cli import parse_streams, payload_from

HEADER = "/usr/include/linux/sctp.h"


def _host_has_sctp() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).close()
        return True
    except OSError:
        return False


# ----------------------------------------------------------------- addresses

@pytest.mark.parametrize("text,want", [
    ("192.0.2.2:5000", ("192.0.2.2", 5000)),
    ("[2001:db8::2]:3868", ("2001:db8::2", 3868)),
    ("[::1]:1", ("::1", 1)),
    ("[::ffff:192.0.2.1]:9", ("::ffff:c000:201", 9)),
    ("127.0.0.1:65535", ("127.0.0.1", 65535)),
])
def test_parse_hostport(text, want):
    assert parse_hostport(text) == want


def test_parse_hostport_port_alone_only_for_listen():
    assert parse_hostport("5000", default_host="") == ("", 5000)
    with pytest.raises(UserError, match="expected HOST:PORT"):
        parse_hostport("5000")


@pytest.mark.parametrize("text,msg", [
    ("2001:db8::2:5000", r"brackets, as in \[2001:db8::2\]:5000"),
    ("[2001:db8::2]", "a port is needed"),
    ("[2001:db8::2:5000", "missing ']'"),
    ("192.0.2.2:99999", "not a number from 0 to 65535"),
    ("192.0.2.2:x", "not a number"),
    ("[zz::1]:5", "not a valid IPv6 address"),
])
def test_parse_hostport_errors(text, msg):
    with pytest.raises(UserError, match=msg):
        parse_hostport(text)


def test_sockaddr_packing_matches_kernel_layout():
    # struct sockaddr_in: family (host order), port (network), addr, 8 zero bytes
    sa = sockaddr("192.0.2.1", 5000)
    assert len(sa) == 16
    assert int.from_bytes(sa[:2], sys.byteorder) == socket.AF_INET
    assert sa[2:4] == (5000).to_bytes(2, "big") and sa[4:8] == bytes([192, 0, 2, 1])
    sa6 = sockaddr("2001:db8::1", 80)
    assert len(sa6) == 28 and int.from_bytes(sa6[:2], sys.byteorder) == socket.AF_INET6
    assert sa6[8:24] == socket.inet_pton(socket.AF_INET6, "2001:db8::1")


def test_parse_streams_and_payload():
    assert parse_streams("16,4") == (16, 4)
    assert parse_streams("7") == (7, 7)
    for bad in ("0,1", "1,70000", "a,b", "1,2,3"):
        with pytest.raises(UserError):
            parse_streams(bad)
    assert payload_from("hé", None, None) == "hé".encode()
    assert payload_from(None, "de:ad be ef", None) == b"\xde\xad\xbe\xef"
    assert payload_from(None, "0x0102", None) == b"\x01\x02"
    with pytest.raises(UserError, match="even number of hex digits"):
        payload_from(None, "abc", None)
    with pytest.raises(UserError, match="give the payload once"):
        payload_from("x", "00", None)


# ----------------------------------------------------------------- the real host kernel

@pytest.mark.skipif(_host_has_sctp(), reason="this host has kernel SCTP")
@pytest.mark.parametrize("argv", [
    ["send", "127.0.0.1:5000", "hello"],
    ["send", "[::1]:5000", "hello", "--one-to-many"],
    ["listen", "5000"],
    ["listen", "[::1]:5000", "--one-to-many"],
])
def test_no_sctp_kernel_is_one_sentence(argv):
    p = subprocess.run([sys.executable, "-m", "sctpinspect", *argv], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr == ("sctpinspect: this kernel has no SCTP support: load it with "
                        "`modprobe sctp` (package linux-modules / CONFIG_IP_SCTP)\n")


@pytest.mark.parametrize("argv,msg", [
    (["send", "2001:db8::1:5000", "x"], "put an IPv6 address in brackets"),
    (["send", "127.0.0.1:5000", "x", "--hex", "00"], "give the payload once"),
    (["send", "127.0.0.1:5000", "x", "--streams", "0,5"], "expected OUT,IN"),
    (["send", "127.0.0.1:5000", "x", "--ppid", "5000000000"], "outside 0..4294967295"),
    (["send", "127.0.0.1:0", "x"], "port 0 cannot be connected to"),
    (["craft", "init", "localhost:5000", "--dry-run"], "not an IP address"),
])
def test_argument_errors_are_sentences(argv, msg):
    p = subprocess.run([sys.executable, "-m", "sctpinspect", *argv], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert msg in p.stderr.strip().splitlines()[-1]   # the last line says what is wrong


def test_help_texts():
    for cmd in ("send", "listen", "craft"):
        p = subprocess.run([sys.executable, "-m", "sctpinspect", cmd, "--help"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "examples:" in p.stdout


# ----------------------------------------------------------------- C layouts

C_PROG = r"""
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/sctp.h>
static void dump(const char *name, const void *p, size_t n) {
    const unsigned char *b = p; printf("\"%s\": \"", name);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\",\n");
}
int main(void) {
    printf("{\n");
    printf("\"consts\": [%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d],\n",
        SCTP_INITMSG, SCTP_NODELAY, SCTP_RECVRCVINFO, SCTP_SOCKOPT_BINDX_ADD,
        SCTP_SOCKOPT_CONNECTX, SCTP_EVENT, SCTP_SNDINFO, SCTP_RCVINFO, SCTP_PRINFO,
        SCTP_UNORDERED, SCTP_ABORT, SCTP_EOF, SCTP_PR_SCTP_TTL, MSG_NOTIFICATION,
        SCTP_ASSOC_CHANGE, SCTP_PEER_ADDR_CHANGE, SCTP_REMOTE_ERROR, SCTP_SHUTDOWN_EVENT,
        SCTP_SENDER_DRY_EVENT, SCTP_SEND_FAILED_EVENT, SCTP_ADAPTATION_INDICATION, SCTP_STATUS);
    printf("\"sizes\": [%zu,%zu,%zu,%zu,%zu],\n", sizeof(struct sctp_initmsg),
        sizeof(struct sctp_sndinfo), sizeof(struct sctp_rcvinfo), sizeof(struct sctp_prinfo),
        sizeof(struct sctp_event));
    struct sctp_rcvinfo r; memset(&r, 0, sizeof r);
    r.rcv_sid = 3; r.rcv_ssn = 7; r.rcv_flags = SCTP_UNORDERED; r.rcv_ppid = htonl(101);
    r.rcv_tsn = 0x11223344; r.rcv_cumtsn = 0x11223340; r.rcv_context = 9; r.rcv_assoc_id = 42;
    dump("rcvinfo", &r, sizeof r);
    struct sctp_sndinfo s; memset(&s, 0, sizeof s);
    s.snd_sid = 3; s.snd_flags = SCTP_UNORDERED | SCTP_EOF; s.snd_ppid = htonl(101);
    s.snd_context = 5; s.snd_assoc_id = -1;
    dump("sndinfo", &s, sizeof s);
    struct sctp_prinfo pr; memset(&pr, 0, sizeof pr); pr.pr_policy = SCTP_PR_SCTP_TTL; pr.pr_value = 250;
    dump("prinfo", &pr, sizeof pr);
    struct sctp_initmsg im = {17, 5, 4, 3000}; dump("initmsg", &im, sizeof im);
    struct sctp_event ev; memset(&ev, 0, sizeof ev); ev.se_assoc_id = 0;
    ev.se_type = SCTP_PEER_ADDR_CHANGE; ev.se_on = 1; dump("event", &ev, sizeof ev);
    struct { struct sctp_assoc_change a; unsigned char info[12]; } ac; memset(&ac, 0, sizeof ac);
    ac.a.sac_type = SCTP_ASSOC_CHANGE; ac.a.sac_length = sizeof ac; ac.a.sac_state = SCTP_COMM_LOST;
    ac.a.sac_error = 104; ac.a.sac_outbound_streams = 10; ac.a.sac_inbound_streams = 5;
    ac.a.sac_assoc_id = 7;
    /* the ABORT chunk the kernel copies: type 6, len 12, cause 12 (User-Initiated Abort) len 8 "bye." */
    unsigned char abort_chunk[12] = {6, 0, 0, 12, 0, 12, 0, 8, 'b', 'y', 'e', '.'};
    memcpy(ac.info, abort_chunk, 12);
    dump("assoc_change", &ac, sizeof ac);
    struct sctp_paddr_change pc; memset(&pc, 0, sizeof pc);
    pc.spc_type = SCTP_PEER_ADDR_CHANGE; pc.spc_length = sizeof pc;
    struct sockaddr_in *sin = (struct sockaddr_in *)&pc.spc_aaddr;
    sin->sin_family = AF_INET; sin->sin_port = htons(5000); inet_pton(AF_INET, "198.51.100.2", &sin->sin_addr);
    pc.spc_state = SCTP_ADDR_UNREACHABLE; pc.spc_error = 0; pc.spc_assoc_id = 3;
    dump("paddr_change", &pc, sizeof pc);
    struct sctp_paddr_change pc6; memset(&pc6, 0, sizeof pc6);
    pc6.spc_type = SCTP_PEER_ADDR_CHANGE; pc6.spc_length = sizeof pc6;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pc6.spc_aaddr;
    s6->sin6_family = AF_INET6; s6->sin6_port = htons(80); inet_pton(AF_INET6, "2001:db8::2", &s6->sin6_addr);
    pc6.spc_state = SCTP_ADDR_POTENTIALLY_FAILED; pc6.spc_assoc_id = 4;
    dump("paddr_change6", &pc6, sizeof pc6);
    struct sctp_remote_error re; memset(&re, 0, sizeof re);
    re.sre_type = SCTP_REMOTE_ERROR; re.sre_length = sizeof re; re.sre_error = htons(1); re.sre_assoc_id = 8;
    dump("remote_error", &re, sizeof re);
    struct { struct sctp_send_failed_event f; unsigned char data[5]; } sf; memset(&sf, 0, sizeof sf);
    sf.f.ssf_type = SCTP_SEND_FAILED_EVENT; sf.f.ssf_flags = SCTP_DATA_SENT; sf.f.ssf_length = sizeof sf.f + 5;
    sf.f.ssf_error = 9; sf.f.ssfe_info.snd_sid = 2; sf.f.ssfe_info.snd_ppid = htonl(46); sf.f.ssf_assoc_id = 6;
    memcpy(sf.data, "hello", 5);
    dump("send_failed", &sf, sizeof sf.f + 5);
    struct sctp_shutdown_event se = {SCTP_SHUTDOWN_EVENT, 0, sizeof se, 11}; dump("shutdown", &se, sizeof se);
    struct sctp_sender_dry_event sd = {SCTP_SENDER_DRY_EVENT, 0, sizeof sd, 12}; dump("dry", &sd, sizeof sd);
    struct sctp_adaptation_event ad = {SCTP_ADAPTATION_INDICATION, 0, sizeof ad, 0xabcd, 13}; dump("adapt", &ad, sizeof ad);
    printf("\"end\": 0}\n");
    return 0;
}
"""


@pytest.fixture(scope="module")
def c_truth(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not __import__("os").path.exists(HEADER):
        pytest.skip("needs a C compiler and the Linux uapi headers (linux-libc-dev)")
    d = tmp_path_factory.mktemp("sctpc")
    (d / "t.c").write_text(C_PROG)
    subprocess.run([cc, "-o", str(d / "t"), str(d / "t.c")], check=True, capture_output=True)
    out = json.loads(subprocess.run([str(d / "t")], capture_output=True, text=True,
                                    check=True).stdout)
    return {k: (bytes.fromhex(v) if isinstance(v, str) else v) for k, v in out.items()}


def test_constants_match_uapi_header(c_truth):
    ours = [C.SCTP_INITMSG, C.SCTP_NODELAY, C.SCTP_RECVRCVINFO, C.SCTP_SOCKOPT_BINDX_ADD,
            C.SCTP_SOCKOPT_CONNECTX, C.SCTP_EVENT, C.SCTP_SNDINFO, C.SCTP_RCVINFO, C.SCTP_PRINFO,
            C.SCTP_UNORDERED, C.SCTP_ABORT, C.SCTP_EOF, C.SCTP_PR_SCTP_TTL, C.MSG_NOTIFICATION,
            C.SCTP_ASSOC_CHANGE, C.SCTP_PEER_ADDR_CHANGE, C.SCTP_REMOTE_ERROR,
            C.SCTP_SHUTDOWN_EVENT, C.SCTP_SENDER_DRY_EVENT, C.SCTP_SEND_FAILED_EVENT,
            C.SCTP_ADAPTATION_INDICATION, C.SCTP_STATUS]
    assert ours == c_truth["consts"]
    assert [C.INITMSG.size, C.SNDINFO.size, C.RCVINFO.size, C.PRINFO.size, C.EVENT.size] == \
        c_truth["sizes"]


def test_cmsg_structs_pack_like_c(c_truth):
    assert C.SNDINFO.pack(3, C.SCTP_UNORDERED | C.SCTP_EOF, socket.htonl(101), 5, -1) == \
        c_truth["sndinfo"]
    assert C.PRINFO.pack(C.SCTP_PR_SCTP_TTL, 250) == c_truth["prinfo"]
    assert C.INITMSG.pack(17, 5, 4, 3000) == c_truth["initmsg"]
    assert C.EVENT.pack(0, C.SCTP_PEER_ADDR_CHANGE, 1) == c_truth["event"]
    sid, ssn, flags, ppid, tsn, cum, ctx, assoc = C.RCVINFO.unpack(c_truth["rcvinfo"])
    assert (sid, ssn, flags, socket.ntohl(ppid), tsn, cum, ctx, assoc) == \
        (3, 7, 1, 101, 0x11223344, 0x11223340, 9, 42)


def test_notifications_decode_c_structs(c_truth):
    ac = E.parse_notification(c_truth["assoc_change"])
    assert isinstance(ac, E.AssocChange)
    assert (ac.state, ac.error, ac.outbound_streams, ac.inbound_streams, ac.assoc_id) == \
        ("COMM_LOST", 104, 10, 5, 7)
    assert ac.causes == [{"code": 12, "name": ac.causes[0]["name"], "info_hex": b"bye.".hex()}]
    assert "User" in ac.causes[0]["name"]           # IANA: User-Initiated Abort
    pc = E.parse_notification(c_truth["paddr_change"])
    assert (pc.type, pc.address, pc.port, pc.state, pc.assoc_id) == \
        ("peer_addr_change", "198.51.100.2", 5000, "ADDR_UNREACHABLE", 3)
    pc6 = E.parse_notification(c_truth["paddr_change6"])
    assert (pc6.address, pc6.port, pc6.state, pc6.assoc_id) == \
        ("2001:db8::2", 80, "ADDR_POTENTIALLY_FAILED", 4)
    re = E.parse_notification(c_truth["remote_error"])
    assert (re.type, re.cause_code, re.assoc_id) == ("remote_error", 1, 8)
    assert re.cause.startswith("Invalid stream")   # RFC 9260 3.3.10.1
    sf = E.parse_notification(c_truth["send_failed"])
    assert (sf.type, sf.flags, sf.error, sf.sid, sf.ppid, sf.assoc_id, sf.length) == \
        ("send_failed_event", "DATA_SENT", 9, 2, 46, 6, 5)
    assert E.parse_notification(c_truth["shutdown"]).to_dict() == \
        {"type": "shutdown", "assoc_id": 11, "kind": "event"}
    assert E.parse_notification(c_truth["dry"]).type == "sender_dry"
    ad = E.parse_notification(c_truth["adapt"])
    assert (ad.adaptation_ind, ad.assoc_id) == (0xABCD, 13)
    # every event is JSON-ready
    for k in ("assoc_change", "paddr_change", "remote_error", "send_failed"):
        json.dumps(E.parse_notification(c_truth[k]).to_dict())


@pytest.mark.parametrize("data", [b"", b"\x01\x80", b"\x01\x80\x00\x00\xff\xff\xff\xff",
                                  bytes(7), b"\x02\x80\x00\x00\x10\x00\x00\x00" + bytes(4)])
def test_short_or_odd_notifications_never_raise(data):
    ev = E.parse_notification(data)
    assert ev.kind == "event" and ev.raw_hex == data.hex()


def test_message_to_dict():
    m = E.Message(b"hello", sid=3, ssn=0, flags=C.SCTP_UNORDERED, ppid=101, tsn=5, assoc_id=1,
                  peer=("192.0.2.1", 4000))
    d = m.to_dict()
    assert d["text"] == "hello" and d["hex"] == "68656c6c6f" and d["unordered"] is True
    assert d["peer"] == "192.0.2.1:4000" and d["kind"] == "message"
    assert "text" not in E.Message(b"\xff\x00").to_dict()
    json.dumps(d)
