"""Linux kernel SCTP socket API numbers and struct layouts (RFC 6458).

Every value and layout here is the one in the Linux uapi header
``include/uapi/linux/sctp.h`` (checked against /usr/include/linux/sctp.h of
Debian 12 and exercised on a 6.1 kernel in the lab VM).  Python's ``socket``
module knows nothing of SCTP beyond ``IPPROTO_SCTP``, so the structs are
packed by hand with :mod:`struct`; ``@`` (native alignment) matches the C
layout because every struct below is naturally aligned, except the two
``packed, aligned(4)`` ones (``sctp_paddr_change``) that are unpacked field
by field at fixed offsets.
"""
from __future__ import annotations

import struct

IPPROTO_SCTP = 132
SOL_SCTP = 132                      # cmsg_level / setsockopt level

# ---- socket options (setsockopt level SOL_SCTP) ----
SCTP_INITMSG = 2                    # struct sctp_initmsg
SCTP_NODELAY = 3
SCTP_STATUS = 14
SCTP_RECVRCVINFO = 32               # int: deliver SCTP_RCVINFO cmsgs
SCTP_SOCKOPT_BINDX_ADD = 100        # packed sockaddrs
SCTP_SOCKOPT_CONNECTX = 110         # packed sockaddrs; returns the assoc id
SCTP_PR_SUPPORTED = 113
SCTP_EVENT = 127                    # struct sctp_event

# ---- cmsg types (enum sctp_cmsg_type) ----
SCTP_INIT, SCTP_SNDRCV, SCTP_SNDINFO, SCTP_RCVINFO, SCTP_NXTINFO, SCTP_PRINFO = range(6)

# ---- snd_flags / rcv_flags (enum sctp_sinfo_flags) ----
SCTP_UNORDERED = 1 << 0
SCTP_ADDR_OVER = 1 << 1
SCTP_ABORT = 1 << 2
SCTP_SACK_IMMEDIATELY = 1 << 3
SCTP_SENDALL = 1 << 6
MSG_NOTIFICATION = 0x8000           # recvmsg msg_flags: this is a notification
MSG_EOR = 0x80
SCTP_EOF = 0x200                    # MSG_FIN: graceful shutdown of the association

# ---- PR-SCTP policies (struct sctp_prinfo.pr_policy) ----
SCTP_PR_SCTP_NONE = 0x0000
SCTP_PR_SCTP_TTL = 0x0010
SCTP_PR_SCTP_RTX = 0x0020
SCTP_PR_SCTP_PRIO = 0x0030

# ---- notification types (enum sctp_sn_type, SCTP_SN_TYPE_BASE = 1 << 15) ----
SCTP_ASSOC_CHANGE = 0x8001
SCTP_PEER_ADDR_CHANGE = 0x8002
SCTP_SEND_FAILED = 0x8003
SCTP_REMOTE_ERROR = 0x8004
SCTP_SHUTDOWN_EVENT = 0x8005
SCTP_PARTIAL_DELIVERY_EVENT = 0x8006
SCTP_ADAPTATION_INDICATION = 0x8007
SCTP_AUTHENTICATION_EVENT = 0x8008
SCTP_SENDER_DRY_EVENT = 0x8009
SCTP_STREAM_RESET_EVENT = 0x800A
SCTP_ASSOC_RESET_EVENT = 0x800B
SCTP_STREAM_CHANGE_EVENT = 0x800C
SCTP_SEND_FAILED_EVENT = 0x800D

NOTIFICATION_NAMES = {
    SCTP_ASSOC_CHANGE: "assoc_change",
    SCTP_PEER_ADDR_CHANGE: "peer_addr_change",
    SCTP_SEND_FAILED: "send_failed",
    SCTP_REMOTE_ERROR: "remote_error",
    SCTP_SHUTDOWN_EVENT: "shutdown",
    SCTP_PARTIAL_DELIVERY_EVENT: "partial_delivery",
    SCTP_ADAPTATION_INDICATION: "adaptation",
    SCTP_AUTHENTICATION_EVENT: "authentication",
    SCTP_SENDER_DRY_EVENT: "sender_dry",
    SCTP_STREAM_RESET_EVENT: "stream_reset",
    SCTP_ASSOC_RESET_EVENT: "assoc_reset",
    SCTP_STREAM_CHANGE_EVENT: "stream_change",
    SCTP_SEND_FAILED_EVENT: "send_failed_event",
}

#: what an endpoint subscribes to by default (RFC 6458 6.2.1 SCTP_EVENT)
DEFAULT_EVENTS = (SCTP_ASSOC_CHANGE, SCTP_PEER_ADDR_CHANGE, SCTP_REMOTE_ERROR,
                  SCTP_SHUTDOWN_EVENT, SCTP_SEND_FAILED_EVENT, SCTP_ADAPTATION_INDICATION,
                  SCTP_PARTIAL_DELIVERY_EVENT)

# sac_state (enum sctp_sac_state)
ASSOC_STATES = ("COMM_UP", "COMM_LOST", "RESTART", "SHUTDOWN_COMP", "CANT_STR_ASSOC")
# spc_state (enum sctp_spc_state)
ADDR_STATES = ("ADDR_AVAILABLE", "ADDR_UNREACHABLE", "ADDR_REMOVED", "ADDR_ADDED",
               "ADDR_MADE_PRIM", "ADDR_CONFIRMED", "ADDR_POTENTIALLY_FAILED")
# ssf_flags of sctp_send_failed_event (enum sctp_ssf_flags: 0, 1)
SEND_FAILED_FLAGS = ("DATA_UNSENT", "DATA_SENT")

# ---- structs (field order and sizes from include/uapi/linux/sctp.h) ----
#: struct sctp_initmsg {u16 num_ostreams, max_instreams, max_attempts, max_init_timeo}
INITMSG = struct.Struct("@HHHH")                      # 8 bytes
#: struct sctp_sndinfo {u16 sid, flags; u32 ppid (network order), context; s32 assoc_id}
SNDINFO = struct.Struct("@HHIIi")                     # 16 bytes
#: struct sctp_rcvinfo {u16 sid, ssn, flags; u32 ppid, tsn, cumtsn, context; s32 assoc_id}
RCVINFO = struct.Struct("@HHHIIIIi")                  # 28 bytes (2 bytes padding after flags)
#: struct sctp_prinfo {u16 pr_policy; u32 pr_value}
PRINFO = struct.Struct("@HI")                         # 8 bytes (2 bytes padding)
#: struct sctp_event {s32 assoc_id; u16 se_type; u8 se_on}
EVENT = struct.Struct("@iHBx")                        # 8 bytes
#: struct sctp_assoc_change after the 8-byte header {u16 state, error, outbound, inbound; s32 assoc_id}
ASSOC_CHANGE = struct.Struct("@HHHHi")                # at offset 8, then sac_info[]
#: notification header {u16 type, flags; u32 length}
SN_HEADER = struct.Struct("@HHI")
SOCKADDR_STORAGE_SIZE = 128
#: struct sctp_status head {s32 assoc_id, state; u32 rwnd; u16 unackdata, penddata, instrms, outstrms; u32 frag}
STATUS_HEAD = struct.Struct("@iiIHHHHI")
