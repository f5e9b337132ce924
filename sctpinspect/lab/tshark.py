"""tshark as the oracle for lab captures (used by kernel tests and captures/)."""
from __future__ import annotations

import shutil
import subprocess

# Payload protocols tshark would otherwise dissect (PPID 18 S1AP, 46 Diameter,
# 60 NGAP ...): disabled so every DATA payload shows as ``data.data``.
PAYLOAD_PROTOCOLS = ["s1ap", "diameter", "ngap", "m3ua", "m2pa", "sua", "x2ap", "h248",
                     "iua", "m2ua", "nbap", "rnsap", "ranap", "xnap", "f1ap", "e1ap"]


def tshark_rows(capture, fields: list[str], display_filter: str | None = None,
                extra: list[str] = (), tshark: str | None = None) -> list[list[str]]:
    """``tshark -T fields`` rows for ``capture``: absolute TSNs
    (``sctp.relative_tsns:FALSE``), CRC32c verified (``sctp.checksum.status``
    1 good, 0 bad), payload protocols off so DATA payloads are ``data.data``;
    several occurrences of a field in one frame are joined with ``,``."""
    argv = [tshark or shutil.which("tshark") or "tshark", "-n", "-r", str(capture),
            "-o", "sctp.relative_tsns:FALSE", "-o", "sctp.checksum:crc-32c",
            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for p in PAYLOAD_PROTOCOLS:
        argv += ["--disable-protocol", p]
    for f in fields:
        argv += ["-e", f]
    if display_filter:
        argv += ["-Y", display_filter]
    argv += list(extra)
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"tshark failed: {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines()]
