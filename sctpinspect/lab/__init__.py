"""Kernel SCTP lab: VM runner, netns/veth topologies, kernel SCTP peers.

* :mod:`sctpinspect.lab.vm` -- boot the virtme-ng VM (``run_in_vm``) and
  ``sctp_available()``;
* :mod:`sctpinspect.lab.topology` -- ``Topology`` (namespaces, veth paths,
  netem, checksum offload, cut/restore, capture, peers);
* :mod:`sctpinspect.lab.peer` -- kernel SCTP server/client that record the truth;
* :mod:`sctpinspect.lab.sctp_socket` -- SCTP socket options and cmsgs;
* :mod:`sctpinspect.lab.pytest_plugin` -- the ``kernel`` marker machinery.

See docs/kernel-lab.md.
"""
from .topology import Capture, Host, LabCommandError, Path, Peer, Topology  # noqa: F401
from .vm import LabError, run_in_vm, sctp_available  # noqa: F401
