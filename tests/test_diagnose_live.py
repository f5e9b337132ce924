"""`sctpinspect capture --diagnose` on lo: this host has no SCTP, so two INITs sent to
127.0.0.1 come back as ICMP protocol unreachable; the live [diagnose] lines and the
final report name icmp-unreachable and the INIT retransmission."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from sctpinspect import craft
from test_diagnose_icmp_host import _host_has_sctp


@pytest.mark.skipif(_host_has_sctp(), reason="this kernel has SCTP")
def test_capture_diagnose_live(tmp_path):
    err = open(tmp_path / "err", "w+")
    p = subprocess.Popen([sys.executable, "-m", "sctpinspect", "capture", "-i", "lo", "-f",
                          "sctp or icmp", "-a", "duration:8", "--diagnose"],
                         stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            err.seek(0)
            if "Capturing on lo" in err.read():
                break
            if p.poll() is not None:
                err.seek(0)
                pytest.skip(f"capture not possible here: {err.read().strip()}")
            time.sleep(0.2)
        for _ in range(2):
            init = craft.build_init(40123, 5000, 0x01020304, 65536, 10, 10, 1)
            craft.send_packet(craft.Crafted(init, dst="127.0.0.1", src="127.0.0.1"))
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    live = [ln for ln in out.splitlines() if ln.startswith("[diagnose]")]
    assert any("icmp-unreachable" in ln and "protocol unreachable" in ln for ln in live), out
    assert any("init-unanswered" in ln for ln in live), out
    assert "never answered by INIT ACK (2 INITs" in out
