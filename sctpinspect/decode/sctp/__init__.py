"""SCTP dissector (RFC 9260 + extensions).

Entry point: :func:`dissect_sctp`.  Protocol knowledge lives in tables:
``CHUNK_TYPES`` (chunks.py), ``PARAMETER_TYPES`` (params.py), ``CAUSES``
(causes.py), ``PPIDS`` (names.py); each row names one decode function.
"""
from __future__ import annotations

from . import fields  # noqa: F401  (registers every field at import)
from .chunks import CHUNK_TYPES, chunk_summary, dissect_chunks
from .causes import CAUSES
from .names import CAUSE_NAMES, CHUNK_NAMES, PARAMETER_NAMES, PPIDS
from .packet import dissect_sctp
from .params import PARAMETER_TYPES

__all__ = ["dissect_sctp", "chunk_summary", "CHUNK_TYPES", "PARAMETER_TYPES", "CAUSES", "PPIDS",
           "CHUNK_NAMES", "PARAMETER_NAMES", "CAUSE_NAMES", "dissect_chunks"]
