"""The TUI's packet store: an index of record byte offsets plus on-demand decoding.

A capture of a million packets cannot be decoded up front, so the store keeps
only compact arrays per record (file offset, timestamp, link type, interface,
association index, colour class) and decodes a packet when it is shown,
re-reading its record by seeking to its offset (:func:`read_record_at`).
Decoded packets and list rows are kept in small LRU caches.

Two background passes fill the store (run by :class:`Indexer` on a thread):

1. *index*: records only (``open_capture``), fast; the list can scroll
   anywhere as soon as a record is indexed;
2. *analysis*: decode + :class:`~sctpinspect.analysis.Analyzer` over every
   packet, filling the association column, the colour classes, the per-frame
   sender/state transitions the flow view needs and the TSN/SACK series of
   the TSN graph.  The analyzer is read by the UI under ``store.lock``.

Live mode feeds both at once from a capture: every record is first written to
a pcapng file (so the store can re-read it like any file), then indexed and
analysed.
"""
from __future__ import annotations

import os
import struct
import threading
import time
from array import array
from collections import OrderedDict

from ..decode import Decoder, DecodeOptions
from ..model import Record
from ..sources.pcap import PCAP_MAGICS
from ..sources.pcapng import PCAPNG_SHB

# colour classes of a row (by the chunks it carries)
K_OTHER, K_HANDSHAKE, K_DATA, K_SACK, K_SHUTDOWN, K_ABORT, K_HEARTBEAT, K_CONTROL, K_BAD = range(9)
_KIND_OF_CHUNK = {0: K_DATA, 64: K_DATA, 1: K_HANDSHAKE, 2: K_HANDSHAKE, 10: K_HANDSHAKE,
                  11: K_HANDSHAKE, 3: K_SACK, 16: K_SACK, 4: K_HEARTBEAT, 5: K_HEARTBEAT,
                  7: K_SHUTDOWN, 8: K_SHUTDOWN, 14: K_SHUTDOWN, 6: K_ABORT, 9: K_ABORT}
# when a packet bundles several kinds the most important one wins
_KIND_RANK = {K_ABORT: 9, K_BAD: 8, K_SHUTDOWN: 7, K_HANDSHAKE: 6, K_DATA: 5, K_SACK: 4,
              K_CONTROL: 3, K_HEARTBEAT: 2, K_OTHER: 0}

FIRST_SCREEN_WAIT = 2.0     # s the index child pauses after the first records for the UI
TS_MIN, TS_MAX = -2 ** 63, 2 ** 63 - 1     # what array("q") holds (ns: years 1677-2262)
MAX_SERIES = 200_000        # TSN-graph points kept per association and series
MAX_TRANSITION_FRAMES = 200_000


def packet_kind(pkt) -> int:
    """Colour class of a decoded packet."""
    if pkt.sctp is None:
        return K_OTHER
    best = K_CONTROL if pkt.chunks else K_BAD
    rank = -1
    for c in pkt.chunks:
        k = _KIND_OF_CHUNK.get(c.type, K_CONTROL)
        r = _KIND_RANK[k]
        if r > rank:
            best, rank = k, r
    if pkt.checksum_status == "bad":
        return K_BAD if rank < _KIND_RANK[K_BAD] else best
    return best


# --------------------------------------------------------------------------- record access

class FileFormat:
    """What :func:`read_record_at` needs to know about a file (from its first bytes)."""

    __slots__ = ("kind", "order", "hlen")

    def __init__(self, kind: str, order: str = "<", hlen: int = 16):
        self.kind = kind
        self.order = order
        self.hlen = hlen

    @classmethod
    def sniff(cls, path: str) -> "FileFormat":
        with open(path, "rb") as f:
            head = f.read(4)
        if head in PCAP_MAGICS:
            order, _mult, extra = PCAP_MAGICS[head]
            return cls("pcap", order, 16 + extra)
        if head == PCAPNG_SHB:
            return cls("pcapng")
        raise ValueError(f"{path}: not a pcap or pcapng file")


def read_record_at(f, offset: int, fmt: FileFormat):
    """Re-read the record whose header starts at ``offset`` of the open file ``f``.

    Returns ``(data, wirelen, comment, direction)``; the timestamp, link type
    and interface come from the index (pcapng keeps them in other blocks).
    Raises ValueError on a record that no longer parses.
    """
    f.seek(offset)
    if fmt.kind == "pcap":
        hdr = f.read(fmt.hlen)
        if len(hdr) < fmt.hlen:
            raise ValueError("truncated record header")
        _s, _fr, caplen, wirelen = struct.unpack_from(fmt.order + "IIII", hdr, 0)
        data = f.read(caplen)
        return data, wirelen, None, None
    head = f.read(8)
    if len(head) < 8:
        raise ValueError("truncated block header")
    if head[:4] in (b"\x06\0\0\0", b"\x02\0\0\0", b"\x03\0\0\0"):
        order = "<"
    elif head[:4] in (b"\0\0\0\x06", b"\0\0\0\x02", b"\0\0\0\x03"):
        order = ">"
    else:
        raise ValueError("not a packet block")
    btype, blen = struct.unpack(order + "II", head)
    body = f.read(blen - 8)
    if btype == 3:                       # simple packet block
        wirelen = struct.unpack_from(order + "I", body, 0)[0]
        return body[4:4 + min(wirelen, blen - 16)], wirelen, None, None
    caplen, wirelen = struct.unpack_from(order + "II", body, 12)
    data = body[20:20 + caplen]
    comment = direction = None
    pos = 20 + ((caplen + 3) & ~3)
    end = blen - 12
    while pos + 4 <= end:
        code, ln = struct.unpack_from(order + "HH", body, pos)
        pos += 4
        if code == 0 or pos + ln > end:
            break
        val = body[pos:pos + ln]
        if code == 1 and comment is None:
            comment = val.decode("utf-8", "replace")
        elif code == 2 and ln == 4:
            direction = (None, "in", "out", None)[struct.unpack(order + "I", val)[0] & 3]
        pos += (ln + 3) & ~3
    return data, wirelen, comment, direction


class LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_(self, key):
        v = self.get(key)
        if v is not None:
            self.move_to_end(key)
        return v

    def put(self, key, value):
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


# --------------------------------------------------------------------------- the store

class PacketStore:
    """Index + caches + analysis state of one capture (file or live)."""

    def __init__(self, path: str, decode_options: DecodeOptions | None = None,
                 cache_packets: int = 256):
        self.path = path
        self.decode_options = decode_options or DecodeOptions()
        self.fmt: FileFormat | None = None
        self.lock = threading.RLock()      # analysis state (analyzer, per-frame arrays)
        self.io_lock = threading.Lock()    # the shared read handle
        self.ui_ready = threading.Event()  # set once the first screen is painted
        self.offsets = array("q")
        self.ts = array("q")
        self.ts_big: dict = {}         # frame -> ns outside int64 (past 2262); clamped in ts
        self.linktypes = array("H")
        self.ifaces = array("H")
        self.assoc = array("i")        # association index per frame, -1 none / not yet analysed
        self.kinds = bytearray()       # colour class per frame (filled by the analysis pass)
        self.indexed_done = False
        self.analysed = 0              # frames analysed so far
        self.analysis_done = False
        self.error: str | None = None  # a CaptureFileError met while indexing
        self.analyzer = None
        self.senders = bytearray()     # 1/2 sender endpoint per frame (0 unknown)
        self.transitions: dict = {}    # frame -> list of transition dicts
        self.path_changes: set = set()
        self.series: dict = {}         # assoc -> {"data1": [(t, tsn)], "data2", "sack1", "sack2"}
        self.live = False
        self.live_stats = None         # CaptureStats of a live capture
        self.live_writer = None
        self._f = None
        self._decoder = Decoder(self.decode_options)
        self._packets = LRU(cache_packets)
        self._rows = LRU(4096)
        self.decode_as = None           # Decode As table for the payload dissectors (None: by PPID/port)
        self._payload = None            # the payload hook (whole messages), made on first use
        self._completes: dict = {}      # frame -> fragmented messages completed in it
        self._msgs_seen = 0             # analyzer.messages indexed into _completes so far

    # -- basic facts ------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def first_ts(self) -> int:
        return self.ts[0] if self.ts else 0

    def _file(self):
        if self._f is None:
            if self.fmt is None:
                self.fmt = FileFormat.sniff(self.path)
            self._f = open(self.path, "rb")
        return self._f

    def close(self) -> None:
        with self.io_lock:
            if self._f is not None:
                self._f.close()
                self._f = None

    # -- records and packets ---------------------------------------------
    def record(self, i: int) -> Record:
        """Record ``i`` (0-based), re-read from the file."""
        with self.io_lock:
            f = self._file()
            data, wirelen, comment, direction = read_record_at(f, self.offsets[i], self.fmt)
            ts = self.ts_big.get(i, self.ts[i]) if self.ts_big else self.ts[i]
            return Record(i + 1, ts, data, wirelen, self.linktypes[i], self.ifaces[i],
                          comment, direction, self.offsets[i])

    def packet(self, i: int):
        """Decoded packet ``i`` (0-based), from the LRU or decoded now."""
        hit = self._packets.get_(i)
        if hit is None:
            rec = self.record(i)
            p = self._decoder.decode(rec)     # the UI thread's own decoder
            attached = self._attach_analysis(p, i)
            self._packets.put(i, [p, attached])
            self._add_payload(p, i, attached)
            return p
        p, attached = hit
        if not attached and i < self.analysed:
            # decoded before the analysis pass reached it (the first screen is
            # shown while it runs): add what the pass has learnt since
            hit[1] = self._attach_analysis(p, i)
            if hit[1]:
                self._add_reassembled(p, i)
        return p

    def _add_payload(self, p, i: int, analysed: bool) -> None:
        """The payload dissectors' layers, as ``read -V`` shows them: each whole
        message of the frame, and (once the analysis has passed the frame) each
        fragmented message it completes, reassembled."""
        if p.sctp is None:
            return
        try:
            if self._payload is None:
                from ..payload import payload_hook
                self._payload = payload_hook(self.decode_as, reassemble=False)
            self._payload(p)
        except Exception as e:            # a dissector bug must not break the detail pane
            p.note("error", "malformed", f"payload dissector failed: {e}", 0, 0, None,
                   "sctpinspect.dissector_exception")
        if analysed:
            self._add_reassembled(p, i)

    def _add_reassembled(self, p, i: int) -> None:
        an = self.analyzer
        if an is None or p.sctp is None:
            return
        msgs = an.messages
        if len(msgs) < self._msgs_seen:    # evicted by the analysis caps: index again
            self._completes.clear()
            self._msgs_seen = 0
        for m in msgs[self._msgs_seen:]:
            if len(m.frames) > 1:
                self._completes.setdefault(m.frame, []).append(m)
        self._msgs_seen = len(msgs)
        done = self._completes.get(i + 1)
        if not done:
            return
        from dissectors import dissect_payload
        from ..payload import _add_buffer
        from .views import message_payload
        raw = _RawPackets(self)
        for m in done:
            data = message_payload(raw, m)
            if not data:
                continue
            try:
                tree = dissect_payload(data, 0, m.ppid, p.sport, p.dport, self.decode_as, p.notes)
            except Exception:
                continue
            if tree is not None:
                name = _add_buffer(p, data)
                p.buffers.setdefault("layer:" + tree.name, name)
                p.layers.append(tree)

    def _attach_analysis(self, p, i: int) -> bool:
        """What the analysis pass remembered about frame ``i`` (assoc, sender,
        transitions); False when the pass has not reached it yet."""
        if i >= self.analysed:
            return False
        a = self.assoc[i]
        if p.sctp is None or a < 0:
            return True
        from ..model import Field
        p.sctp.append(Field("sctp.assoc_index", a, p.sctp.offset, 0))
        p.analysis = {"assoc_index": a, "sender": self.senders[i] or None,
                      "transitions": self.transitions.get(i + 1, []),
                      "path_change": (i + 1) in self.path_changes}
        return True

    def row(self, i: int):
        """(number, time, source, destination, assoc, chunks, info, kind) of frame ``i``."""
        r = self._rows.get_(i)
        if r is not None and (r[4] != "" or i >= self.analysed):
            return r
        r = make_row(self, i)
        self._rows.put(i, r)
        return r

    # -- filled by the passes --------------------------------------------
    def add_record(self, rec: Record) -> None:
        self.offsets.append(rec.offset)
        t = rec.ts_ns
        if not TS_MIN <= t <= TS_MAX:
            self.ts_big[len(self.ts)] = t
            t = min(max(t, TS_MIN), TS_MAX)
        self.ts.append(t)
        self.linktypes.append(rec.linktype & 0xFFFF)
        self.ifaces.append((rec.interface or 0) & 0xFFFF)
        self.assoc.append(-1)
        self.kinds.append(K_OTHER)
        self.senders.append(0)

    def note_analysis(self, i: int, pkt) -> None:
        """Keep the compact results of analysing frame ``i`` (caller holds the lock)."""
        self.kinds[i] = packet_kind(pkt)
        info = pkt.analysis
        if info:
            a = info.get("assoc_index")
            if a is not None:
                self.assoc[i] = a
                self.senders[i] = info.get("sender") or 0
                tr = info.get("transitions")
                if tr and len(self.transitions) < MAX_TRANSITION_FRAMES:
                    self.transitions[pkt.number] = list(tr)
                if info.get("path_change"):
                    self.path_changes.add(pkt.number)
                self._series(a, info.get("sender"), pkt)

    def _series(self, a: int, sender, pkt) -> None:
        s = self.series.get(a)
        if s is None:
            s = self.series[a] = {"data1": [], "data2": [], "sack1": [], "sack2": []}
        t = pkt.record.ts_ns
        for c in pkt.chunks:
            if c.type == 0 or c.type == 64:
                lst = s["data1" if sender == 1 else "data2"]
                if len(lst) < MAX_SERIES:
                    tsn = c.get("sctp.data_tsn_raw", c.get("sctp.data_tsn"))
                    if tsn is not None:
                        lst.append((t, tsn))
            elif c.type == 3 or c.type == 16:
                # a SACK from endpoint X acknowledges the TSNs the *other* endpoint sent
                lst = s["sack2" if sender == 1 else "sack1"]
                if len(lst) < MAX_SERIES:
                    cum = c.get("sctp.sack_cumulative_tsn_ack_raw",
                                c.get("sctp.sack_cumulative_tsn_ack",
                                      c.get("sctp.nr_sack_cumulative_tsn_ack")))
                    if cum is not None:
                        lst.append((t, cum))

    def frames_of_assoc(self, a: int, limit: int | None = None) -> list[int]:
        """0-based frame indexes of association ``a`` (among analysed frames)."""
        out = []
        assoc = self.assoc
        for i in range(min(self.analysed, len(assoc))):
            if assoc[i] == a:
                out.append(i)
                if limit and len(out) >= limit:
                    break
        return out


def make_row(store: PacketStore, i: int):
    from ..output.text import endpoint
    try:
        p = store.packet(i)
    except (OSError, ValueError) as e:
        return (i + 1, "", "", "", "", "", f"cannot re-read record: {e}", K_BAD)
    t = (store.ts[i] - store.first_ts) / 1e9
    a = store.assoc[i] if i < store.analysed else -1
    kind = store.kinds[i] if i < store.analysed else packet_kind(p)
    if p.sctp is None:
        if p.icmp is not None:
            info = p.icmp.name.upper() + " error quoting SCTP"
        else:
            info = "not SCTP"
        return (i + 1, "%.6f" % t, p.src or "", p.dst or "", "", "", info, K_OTHER)
    names = []
    infos = []
    from ..decode.sctp import chunk_summary
    from ..analysis.states import chunk_name
    prev = None
    run = 0
    for c in p.chunks:
        n = chunk_name(c.type)
        if n == prev:
            run += 1
        else:
            if prev is not None:
                names.append(prev if run == 1 else f"{prev}x{run}")
            prev, run = n, 1
        if len(infos) < 6:
            infos.append(chunk_summary(c))
    if prev is not None:
        names.append(prev if run == 1 else f"{prev}x{run}")
    if len(p.chunks) > 6:
        infos.append(f"+{len(p.chunks) - 6} more")
    st = p.checksum_status
    if st == "bad":
        infos.insert(0, "[CRC bad]")
    for n in p.notes[:2]:
        if n.key != "sctp.checksum_bad.expert":
            infos.append(f"[{n.severity}: {n.message}]")
    return (i + 1, "%.6f" % t, endpoint(p.src, p.sport), endpoint(p.dst, p.dport),
            str(a) if a >= 0 else "", " ".join(names) or "(no chunks)", " ".join(infos), kind)


# --------------------------------------------------------------------------- background passes

class Indexer:
    """Runs the index and analysis passes of a file on a daemon thread."""

    def __init__(self, store: PacketStore, analyse: bool = True, batch: int = 200):
        self.store = store
        self.analyse = analyse
        self.batch = batch              # records in the child's first message (one screen)
        self.on_first_records = None    # called (on this thread) when they arrived
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tui-indexer", daemon=True)
        self.index_seconds = None
        self.analysis_seconds = None

    def start(self) -> "Indexer":
        self.thread.start()
        return self

    def _run(self) -> None:
        st = self.store
        t0 = time.perf_counter()
        try:
            st.fmt = FileFormat.sniff(st.path)
            self._index_in_child()
        except (OSError, ValueError, EOFError) as e:
            st.error = st.error or str(e)
        st.indexed_done = True
        self.index_seconds = time.perf_counter() - t0
        if self.analyse and not self.stop.is_set():
            self._analyse()

    def _index_in_child(self) -> None:
        """Scan the file in a child process; receive the index arrays in chunks.

        A process, not a thread: a pure-Python scan holding the GIL makes the UI
        stall for seconds; here the UI thread only pays for ``frombytes``.
        """
        import multiprocessing as mp
        st = self.store
        ctx = mp.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)
        go = ctx.Event()
        proc = ctx.Process(target=_index_child, args=(st.path, send, self.batch, go),
                           daemon=True)
        proc.start()
        send.close()
        try:
            while not self.stop.is_set():
                if len(st) and not go.is_set():
                    st.ui_ready.wait(FIRST_SCREEN_WAIT)
                    go.set()
                msg = recv.recv()
                if msg[0] == "chunk":
                    _, offs, ts, lts, ifs, n, big = msg
                    first = not len(st)
                    with st.lock:
                        base = len(st.ts)
                        for k, t in big:
                            st.ts_big[base + k] = t
                        st.offsets.frombytes(offs)
                        st.ts.frombytes(ts)
                        st.linktypes.frombytes(lts)
                        st.ifaces.frombytes(ifs)
                        st.assoc.extend(array("i", [-1]) * n)
                        st.kinds.extend(bytes(n))
                        st.senders.extend(bytes(n))
                    if first and n and self.on_first_records is not None:
                        try:
                            self.on_first_records()
                        except RuntimeError:      # the UI's loop is closed
                            pass
                elif msg[0] == "error":
                    st.error = msg[1]
                elif msg[0] == "done":
                    break
        except EOFError:
            pass
        finally:
            recv.close()
            if proc.is_alive() and self.stop.is_set():
                proc.terminate()
            proc.join(1)

    def _analyse(self) -> None:
        from ..analysis import Analyzer
        from ..errors import CaptureFileError
        from ..sources import open_capture
        st = self.store
        t0 = time.perf_counter()
        dec = Decoder(st.decode_options)
        an = Analyzer()
        with st.lock:
            st.analyzer = an
        total = len(st)
        try:
            it = iter(open_capture(st.path))
            i = 0
            while i < total and not self.stop.is_set():
                b0 = time.perf_counter()
                with st.lock:
                    for _ in range(min(50, total - i)):
                        rec = next(it)
                        pkt = dec.decode(rec)
                        try:
                            an.feed(pkt)
                        except Exception as e:  # noqa: BLE001 - one frame, not the whole pass
                            # (an analysis bug, e.g. a timestamp past 2262 in analysis/tsn.py):
                            # said once in the status line; the other frames go on
                            if not st.error:
                                st.error = (f"frame {rec.number}: analysis failed "
                                            f"({type(e).__name__}: {e})")
                        st.note_analysis(i, pkt)
                        i += 1
                    st.analysed = i
                # at most ~half of the CPU: the UI thread must get the GIL quickly
                time.sleep(max(0.001, time.perf_counter() - b0))
        except (StopIteration, CaptureFileError, OSError, ValueError):
            pass
        st.analysis_done = True
        self.analysis_seconds = time.perf_counter() - t0


def _index_child(path: str, conn, first_batch: int, go=None) -> None:
    """Child process: index ``path`` and send ("chunk", offsets, ts, linktypes, ifaces, n).

    After the first message (one screen of records) it waits for ``go`` (the UI
    has painted its first screen, or FIRST_SCREEN_WAIT passed): on a busy
    machine the scan would otherwise take the CPU the first paint needs.
    """
    from ..errors import CaptureFileError
    from ..sources import open_capture
    offs, ts, lts, ifs = array("q"), array("q"), array("H"), array("H")
    batch = first_batch

    big = []        # (index in this chunk, ns) of timestamps outside int64 (clamped in ts)

    def flush():
        conn.send(("chunk", offs.tobytes(), ts.tobytes(), lts.tobytes(), ifs.tobytes(), len(offs),
                   list(big)))
        del offs[:], ts[:], lts[:], ifs[:], big[:]
        if go is not None and not go.is_set():
            go.wait(FIRST_SCREEN_WAIT + 0.5)

    try:
        for rec in open_capture(path):
            offs.append(rec.offset)
            t = rec.ts_ns
            if not TS_MIN <= t <= TS_MAX:      # past 2262 (2**63 ns): array("q") overflows
                big.append((len(ts), t))
                t = min(max(t, TS_MIN), TS_MAX)
            ts.append(t)
            lts.append(rec.linktype & 0xFFFF)
            ifs.append((rec.interface or 0) & 0xFFFF)
            if len(offs) >= batch:
                flush()
                batch = 20000
        if offs:
            flush()
    except CaptureFileError as e:
        if offs:
            flush()
        conn.send(("error", str(e)))
    except (OSError, ValueError) as e:
        conn.send(("error", str(e)))
    except Exception as e:  # noqa: BLE001 - the UI must hear why indexing stopped
        try:
            if offs:
                flush()
            conn.send(("error", f"indexing stopped: {type(e).__name__}: {e}"))
        except OSError:
            return
    try:
        conn.send(("done",))
        conn.close()
    except OSError:
        pass


class LiveFeeder:
    """Reads a live source, writes its records to a pcapng file, indexes and analyses them.

    ``source`` is a :class:`~sctpinspect.capture.LiveCapture` (or anything with
    ``get_batch(timeout)``, ``stats``, ``stop()``, ``linktype``, ``interface``).
    """

    def __init__(self, store: PacketStore, source, out_path: str):
        from ..sources.pcapng_writer import PcapngWriter
        self.store = store
        self.source = source
        self.out_path = out_path
        self._fh = open(out_path, "wb")
        linktype = getattr(source, "linktype", 1)
        self.writer = PcapngWriter(self._fh, interfaces=[(linktype, str(getattr(
            source, "interface", "") or ""), getattr(source, "snaplen", 262144), 9)])
        self._fh.flush()
        store.path = out_path
        store.fmt = FileFormat("pcapng")
        store.live = True
        store.live_writer = self
        store.live_stats = getattr(source, "stats", None)
        store.indexed_done = False
        self.paused = False
        self.stop = threading.Event()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="tui-live", daemon=True)
        from ..analysis import Analyzer
        self.decoder = Decoder(store.decode_options)
        self.analyzer = Analyzer()
        store.analyzer = self.analyzer

    def start(self) -> "LiveFeeder":
        self.thread.start()
        return self

    def _run(self) -> None:
        st = self.store
        try:
            while not self.stop.is_set():
                batch = self.source.get_batch(timeout=0.2)
                if batch is None:
                    break
                if not batch:
                    continue
                self._take(batch)
                upd = getattr(self.source, "update_stats", None)
                if upd is not None:
                    try:
                        upd()
                    except Exception:   # noqa: BLE001 - stats are best effort
                        pass
        except Exception as e:  # noqa: BLE001 - shown in the status bar, capture kept
            st.error = f"live capture stopped: {e}"
        finally:
            self.finish()

    def _take(self, batch) -> None:
        st = self.store
        fh = self._fh
        with st.lock:
            if self.closed:
                return
            for rec in batch:
                rec.offset = fh.tell()
                rec.interface = 0
                self.writer.write(rec)
                i = len(st)
                rec.number = i + 1
                st.add_record(rec)
                pkt = self.decoder.decode(rec)
                self.analyzer.feed(pkt)
                st.note_analysis(i, pkt)
                st.analysed = i + 1
            fh.flush()

    def finish(self) -> None:
        """Stop the source, flush and close the pcapng file (idempotent)."""
        with self.store.lock:
            if self.closed:
                return
            self.closed = True
            try:
                self.source.stop()
            except Exception:  # noqa: BLE001
                pass
            self.writer.close()
            self._fh.close()
            self.store.indexed_done = True
            self.store.analysis_done = True

    def close(self) -> None:
        self.stop.set()
        self.finish()
        if threading.current_thread() is not self.thread and self.thread.is_alive():
            self.thread.join(2)


def default_live_path(interface: str) -> str:
    d = os.environ.get("TMPDIR", "/tmp")
    return os.path.join(d, f"sctpinspect-{interface}-{time.strftime('%Y%m%d-%H%M%S')}.pcapng")


class _RawPackets:
    """``packet(i)`` without payload layers nor the cache, for gathering the
    fragments of a reassembled message (no chain of reassemblies)."""

    def __init__(self, store):
        self.store = store

    def packet(self, i: int):
        return self.store._decoder.decode(self.store.record(i))
