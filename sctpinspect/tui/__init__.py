"""Terminal UI (Textual): ``sctpinspect FILE`` / ``sctpinspect -i IFACE``.  See docs/tui.md."""
from .app import SctpInspectApp, save_pcapng
from .store import PacketStore, read_record_at

__all__ = ["SctpInspectApp", "PacketStore", "read_record_at", "save_pcapng"]
