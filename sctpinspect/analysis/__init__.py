"""Analysis stage: associations, endpoint states, streams, messages, TSN analysis.

``Analyzer().feed(pkt)`` annotates Packets one by one (streaming);
``analyze_file(path)`` runs a whole capture and returns an :class:`AnalysisResult`.
See docs/analysis.md.
"""
from .api import AnalysisResult, analyze_file, analyze_packets, decode_file
from .core import (AnalysisOptions, Analyzer, Association, Direction, Endpoint, Message,
                   PathStats, StreamStats)
from .states import STATES, TABLE, lookup

__all__ = ["Analyzer", "AnalysisOptions", "AnalysisResult", "analyze_file", "analyze_packets",
           "decode_file", "Association", "Direction", "Endpoint", "Message", "PathStats",
           "StreamStats", "STATES", "TABLE", "lookup"]
