"""Kernel SCTP sockets from Python: constants, options, cmsgs, notifications.

* :class:`SctpEndpoint` -- connect / bind / listen / accept / send / recv /
  shutdown / abort on one SCTP socket (one-to-one or one-to-many);
* :mod:`.events` -- :class:`Message` and the notification dataclasses
  (``to_dict()``, ``describe()``);
* :mod:`.constants` -- numbers and struct layouts of <linux/sctp.h>;
* :mod:`.addr` -- ``HOST:PORT`` / ``[v6]:PORT`` parsing, packed sockaddrs.

See docs/send.md.
"""
from .addr import endpoint_text, parse_address, parse_hostport  # noqa: F401
from .endpoint import NO_SCTP, SctpEndpoint, SctpError, check_sctp  # noqa: F401
from .events import (AdaptationEvent, AssocChange, Message, Notification,  # noqa: F401
                     PartialDelivery, PeerAddrChange, RemoteError, SendFailed, SenderDry,
                     ShutdownEvent, parse_notification)
