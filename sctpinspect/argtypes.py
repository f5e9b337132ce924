"""argparse ``type=`` callables for numeric options: one sentence with the range and unit.

``float("inf")``, ``float("nan")`` and out-of-range values used to reach the
code that uses them and fail there (``capture -B inf`` raised OverflowError,
``-B nan`` ValueError, a huge ``-B`` struct.error; issue 18.2).  Every numeric
option of every command is typed with :func:`number`, so argparse refuses such a
value before anything runs: ``argument -B: 'inf' is not allowed: give a size in
MiB from 0.0625 to 2047`` and exit 2.  The ranges are listed in docs/cli.md.
"""
from __future__ import annotations

import argparse
import math


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def number(kind: type, lo, hi, what: str):
    """A parser of ``kind`` (int or float) values in ``[lo, hi]``; ``what`` names
    the quantity and its unit ("a size in MiB", "seconds")."""
    noun = "whole number" if kind is int else "number"
    sentence = f"give {what}: a {noun} from {_fmt(lo)} to {_fmt(hi)}"

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number: {sentence}") from None
        if isinstance(v, float) and not math.isfinite(v) or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: {sentence}")
        return v

    parse.__name__ = kind.__name__      # argparse names the type in some messages
    parse.bounds = (lo, hi)
    return parse


# Shared ranges (docs/cli.md lists them per option).
PORT = number(int, 0, 65535, "a port")
UDP_PORT = number(int, 1, 65535, "a UDP port")
STREAM = number(int, 0, 65535, "a stream identifier")
SSN = number(int, 0, 65535, "a stream sequence number")
COUNT = number(int, 1, 2 ** 63 - 1, "a count")
INDEX = number(int, 0, 2 ** 31 - 1, "an association index (from 0)")
SECONDS = number(float, 0, 31_536_000, "seconds (at most one year)")
TTL_MS = number(int, 0, 0xFFFFFFFF, "milliseconds")
RATE = number(float, 0.001, 1_000_000, "messages per second")
BUFFER_MIB = number(float, 0.0625, 2047, "a size in MiB")       # SO_RCVBUF is a C int
WIDTH = number(int, 8, 1000, "a column width in characters")
WORKERS = number(int, 0, 64, "a worker count (0: none)")
ATTEMPTS = number(int, 1, 65535, "a number of INIT attempts")
