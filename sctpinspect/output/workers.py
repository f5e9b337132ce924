"""Summary lines made on the other cores, for ``read`` on big files.

``read``'s per-frame cost is the compact decode and the summary line.  On a
file of millions of frames that is seconds while the other cores idle, so
worker processes share the file: each reads it whole (the source is cheap),
decodes and formats every W-th batch of records through the one
source -> decode loop (:class:`~sctpinspect.pipeline.Pipeline`); the
reading process prints the batches in file order:

    worker 0: batches 0, W, 2W, ...  ──┐
    worker 1: batches 1, W+1, ...    ──┼──▶ main: print in order; decode the
    ...                              ──┘         frames a worker declined

* A worker sends, per batch of its own, blocks of finished lines and, in
  their place, the raw records of the frames it declined (those the
  decoder's compact path did not vouch for: an INIT, ICMP, an IP fragment,
  a malformed chunk...).  The reading process decodes those in
  order with its decoder (so IP reassembly state, notes and marks are the
  same as in one process) and keeps the counts, ``-c`` and the progress bar.
* Anything unusual -- a damaged file, a worker error or death -- ends the
  workers' part early: the reading process then goes on by itself from the
  first frame not yet printed, so the output, the error message and the
  exit status are exactly those of one process (tests/test_read_workers.py).
* Standard library only: ``multiprocessing`` with ``fork``, so workers
  inherit the imported decoder and start in milliseconds.
"""
from __future__ import annotations

import os
import pickle

BATCH = 4096                 # records per batch
MIN_BYTES = 16 << 20         # below this file size, one process (start-up would not pay)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers(path: str) -> int:
    """For a regular file of 16 MiB or more on a machine with 2 or more
    usable CPUs, one worker per CPU (at most 4: the reading process is the
    limit beyond that); else 0."""
    cpus = usable_cpus()
    if cpus < 2 or path == "-":
        return 0
    try:
        if os.path.getsize(path) < MIN_BYTES:
            return 0
    except OSError:
        return 0
    return min(cpus, 4)


def _worker(conn, path: str, k: int, workers: int, verify: bool) -> None:
    """Worker ``k`` of ``workers``: the batches ``k``, ``k + workers``, ...
    as ``("batch", first_ts, frames, last_offset, items)``, then ``("end",
    ok)``; ``items`` are line blocks (str) and declined records (tuples)."""
    from ..decode import Decoder, DecodeOptions
    from ..pipeline import Pipeline
    from ..sources import open_capture
    from .text import SummaryPrinter
    printer = SummaryPrinter("r")
    line = printer.line
    tm = printer.time
    decoder = Decoder(DecodeOptions(verify_checksum=verify))
    send = conn.send_bytes

    def batch_items(records) -> list:
        items: list = []
        run: list = []
        for pkt, _shown in Pipeline(records, decoder=decoder):
            if pkt.built:                # the compact path declined it: the reader decodes it
                if run:
                    items.append("\n".join(run))
                    run = []
                rec = pkt.record
                items.append((rec.number, rec.ts_ns, rec.data, rec.wirelen, rec.linktype,
                              rec.interface, rec.comment, rec.direction, rec.offset))
            else:
                run.append(line(pkt))
        if run:
            items.append("\n".join(run))
        return items

    ok = False
    try:
        batch = 0
        mine = k == 0
        own: list = []
        count = 0
        rec = None
        for rec in open_capture(path):
            if tm.first is None:
                tm.first = decoder._impl.first_ns = rec.ts_ns
            if mine:
                own.append(rec)
            count += 1
            if count == BATCH:
                if mine:
                    send(pickle.dumps(("batch", tm.first, count, rec.offset, batch_items(own)), -1))
                    own = []
                batch += 1
                count = 0
                mine = batch % workers == k
        if count and mine:
            send(pickle.dumps(("batch", tm.first, count, rec.offset, batch_items(own)), -1))
        ok = True
    except BaseException:                # a damaged file, or anything: the reader takes over
        pass
    try:
        send(pickle.dumps(("end", ok), -1))
    except (OSError, ValueError):
        pass
    conn.close()


class _Counts:
    """What the workers' part has done so far."""
    __slots__ = ("frames", "sctp", "icmp", "shown", "stopped")

    def __init__(self):
        self.frames = self.sctp = self.icmp = self.shown = 0
        self.stopped = False


def summary_with_workers(pipe, path: str, workers: int, printer, out, limit, shown: list) -> bool:
    """Summary lines of ``path`` made by ``workers`` processes, counted in
    ``pipe`` (frames, SCTP, ICMP) and ``shown[0]``.  True when nothing is
    left to do; False when the caller must go on with ``pipe`` (its records
    then start at the first frame not printed)."""
    c = _Counts()
    try:
        done = write_with_workers(path, workers, pipe.decoder.options.verify_checksum, c,
                                  pipe.decoder.decode, printer.line, printer.time, out, limit,
                                  pipe.on_record)
    finally:
        pipe.frames += c.frames
        pipe.sctp += c.sctp
        pipe.icmp += c.icmp
        shown[0] = c.shown
    if done or c.stopped:
        return True
    if c.frames:
        from itertools import islice
        pipe.records = islice(pipe.records, c.frames, None)
    return False


def write_with_workers(path: str, workers: int, verify: bool, state, decode, general, tm,
                       out, limit: int | None, on_record) -> bool:
    """Print the summary of ``path`` with ``workers`` processes; update
    ``state`` (frames, sctp, icmp, shown lines) and ``tm`` (the time
    formatter ``general`` prints with); True when the whole file was
    done, False when the caller must go on alone after ``state.frames``
    records (the workers stopped early, or ``limit`` was reached: then
    ``state.stopped`` is True)."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    conns, procs = [], []
    for k in range(workers):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker, args=(child, path, k, workers, verify), daemon=True)
        p.start()
        child.close()
        conns.append(parent)
        procs.append(p)
    from ..model import Record
    write = out.write
    b = 0
    complete = False
    try:
        while True:
            try:
                msg = pickle.loads(conns[b % workers].recv_bytes())
            except (EOFError, OSError):
                return False                 # a worker died: the caller goes on alone
            if msg[0] == "end":
                complete = msg[1]
                return complete
            _kind, first, frames, last_offset, items = msg
            if tm.first is None:
                tm.first = first
            done = state.frames
            for item in items:
                if item.__class__ is str:
                    k = item.count("\n") + 1
                    if limit is not None and state.shown + k >= limit:
                        keep = limit - state.shown
                        lines = item.split("\n", keep)[:keep]
                        write("\n".join(lines) + "\n")
                        state.shown += keep
                        state.sctp += keep
                        state.frames = int(lines[-1].split(None, 1)[0])   # its frame number
                        state.stopped = True
                        return False
                    write(item)
                    write("\n")
                    state.shown += k
                    state.sctp += k
                    continue
                rec = Record(*item)
                state.frames = rec.number        # records are numbered from 1 in file order
                pkt = decode(rec)
                if pkt.sctp_offset >= 0:
                    state.sctp += 1
                elif pkt.icmp is not None:
                    state.icmp += 1
                else:
                    continue
                write(general(pkt) + "\n")
                state.shown += 1
                if limit is not None and state.shown >= limit:
                    state.stopped = True
                    return False
            state.frames = done + frames
            if on_record is not None:        # the progress bar counts records
                stub = Record(0, 0, b"", 0, 0, 0, None, None, last_offset)
                for _ in range(frames):
                    on_record(stub)
            b += 1
    finally:
        for p in procs:
            if not complete:
                p.terminate()                # stopped early: a worker may be mid-send
            p.join(timeout=2)
        for c in conns:
            c.close()
