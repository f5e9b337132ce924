"""Small helpers shared by the capture readers."""
from __future__ import annotations

CHUNK = 1 << 20  # bytes read from the file at a time


def read_exact(f, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads (pipes); fewer only at EOF."""
    data = f.read(n)
    if data is None:
        data = b""
    if len(data) >= n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        d = f.read(n - got)
        if not d:
            break
        parts.append(d)
        got += len(d)
    return b"".join(parts)
