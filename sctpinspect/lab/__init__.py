"""Kernel SCTP lab: VM runner, netns/veth topologies, kernel SCTP peers."""
