"""Many capture files as one trace: a source that merges their records by time.

``capture_set(args)`` turns the command line's FILE arguments (files and
directories) into the ordered list of capture files of one trace: each
directory is replaced by the capture files in it (sniffed by magic number,
not by name), and the files are sorted by their first timestamp, then by
their names in natural order (``ring_00002_...`` before ``ring_00010_...``),
so a ring-buffer set written by ``capture -b`` / dumpcap comes in the order it
was written even when its files are listed in another.

:class:`MergedRecords` yields the records of those files as ``mergecap``
(chronological mode, the default) writes them: at each step the record with
the smallest timestamp among the files' next records -- on a tie the one of
the file that comes *last* in the list, as mergecap's ``is_earlier`` scan
picks it -- and numbered 1, 2, 3 ... across the set -- so every command sees
exactly the trace that ``mergecap -w merged.pcapng FILES`` would give it, frame
numbers included, and associations, IP reassembly and stream state run on
across file boundaries by themselves (one Pipeline, one Analyzer).

Memory stays flat: a file is opened only when its first record is the
earliest pending one (a file's first timestamp stands for it in the heap
until then) and closed when it ends, so a ring-buffer set keeps one or two
files open however many it has.  A damaged file contributes its good records;
its :class:`CaptureFileError` is raised after the last record of the whole
set (the source contract of ``sources/__init__``).
"""
from __future__ import annotations

import heapq
import os
import re
from typing import Iterator

from ..errors import CaptureFileError, UserError
from ..model import Record

__all__ = ["capture_set", "MergedRecords", "first_timestamp", "natural_key"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str) -> tuple:
    """``ring_00002`` < ``ring_00010``; digits compared as numbers."""
    parts = _DIGITS.split(os.path.basename(path))
    return tuple((1, int(p), p) if p.isdigit() else (0, 0, p) for p in parts), path


def first_timestamp(path: str) -> int | None:
    """The ``ts_ns`` of the first record of ``path``; None for a file with no
    record (or damaged before its first).  A file that is not a capture raises
    :class:`CaptureFileError` (at once, before any output)."""
    return _first(path)[0]


def _first(path: str):
    """(first ts_ns or None, the CaptureFileError that ended the file before it or None)."""
    from . import open_capture
    it = open_capture(path)
    try:
        for rec in it:
            return rec.ts_ns, None
    except CaptureFileError as e:
        return None, e
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    return None, None


def _is_capture(path: str) -> bool:
    from . import capture_format
    try:
        with open(path, "rb") as f:
            return capture_format(f.read(4)) is not None
    except OSError:
        return False


def capture_set(args, allow_stdin: bool = True) -> list[str]:
    """The capture files named by ``args`` (files and directories), in trace order.

    One argument that is a file (or ``-``) is returned as it is.  Errors are
    one sentence (:class:`UserError`) before any output.
    """
    from ..pipeline import check_readable
    if isinstance(args, str):
        args = [args]
    args = list(args)
    if not args:
        raise UserError("a capture FILE is needed (or several, or a directory; - for standard input)")
    if "-" in args:
        if len(args) > 1 or not allow_stdin:
            raise UserError("standard input (-) cannot be read together with other files")
        return args
    files: list[str] = []
    for a in args:
        if os.path.isdir(a):
            try:
                names = sorted(os.listdir(a))
            except OSError as e:
                raise UserError(f"{a}: {e.strerror or e}", exit_code=1) from None
            found = [p for p in (os.path.join(a, n) for n in names)
                     if os.path.isfile(p) and _is_capture(p)]
            if not found:
                raise UserError(f"{a}: no pcap or pcapng file in this directory", exit_code=1)
            files.extend(found)
        else:
            check_readable(a)
            files.append(a)
    seen, unique = set(), []
    for f in files:                       # a file named twice (or via its directory) once
        k = os.path.realpath(f)
        if k not in seen:
            seen.add(k)
            unique.append(f)
    if len(unique) == 1:
        return unique
    firsts = {f: first_timestamp(f) for f in unique}
    return sorted(unique, key=lambda f: (firsts[f] is None, firsts[f] or 0, natural_key(f)))


class MergedRecords:
    """Iterator of the records of ``paths`` merged by timestamp, renumbered.

    ``paths`` are taken in the given order for ties (``capture_set`` sorts
    them; give mergecap the same order to compare).  ``file_index`` is the index in ``paths`` of the file of the record
    last yielded and ``file_frame`` its number in that file (the export's
    ``capture_file`` column).  ``error`` is the first CaptureFileError met.
    """

    def __init__(self, paths: list[str]):
        self.paths = list(paths)
        self.file_index = -1
        self.file_frame = 0
        self.error: CaptureFileError | None = None
        self.frames_per_file = [0] * len(self.paths)
        # indexes of the files that have ended (their last record yielded or
        # being yielded); a consumer may clear it (the export closes their parts)
        self.finished: list[int] = []
        self._firsts = []
        for p in self.paths:
            ts, err = _first(p)
            self._firsts.append(ts)
            if err is not None and self.error is None:
                self.error = err

    def __iter__(self) -> Iterator[Record]:
        from . import open_capture
        # heap entries: (ts_ns, -file index, record or None, iterator or None);
        # -index: on equal times mergecap takes the last file's record.
        # A not yet opened file waits as (its first ts, index, None, None): the
        # greedy choice of mergecap only ever compares the files' next records,
        # and a file's next record before it is opened is its first one.
        heap = [(ts, -i, None, None) for i, ts in enumerate(self._firsts) if ts is not None]
        heapq.heapify(heap)
        n = 0
        per_file = self.frames_per_file
        finished = self.finished
        push, pop = heapq.heappush, heapq.heappop
        nxt_of = self._next
        cur = None                       # the file being streamed (not in the heap)
        try:
            while heap:
                ts, negi, rec, it = pop(heap)
                i = -negi
                if rec is None:                      # open it now
                    it = open_capture(self.paths[i])
                    rec = nxt_of(it)
                    if rec is None:
                        finished.append(i)
                        continue
                    if heap and (rec.ts_ns, negi) > heap[0][:2]:
                        push(heap, (rec.ts_ns, negi, rec, it))   # not its first record after all
                        continue
                cur = it
                # Stream this file while its records come before every other file's
                # next one (a ring-buffer set: a whole file at a time, no heap work).
                lim = heap[0] if heap else None
                while True:
                    nxt = nxt_of(it)
                    n += 1
                    per_file[i] += 1
                    self.file_index = i
                    self.file_frame = rec.number
                    rec.number = n
                    if nxt is None:
                        finished.append(i)
                        cur = None
                        yield rec
                        break
                    t = nxt.ts_ns
                    if lim is not None and (t > lim[0] or (t == lim[0] and negi > lim[1])):
                        push(heap, (t, negi, nxt, it))
                        cur = None
                        yield rec
                        break
                    yield rec
                    rec = nxt
        finally:
            for _ts, _i, _rec, it in heap:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
            close = getattr(cur, "close", None)
            if close is not None:
                close()
        if self.error is not None:
            raise self.error

    def _next(self, it):
        try:
            return next(it)
        except StopIteration:
            return None
        except CaptureFileError as e:      # its good part is in; the others go on
            if self.error is None:
                self.error = e
            return None
