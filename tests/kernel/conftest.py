"""Fixtures for kernel-lab tests (they run as root on a kernel with SCTP;
see docs/kernel-lab.md).  Every test module here sets
``pytestmark = pytest.mark.kernel``."""
from __future__ import annotations

import pytest

@pytest.fixture
def topology():
    """Factory: ``topology(paths=1)`` -> a two-host Topology, closed after the test."""
    from sctpinspect.lab import Topology
    made = []

    def make(paths: int = 1):
        t = Topology.pair(paths=paths)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()

