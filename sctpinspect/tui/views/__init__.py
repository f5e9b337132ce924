"""The views of the TUI, one module each, and the table of views.

``VIEWS`` drives the app: the tabs are composed from it in its order, each
row's number key is bound to ``tab('<view_id>')``, the key focuses the row's
main widget, the command palette lists its entry, the help screen shows its
section, and the periodic tick / tab activation call its ``tick`` /
``refresh_view``.  A new view is one module with a :class:`~.base.View`
subclass and one row here (docs/tui.md, "Adding a view").

The content builders (pure functions of the store and the analyzer, compared
with the commands by the tests) are in :mod:`.content`.
"""
from __future__ import annotations

from .associations import AssociationsView
from .base import DeferredPane, DeferredView, FocusStatic, Table, View  # noqa: F401
from .content import (ASSOC_COLUMNS, assoc_rows, diagnostics_text, endpoint_text,  # noqa: F401
                      findings, flow_lines, message_payload, message_rows, ppids_text,
                      stream_rows)
from .diagnostics import DiagnosticsView
from .flow import FlowView
from .packets import PacketsView
from .send import SendView
from .streams import StreamsView
from .tsn import TsnView

# the table of views, in tab order
VIEWS: tuple[type[View], ...] = (PacketsView, AssociationsView, StreamsView, FlowView, TsnView,
                                 DiagnosticsView, SendView)
