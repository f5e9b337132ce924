"""Library API: analyse a whole capture file (used by ``assoc``, ``streams``, ``flow``, the TUI)."""
from __future__ import annotations

from typing import Callable, Iterable

from ..model import Packet
from .core import AnalysisOptions, Analyzer, Association, Message


class AnalysisResult:
    """What :func:`analyze_file` found.

    ``associations``: every :class:`Association`, by ``assoc_index`` (0-based as
    Wireshark's ``sctp.assoc_index``); ``messages``: reassembled user messages
    in completion order; ``packets``: ``{frame number: pkt.analysis dict}`` for
    every SCTP packet (when ``keep_packets``); ``evicted``: what memory caps
    dropped; ``frames``/``sctp_packets``: counts.
    """

    def __init__(self, analyzer: Analyzer, frames: int, kept: list | None = None):
        self.analyzer = analyzer
        self.associations: list[Association] = analyzer.associations
        self.messages: list[Message] = analyzer.messages
        self.packets: dict = dict(analyzer.packets)
        self.kept_packets: list = kept or []
        self.evicted = dict(analyzer.evicted)
        self.frames = frames
        self.sctp_packets = analyzer.sctp_packets
        self.error = None          # the CaptureFileError that ended a damaged file

    def association(self, index: int) -> Association:
        return self.associations[index]

    def streams(self, index: int | None = None) -> list[dict]:
        """Rows ``{assoc_index, sender, negotiated, sid, ...StreamStats}``."""
        rows = []
        for a in self.associations:
            if index is not None and a.index != index:
                continue
            for side, d in enumerate(a.dirs):
                for sid, st in sorted(d.streams.items()):
                    row = {"assoc_index": a.index, "sender": side + 1,
                           "streams_out": a.streams_negotiated(side)}
                    row.update(st.to_dict())
                    rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {"frames": self.frames, "sctp_packets": self.sctp_packets,
                "associations": [a.to_dict() for a in self.associations],
                "evicted": self.evicted}


def analyze_packets(packets: Iterable[Packet], options: AnalysisOptions | None = None,
                    keep: Callable[[Packet], bool] | None = None) -> AnalysisResult:
    """Analyse decoded packets; ``keep(pkt)`` selects Packets to return in ``kept_packets``."""
    an = Analyzer(options)
    kept = []
    n = 0
    for pkt in packets:
        n += 1
        an.feed(pkt)
        if keep is not None and keep(pkt):
            kept.append(pkt)
    return AnalysisResult(an, n, kept)


def decode_file(path: str, decode_options=None) -> Iterable[Packet]:
    """Decoded Packets of a capture file, streamed (the one source -> decode loop)."""
    from ..pipeline import Pipeline, open_records
    for pkt, _shown in Pipeline(open_records(path), decode_options):
        yield pkt


def analyze_file(path: str, options: AnalysisOptions | None = None, decode_options=None,
                 keep: Callable[[Packet], bool] | None = None, shards: int = 1) -> AnalysisResult:
    """Decode and analyse ``path`` (pcap/pcapng) in one streaming pass.

    ``options.keep_packets`` (default True here) keeps each SCTP packet's
    ``analysis`` dict in ``result.packets``; ``keep`` returns whole Packets.
    A damaged file gives the result of every frame before the damage, with
    the source's :class:`~sctpinspect.errors.CaptureFileError` in
    ``result.error`` (the caller prints what it has, then the error).
    ``shards`` > 1 analyses in that many processes, sharded by association
    (:mod:`.shard`), when nothing per packet is asked for (no ``keep``, no
    ``keep_packets``); the result is the same.
    """
    from ..errors import CaptureFileError
    from ..pipeline import Pipeline, open_records
    if options is None:
        options = AnalysisOptions(keep_packets=True)
    if shards > 1 and keep is None and not options.keep_packets and path != "-":
        from ..decode import DecodeOptions
        from ..pipeline import check_readable
        from .shard import analyze_sharded
        if not isinstance(path, (list, tuple)):     # a list: sources/merge.py checked it
            check_readable(path)
        merged = analyze_sharded(lambda: open_records(path), options,
                                 decode_options or DecodeOptions(), shards)
        if merged is not None:
            an, frames, error = merged
            result = AnalysisResult(an, frames)
            result.error = error
            return result
    an = Analyzer(options)
    pipe = Pipeline(open_records(path), decode_options, analyse=an.feed)
    kept = []
    error = None
    try:
        if keep is None:
            for _pkt in pipe:
                pass
        else:
            for pkt, _shown in pipe:
                if keep(pkt):
                    kept.append(pkt)
    except CaptureFileError as e:
        error = e
    result = AnalysisResult(an, pipe.frames, kept)
    result.error = error
    return result
