"""Shared test fixtures.

The public captures live beside the checkout in ``../shared/captures/public``
(also in CI); they are used from there, never copied into the repo.
"""
from __future__ import annotations

import csv
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


# --- kernel lab ------------------------------------------------------------
# `@pytest.mark.kernel` tests need real kernel SCTP.  When this kernel has none,
# sctpinspect.lab.pytest_plugin boots the virtme-ng lab VM once per session,
# runs them inside and reports their outcomes here (see docs/kernel-lab.md).
def pytest_configure(config):
    from sctpinspect.lab import pytest_plugin
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "sctpinspect-lab")
