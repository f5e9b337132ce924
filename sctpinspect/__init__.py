"""sctpinspect: a Wireshark-style inspector and dissector for SCTP (RFC 9260)."""

__version__ = "0.1.0"
