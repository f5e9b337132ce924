"""Moved to :mod:`sctpinspect.tui.views.messages` (one module per view)."""
from .views.messages import COLUMNS, StreamMessagesScreen, collect, stream_of  # noqa: F401
