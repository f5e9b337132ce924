"""The live capture engine: an AF_PACKET socket read on a capture thread.

Packets reach Python only if the kernel BPF filter (SCTP base filter, plus the
user's pcap-filter ``-f``, compiled by libpcap) accepts them.  They are read
from a TPACKET_V3 memory-mapped ring (the kernel fills blocks of packets with
nanosecond timestamps; we copy each packet out and hand the block back), or,
if the ring cannot be set up, with ``recvmsg`` on a socket with a large
SO_RCVBUF and SO_TIMESTAMPNS.

:class:`LiveCapture` runs the read loop on its own thread and puts *batches*
(lists) of :class:`~sctpinspect.model.Record` — or decoded Packets when a
decoder is given — on a bounded queue, so that a UI can consume without
blocking and a slow consumer shows up as kernel drops (counted by
PACKET_STATISTICS) instead of unbounded memory.  ``stop()`` sets an event;
the thread then reads what the kernel already holds, puts ``None`` and ends.

Hand-written rather than libpcap's pcap_loop: calling back into Python from a
C loop through ctypes costs more than reading the ring directly, and the ring
layout is a stable kernel ABI (linux/if_packet.h).
"""
from __future__ import annotations

import ctypes
import errno
import mmap
import os
import queue
import re
import select
import socket
import struct
import threading
import time

from ..errors import UserError
from ..model import Record
from . import bpf
from .interfaces import Interface, loopback_indexes

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_VERSION = 10
TPACKET_V3 = 2
PACKET_MR_PROMISC = 1
SO_TIMESTAMPNS = 35

PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING = range(5)

TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6

# struct tpacket_block_desc / tpacket_hdr_v1 (linux/if_packet.h)
_BLK_STATUS = 8
_BLK_NUM_PKTS = 12
_BLK_FIRST = 16
# struct tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status, mac, net,
# rxhash, vlan_tci, vlan_tpid; struct sockaddr_ll follows at TPACKET_ALIGN(48).
_HDR3 = struct.Struct("=IIIIIIHHIIH")
_SLL_OFF = 48
_SLL = struct.Struct("=HHiHBB8s")      # family, protocol (BE), ifindex, hatype, pkttype, halen, addr
_SLL2 = struct.Struct(">HHiHBB8s")     # LINKTYPE_LINUX_SLL2 header
_AUXDATA = struct.Struct("=IIIHHHH")   # struct tpacket_auxdata

DEFAULT_SNAPLEN = 262144
DEFAULT_BUFFER_MB = 32


class CaptureStats:
    """Counters of a live capture.

    ``captured``: records delivered; ``kernel_received``/``kernel_dropped``:
    PACKET_STATISTICS totals (the kernel resets them on every read, so they
    are accumulated here); ``filtered_out``: dropped by the user-space
    re-check (loopback outgoing copies, or a filter the kernel could not run).
    """

    __slots__ = ("captured", "kernel_received", "kernel_dropped", "filtered_out", "bytes",
                 "started", "ring")

    def __init__(self):
        self.captured = 0
        self.kernel_received = 0
        self.kernel_dropped = 0
        self.filtered_out = 0
        self.bytes = 0
        self.started = time.time()
        self.ring = False

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


class LiveCapture:
    """Capture SCTP on ``interface`` ("any" for all) on a background thread.

    >>> cap = LiveCapture("lo", capture_filter="sctp port 5000")
    >>> cap.start()
    >>> for rec in cap:          # Records (or Packets with decoder=...)
    ...     ...
    >>> cap.stop()

    Parameters: ``capture_filter`` pcap-filter text ANDed with the SCTP base
    filter (``sctp_only=False`` drops the base filter); ``buffer_mb`` ring size;
    ``use_ring=False`` forces the recvmsg path; ``decoder`` an object with
    ``decode(record) -> Packet`` run on the capture thread; ``promisc``.
    """

    def __init__(self, interface: str, capture_filter: str | None = None, *,
                 sctp_only: bool = True, udp_port: int = bpf.SCTP_UDP_PORT,
                 buffer_mb: float = DEFAULT_BUFFER_MB, snaplen: int = DEFAULT_SNAPLEN,
                 use_ring: bool = True, decoder=None, promisc: bool = False,
                 queue_batches: int = 1024, block_timeout_ms: int = 20):
        bpf.check_filter_length(capture_filter)   # before the interface, the socket, libpcap
        self.iface = Interface(interface)
        self.interface = interface
        self.snaplen = snaplen
        self.linktype = self.iface.linktype
        self.decoder = decoder
        self.stats = CaptureStats()
        self.queue: queue.Queue = queue.Queue(maxsize=queue_batches)
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._number = 0
        self._buffer_bytes = max(1, int(buffer_mb * 1024 * 1024))
        self._block_timeout_ms = block_timeout_ms
        self._ring = None
        self._lo = loopback_indexes()
        self._sctp_only = sctp_only
        self._udp_port = udp_port
        base = bpf.sctp_base_filter(udp_port, self.linktype) if sctp_only else None
        self.filter_text = bpf.combine(base, capture_filter)
        self._user_prog = None   # run in user space when the kernel cannot run it
        self._open(capture_filter, use_ring, promisc)

    # -- setup -----------------------------------------------------------
    def _open(self, capture_filter: str | None, use_ring: bool, promisc: bool) -> None:
        kind = socket.SOCK_DGRAM if self.iface.cooked else socket.SOCK_RAW
        try:
            # Protocol 0: the socket receives nothing until bind(), so the
            # filter is in place before the first packet arrives.
            sock = socket.socket(socket.AF_PACKET, kind, 0)
        except PermissionError:
            raise UserError("no permission to capture (raw sockets need CAP_NET_RAW): run as root "
                            "or grant CAP_NET_RAW: sudo setcap cap_net_raw,cap_net_admin=eip "
                            "$(which python3)", exit_code=1) from None
        self.sock = sock
        try:
            self._attach_filter(capture_filter)
            if use_ring:
                try:
                    self._setup_ring()
                except OSError:
                    self._ring = None
            if self._ring is None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._buffer_bytes)
                try:   # root may go beyond net.core.rmem_max
                    sock.setsockopt(socket.SOL_SOCKET, 33, self._buffer_bytes)  # SO_RCVBUFFORCE
                except OSError:
                    pass
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            self._bind()
            if promisc and self.iface.index:
                mreq = struct.pack("iHH8s", self.iface.index, PACKET_MR_PROMISC, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            self.stats.ring = self._ring is not None
        except BaseException:
            self.close()
            raise

    def _attach_filter(self, capture_filter: str | None) -> None:
        """Install the filter in the kernel; what the kernel cannot run exactly
        (SLL2 header fields without an ancillary twin, backward jumps such as
        libpcap's protochain, VLAN tags the kernel moved into metadata) runs in
        user space on the rebuilt frame, behind the SCTP base filter in the kernel."""
        prog = None
        if capture_filter:
            # Compile the user's text alone first: a typo is then reported in
            # the user's words ("invalid capture filter 'sctp port': can't parse
            # filter expression: syntax error"), not inside the 700-character
            # expression combined with the SCTP base filter (issue 18.13).
            bpf.compile_filter(capture_filter, self.linktype, self.snaplen)
        if self.filter_text:
            if (self.linktype == bpf.LINKTYPE_ETHERNET and capture_filter
                    and re.search(r"\bvlan\b", capture_filter)):
                # VLAN tags the kernel moved into metadata are not in the data
                # its filter sees but are in the frame we rebuild: run the
                # user's filter on that, behind the base filter in the kernel.
                self._user_prog = bpf.compile_filter(capture_filter, self.linktype, self.snaplen)
                prog = self._base_program()
            else:
                full = bpf.compile_filter(self.filter_text, self.linktype, self.snaplen)
                prog = bpf.for_cooked_socket(full) if self.iface.cooked else full
                if prog is None:
                    self._user_prog = full
                    prog = self._base_program()
        if prog is None:
            prog = bpf.accept_all(self.linktype)
        try:
            self._attach(prog)
        except OSError as e:
            if e.errno != errno.EINVAL or self._user_prog is not None or not self.filter_text:
                raise
            self._user_prog = bpf.compile_filter(self.filter_text, self.linktype, self.snaplen)
            self._attach(self._base_program() or bpf.accept_all(self.linktype))

    def _base_program(self):
        if not self._sctp_only:
            return None
        base = bpf.compile_filter(bpf.sctp_base_filter(self._udp_port, self.linktype),
                                  self.linktype, self.snaplen)
        return bpf.for_cooked_socket(base) if self.iface.cooked else base

    def _attach(self, prog) -> None:
        if self.iface.loopback:
            prog = bpf.drop_outgoing(prog, None)
        elif self.iface.index == 0:
            for idx in self._lo:
                prog = bpf.drop_outgoing(prog, idx)
        bpf.attach(self.sock, prog)
        self.kernel_program = prog

    def _setup_ring(self) -> None:
        self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        block_size = 1 << 20
        while block_size > 1 << 16 and block_size * 4 > self._buffer_bytes:
            block_size >>= 1
        block_nr = max(2, self._buffer_bytes // block_size)
        frame_size = 2048
        frame_nr = block_size // frame_size * block_nr
        req = struct.pack("=7I", block_size, block_nr, frame_size, frame_nr,
                          self._block_timeout_ms, 0, 0)
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        self._ring = mmap.mmap(self.sock.fileno(), block_size * block_nr, mmap.MAP_SHARED,
                               mmap.PROT_READ | mmap.PROT_WRITE)
        self._block_size = block_size
        self._block_nr = block_nr
        self._block = 0

    def _bind(self) -> None:
        if self.iface.index:
            self.sock.bind((self.interface, ETH_P_ALL))
            return
        # Python's bind() wants a name; "any" is ifindex 0, so call bind(2).
        sll = struct.pack("=HHiHBB8s", socket.AF_PACKET, socket.htons(ETH_P_ALL), 0, 0, 0, 0, b"")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.bind(self.sock.fileno(), sll, len(sll)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))

    # -- running ---------------------------------------------------------
    def start(self) -> "LiveCapture":
        self.stats.started = time.time()
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.interface}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the capture thread to finish: it reads what the kernel holds and ends."""
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def __iter__(self):
        """Records (or Packets) until the capture stops; re-raises a thread error."""
        while True:
            batch = self.queue.get()
            if batch is None:
                break
            yield from batch
        if self.error is not None:
            raise self.error

    def get_batch(self, timeout: float | None = None):
        """Next batch (list), [] on timeout, None at the end: for UIs polling a queue."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return []

    def _emit(self, batch: list) -> None:
        if self.decoder is not None:
            dec = self.decoder.decode
            batch = [dec(r) for r in batch]
        while True:
            try:
                self.queue.put(batch, timeout=0.1)
                return
            except queue.Full:
                if self.stop_event.is_set() and self._draining:
                    # Nobody consumes any more: do not hang the thread.
                    return

    def _run(self) -> None:
        self._draining = False
        try:
            read = self._read_ring if self._ring is not None else self._read_socket
            poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
            while not self.stop_event.is_set():
                if not read():
                    poller.poll(100)
            # Stopping: the kernel retires a partly filled block after the
            # block timeout; wait for it so that every packet seen is delivered.
            deadline = time.monotonic() + max(0.05, 3 * self._block_timeout_ms / 1000)
            while time.monotonic() < deadline:
                if not read():
                    poller.poll(10)
            while read():
                pass
            self._draining = True
            self.update_stats()
        except BaseException as e:  # delivered to the consumer by __iter__
            self.error = e
        finally:
            self._draining = True
            try:
                self.queue.put(None, timeout=5)
            except queue.Full:
                pass

    def _keep(self, frame: bytes, wirelen: int, pkttype: int, ifindex: int) -> bool:
        if pkttype == PACKET_OUTGOING and (self.iface.loopback or ifindex in self._lo):
            self.stats.filtered_out += 1
            return False
        if self._user_prog is not None and not self._user_prog.matches(frame, wirelen):
            self.stats.filtered_out += 1
            return False
        return True

    def _frame(self, data: bytes, pkttype: int, ifindex: int, hatype: int, protocol: int,
               halen: int, addr: bytes, status: int, tci: int, tpid: int) -> bytes:
        if self.iface.cooked:
            return _SLL2.pack(protocol, 0, ifindex, hatype, pkttype, halen, addr) + data
        if status & TP_STATUS_VLAN_VALID and self.linktype == bpf.LINKTYPE_ETHERNET \
                and len(data) >= 12:
            # The kernel (or NIC) took the 802.1Q tag off: put it back where it was.
            if not (status & TP_STATUS_VLAN_TPID_VALID) or not tpid:
                tpid = 0x8100
            return data[:12] + struct.pack(">HH", tpid, tci) + data[12:]
        return data

    def _read_ring(self) -> bool:
        """Consume every ready block; False when none was ready."""
        ring = self._ring
        got = False
        unpack_hdr = _HDR3.unpack_from
        unpack_sll = _SLL.unpack_from
        while True:
            base = self._block * self._block_size
            if not struct.unpack_from("=I", ring, base + _BLK_STATUS)[0] & TP_STATUS_USER:
                return got
            got = True
            n = struct.unpack_from("=I", ring, base + _BLK_NUM_PKTS)[0]
            off = base + struct.unpack_from("=I", ring, base + _BLK_FIRST)[0]
            batch = []
            for _ in range(n):
                (nxt, sec, nsec, snaplen, wirelen, status, mac, _net, _rxhash, tci,
                 tpid) = unpack_hdr(ring, off)
                _fam, proto, ifindex, hatype, pkttype, halen, addr = unpack_sll(ring, off + _SLL_OFF)
                data = ring[off + mac: off + mac + snaplen]
                frame = self._frame(data, pkttype, ifindex, hatype, socket.ntohs(proto), halen,
                                    addr, status, tci, tpid)
                wirelen += len(frame) - len(data)   # SLL2 header or 802.1Q tag we added
                if self._keep(frame, wirelen, pkttype, ifindex):
                    self._number += 1
                    batch.append(Record(self._number, sec * 1_000_000_000 + nsec, frame, wirelen,
                                        self.linktype, 0, None,
                                        "out" if pkttype == PACKET_OUTGOING else "in"))
                off += nxt
            # Hand the block back to the kernel.
            struct.pack_into("=I", ring, base + _BLK_STATUS, TP_STATUS_KERNEL)
            self._block = (self._block + 1) % self._block_nr
            if batch:
                self.stats.captured += len(batch)
                self.stats.bytes += sum(len(r.data) for r in batch)
                self._emit(batch)

    def _read_socket(self) -> bool:
        batch = []
        sock = self.sock
        while len(batch) < 256:
            try:
                data, anc, _flags, addr = sock.recvmsg(self.snaplen, 1024, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            ts_ns = time.time_ns()
            status = tci = tpid = 0
            wirelen = len(data)
            for level, typ, val in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack_from("=qq", val)
                    ts_ns = sec * 1_000_000_000 + nsec
                elif level == SOL_PACKET and typ == PACKET_AUXDATA:
                    status, wirelen, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(val)
            ifname, proto, pkttype, hatype, hwaddr = addr
            try:
                ifindex = socket.if_nametoindex(ifname)
            except OSError:
                ifindex = 0
            frame = self._frame(data, pkttype, ifindex, hatype, proto, len(hwaddr),
                                hwaddr[:8].ljust(8, b"\0"), status, tci, tpid)
            wirelen += len(frame) - len(data)
            if self._keep(frame, wirelen, pkttype, ifindex):
                self._number += 1
                batch.append(Record(self._number, ts_ns, frame, wirelen, self.linktype, 0, None,
                                    "out" if pkttype == PACKET_OUTGOING else "in"))
        if batch:
            self.stats.captured += len(batch)
            self.stats.bytes += sum(len(r.data) for r in batch)
            self._emit(batch)
            return True
        return False

    def update_stats(self) -> CaptureStats:
        """Read PACKET_STATISTICS (which resets it) into ``stats``; returns ``stats``."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        except OSError:
            return self.stats
        packets, drops = struct.unpack_from("=II", raw)
        # The kernel's tp_packets already includes tp_drops.
        self.stats.kernel_received += packets
        self.stats.kernel_dropped += drops
        return self.stats

    def close(self) -> None:
        if self._ring is not None:
            try:
                self._ring.close()
            except (BufferError, ValueError):
                pass
            self._ring = None
        try:
            self.sock.close()
        except (OSError, AttributeError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self.join()
        self.close()


def open_live(interface: str, capture_filter: str | None = None, **kw) -> LiveCapture:
    """Open and start a capture; iterate it for Records."""
    return LiveCapture(interface, capture_filter, **kw).start()


__all__ = ["LiveCapture", "CaptureStats", "open_live"]
