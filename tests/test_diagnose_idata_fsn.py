"""Issue 18.7: an info finding names a stack's I-DATA FSN numbering.

RFC 8260 2.1: the B fragment of an I-DATA message has FSN 0 (its field holds
the PPID), the next fragment FSN 1.  The Linux kernel numbers the fragments
after B from 0 (tests/kernel/test_idata_lab.py shows it on a kernel capture).
The reassembly takes both and counts which it saw; the diagnoser reports a
sender numbering from 0 as ``idata-fsn-from-zero`` (info), counting its
messages and marking the frames that completed them, and says nothing about a
sender that follows the RFC.
"""
from __future__ import annotations

from test_analysis_build import Peers, Wire, idata

from sctpinspect.diagnostics import RULES, Diagnoser


def _message(p, send, tsn, mid, first_fsn, parts=3):
    """One I-DATA message of ``parts`` fragments; the fragments after B numbered
    from ``first_fsn``; returns the frame that completes it."""
    send(idata(tsn, sid=1, mid=mid, ppid_fsn=46, payload=b"b" * 100, b=1, e=0))
    for i in range(1, parts):
        pkt = send(idata(tsn + i, sid=1, mid=mid, ppid_fsn=first_fsn + i - 1,
                         payload=b"x" * 100, b=0, e=int(i == parts - 1)))
    return pkt.number


def test_fsn_from_zero_is_an_info_finding_rfc_numbering_is_not():
    w = Wire()
    d = Diagnoser(w.analyzer)
    send = w.send

    def send_and_diagnose(*a, **k):       # the diagnoser sees each packet as it is analysed
        pkt = send(*a, **k)
        d.feed(pkt, analysed=True)
        return pkt
    w.send = send_and_diagnose
    p = Peers(w)
    p.handshake()
    linux = [_message(p, p.a2b, 1000, 0, 0), _message(p, p.a2b, 1003, 1, 0, parts=4)]
    _message(p, p.b2a, 5000, 0, 1)                      # B numbers as RFC 8260
    _message(p, p.b2a, 5003, 1, 1, parts=2)
    d.finish()
    a = w.analyzer.associations[0]
    assert (a.dirs[0].idata.fsn_from_zero, a.dirs[0].idata.fsn_from_one) == (2, 0)
    assert (a.dirs[1].idata.fsn_from_zero, a.dirs[1].idata.fsn_from_one) == (0, 2)
    assert a.dirs[0].messages == 2 and a.dirs[1].messages == 2     # all four reassembled
    found = [f for f in d.findings if f.rule == "idata-fsn-from-zero"]
    assert len(found) == 1
    f = found[0]
    assert f.severity == "info" == RULES["idata-fsn-from-zero"].severity
    assert f.key == 0 and "10.0.0.1:5000" in f.message and "FSN 0" in f.message
    assert f.count == 2 and f.frames == linux
    assert f.extra == {"messages_fsn_from_zero": 2, "messages_fsn_from_one": 0}
    # the expert note (sctpinspect.rule) sits on the frames that completed them
    marked = [pkt.number for pkt in w.packets
              if any(x.name == "sctpinspect.rule" and x.value == "idata-fsn-from-zero"
                     for x in pkt.sctp_fields())]
    assert marked == linux
