"""Hand payloads we do not decode natively (S1AP, NGAP, X2AP, SUA, SCCP/TCAP/MAP
over M3UA, ...) to Wireshark through pyshark, and graft tshark's tree into ours.

tshark decodes whole frames of a capture file; we keep the protocol layers it
puts above ``sctp`` (in frame order, one per DATA chunk or reassembled message
it dissected) and turn them into :class:`~sctpinspect.model.Field` trees:
``name`` is tshark's filter name (text-only items get ``sctpinspect.text``),
``value`` tshark's ``show`` string, ``offset``/``length`` its ``pos``/``size``
(frame bytes, like ours), ``show`` its one-line label (``showname``).
Hidden items (``hide="yes"``, e.g. PER's internal fields) are left out, as in
Wireshark's tree.

Which pyshark mode, and why (checked on S1AP frames of open5gs/testattach,
pyshark 0.6, tshark 4.0):

============================  =======  ==================  ==================
pyshark mode                  nesting  frame offsets       readable labels
============================  =======  ==================  ==================
``use_json=True`` +           yes      yes (``<f>_raw`` =  no: values only
``include_raw=True``                   [hex, pos, len,     (``"17"``, not
                                       mask, type]), but   ``procedureCode:
                                       0 for fields in a   id-S1Setup (17)``);
                                       sub-buffer (PER     duplicate names are
                                       bit strings)        merged into lists,
                                                           losing tree order
``use_json=False`` (PDML,     no:      yes (``pos`` /      yes (``showname``)
``XmlLayer``)                 every    ``size``)
                              field of
                              a layer
                              in one
                              flat dict
============================  =======  ==================  ==================

Only tshark's PDML has all three, and pyshark's PDML parser flattens it
(``XmlLayer`` keeps ``findall('.//field')``).  So the bridge uses pyshark's
machinery for everything but that last step: :class:`_TreeCapture` is a
``pyshark.FileCapture`` (tshark found by ``pyshark.tshark.tshark.get_process_path``,
its parameters: ``display_filter``, ``override_prefs``, ``decode_as``,
``custom_parameters``; its process handling, PDML stream splitting and
crash reports) whose output parser is pyshark's ``TsharkXmlParser`` with one
method replaced: each ``<packet>`` becomes our nested Fields instead of a
flat ``XmlLayer``.

Event loops: pyshark runs tshark through asyncio (``run_until_complete``).
Called from inside a running loop (the Textual TUI runs one) that raises
"Cannot run the event loop while another loop is running", and pyshark's own
loop setup in the main thread replaces asyncio's child watcher.  Every request therefore runs in a
short-lived worker thread with a fresh event loop handed to pyshark
(``eventloop=``), whatever thread or loop the caller is in.  One more
override: after EOF the capture waits for tshark to exit instead of letting
pyshark ``kill()`` it, which raced with asyncio's child watcher (``Popen.kill``
reaps the exited child, the watcher then reports 255 and pyshark calls it a
crash: 1 run in ~8 failed before).

Uses: :func:`decode_frame` on demand (the packet the user opens),
:func:`decode_frames` for a list of frames (one tshark run per
:data:`BATCH`), :class:`FrameStream` in bulk alongside a whole read (one
tshark run in step with ours; ``sctpinspect.payload.payload_hook(bridge=...)``).

tshark missing: pyshark's ``TSharkNotFoundException`` becomes our one-line
:class:`~sctpinspect.errors.UserError`; so do a bad preference, an unreadable
file and a tshark that fails (its last stderr line).
"""
from __future__ import annotations

import asyncio
import functools
import queue
import threading
from typing import Iterable

from sctpinspect.errors import UserError
from sctpinspect.model import Field

# Layers tshark puts below the payload; everything after "sctp" in the frame is payload.
TRANSPORT = {"geninfo", "frame", "eth", "sll", "sll2", "null", "vlan", "ip", "ipv6", "udp",
             "sctp", "icmp", "icmpv6", "fake-field-wrapper", "_ws.malformed"}
TEXT = "sctpinspect.text"
BATCH = 500  # frame numbers per tshark run (display-filter length stays reasonable)

_MISSING = ("tshark is not installed (apt-get install tshark, or install Wireshark): "
            "it is needed to decode protocols without a native dissector")


def _pyshark():
    try:
        import pyshark  # noqa: F401
        from pyshark.tshark import tshark
    except ImportError:
        raise UserError("pyshark is not installed (pip install pyshark): the tshark bridge "
                        "needs it") from None
    return tshark


def tshark_path() -> str:
    """tshark's path as pyshark finds it (its config.ini, then PATH)."""
    tshark = _pyshark()
    try:
        return tshark.get_process_path()
    except tshark.TSharkNotFoundException:
        raise UserError(_MISSING) from None


@functools.lru_cache(maxsize=4)
def _version(path: str):
    """pyshark asks ``tshark -v`` once per capture object; once per process is enough."""
    return _pyshark().get_tshark_version(path)


# -- PDML packet -> Fields -----------------------------------------------------------
def _to_field(el) -> Field:
    name = el.get("name") or TEXT
    show = el.get("showname") or el.get("show")
    value = el.get("show")
    f = Field(name, value, int(el.get("pos") or 0), int(el.get("size") or 0), show=show)
    kids = [_to_field(c) for c in el
            if c.tag in ("field", "proto") and c.get("hide") != "yes"]
    if kids:
        f.children = kids
    return f


def _payload_layers(packet_el) -> list[Field]:
    out = []
    after_sctp = False
    for proto in packet_el.iterchildren("proto"):
        name = proto.get("name")
        if name == "sctp":
            after_sctp = True
            continue
        if after_sctp and name not in TRANSPORT:
            out.append(_to_field(proto))
    return out


def _frame_number(packet_el) -> int | None:
    for proto in packet_el.iterchildren("proto"):
        if proto.get("name") == "geninfo":
            for f in proto.iterchildren("field"):
                if f.get("name") == "num":
                    return int(f.get("show"))
        break
    return None


def _capture_class():
    """pyshark's FileCapture with a PDML parser that keeps the nesting (built on
    first use so that importing this module does not import pyshark)."""
    global _TreeCapture
    if _TreeCapture is not None:
        return _TreeCapture
    _pyshark()
    import lxml.etree
    import pyshark
    from pyshark.tshark.output_parser import tshark_xml

    class TreeParser(tshark_xml.TsharkXmlParser):
        """pyshark's PDML stream splitter; each <packet> -> (number, [Field])."""

        def _parse_single_packet(self, packet):
            text = packet.decode("utf-8", "ignore").translate(tshark_xml.DEL_BAD_XML_CHARS)
            parser = lxml.etree.XMLParser(huge_tree=True, recover=True)
            el = lxml.etree.fromstring(text.encode("utf-8"), parser)
            return _frame_number(el), _payload_layers(el)

    class TreeCapture(pyshark.FileCapture):
        def _setup_tshark_output_parser(self):
            return TreeParser()

        def _get_tshark_version(self):
            return _version(self._get_tshark_path())

        def _created_new_process(self, parameters, process, process_name="TShark"):
            self.started = getattr(self, "started", []) + [process]
            super()._created_new_process(parameters, process, process_name)

        async def _cleanup_subprocess(self, process):
            # After EOF tshark is exiting on its own: wait for asyncio's child
            # watcher to report it.  pyshark would kill() it at once, and
            # Popen.kill() reaps an exited child itself, so the watcher thread
            # then gets ECHILD, reports 255 and pyshark raises a "crash".
            if process.returncode is None and self._eof_reached:
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except asyncio.TimeoutError:
                    pass
            await super()._cleanup_subprocess(process)

    _TreeCapture = TreeCapture
    return TreeCapture


_TreeCapture = None


def _prefs(options: Iterable[str]) -> dict:
    out = {}
    for o in options:
        name, sep, value = str(o).partition(":")
        if not sep:
            raise UserError(f"tshark preference {o!r} is not name:value")
        out[name] = value
    return out


def _decode_as(entries: Iterable[str]) -> dict:
    out = {}
    for d in entries:
        crit, sep, proto = str(d).rpartition(",")
        if not sep:
            raise UserError(f"tshark decode-as {d!r} is not criterion,protocol "
                            "(e.g. sctp.ppi==60,ngap)")
        out[crit] = proto
    return out


def _run_batch(capture: str, frames: list[int], prefs: dict, decode_as: dict,
               result: dict) -> None:
    _run_filter(capture, "frame.number in {%s}" % ",".join(map(str, frames)), prefs,
                decode_as, result.__setitem__)


def _run_filter(capture: str, display_filter: str, prefs: dict, decode_as: dict,
                emit, stop: threading.Event | None = None) -> None:
    """One tshark run through pyshark, in the calling (worker) thread's own loop;
    ``emit(frame, layers)`` for each packet, until ``stop`` is set."""
    from pyshark.capture.capture import TSharkCrashException
    loop = asyncio.new_event_loop()
    cap = None
    failed = None
    it = None
    try:
        cap = _capture_class()(
            capture, keep_packets=False, eventloop=loop, display_filter=display_filter,
            override_prefs=prefs or None, decode_as=decode_as or None)
        it = iter(cap)
        for num, layers in it:
            if num is not None:
                emit(num, layers)
            if stop is not None and stop.is_set():
                break
    except TSharkCrashException:
        failed = cap
    finally:
        try:
            if it is not None:
                it.close()                    # stopped early: pyshark kills tshark here
            if cap is not None:
                cap.close()
        except TSharkCrashException:
            failed = cap
        finally:
            if cap is not None:
                cap._running_processes.clear()   # nothing left for Capture.__del__
                for proc in getattr(cap, "started", ()):
                    transport = getattr(proc, "_transport", None)
                    if transport is not None:
                        transport.close()
                loop.run_until_complete(asyncio.sleep(0))   # let the pipes say goodbye
            loop.close()
    if failed is not None:
        raise UserError(f"tshark failed on {capture}: {_last_error(failed)}")


def _last_error(cap) -> str:
    line = cap._last_error_line or ""
    return "no output" if not line or line.startswith("Running as user") else line


def _in_thread(fn, *args):
    """Run ``fn`` in a worker thread (fresh event loop, see module docstring);
    its exception, if any, is raised here."""
    box: dict = {}

    def work():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    t = threading.Thread(target=work, name="sctpinspect-tshark", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


class FrameStream:
    """tshark's payload layers of a whole capture, read in step with our own
    pass over it (bulk for ``read -V``): one tshark run, started at once in a
    worker thread, whose packets wait in a bounded queue, so memory stays
    constant and tshark works while we decode.  :meth:`layers` must be asked
    for increasing frame numbers.  ``display_filter`` limits the frames tshark
    sends (default: frames with DATA or I-DATA chunks)."""

    _END = object()

    def __init__(self, capture, options: Iterable[str] = (), decode_as: Iterable[str] = (),
                 display_filter: str = "sctp.chunk_type == 0 || sctp.chunk_type == 64",
                 maxsize: int = 256):
        capture = str(capture)
        tshark_path()
        prefs, das = _prefs(options), _decode_as(decode_as)
        self._q: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._head = None
        self._done = False

        def put(item) -> None:
            while not self._stop.is_set():
                try:
                    self._q.put(item, timeout=0.2)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            try:
                _run_filter(capture, display_filter, prefs, das,
                            lambda num, layers: put((num, layers)), self._stop)
                put(self._END)
            except BaseException as exc:  # noqa: BLE001 - raised in the reader's thread
                put(exc)

        self._thread = threading.Thread(target=work, name="sctpinspect-tshark-stream",
                                        daemon=True)
        self._thread.start()

    def _next(self):
        if self._done:
            return None
        item = self._q.get()
        if item is self._END:
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item

    def layers(self, frame: int) -> list[Field]:
        """tshark's payload layers of ``frame`` ([] if tshark sent none)."""
        while self._head is None or self._head[0] < frame:
            self._head = self._next()
            if self._head is None:
                return []
        return self._head[1] if self._head[0] == frame else []

    def close(self) -> None:
        """Stop tshark (if still running) and the worker thread."""
        self._stop.set()
        try:
            while True:
                self._q.get_nowait()
        except queue.Empty:
            pass
        self._thread.join(timeout=5)


def decode_frames(capture, frames: Iterable[int], options: Iterable[str] = (),
                  decode_as: Iterable[str] = ()) -> dict[int, list[Field]]:
    """tshark's payload layers for many frames of ``capture``: ``{frame: [Field]}``.

    ``options``: extra tshark preferences ``name:value`` (``sctp.reassembly:TRUE``);
    ``decode_as``: tshark ``-d`` entries (``sctp.ppi==60,ngap``).  Frames without
    SCTP payload map to [].  One tshark run per :data:`BATCH` frames (bulk, for
    ``read -V``).
    """
    capture = str(capture)
    tshark_path()                                 # UserError now if tshark is missing
    prefs, das = _prefs(options), _decode_as(decode_as)
    wanted = sorted({int(f) for f in frames})
    result: dict[int, list[Field]] = {f: [] for f in wanted}
    try:
        open(capture, "rb").close()
    except OSError as exc:
        raise UserError(f"cannot read {capture}: {exc.strerror or exc}") from None
    for i in range(0, len(wanted), BATCH):
        _in_thread(_run_batch, capture, wanted[i:i + BATCH], prefs, das, result)
    return result


def decode_frame(capture, frame: int, **kw) -> list[Field]:
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
