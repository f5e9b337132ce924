"""I-DATA from the Linux kernel reassembles into the messages the peer sent
(issue 18.7: `assoc` reported 0 messages where the kernel delivered 4).

With ``net.sctp.intl_enable = 1`` and SCTP_INTERLEAVING_SUPPORTED on both sockets
the kernels negotiate I-DATA (RFC 8260) and
fragment big messages into I-DATA chunks.  Truth: the peers' own records of
what they sent and received; the FSN numbering is read from tshark's
``sctp.data_fsn`` on the capture.
"""
from __future__ import annotations

import pytest

from sctpinspect.analysis import analyze_file
from sctpinspect.diagnostics import diagnose_file
from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel


def test_kernel_idata_messages_reassemble(topology, tmp_path):
    t = topology()
    t.sysctl(None, "net.sctp.intl_enable", 1)
    pcap = tmp_path / "idata.pcapng"
    messages = ["1:46:6000", "2:46:6000", "1:60:6000", "3:46:6000"]
    with t.capture("client0", str(pcap)):
        srv = t.server(port=5000, streams=8, timeout=90, interleave=True)
        cli = t.client(port=5000, messages=messages, streams=8, timeout=90, interleave=True)
        crec, srec = cli.result(timeout=120), srv.result(timeout=120)
    assert crec["error"] is None and srec["error"] is None, (crec, srec)
    # the kernel really sent I-DATA, each 6000-byte message in several chunks
    rows = tshark_rows(pcap, ["sctp.chunk_type", "sctp.chunk_flags", "sctp.data_fsn"],
                       "sctp.chunk_type == 64")
    # chunks in wire order: (flags, FSN or None); a B fragment carries the PPID instead
    # of an FSN (RFC 8260 2.1), so tshark lists FSNs only for the others
    chunks = []
    for types, flags, fsns in rows:
        assert set(types.split(",")) == {"64"}, types     # only the client's I-DATA
        fsn = iter(fsns.split(",") if fsns else [])
        for f in flags.split(","):
            f = int(f, 16)
            chunks.append((f, None if f & 2 else int(next(fsn))))
    assert len(chunks) >= 4 * 4, rows
    # what the server delivered: the four messages, whole
    got = [m["size"] for m in srec["received"] if m.get("eor", True)]
    assert sum(got) == 4 * 6000, srec["received"][:3]

    r = analyze_file(str(pcap))
    assert len(r.associations) == 1
    a = r.associations[0]
    sent = [(m["sid"], m["ppid"], m["size"]) for m in crec["sent"]]
    msgs = [(m.sid, m.ppid, m.length) for m in r.messages if m.assoc == 0 and m.sender == 1]
    assert sorted(msgs) == sorted(sent)
    assert all(m.idata and len(m.frames) >= 4 for m in r.messages if m.sender == 1)
    assert a.dirs[0].messages == 4 and a.dirs[0].message_bytes == 24000

    # the numbering the kernel uses, as tshark reads it: the FSN of the fragment
    # after each B fragment (RFC 8260 2.1 says 1: the B fragment is FSN 0)
    idata = a.dirs[0].idata
    after_b = [chunks[i + 1][1] for i in range(len(chunks) - 1) if chunks[i][0] & 2]
    assert len(after_b) == 4, chunks[:8]
    if all(x == 0 for x in after_b):
        assert idata.fsn_from_zero == 4 and idata.fsn_from_one == 0
    else:
        assert idata.fsn_from_one == 4 and idata.fsn_from_zero == 0
    # the info finding names the numbering: once for the client, one count per message
    found = [f for f in diagnose_file(str(pcap)).findings if f.rule == "idata-fsn-from-zero"]
    if idata.fsn_from_zero:
        assert len(found) == 1 and found[0].key == 0 and found[0].count == 4, found
        assert found[0].severity == "info"
    else:
        assert found == []
