"""Hand complete user messages of DATA/I-DATA chunks to the payload dissectors.

The dissectors in ``dissectors/`` (M3UA, Diameter, WebRTC DCEP, third-party
plugins) are chosen by PPID or port, or forced with ``--decode-as``; their
tree becomes a top-level layer after ``sctp``, as in Wireshark's tree.  The
hook runs only when the output needs it, so plain reads stay fast.

Messages fragmented over several DATA/I-DATA chunks (B and E bits, RFC 9260
3.3.1 and 6.9; RFC 8260 2.1) are decoded as Wireshark does with its default
``sctp.reassembly:TRUE``: once, in the frame whose chunk completes the
message.  The reassembly is the analysis stage's (:class:`Analyzer
<sctpinspect.analysis.core.Analyzer>`, run here with ``annotate=False`` so it
adds nothing to the trees; its ``on_message`` callback hands over the
fragments' chunks; it only sees packets with a fragment or a control chunk
other than SACK/HEARTBEAT, which keeps its association tracking intact at a
fraction of the cost).  The message bytes become ``pkt.buffers["Reassembled SCTP
Message"]`` (Wireshark's name for that data source) and the layer's field
offsets point into it, as tshark's do.  Unfragmented messages are decoded from
every DATA chunk with B and E set, retransmissions included (tshark does the
same), with frame offsets.
"""
from __future__ import annotations

from typing import Callable, Iterable

from .analysis.hook import filter_names

DATA, I_DATA = 0, 64
# Chunks that change nothing the reassembly needs (association and direction
# of a fragment, its pending TSNs): packets made only of these and of whole
# (B+E) DATA/I-DATA chunks are not fed to the reassembling Analyzer.
_NOT_FOR_REASSEMBLY = frozenset({3, 4, 5, 16})   # SACK, HEARTBEAT, HEARTBEAT ACK, NR-SACK
BUFFER = "Reassembled SCTP Message"


def payload_protocols() -> set[str]:
    """Top-level field prefixes of the installed payload dissectors (loads them,
    which registers their fields for ``-e`` and ``-Y``)."""
    from dissectors.registry import registry
    registry.names()
    return {d.protocol for d in registry.by_name.values() if d.protocol}


def needs_payload(fields: Iterable[str] | None = None, display_filter: str | None = None,
                  verbose: bool = False, decode_as=None) -> bool:
    if verbose or decode_as:
        return True
    names = [*(fields or ()), *filter_names(display_filter)]
    prefixes = {n.split(".")[0] for n in names}     # "m3ua" alone is a protocol field too
    prefixes -= {"frame", "eth", "vlan", "sll", "ip", "ipv6", "udp", "icmp", "icmpv6", "sctp",
                 "sctpinspect"}
    return bool(prefixes & payload_protocols()) if prefixes else False


def _payload_field(chunk):
    for f in chunk.children or ():
        if f.name == "sctpinspect.payload":
            return f
    return None


def _user_data(pkt, chunk):
    """(bytes, offset, buffer name or None) of a DATA/I-DATA chunk's user data, or None.

    A well-formed chunk the decoder left unbuilt is read straight from the bytes
    (RFC 9260 3.3.1: 16-byte DATA header; RFC 8260 2.1: 20-byte I-DATA header; the
    chunk length excludes padding), so the hook does not build its subtree; any
    other chunk gives the decoder's ``sctpinspect.payload`` field."""
    bufname = None
    data = pkt.record.data
    if pkt.buffers:                       # SCTP inside a reassembled IP datagram
        bufname = pkt.buffers.get("layer:sctp")
        if bufname is not None:
            data = pkt.buffers.get(bufname, data)
    if getattr(chunk, "_build", None) is not None:
        start = chunk.offset + (16 if chunk.type == DATA else 20)
        end = chunk.offset + chunk.clen
        if start < end <= len(data):
            return bytes(data[start:end]), start, bufname
    f = _payload_field(chunk)
    if f is None or not f.length or f.value is None:
        return None
    return bytes(f.value), f.offset, bufname


def _add_buffer(pkt, data: bytes) -> str:
    if pkt.buffers is None:
        pkt.buffers = {}
    name, n = BUFFER, 1
    while name in pkt.buffers:
        n += 1
        name = f"{BUFFER} ({n})"
    pkt.buffers[name] = data
    return name


def payload_hook(decode_as=None, reassemble: bool = True, bridge=None,
                 bridge_options=(), bridge_decode_as=()) -> Callable:
    """A pipeline hook that appends the payload dissector's tree of every
    complete message in the packet to ``pkt.layers`` (notes to ``pkt.notes``):
    unfragmented messages from their chunk, fragmented ones (``reassemble``)
    in the frame that completes them.

    ``bridge``: the capture's path (or an object with ``layers(frame)``, such
    as :class:`dissectors.tshark_bridge.FrameStream`): tshark, through
    pyshark, decodes the same file alongside (one run, in step with ours), and
    each frame that completes a message gets the layers tshark has and the
    native dissectors do not (S1AP, NGAP, SCCP/TCAP above our M3UA...).  Their
    offsets are frame offsets, or offsets into the packet's "Reassembled SCTP
    Message" buffer when they lie outside every whole chunk's user data, as
    in tshark.  ``hook.close()`` stops tshark early."""
    from dissectors import dissect_payload
    payload_protocols()

    stream = None
    if bridge is not None:
        if hasattr(bridge, "layers"):
            stream = bridge
        else:
            from dissectors.tshark_bridge import FrameStream
            stream = FrameStream(bridge, options=bridge_options, decode_as=bridge_decode_as)

    completed: list = []
    analyzer = None
    if reassemble:
        from .analysis.core import AnalysisOptions, Analyzer
        # keep no Message records (the hook only needs the callback); the fragments
        # keep their user data until their message completes (bounded by the
        # analysis' reassembly caps)
        analyzer = Analyzer(AnalysisOptions(annotate=False, keep_messages=False, keep_payload=True))
        analyzer.on_message = lambda pkt, msg, frags: (
            completed.append((msg, frags)) if len(frags) > 1 else None)

    def reassembled(pkt) -> dict:
        """{id(completing chunk): [(Message, chunks)]} for this packet."""
        completed.clear()
        saved = pkt.analysis          # an earlier analysis hook's result stays the packet's
        analyzer.feed(pkt)
        pkt.analysis = saved
        if not completed:
            return {}
        order = {id(c): i for i, c in enumerate(pkt.chunks)}
        at: dict = {}
        for msg, frags in completed:
            # the message completed at its last chunk (in packet order) in this packet
            last = max((f.chunk for f in frags if f.chunk is not None and id(f.chunk) in order),
                       key=lambda c: order[id(c)], default=pkt.chunks[-1])
            at.setdefault(id(last), []).append((msg, frags))
        return at

    def dissect_reassembled(pkt, msg, frags) -> str | None:
        """Dissect one reassembled message; the name of its buffer (if made)."""
        parts = []
        for f in frags:
            if f.data is None:
                return None                   # a fragment without bytes (truncated capture)
            parts.append(f.data)
        data = b"".join(parts)
        if not data:
            return None
        tree = dissect_payload(data, 0, msg.ppid, pkt.sport, pkt.dport, decode_as, pkt.notes)
        if tree is None and stream is None:
            return None
        name = _add_buffer(pkt, data)
        if tree is not None:
            pkt.buffers.setdefault("layer:" + tree.name, name)
            pkt.layers.append(tree)
        return name

    def graft_tshark(pkt, whole: list, reassembled_buf: str | None) -> None:
        native = {layer.name for layer in pkt.layers}
        for layer in stream.layers(pkt.number):
            if layer.name in native:
                continue
            pkt.layers.append(layer)
            buf = reassembled_buf
            for start, end, bufname in whole:
                if start <= layer.offset < end:
                    buf = bufname
                    break
            if buf is not None:
                if pkt.buffers is None:
                    pkt.buffers = {}
                pkt.buffers.setdefault("layer:" + layer.name, buf)

    def hook(pkt) -> None:
        if pkt.sctp_offset < 0:
            return
        at = {}
        if analyzer is not None:
            for c in pkt.chunks:
                t = c.type
                if (t == DATA or t == I_DATA) and c.flags & 3 != 3 \
                        or t not in _NOT_FOR_REASSEMBLY and t != DATA and t != I_DATA:
                    at = reassembled(pkt)
                    break
        whole = []                        # (start, end, buffer) of whole messages' user data
        reassembled_buf = None
        messages = 0
        for c in pkt.chunks:
            if c.type != DATA and c.type != I_DATA:
                continue
            if c.flags & 3 == 3:
                ud = _user_data(pkt, c)
                if ud is not None:
                    data, base, bufname = ud
                    messages += 1
                    whole.append((base, base + len(data), bufname))
                    tree = dissect_payload(data, base, c.get("sctp.data_payload_proto_id"),
                                           pkt.sport, pkt.dport, decode_as, pkt.notes)
                    if tree is not None:
                        if bufname is not None:
                            pkt.buffers.setdefault("layer:" + tree.name, bufname)
                        pkt.layers.append(tree)
            for msg, frags in at.get(id(c), ()):
                messages += 1
                reassembled_buf = dissect_reassembled(pkt, msg, frags) or reassembled_buf
        if stream is not None and messages:
            graft_tshark(pkt, whole, reassembled_buf)

    hook.close = stream.close if stream is not None and hasattr(stream, "close") \
        else (lambda: None)
    return hook
