"""Live capture from AF_PACKET sockets (see :mod:`sctpinspect.capture.engine`)."""
from .engine import CaptureStats, LiveCapture, open_live
from .interfaces import Interface, available

__all__ = ["LiveCapture", "CaptureStats", "open_live", "Interface", "available"]
