"""Shared pieces of ``sctpinspect send`` and ``sctpinspect listen``: payload and
stream options, the printer (text lines or one JSON object per line)."""
from __future__ import annotations

import json
import sys

from ..errors import UserError


def parse_streams(text: str) -> tuple[int, int]:
    """``OUT,IN`` (or one number for both) -> the SCTP_INITMSG stream counts."""
    parts = text.split(",")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) == 1:
        vals *= 2
    if len(vals) != 2 or not all(1 <= v <= 65535 for v in vals):
        raise UserError(f"--streams {text!r}: expected OUT,IN, two numbers from 1 to 65535")
    return vals[0], vals[1]


def parse_u32(text: str, what: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise UserError(f"{what} {text!r} is not a number") from None
    if not 0 <= v <= 0xFFFFFFFF:
        raise UserError(f"{what} {text} is outside 0..4294967295")
    return v


def payload_from(message: str | None, hex_text: str | None, file: str | None) -> bytes | None:
    given = [x is not None for x in (message, hex_text, file)]
    if sum(given) > 1:
        raise UserError("give the payload once: MESSAGE, --hex or --file")
    if message is not None:
        return message.encode()
    if hex_text is not None:
        cleaned = "".join(hex_text.split()).replace(":", "")
        if cleaned.startswith(("0x", "0X")):
            cleaned = cleaned[2:]
        try:
            return bytes.fromhex(cleaned)
        except ValueError:
            raise UserError(f"--hex {hex_text!r} is not an even number of hex digits") from None
    if file is not None:
        try:
            with open(file, "rb") as f:
                return f.read()
        except OSError as e:
            raise UserError(f"cannot read {file}: {e.strerror}") from None
    return None


class Printer:
    """Events and messages as text lines or JSON lines (flushed at once, so a
    pipe or a test sees them as they happen)."""

    def __init__(self, as_json: bool, out=None):
        self.as_json = as_json
        self.out = out or sys.stdout

    def item(self, item) -> None:
        if self.as_json:
            self.raw(item.to_dict())
        else:
            self.text(item.describe())

    def raw(self, d: dict, text: str | None = None) -> None:
        if self.as_json:
            self.out.write(json.dumps(d) + "\n")
        else:
            self.out.write((text if text is not None else
                            " ".join(f"{k}={v}" for k, v in d.items())) + "\n")
        self.out.flush()

    def text(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def streams_arg(text: str) -> tuple[int, int]:
    """:func:`parse_streams` for argparse ``type=`` (argparse reports the message)."""
    import argparse
    try:
        return parse_streams(text)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
