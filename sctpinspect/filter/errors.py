"""The filter error the user sees: message plus a caret under the culprit."""
from __future__ import annotations

from ..errors import UserError


class FilterError(UserError):
    """An invalid display filter.

    ``message`` is one sentence in Wireshark's wording; ``column`` the 0-based
    column in the filter text where the problem starts and ``length`` how many
    characters it spans.  ``str(err)`` is the message followed by the filter
    and a caret line (``^~~~``), as Wireshark's filter bar and tshark show it::

        "sctp.chunk_typ" is neither a field nor a protocol name.
            sctp.chunk_typ == 1
            ^~~~~~~~~~~~~~
    """

    def __init__(self, message: str, column: int = 0, length: int = 1,
                 text: str | None = None):
        self.message = message
        self.column = column
        self.length = max(1, length)
        self.text = text
        super().__init__(message, 2)

    def with_text(self, text: str) -> "FilterError":
        self.text = text
        return self

    @property
    def caret(self) -> str:
        """The marker line: spaces up to the column, ``^`` then ``~`` for the span."""
        return " " * self.column + "^" + "~" * (self.length - 1)

    def __str__(self) -> str:
        if self.text is None:
            return self.message
        return f"{self.message}\n    {self.text}\n    {self.caret}"
