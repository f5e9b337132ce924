"""The payload-dissector plugin interface.

A payload dissector turns one reassembled SCTP user message (bytes) into a
:class:`~sctpinspect.model.Field` tree plus expert :class:`~sctpinspect.model.Note`s.
Offsets in the tree are ``base + offset-in-message`` so that, for an
unfragmented DATA chunk whose payload starts at frame offset ``base``, they
point at the frame bytes (as Wireshark's do).

Rules every dissector follows (the project's decoding rules):

* never raise on bad bytes: decode as far as possible, then add a Note that
  says what is wrong, where, and which RFC rule;
* field names are Wireshark's (``m3ua.protocol_data_opc``), declared with
  :func:`sctpinspect.registry.register`; names Wireshark has not got use the
  ``sctpinspect.`` prefix.
"""
from __future__ import annotations

from typing import Any

from sctpinspect.model import ERROR, WARN, Field, Note


class Context:
    """What a dissector may want to know about where the message came from.

    All attributes are optional; dissectors must work with an empty Context.
    """

    __slots__ = ("ppid", "sport", "dport", "stream", "frame", "packet")

    def __init__(self, ppid: int | None = None, sport: int | None = None,
                 dport: int | None = None, stream: int | None = None,
                 frame: int | None = None, packet: Any = None):
        self.ppid = ppid
        self.sport = sport
        self.dport = dport
        self.stream = stream
        self.frame = frame
        self.packet = packet


class PayloadDissector:
    """Base class of payload dissectors (subclass it, or duck-type it).

    ``name``: short, unique, lower-case (used by ``--decode-as``: ``ppid:3=m3ua``);
    ``ppids``/``ports``: what the dissector claims in the PPID and port tables;
    ``protocol``: the top-level field name of the tree it returns.
    """

    name: str = ""
    protocol: str = ""
    description: str = ""
    ppids: tuple[int, ...] = ()
    ports: tuple[int, ...] = ()

    def dissect(self, data: bytes, base: int, ctx: Context | None) -> tuple[Field, list[Note]]:
        raise NotImplementedError

    def __repr__(self) -> str:  # pragma: no cover
        return f"<{type(self).__name__} {self.name} ppids={self.ppids} ports={self.ports}>"


def malformed(notes: list, key: str, message: str, offset: int, length: int = 0,
              rfc: str | None = None, severity: str = ERROR) -> Note:
    """Append an expert note for a malformed payload and return it."""
    n = Note(severity, "malformed", message, offset, length, rfc, key)
    notes.append(n)
    return n


def protocol_note(notes: list, key: str, message: str, offset: int, length: int = 0,
                  rfc: str | None = None, severity: str = WARN) -> Note:
    """Append an expert note for a protocol violation that is not a decode error."""
    n = Note(severity, "protocol", message, offset, length, rfc, key)
    notes.append(n)
    return n
