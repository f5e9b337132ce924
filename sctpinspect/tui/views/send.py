"""7 Send: the Send panel (kernel SCTP through :mod:`sctpinspect.sock.session`, or craft)."""
from __future__ import annotations

from .base import DeferredView


class SendView(DeferredView):
    view_id, key, tab_title, short = "send", "7", "Send", "Send"
    main = "#send-role"
    palette = "Send panel (kernel SCTP)"
    help = """\
[b]Send[/b]           kernel SCTP: F5 connect/listen, F6 send, F7 shut down, F8 abort, F9 stop;
                      role "craft": F5 builds a raw probe (INIT, ABORT, DATA, any chunk), F6 sends it
"""

    def build(self) -> list:
        from ..send_panel import SendPanel     # issue 7: kernel SCTP send panel
        return [SendPanel(id="send-panel")]
