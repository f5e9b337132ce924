"""Writing a live capture to pcapng: one file, or a ring buffer of files.

:class:`BlockFile` is the file object handed to
:class:`~sctpinspect.sources.pcapng_writer.PcapngWriter`.  The writer hands it
one whole pcapng block per ``write()`` call; it buffers them and, if the disk
fills up, truncates the file back to the last complete block so that what was
written stays a valid capture (``OutputFullError``).

:class:`CaptureWriter` adds ``-b`` rotation the way dumpcap names files:
``out.pcapng`` becomes ``out_00001_20250101120000.pcapng``, ``out_00002_...``;
with ``files:N`` only the newest N are kept.  Every file ends with an
Interface Statistics Block carrying the kernel's received/dropped counters.
"""
from __future__ import annotations

import errno
import os
import time

from ..errors import UserError
from ..sources.pcapng_writer import PcapngWriter


class OutputFullError(UserError):
    def __init__(self, path: str, packets: int):
        super().__init__(f"{path}: no space left on device; capture stopped, the file keeps "
                         f"the {packets} packets written before", exit_code=1)
        self.path = path


class BlockFile:
    """Buffered, block-aware output file (see module doc)."""

    def __init__(self, path: str, buffer_bytes: int = 256 * 1024):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.committed = 0           # bytes of whole blocks known to be on disk
        self.blocks = 0              # number of those blocks
        self.buffer_bytes = buffer_bytes

    def write(self, block: bytes) -> None:
        self.pending.append(block)
        self.pending_bytes += len(block)
        if self.pending_bytes >= self.buffer_bytes:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        data = b"".join(self.pending)
        done = 0
        try:
            view = memoryview(data)
            while done < len(data):
                done += os.write(self.fd, view[done:])
        except OSError:
            # Keep only whole blocks: cut the file back to the last one.
            good = self.committed
            for b in self.pending:
                if good + len(b) > self.committed + done:
                    break
                good += len(b)
                self.blocks += 1
            try:
                os.ftruncate(self.fd, good)
            except OSError:
                pass
            self.committed = good
            self.pending.clear()
            self.pending_bytes = 0
            raise
        self.committed += len(data)
        self.blocks += len(self.pending)
        self.pending.clear()
        self.pending_bytes = 0

    def tell(self) -> int:
        return self.committed + self.pending_bytes

    def close(self) -> None:
        if self.fd < 0:
            return
        try:
            self.flush()
        finally:
            os.close(self.fd)
            self.fd = -1


def rotated_name(base: str, index: int, when: float | None = None) -> str:
    """dumpcap's ring-buffer name: ``base_00001_YYYYmmddHHMMSS.ext``."""
    root, ext = os.path.splitext(base)
    stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(when or time.time()))
    return f"{root}_{index:05d}_{stamp}{ext or '.pcapng'}"


class CaptureWriter:
    """pcapng output for ``capture -w``, with optional rotation.

    ``filesize_kb``/``duration_s`` start a new file when the current one
    reaches that size or age; ``files`` keeps only the newest N files.
    ``stats`` is a callable returning ``(received, dropped)`` for the ISBs.
    """

    def __init__(self, path: str, linktype: int, ifname: str, snaplen: int, *,
                 filesize_kb: int | None = None, duration_s: float | None = None,
                 files: int | None = None, stats=None):
        self.base = path
        self.interfaces = [(linktype, ifname, snaplen, 9)]
        self.filesize = filesize_kb * 1000 if filesize_kb else None   # dumpcap: kB = 1000 B
        self.duration = duration_s
        self.files_max = files
        self.rotating = bool(filesize_kb or duration_s or files)
        self.stats = stats
        self.index = 0
        self.paths: list[str] = []
        self.packets = 0            # in all files
        self.file_packets = 0
        self._file = None
        self._writer = None
        self._opened_at = 0.0
        self._header_blocks = 0
        self._open_next()

    def _open_next(self) -> None:
        self.index += 1
        path = rotated_name(self.base, self.index) if self.rotating else self.base
        try:
            f = BlockFile(path)
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror}", exit_code=1) from None
        self._file = f
        self.current = path
        self.paths.append(path)
        self._opened_at = time.monotonic()
        self.file_packets = 0
        try:
            self._writer = PcapngWriter(f, interfaces=self.interfaces)
            f.flush()   # the header is on disk: a 0-packet capture is still a valid file
            self._header_blocks = f.blocks   # write() calls, not pcapng blocks
        except OSError as e:
            self._fail(e)
        if self.files_max:
            while len(self.paths) > self.files_max:
                old = self.paths.pop(0)
                try:
                    os.unlink(old)
                except OSError:
                    pass

    def _fail(self, e: OSError):
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            # Whole packets that reached the disk: earlier files + this file's
            # writes after the section header and interface description.
            on_disk = self.packets - self.file_packets + max(0, self._file.blocks - self._header_blocks)
            self.packets = on_disk
            raise OutputFullError(self.current, on_disk) from None
        raise UserError(f"cannot write {self.current}: {e.strerror}", exit_code=1) from None

    def write(self, record) -> None:
        if self.rotating and self.file_packets and (
                (self.filesize and self._file.tell() >= self.filesize)
                or (self.duration and time.monotonic() - self._opened_at >= self.duration)):
            self._finish_file()
            self._open_next()
        try:
            self._writer.write(record)
        except OSError as e:
            self._fail(e)
        self.packets += 1
        self.file_packets += 1

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError as e:
            self._fail(e)

    def _finish_file(self) -> None:
        try:
            if self.stats is not None:
                received, dropped = self.stats()
                self._writer.write_stats(0, time.time_ns(), received=received, dropped=dropped)
            self._file.close()
        except OSError as e:
            self._fail(e)

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self._finish_file()
        finally:
            self._file = None
