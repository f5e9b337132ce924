"""Small helpers shared by the capture readers."""
from __future__ import annotations

import os
import stat

CHUNK = 1 << 20  # bytes read from a regular file at a time


def ready_reader(f):
    """``read(n)`` for the readers' block buffer.

    A regular file gives ``f.read``: up to ``n`` bytes, fewer only at its
    current end.  A pipe, FIFO, terminal or socket gives a read that returns
    whatever has arrived (at least one byte; ``b""`` at end of stream) so each
    packet is yielded as soon as its bytes are in, instead of waiting for a
    full ``CHUNK`` (``read -`` behind ``tcpdump -w -`` must stream).
    """
    try:
        regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        regular = True                  # BytesIO and friends: never block
    if regular:
        return f.read
    read1 = getattr(f, "read1", None)   # BufferedReader (sys.stdin.buffer): one raw read at most
    return read1 if read1 is not None else f.read   # FileIO: one read(2), short on a pipe


def read_exact(f, n: int, read=None) -> bytes:
    """Read up to ``n`` bytes, looping over short reads (pipes); fewer only at EOF."""
    read = read or f.read
    data = read(n)
    if data is None:
        data = b""
    if len(data) >= n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        d = read(n - got)
        if not d:
            break
        parts.append(d)
        got += len(d)
    return b"".join(parts)
