"""Summary lines made on the other cores, for ``read`` on big files.

``read``'s per-frame cost is the byte-level summary of
:mod:`~sctpinspect.output.fastsummary` (about 5 µs of the 8).  On a file of
millions of frames that is seconds, while the other cores idle; so the
reading process hands batches of raw records to worker processes that make
the lines of the clean frames, and prints them in file order:

    main: source ──▶ sender thread ──batch i──▶ worker i % W ──lines──▶ main
                                                                       (in order;
                                                          frames that are not clean are
                                                          decoded here, as without workers)

* The main process keeps reading the file, the decoder (and its IP
  reassembly state), the time origin, the counts and the progress bar: the
  workers only turn bytes into text.  A frame a worker declines (``None``)
  is decoded by the main process in order, so the output is byte for byte
  what one process prints (tests/test_fastpaths.py runs both).
* The records travel as ``(number, ts_ns, data, wirelen, linktype)`` tuples
  in one pickle per batch; a sender thread writes them, so the main thread
  never blocks on a full pipe while a worker blocks on its reply.  At most
  ``2 * W + 1`` batches are in flight: memory stays bounded.
* A damaged file: the sender sends the good records and hands the error to
  the main thread, which prints everything and then raises it.  A worker
  that dies: its batches are summarised in the main process.
* Standard library only (``multiprocessing`` with ``fork``: the workers
  inherit the imported decoder, no start-up import).
"""
from __future__ import annotations

import os
import pickle
import queue
import threading
from typing import Iterator

from ..model import Record

BATCH = 4096                 # records per message
MIN_BYTES = 16 << 20         # below this file size, one process (start-up would not pay)


def default_workers(path: str) -> int:
    """For a regular file of 16 MiB or more on a machine with 2 or more
    usable CPUs, one worker per CPU (at most 4: the reading process is the
    limit beyond that); else 0."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    if cpus < 2 or path == "-":
        return 0
    try:
        if os.path.getsize(path) < MIN_BYTES:
            return 0
    except OSError:
        return 0
    return min(cpus, 4)


def _worker(conn, verify: bool) -> None:
    """Worker process: batches in, ``[line or None]`` out, until an empty message."""
    from .fastsummary import fast_line
    from .text import SummaryPrinter
    printer = SummaryPrinter("r")
    line = fast_line(printer, verify)
    tm = printer.time
    try:
        while True:
            msg = conn.recv_bytes()
            if not msg:
                break
            first, batch = pickle.loads(msg)
            tm.first = first
            out = []
            append = out.append
            for number, ts_ns, data, wirelen, linktype in batch:
                try:
                    append(line(Record(number, ts_ns, data, wirelen, linktype)))
                except Exception:        # never: the main process decodes it then
                    append(None)
            conn.send_bytes(pickle.dumps(out, pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        conn.close()


class _Sender(threading.Thread):
    """Reads the records and sends them, batch by batch, round robin; puts
    ``(records, worker index)`` on ``self.batches`` in file order, then
    ``(None, error or None)`` at the end."""

    def __init__(self, records, conns):
        super().__init__(name="sctpinspect-sender", daemon=True)
        self.records = records
        self.conns = conns
        self.first = None        # the first record's time: the origin of the time column
        self.batches: queue.Queue = queue.Queue()
        self.slots = threading.Semaphore(2 * len(conns) + 1)
        self.stop = threading.Event()

    def run(self) -> None:
        error = None
        batch: list = []
        k = 0
        try:
            for rec in self.records:
                if self.first is None:
                    self.first = rec.ts_ns
                batch.append(rec)
                if len(batch) >= BATCH:
                    if not self._send(batch, k):
                        return
                    k += 1
                    batch = []
        except BaseException as e:       # CaptureFileError and the like: after the good records
            error = e
        if batch and not self.stop.is_set():
            self._send(batch, k)
        self.batches.put((None, error))

    def _send(self, batch: list, k: int) -> bool:
        self.slots.acquire()
        if self.stop.is_set():
            return False
        w = k % len(self.conns)
        try:
            self.conns[w].send_bytes(pickle.dumps(
                (self.first, [(r.number, r.ts_ns, r.data, r.wirelen, r.linktype) for r in batch]),
                pickle.HIGHEST_PROTOCOL))
        except (OSError, ValueError):    # the worker is gone: the main process does it
            w = -1
        self.batches.put((batch, w))
        return True


def texts(records, verify: bool, workers: int, fast) -> Iterator[tuple]:
    """``(record, line or None)`` for every record, in order, the lines made
    by ``workers`` processes (``fast``: the local line function, for batches
    whose worker died)."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    conns, procs = [], []
    for _ in range(workers):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, verify), daemon=True)
        p.start()
        child.close()
        conns.append(parent)
        procs.append(p)
    sender = _Sender(records, conns)
    sender.start()
    dead = set()
    complete = False
    try:
        while True:
            batch, w = sender.batches.get()
            if batch is None:
                complete = True
                if w is not None:
                    raise w
                return
            lines = None
            if w >= 0 and w not in dead:
                try:
                    lines = pickle.loads(conns[w].recv_bytes())
                except (EOFError, OSError):
                    dead.add(w)
            sender.slots.release()
            if lines is None or len(lines) != len(batch):
                lines = [_safe(fast, r) for r in batch]
            yield from zip(batch, lines)
    finally:
        sender.stop.set()
        sender.slots.release()
        sender.join(timeout=0.2)
        if not complete or sender.is_alive():
            # stopped early (-c, a closed pipe): workers may be busy or mid-reply
            for p in procs:
                p.terminate()
        else:                            # done sending: an empty message ends each worker
            for c in conns:
                try:
                    c.send_bytes(b"")
                except (OSError, ValueError):
                    pass
        for c in conns:
            c.close()
        for p in procs:
            p.join(timeout=1)
            if p.is_alive():
                p.terminate()


def _safe(fast, rec):
    try:
        return fast(rec)
    except Exception:
        return None
