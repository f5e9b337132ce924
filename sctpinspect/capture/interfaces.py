"""Network interfaces for live capture: names, indexes and link types."""
from __future__ import annotations

import socket

from ..errors import UserError
from .bpf import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW

ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE        # tun, wireguard: frames are bare IP packets
ARPHRD_RAWIP = 519

# ARPHRD_* -> LINKTYPE_* for a SOCK_RAW socket on a named interface.  Linux
# `lo` has a (zeroed) Ethernet header.  Anything else is read cooked (SLL2),
# like libpcap does for link layers it does not know.
_LINKTYPE_FOR_ARPHRD = {ARPHRD_ETHER: LINKTYPE_ETHERNET, ARPHRD_LOOPBACK: LINKTYPE_ETHERNET,
                        ARPHRD_NONE: LINKTYPE_RAW, ARPHRD_RAWIP: LINKTYPE_RAW}


def available() -> list[str]:
    """Interface names, in index order, plus "any"."""
    return [name for _, name in sorted(socket.if_nameindex())] + ["any"]


def arphrd(name: str) -> int:
    try:
        with open(f"/sys/class/net/{name}/type") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return -1


def loopback_indexes() -> set[int]:
    return {idx for idx, name in socket.if_nameindex() if arphrd(name) == ARPHRD_LOOPBACK}


class Interface:
    """What capture needs to know about ``-i NAME``.

    ``linktype`` is what frames (and the pcapng IDB) carry; ``cooked`` says the
    socket is SOCK_DGRAM and we build an SLL2 header from the sockaddr_ll.
    """

    def __init__(self, name: str):
        self.name = name
        if name == "any":
            self.index = 0
            self.arphrd = -1
            self.linktype = LINKTYPE_LINUX_SLL2
            self.cooked = True
            self.loopback = False
            return
        try:
            self.index = socket.if_nametoindex(name)
        except OSError:
            raise UserError(f"no interface called {name!r}; available: "
                            + ", ".join(available()), exit_code=1) from None
        self.arphrd = arphrd(name)
        lt = _LINKTYPE_FOR_ARPHRD.get(self.arphrd)
        self.cooked = lt is None
        self.linktype = LINKTYPE_LINUX_SLL2 if lt is None else lt
        self.loopback = self.arphrd == ARPHRD_LOOPBACK

    def is_up(self) -> bool:
        if self.index == 0:
            return True
        try:
            with open(f"/sys/class/net/{self.name}/flags") as f:
                return bool(int(f.read().strip(), 16) & 1)
        except (OSError, ValueError):
            return True

    def __repr__(self) -> str:  # pragma: no cover
        return f"Interface({self.name!r}, index={self.index}, linktype={self.linktype})"

