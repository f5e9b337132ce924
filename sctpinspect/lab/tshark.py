"""tshark as the oracle for lab captures (used by kernel tests and captures/)."""
from __future__ import annotations

import shutil
import subprocess

from .relay import run_via_relay

# Payload protocols tshark would otherwise dissect (PPID 18 S1AP, 46 Diameter,
# 60 NGAP ...): disabled so every DATA payload shows as ``data.data``.
PAYLOAD_PROTOCOLS = ["s1ap", "diameter", "ngap", "m3ua", "m2pa", "sua", "x2ap", "h248",
                     "iua", "m2ua", "nbap", "rnsap", "ranap", "xnap", "f1ap", "e1ap"]


def tshark_rows(capture, fields: list[str], display_filter: str | None = None,
                extra: list[str] = (), tshark: str | None = None,
                payload: bool = False) -> list[list[str]]:
    """``tshark -T fields`` rows for ``capture``: absolute TSNs
    (``sctp.relative_tsns:FALSE``), CRC32c verified (``sctp.checksum.status``
    1 good, 0 bad), payload protocols off so DATA payloads are ``data.data``
    (``payload=True`` keeps them on, to compare payload dissectors);
    several occurrences of a field in one frame are joined with ``,``."""
    args = ["-n", "-o", "sctp.relative_tsns:FALSE", "-o", "sctp.checksum:crc-32c",
            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for p in PAYLOAD_PROTOCOLS if not payload else ():
        args += ["--disable-protocol", p]
    for f in fields:
        args += ["-e", f]
    if display_filter:
        args += ["-Y", display_filter]
    args += list(extra)
    # Inside the lab VM tshark runs on the host (see sctpinspect.lab.relay).
    relayed = None if tshark else run_via_relay(capture, args)
    if relayed is None:
        out = subprocess.run([tshark or shutil.which("tshark") or "tshark", "-r", str(capture), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rc, stdout, stderr = out.returncode, out.stdout, out.stderr
    else:
        rc, stdout, stderr = relayed
    if rc != 0:
        raise RuntimeError(f"tshark failed: {stderr.strip()}")
    return [line.split("\t") for line in stdout.splitlines()]
