"""Fields the analysis stage adds to packets (names/types as ``tshark -G fields``, 4.0).

Wireshark marks them as generated (``[...]`` in the tree); the ``sctpinspect.``
ones have no Wireshark equivalent.
"""
from ..model import GENERATED
from ..registry import (BASE_DEC, FT_FRAMENUM, FT_NONE, FT_RELATIVE_TIME, FT_STRING,
                        FT_UINT16, FT_UINT32, register_table)

_TABLE = [
    ("sctp.assoc_index", "Association index", FT_UINT16, BASE_DEC),
    # TSN analysis (RFC 9260 6.2 / 6.3 retransmission, 6.2.1 SACK processing)
    ("sctp.retransmission", "This TSN is a retransmission of one in frame", FT_FRAMENUM),
    ("sctp.retransmission_time", "Retransmitted after", FT_RELATIVE_TIME),
    ("sctp.retransmitted", "This TSN is retransmitted in frame", FT_FRAMENUM),
    ("sctp.retransmitted_count", "TSN was retransmitted this many times", FT_UINT32, BASE_DEC),
    ("sctp.retransmitted_after_ack", "Chunk was acked prior to retransmission", FT_FRAMENUM),
    ("sctp.acked", "This chunk is acked in frame", FT_FRAMENUM),
    ("sctp.data_rtt", "The RTT to SACK was", FT_RELATIVE_TIME),
    ("sctp.ack", "Acknowledges TSN", FT_UINT32, BASE_DEC),
    ("sctp.ack_frame", "Acknowledges TSN in frame", FT_FRAMENUM),
    ("sctp.sack_rtt", "The RTT since DATA was", FT_RELATIVE_TIME),
    # Reassembly of user messages (RFC 9260 6.9, RFC 8260 2.1 for I-DATA)
    ("sctp.fragment", "SCTP Fragment", FT_FRAMENUM),
    ("sctp.fragments", "Reassembled SCTP Fragments", FT_NONE),
    ("sctp.reassembled_in", "Reassembled Message in frame", FT_FRAMENUM),
    ("sctp.duplicate", "Fragment already seen in frame", FT_FRAMENUM),
    # expert names
    ("sctp.retransmission.expert", "Retransmitted TSN", FT_NONE),
    ("sctp.retransmitted_after_ack.expert",
     "This TSN was acked prior to this retransmission (reneged ack?).", FT_NONE),
    ("sctp.retransmission.more_than_twice", "This TSN was retransmitted more than 2 times.", FT_NONE),
    # sctpinspect-only
    ("sctpinspect.assoc_state", "Endpoint states after this packet", FT_STRING),
]
register_table(_TABLE)
GENERATED.update(row[0] for row in _TABLE)
