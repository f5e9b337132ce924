"""Which payload dissector handles a message: PPID table, port table, Decode As.

Dissectors are found through the entry-point group ``sctpinspect.dissectors``
(``importlib.metadata.entry_points``), so a third-party package can ship its
own by declaring, in its pyproject.toml::

    [project.entry-points."sctpinspect.dissectors"]
    myproto = "mypkg.mymod:MyDissector"

The entry point may name a :class:`~dissectors.base.PayloadDissector`
subclass, an instance, or a zero-argument factory.  The built-in dissectors
are also listed in :data:`BUILTINS`, so they work even from a source tree
whose package metadata is stale.

Lookup follows Wireshark's ``dissect_payload`` in packet-sctp.c: first the PPID
table, then the port table with the lower port tried first, then the higher
one.  ``--decode-as`` entries (like Wireshark's Decode As) replace table
entries: ``ppid:N=NAME`` or ``port:N=NAME``; NAME ``none`` removes the entry.
"""
from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import Iterable, Mapping

from sctpinspect.errors import UserError
from sctpinspect.model import ERROR, Field, Note

from .base import Context, PayloadDissector

GROUP = "sctpinspect.dissectors"
log = logging.getLogger(__name__)

# name -> "module:attribute" of the dissectors that ship with sctpinspect.
BUILTINS = {
    "m3ua": "dissectors.m3ua:M3UADissector",
    "diameter": "dissectors.diameter:DiameterDissector",
    "dcep": "dissectors.webrtc:DCEPDissector",
    "webrtc": "dissectors.webrtc:WebRTCDataDissector",
}

NONE = "none"


def _instantiate(obj) -> PayloadDissector:
    if isinstance(obj, type):
        return obj()
    if callable(obj) and not hasattr(obj, "dissect"):
        return obj()
    return obj


def _load_ref(ref: str):
    mod, _, attr = ref.partition(":")
    target = importlib.import_module(mod)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


class DissectorRegistry:
    """The PPID and port tables, filled from entry points (lazily on first use)."""

    def __init__(self, autoload: bool = True):
        self.by_name: dict[str, PayloadDissector] = {}
        self.ppid_table: dict[int, PayloadDissector] = {}
        self.port_table: dict[int, PayloadDissector] = {}
        self.load_errors: list[str] = []
        self._loaded = not autoload

    # -- filling the tables ----------------------------------------------
    def add(self, dissector: PayloadDissector) -> PayloadDissector:
        """Register a dissector instance; a later one with the same name replaces it."""
        name = getattr(dissector, "name", "")
        if not name or not hasattr(dissector, "dissect"):
            raise TypeError(f"not a payload dissector: {dissector!r}")
        old = self.by_name.get(name)
        if old is not None:
            self._unlink(old)
        self.by_name[name] = dissector
        for p in getattr(dissector, "ppids", ()) or ():
            self.ppid_table[int(p)] = dissector
        for p in getattr(dissector, "ports", ()) or ():
            self.port_table[int(p)] = dissector
        return dissector

    def _unlink(self, d: PayloadDissector) -> None:
        for table in (self.ppid_table, self.port_table):
            for k in [k for k, v in table.items() if v is d]:
                del table[k]

    def load(self, group: str = GROUP) -> None:
        """Load built-ins, then every entry point of ``group`` (these may override)."""
        self._loaded = True
        seen = set()
        eps = list(entry_points(group=group))
        ep_names = {ep.name for ep in eps}
        for name, ref in BUILTINS.items():
            if name in ep_names:
                continue  # the installed metadata lists it: load it from there
            self._try_add(name, lambda ref=ref: _load_ref(ref))
        for ep in eps:
            if ep.name in seen:
                continue
            seen.add(ep.name)
            self._try_add(ep.name, ep.load)

    def _try_add(self, label: str, loader) -> None:
        try:
            self.add(_instantiate(loader()))
        except Exception as exc:  # a broken plugin must not break decoding
            msg = f"payload dissector {label!r} could not be loaded: {exc}"
            self.load_errors.append(msg)
            log.warning(msg)

    def _ensure(self) -> None:
        if not self._loaded:
            self.load()

    def reload(self) -> None:
        self.by_name.clear()
        self.ppid_table.clear()
        self.port_table.clear()
        self.load_errors.clear()
        self.load()

    # -- lookup -------------------------------------------------------------
    def get(self, name: str) -> PayloadDissector | None:
        self._ensure()
        return self.by_name.get(name)

    def names(self) -> list[str]:
        self._ensure()
        return sorted(self.by_name)

    def find(self, ppid: int | None, sport: int | None = None, dport: int | None = None,
             decode_as=None) -> PayloadDissector | None:
        """The dissector for a message: PPID table, then lower port, then higher port.

        ``decode_as``: a mapping ``{("ppid", N) | ("port", N): NAME}`` or an
        iterable of ``"ppid:N=NAME"`` strings; its entries replace the tables'.
        """
        self._ensure()
        overrides = _normalise_decode_as(decode_as) if decode_as else None
        if ppid:  # PPID 0 = "unspecified" (RFC 9260 3.3.1): no PPID lookup
            d = self._lookup("ppid", ppid, self.ppid_table, overrides)
            if d is not None:
                return d
        ports = [p for p in (sport, dport) if p is not None]
        for port in sorted(set(ports)):
            d = self._lookup("port", port, self.port_table, overrides)
            if d is not None:
                return d
        return None

    def _lookup(self, kind, key, table, overrides):
        if overrides:
            name = overrides.get((kind, key))
            if name is not None:
                if name == NONE:
                    return None
                d = self.by_name.get(name)
                if d is None:
                    raise UserError(f"--decode-as {kind}:{key}={name}: no payload dissector "
                                    f"called {name!r} (known: {', '.join(self.names())})")
                return d
        return table.get(key)

    # -- dissection ---------------------------------------------------------
    def dissect(self, data: bytes, base: int, ppid: int | None, sport: int | None = None,
                dport: int | None = None, decode_as=None, notes: list | None = None,
                ctx: Context | None = None) -> Field | None:
        d = self.find(ppid, sport, dport, decode_as)
        if d is None:
            return None
        if ctx is None:
            ctx = Context(ppid=ppid, sport=sport, dport=dport)
        return run_dissector(d, data, base, ctx, notes)


def run_dissector(d: PayloadDissector, data: bytes, base: int, ctx: Context | None,
                  notes: list | None = None) -> Field:
    """Call ``d``; a dissector that raises gives a Field + error Note, never an exception."""
    try:
        tree, new_notes = d.dissect(bytes(data), base, ctx)
    except Exception as exc:  # third-party code: contain it like Wireshark does
        tree = Field(getattr(d, "protocol", "") or d.name, None, base, len(data),
                     show=f"{d.name}: dissector failed")
        new_notes = [Note(ERROR, "malformed",
                          f"{d.name} dissector raised {type(exc).__name__}: {exc}",
                          base, len(data), None, "sctpinspect.dissector_exception")]
    if notes is not None:
        notes.extend(new_notes)
    return tree


def parse_decode_as(text: str) -> tuple[tuple[str, int], str]:
    """Parse one ``--decode-as`` value: ``ppid:N=NAME`` or ``port:N=NAME``.

    Returns ``(("ppid", N), NAME)``.  Raises UserError with a one-line message.
    """
    t = text.strip()
    kind, sep, rest = t.partition(":")
    key, sep2, name = rest.partition("=")
    kind = kind.strip().lower()
    if not sep or not sep2 or kind not in ("ppid", "port") or not name.strip():
        raise UserError(f"--decode-as {text!r}: expected ppid:N=NAME or port:N=NAME "
                        f"(e.g. ppid:3=m3ua, port:3868=diameter)")
    try:
        n = int(key.strip(), 0)
    except ValueError:
        raise UserError(f"--decode-as {text!r}: {key.strip()!r} is not a number") from None
    limit = 0xFFFFFFFF if kind == "ppid" else 0xFFFF
    if not 0 <= n <= limit:
        raise UserError(f"--decode-as {text!r}: {kind} must be between 0 and {limit}")
    name = name.strip().lower()
    if name != NONE and registry.get(name) is None:
        raise UserError(f"--decode-as {text!r}: no payload dissector called {name!r} "
                        f"(known: {', '.join(registry.names())}, or none)")
    return (kind, n), name


def _normalise_decode_as(decode_as) -> Mapping:
    if isinstance(decode_as, Mapping):
        return decode_as
    if isinstance(decode_as, str):
        decode_as = [decode_as]
    out = {}
    for item in decode_as:
        if isinstance(item, str):
            k, v = parse_decode_as(item)
        else:
            k, v = item
        out[k] = v
    return out


def parse_decode_as_list(items: Iterable[str] | None) -> dict:
    """Many ``--decode-as`` values (argparse ``action="append"``) -> mapping for ``find``."""
    return _normalise_decode_as(list(items or ()))


registry = DissectorRegistry()


def find(ppid, sport=None, dport=None, decode_as=None) -> PayloadDissector | None:
    return registry.find(ppid, sport, dport, decode_as)


def dissect_payload(data: bytes, base: int, ppid: int | None, sport: int | None = None,
                    dport: int | None = None, decode_as=None, notes: list | None = None,
                    ctx: Context | None = None) -> Field | None:
    """Decode one user message, or return None when no dissector claims it.

    ``base``: frame offset of ``data[0]`` (the DATA chunk's payload offset for
    an unfragmented message).  Expert notes are appended to ``notes`` when given.
    """
    return registry.dissect(data, base, ppid, sport, dport, decode_as, notes, ctx)
