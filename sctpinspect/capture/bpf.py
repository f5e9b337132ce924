"""Capture filters: pcap-filter text compiled by libpcap, attached in the kernel.

The filter language is libpcap's (``man pcap-filter``); we never compile it
ourselves.  ``pcap_open_dead`` + ``pcap_compile`` (through ctypes, libpcap is a
C library with no Python binding in the standard library) turn text into a
classic BPF program for a link type; :func:`attach` installs it on an
``AF_PACKET`` socket with ``SO_ATTACH_FILTER`` so that packets we do not want
never leave the kernel.

Cooked captures (``-i any``) read from ``SOCK_DGRAM`` sockets: the kernel runs
the filter on the packet *without* the LINUX_SLL2 header that libpcap compiled
for, so :func:`for_cooked_socket` rewrites header loads the way libpcap's own
live capture does: offsets past the SLL2 header move back by its length, and
loads of SLL2 header fields become Linux BPF "ancillary" loads (protocol,
ifindex, hatype, packet type).  A program that cannot be rewritten is run in
user space instead (:class:`Program.matches`, ``pcap_offline_filter``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct

from ..errors import UserError

# SCTP on the wire: IPv4 protocol 132; IPv6 next header 132 directly or after
# one or two extension headers (hop-by-hop 0, routing 43, fragment 44,
# destination options 60; all have their length in 8-octet units at byte 1,
# the fragment header's reserved byte is 0 so the same formula holds);
# SCTP over UDP (RFC 6951) on the configured port; ICMP/ICMPv6 errors quoting
# SCTP; each also inside one 802.1Q tag present in the frame data (tags the
# NIC or kernel stripped into metadata need no matching: the data the filter
# sees is untagged).
# Written out instead of libpcap's "ip6 protochain 132" because protochain
# compiles to a backward jump, which the kernel's classic-BPF checker rejects.
SCTP_UDP_PORT = 9899
_IPV6_EXT = (0, 43, 44, 60)

# The kernel runs at most BPF_MAXINSNS = 4096 classic-BPF instructions.  A
# primitive costs about 5 of them after libpcap's optimiser: 8 KiB of
# "host A or host B ..." is 2,417 instructions, of "sctp port N or ..." 2,702,
# so past ~15 KiB such text cannot fit; and the optimiser grows faster than
# the text (measured on the 2-core machine: 4 KiB 3 s, 8 KiB 31 s; the attack
# of issue 18.6 took 15.6 s and 994 MiB before "more than 4096").  Text past
# MAX_FILTER_CHARS is refused before libpcap sees it.  Checked on the user's
# text (the SCTP base filter adds ~700 characters).
MAX_FILTER_CHARS = 8192
KERNEL_MAX_INSNS = 4096


def check_filter_length(text: str) -> None:
    """UserError, before any compiling, for a capture filter longer than
    :data:`MAX_FILTER_CHARS` characters."""
    if text and len(text) > MAX_FILTER_CHARS:
        raise UserError(f"capture filter too long: {len(text)} characters, the limit is "
                        f"{MAX_FILTER_CHARS} (the kernel runs at most {KERNEL_MAX_INSNS} BPF "
                        "instructions; use net/portrange or fewer terms)")


def _ext(at: str) -> str:
    return "(" + " or ".join(f"ip6[{at}] = {n}" for n in _IPV6_EXT) + ")"


IPV6_SCTP = (f"ip6 and (ip6[6] = 132 or ({_ext('6')} and (ip6[40] = 132 or "
             f"({_ext('40')} and ip6[40 + (ip6[41] + 1) * 8] = 132))))")


# ICMP errors that quote an SCTP packet (unreachable, too big, time exceeded,
# parameter problem): the quoted IPv4 header's protocol is at ICMP offset
# 8 + 9; the quoted IPv6 header's next header at ICMPv6 offset 8 + 6.
ICMP_QUOTING_SCTP = ("(icmp and icmp[17] = 132) or "
                     "(ip6 and ip6[6] = 58 and ip6[46] = 132)")


def sctp_base_filter(udp_port: int = SCTP_UDP_PORT, linktype: int = 1) -> str:
    """The filter that lets only SCTP through (VLAN variant on Ethernet only:
    cooked and raw-IP frames carry no 802.1Q header)."""
    inner = (f"ip proto 132 or ({IPV6_SCTP}) or udp port {int(udp_port)} "
             f"or ({ICMP_QUOTING_SCTP})")
    if linktype != LINKTYPE_ETHERNET:
        return inner
    return f"({inner}) or (vlan and ({inner}))"


def combine(base: str | None, user: str | None) -> str | None:
    """``(user) and (base)``: the user's filter comes first because libpcap's
    ``vlan`` keyword (in the base filter) shifts the offsets of everything
    compiled after it, which would break the user's expression."""
    if base and user:
        return f"({user}) and ({base})"
    return base or user or None


# DLT_* values for pcap_open_dead (Linux values) keyed by pcapng LINKTYPE_*.
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
_DLT_FOR_LINKTYPE = {LINKTYPE_ETHERNET: 1, LINKTYPE_RAW: 12,
                     LINKTYPE_LINUX_SLL: 113, LINKTYPE_LINUX_SLL2: 276}

PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _PcapPkthdr(ctypes.Structure):
    _fields_ = [("ts", _Timeval), ("caplen", ctypes.c_uint32), ("len", ctypes.c_uint32)]


_lib = None


def libpcap():
    """The loaded libpcap (``libpcap.so.0.8`` on Debian), with prototypes set."""
    global _lib
    if _lib is not None:
        return _lib
    names = ["libpcap.so.0.8", "libpcap.so.1", ctypes.util.find_library("pcap")]
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        raise UserError("capture filters need libpcap: apt-get install libpcap0.8")
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.restype = ctypes.c_int
    lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram),
                                 ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    lib.pcap_offline_filter.restype = ctypes.c_int
    lib.pcap_offline_filter.argtypes = [ctypes.POINTER(_BpfProgram),
                                        ctypes.POINTER(_PcapPkthdr), ctypes.c_char_p]
    _lib = lib
    return lib


class Program:
    """A compiled classic-BPF program: ``insns`` is a list of (code, jt, jf, k)."""

    def __init__(self, text: str, linktype: int, insns: list[tuple[int, int, int, int]]):
        self.text = text
        self.linktype = linktype
        self.insns = insns
        self._prog = None   # ctypes program for user-space matching, built lazily
        self._hdr = _PcapPkthdr()

    def matches(self, frame: bytes, wirelen: int | None = None) -> bool:
        """Run the program on a whole frame in user space (pcap_offline_filter)."""
        if self._prog is None:
            arr = (_BpfInsn * len(self.insns))(*[_BpfInsn(*i) for i in self.insns])
            self._arr = arr
            self._prog = _BpfProgram(len(self.insns), ctypes.cast(arr, ctypes.POINTER(_BpfInsn)))
        self._hdr.caplen = len(frame)
        self._hdr.len = wirelen or len(frame)
        return libpcap().pcap_offline_filter(ctypes.byref(self._prog), ctypes.byref(self._hdr),
                                             frame) != 0

    def sock_filter_bytes(self) -> bytes:
        return b"".join(struct.pack("=HBBI", *i) for i in self.insns)

    def __len__(self) -> int:
        return len(self.insns)


def compile_filter(text: str, linktype: int, snaplen: int = 262144) -> Program:
    """Compile pcap-filter ``text`` for ``linktype`` with libpcap; UserError on a syntax error."""
    lib = libpcap()
    dlt = _DLT_FOR_LINKTYPE.get(linktype, linktype)
    handle = lib.pcap_open_dead(dlt, snaplen)
    if not handle:
        raise UserError(f"libpcap cannot compile filters for link type {linktype}")
    prog = _BpfProgram()
    try:
        if lib.pcap_compile(handle, ctypes.byref(prog), text.encode(), 1, PCAP_NETMASK_UNKNOWN) != 0:
            err = lib.pcap_geterr(handle).decode(errors="replace")
            raise UserError(f"invalid capture filter {text!r}: {err}")
        insns = [(prog.bf_insns[i].code, prog.bf_insns[i].jt, prog.bf_insns[i].jf,
                  prog.bf_insns[i].k) for i in range(prog.bf_len)]
        lib.pcap_freecode(ctypes.byref(prog))
    finally:
        lib.pcap_close(handle)
    return Program(text, linktype, insns)


# --- classic BPF opcodes and Linux ancillary offsets -------------------------
BPF_LD, BPF_LDX, BPF_JMP, BPF_RET = 0x00, 0x01, 0x05, 0x06
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xA0
BPF_JEQ, BPF_K = 0x10, 0x00
SKF_AD_OFF = -0x1000
SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_IFINDEX, SKF_AD_HATYPE = 0, 4, 8, 28
PACKET_OUTGOING = 4

SLL2_HDR_LEN = 20
# SLL2 header field (offset, size) -> ancillary load that yields the same value.
_SLL2_ANCILLARY = {(0, BPF_H): SKF_AD_PROTOCOL, (4, BPF_W): SKF_AD_IFINDEX,
                   (8, BPF_H): SKF_AD_HATYPE, (10, BPF_B): SKF_AD_PKTTYPE}


def _anc(off: int) -> int:
    return (SKF_AD_OFF + off) & 0xFFFFFFFF


def for_cooked_socket(prog: Program) -> Program | None:
    """Rewrite an SLL2 program for a SOCK_DGRAM socket (data starts at the network
    header), or None when a load reads SLL2 bytes that have no ancillary twin."""
    out = []
    for code, jt, jf, k in prog.insns:
        cls = code & 0x07
        mode = code & 0xE0
        if cls in (BPF_LD, BPF_LDX) and mode in (BPF_ABS, BPF_IND, BPF_MSH):
            if k >= SLL2_HDR_LEN:
                k -= SLL2_HDR_LEN
            elif mode == BPF_ABS and cls == BPF_LD and (k, code & 0x18) in _SLL2_ANCILLARY:
                k = _anc(_SLL2_ANCILLARY[(k, code & 0x18)])
            else:
                return None
        out.append((code, jt, jf, k))
    return Program(prog.text, prog.linktype, out)


def accept_all(linktype: int) -> Program:
    return Program("", linktype, [(BPF_RET | BPF_K, 0, 0, 0xFFFFFFFF)])


def drop_outgoing(prog: Program, ifindex: int | None) -> Program:
    """Prepend "reject PACKET_OUTGOING copies (on ``ifindex``, or any interface
    when None)": loopback hands every packet to packet sockets twice, once
    leaving and once arriving; like tcpdump we keep the arriving copy.
    Classic BPF jumps are relative and forward, so prepending keeps the
    original program valid."""
    ld = BPF_LD | BPF_W | BPF_ABS
    jeq = BPF_JMP | BPF_JEQ | BPF_K
    ret = BPF_RET | BPF_K
    if ifindex is None:
        pre = [(ld, 0, 0, _anc(SKF_AD_PKTTYPE)), (jeq, 0, 1, PACKET_OUTGOING), (ret, 0, 0, 0)]
    else:
        pre = [(ld, 0, 0, _anc(SKF_AD_PKTTYPE)), (jeq, 0, 3, PACKET_OUTGOING),
               (ld, 0, 0, _anc(SKF_AD_IFINDEX)), (jeq, 0, 1, ifindex), (ret, 0, 0, 0)]
    return Program(prog.text, prog.linktype, pre + list(prog.insns))


SO_ATTACH_FILTER = 26


def attach(sock: socket.socket, prog: Program) -> None:
    """Install ``prog`` in the kernel on ``sock`` (SO_ATTACH_FILTER)."""
    if len(prog) > KERNEL_MAX_INSNS:
        raise UserError(f"capture filter too long for the kernel ({len(prog)} BPF instructions, "
                        f"more than {KERNEL_MAX_INSNS})")
    buf = ctypes.create_string_buffer(prog.sock_filter_bytes())
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
