"""Shared test fixtures.

The public captures live beside the checkout in ``../shared/captures/public``
(also in CI); they are used from there, never copied into the repo.
"""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PUBLIC = SHARED / "captures" / "public"
CAPTURES = REPO / "captures"


def public_manifest() -> list[dict]:
    """Rows of MANIFEST.tsv that are capture files (not expected-output files)."""
    with open(PUBLIC / "MANIFEST.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if r["path"].endswith((".pcap", ".cap", ".pcapng"))]


def public_captures() -> list[Path]:
    return [PUBLIC / r["path"] for r in public_manifest()]


def project_captures() -> list[Path]:
    return sorted(p for p in CAPTURES.glob("*.pcap*"))


@pytest.fixture(scope="session")
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.fail("tshark is required (apt-get install tshark): it is the test oracle")
    return path


# --- speed: two processes in CI --------------------------------------------
# With CI set (and pytest-xdist installed, it is in the test extra) the suite
# runs in SCTPINSPECT_TEST_WORKERS xdist workers (default: 2, at most the
# cores) with --dist loadgroup: the kernel lab's proxies form one group, so
# one worker boots the VMs and waits for them while the other runs host tests
# (docs/testing.md).  An explicit -n / -p no:xdist on the command line wins;
# without CI (a developer's run) the suite stays in one process.
@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if (os.environ.get("CI", "").lower() not in ("1", "true", "yes")
            or hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist")
            or config.getoption("numprocesses", None) is not None
            or config.getoption("collectonly") or config.getoption("usepdb")):
        return
    workers = int(os.environ.get("SCTPINSPECT_TEST_WORKERS", min(2, os.cpu_count() or 1)))
    if workers > 1:
        config.option.numprocesses = workers
        if config.option.dist == "no":
            config.option.dist = "loadgroup"
            os.environ["SCTPINSPECT_XDIST_DIST"] = "loadgroup"   # for the workers' lab plugin


# --- kernel lab ------------------------------------------------------------
# `@pytest.mark.kernel` tests need real kernel SCTP.  When this kernel has none,
# sctpinspect.lab.pytest_plugin boots the virtme-ng lab VM once per session,
# runs them inside and reports their outcomes here (see docs/kernel-lab.md).
def pytest_configure(config):
    from sctpinspect.lab import pytest_plugin
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "sctpinspect-lab")


@pytest.fixture
def topology():
    """Kernel-lab factory: ``topology(paths=1)`` -> a two-host Topology (network
    namespaces joined by veth), closed after the test.  Lives here, not in
    tests/kernel/conftest.py: two modules named ``conftest`` would shadow each
    other for ``from conftest import ...`` in a whole-suite run."""
    from sctpinspect.lab import Topology
    made = []

    def make(paths: int = 1):
        t = Topology.pair(paths=paths)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()
