"""Hand payloads we do not decode natively (S1AP, NGAP, X2AP, SUA, SCCP/TCAP/MAP
over M3UA, ...) to Wireshark's tshark and graft its tree into ours.

tshark decodes whole frames of a capture file; we keep the protocol layers it
puts above ``sctp`` (in frame order, one per DATA chunk it dissected) and turn
them into :class:`~sctpinspect.model.Field` trees: ``name`` is tshark's filter
name (text-only items get ``sctpinspect.text``), ``value`` tshark's ``show``
string, ``offset``/``length`` its ``pos``/``size`` (frame bytes, like ours),
``show`` its one-line ``showname``.

Why tshark directly rather than pyshark: pyshark drives the same ``tshark -T
pdml`` but needs an asyncio event loop per capture and hides the tree nesting
that grafting needs; one subprocess per request (or per batch of frames) is
simpler and faster.  pyshark is still usable for ad-hoc work.
"""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Iterable

from sctpinspect.errors import UserError
from sctpinspect.model import Field

# Layers tshark puts below the payload; everything after "sctp" in the frame is payload.
TRANSPORT = {"geninfo", "frame", "eth", "sll", "sll2", "null", "vlan", "ip", "ipv6", "udp",
             "sctp", "icmp", "icmpv6", "fake-field-wrapper", "_ws.malformed"}
TEXT = "sctpinspect.text"
BATCH = 500  # frame numbers per tshark run (display-filter length stays reasonable)


def tshark_path() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise UserError("tshark is not installed (apt-get install tshark, or install "
                        "Wireshark): it is needed to decode protocols without a native "
                        "dissector")
    return path


def _to_field(el) -> Field:
    name = el.get("name") or TEXT
    show = el.get("showname") or el.get("show")
    value = el.get("show")
    f = Field(name, value, int(el.get("pos") or 0), int(el.get("size") or 0), show=show)
    kids = [_to_field(c) for c in el if c.tag in ("field", "proto")]
    if kids:
        f.children = kids
    return f


def _payload_layers(packet_el) -> list[Field]:
    out = []
    after_sctp = False
    for proto in packet_el.findall("proto"):
        name = proto.get("name")
        if name == "sctp":
            after_sctp = True
            continue
        if after_sctp and name not in TRANSPORT:
            out.append(_to_field(proto))
    return out


def decode_frames(capture: str, frames: Iterable[int], options: Iterable[str] = (),
                  decode_as: Iterable[str] = ()) -> dict[int, list[Field]]:
    """tshark's payload layers for many frames of ``capture``: ``{frame: [Field]}``.

    ``options``: extra ``-o name:value`` preferences; ``decode_as``: tshark
    ``-d`` entries (``sctp.ppi==60,ngap``).  Frames without SCTP payload map to [].
    """
    tshark = tshark_path()
    wanted = sorted({int(f) for f in frames})
    result: dict[int, list[Field]] = {f: [] for f in wanted}
    for i in range(0, len(wanted), BATCH):
        chunk = wanted[i:i + BATCH]
        cmd = [tshark, "-n", "-r", str(capture), "-T", "pdml",
               "-Y", "frame.number in {%s}" % ",".join(map(str, chunk))]
        for o in options:
            cmd += ["-o", o]
        for d in decode_as:
            cmd += ["-d", d]
        try:
            proc = subprocess.run(cmd, capture_output=True)
        except OSError as exc:
            raise UserError(f"could not run tshark: {exc}") from None
        if proc.returncode != 0 and not proc.stdout:
            msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UserError(f"tshark failed on {capture}: {msg[-1] if msg else 'no output'}")
        try:
            root = ET.fromstring(proc.stdout)
        except ET.ParseError as exc:
            raise UserError(f"tshark output for {capture} could not be read: {exc}") from None
        for packet in root.iter("packet"):
            num = None
            for f in packet.find("proto").iter("field"):  # geninfo
                if f.get("name") == "num":
                    num = int(f.get("show"))
                    break
            if num is not None:
                result[num] = _payload_layers(packet)
    return result


def decode_frame(capture: str, frame: int, **kw) -> list[Field]:
    """tshark's payload layers for one frame (on demand, e.g. the TUI's detail pane)."""
    return decode_frames(capture, [frame], **kw).get(int(frame), [])


def graft(parent: Field, layers: list[Field], start: int | None = None,
          end: int | None = None) -> list[Field]:
    """Append to ``parent`` the layers lying within frame bytes [start, end).

    With bundled DATA chunks, pass each chunk's payload range so each chunk
    gets the layers tshark decoded from its bytes.
    """
    picked = [f for f in layers
              if (start is None or f.offset >= start) and (end is None or f.offset < end)]
    for f in picked:
        parent.append(f)
    return picked
