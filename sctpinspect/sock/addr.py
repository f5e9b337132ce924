"""Address arguments: ``HOST:PORT``, ``[v6addr]:PORT``, bare addresses, packed sockaddrs."""
from __future__ import annotations

import ipaddress
import socket
import struct

from ..errors import UserError


def parse_address(text: str, what: str = "address") -> str:
    """An IPv4/IPv6 literal (IPv6 optionally in brackets) or a host name
    (resolved now) -> the numeric address text."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if not t:
        raise UserError(f"empty {what}")
    try:
        return str(ipaddress.ip_address(t.split("%", 1)[0])) + (
            "%" + t.split("%", 1)[1] if "%" in t else "")
    except ValueError:
        pass
    if ":" in t:
        raise UserError(f"{what} {text!r} is not a valid IPv6 address")
    try:
        infos = socket.getaddrinfo(t, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UserError(f"{what} {text!r} is neither an IP address nor a host name "
                        "that resolves") from None
    return infos[0][4][0]


def parse_port(text: str, what: str = "port") -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise UserError(f"{what} {text!r} is not a number from 0 to 65535")
    return int(text)


def parse_hostport(text: str, default_host: str | None = None) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6addr]:PORT``, or (with ``default_host``) ``PORT`` alone.

    An unbracketed IPv6 address is refused with a hint, as its colons make the
    port ambiguous."""
    t = text.strip()
    if t.startswith("["):
        end = t.find("]")
        if end < 0:
            raise UserError(f"{text!r}: missing ']' after the IPv6 address")
        host, rest = t[1:end], t[end + 1:]
        if not rest.startswith(":") or not rest[1:]:
            raise UserError(f"{text!r}: a port is needed after the bracketed address, "
                            "as in [2001:db8::1]:5000")
        return parse_address(host), parse_port(rest[1:])
    if t.count(":") > 1:
        raise UserError(f"{text!r}: put an IPv6 address in brackets, as in [{t}]:PORT"
                        if not t.rsplit(":", 1)[1].isdigit()
                        else f"{text!r}: put an IPv6 address in brackets, as in "
                             f"[{t.rsplit(':', 1)[0]}]:{t.rsplit(':', 1)[1]}")
    if ":" in t:
        host, port = t.rsplit(":", 1)
        return parse_address(host), parse_port(port)
    if default_host is not None and t.isdigit():
        return default_host, parse_port(t)
    raise UserError(f"{text!r}: expected HOST:PORT (IPv6 as [ADDR]:PORT)")


def family_of(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sockaddr(addr: str, port: int) -> bytes:
    """A packed ``struct sockaddr_in`` (16 bytes) or ``sockaddr_in6`` (28 bytes),
    as SCTP_SOCKOPT_BINDX_ADD and SCTP_SOCKOPT_CONNECTX want them back to back."""
    if ":" in addr:
        scope = 0
        if "%" in addr:
            addr, ifname = addr.split("%", 1)
            scope = int(ifname) if ifname.isdigit() else socket.if_nametoindex(ifname)
        return (struct.pack("@H", socket.AF_INET6) + struct.pack("!HI", port, 0)
                + socket.inet_pton(socket.AF_INET6, addr) + struct.pack("@I", scope))
    return (struct.pack("@H", socket.AF_INET) + struct.pack("!H", port)
            + socket.inet_pton(socket.AF_INET, addr) + bytes(8))


def sock_tuple(addr: str, port: int) -> tuple:
    return (addr, port, 0, 0) if ":" in addr else (addr, port)


def endpoint_text(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
