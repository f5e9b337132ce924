"""Analysis stage: associations, endpoint states, streams, messages, TSN analysis.

``Analyzer().feed(pkt)`` annotates Packets one by one (streaming);
``analyze_file(path)`` runs a whole capture and returns an :class:`AnalysisResult`.
See docs/analysis.md.
"""
# Loaded on first use (PEP 562): ``read`` imports analysis.hook on every run
# to learn whether it needs the analysis at all, and should not pay for it.
_EXPORTS = {
    "AnalysisResult": "api", "analyze_file": "api", "analyze_packets": "api", "decode_file": "api",
    "AnalysisOptions": "core", "Analyzer": "core", "Association": "core", "Direction": "core",
    "Endpoint": "core", "Message": "core", "PathStats": "core", "StreamStats": "core",
    "STATES": "states", "TABLE": "states", "lookup": "states",
}


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


__all__ = ["Analyzer", "AnalysisOptions", "AnalysisResult", "analyze_file", "analyze_packets",
           "decode_file", "Association", "Direction", "Endpoint", "Message", "PathStats",
           "StreamStats", "STATES", "TABLE", "lookup"]
