"""Analyzer on packets built with scapy and decoded by the real decoder."""
from scapy.layers.sctp import (SCTPChunkAbort, SCTPChunkAddressConf, SCTPChunkForwardTSN,
                               SCTPChunkHeartbeatAck, SCTPChunkHeartbeatReq, SCTPChunkInit,
                               SCTPChunkParamAddIPAddr, SCTPChunkParamDelIPAddr,
                               SCTPChunkParamHeartbeatInfo, SCTPChunkParamIPv4Addr)

from sctpinspect.analysis import AnalysisOptions, Analyzer
from test_analysis_build import Peers, Wire, data, idata, sack


def test_handshake_data_shutdown_states_and_streams():
    w = Wire()
    p = Peers(w)
    p.handshake(os_a=10, mis_a=8, os_b=5, mis_b=20)
    p.a2b(data(1000, sid=1, ssn=0, ppid=18, payload=b"a" * 100))
    p.b2a(sack(1000))
    p.b2a(data(5000, sid=2, ssn=0, ppid=46, payload=b"b" * 40))
    p.a2b(sack(5000))
    p.shutdown_by_a()
    an = w.analyzer
    assert len(an.associations) == 1
    a = an.associations[0]
    assert (a.ep[0].vtag, a.ep[1].vtag) == (p.atag, p.btag)
    assert a.state == ("CLOSED", "CLOSED") and a.end_reason == "SHUTDOWN"
    # 5.1.1: outbound streams = min(own OS, peer MIS)
    assert a.streams_negotiated(0) == min(10, 20) and a.streams_negotiated(1) == min(5, 8)
    st = a.dirs[0].streams[1]
    assert (st.messages, st.bytes, dict(st.ppids)) == (1, 100, {18: 1})
    assert dict(a.dirs[1].streams[2].ppids) == {46: 1}
    # every packet knows both states before and after it
    init, initack, echo, cack = w.packets[:4]
    assert init.analysis["state_after"] == {"ep1": "COOKIE-WAIT", "ep2": "CLOSED"}
    assert echo.analysis["state_before"] == {"ep1": "COOKIE-WAIT", "ep2": "CLOSED"}
    assert echo.analysis["state_after"] == {"ep1": "COOKIE-ECHOED", "ep2": "ESTABLISHED"}
    assert cack.analysis["state_after"] == {"ep1": "ESTABLISHED", "ep2": "ESTABLISHED"}
    shut, shutack, comp = w.packets[-3:]
    assert shut.analysis["state_after"] == {"ep1": "SHUTDOWN-SENT", "ep2": "SHUTDOWN-RECEIVED"}
    assert shutack.analysis["state_after"] == {"ep1": "CLOSED", "ep2": "SHUTDOWN-ACK-SENT"}
    assert comp.analysis["state_after"] == {"ep1": "CLOSED", "ep2": "CLOSED"}
    assert all(pk.sctp.get("sctp.assoc_index") == 0 for pk in w.packets)


def test_abort_closes_both_and_new_init_is_new_association():
    w = Wire()
    p = Peers(w)
    p.handshake()
    p.b2a(SCTPChunkAbort())
    a = w.analyzer.associations[0]
    assert a.state == ("CLOSED", "CLOSED") and a.end_reason == "ABORT"
    q = Peers(w, atag=0x33333333, btag=0x44444444)
    q.handshake()
    assert len(w.analyzer.associations) == 2
    assert w.packets[-1].sctp.get("sctp.assoc_index") == 1


def test_abort_with_t_bit_reflects_senders_tag():
    w = Wire()
    p = Peers(w)
    p.handshake()
    # T bit set: vtag is the sender's own tag (RFC 9260 8.5.1 B)
    pk = p.a2b(SCTPChunkAbort(TCB=1), vtag=p.atag)
    assert pk.analysis["assoc_index"] == 0 and pk.analysis["sender"] == 1
    assert w.analyzer.associations[0].state == ("CLOSED", "CLOSED")


def test_restart_makes_new_association():
    w = Wire()
    p = Peers(w)
    p.handshake()
    # A restarts (new Initiate Tag) while B is ESTABLISHED: 5.2.2
    p.atag = 0x55555555
    p.btag_old = p.btag
    p.a2b(SCTPChunkInit(init_tag=p.atag, a_rwnd=1, n_out_streams=1, n_in_streams=1,
                        init_tsn=7), vtag=0)
    an = w.analyzer
    assert len(an.associations) == 2
    assert an.associations[0].end_reason == "restart" and an.associations[0].restarted_in == 1


def test_init_collision_is_one_association():
    w = Wire()
    p = Peers(w)
    p.a2b(SCTPChunkInit(init_tag=p.atag, a_rwnd=1, n_out_streams=1, n_in_streams=1, init_tsn=1),
          vtag=0)
    p.b2a(SCTPChunkInit(init_tag=p.btag, a_rwnd=1, n_out_streams=1, n_in_streams=1, init_tsn=2),
          vtag=0)
    an = w.analyzer
    assert len(an.associations) == 1 and an.associations[0].collision_frame == 2
    assert an.associations[0].state == ("COOKIE-WAIT", "COOKIE-WAIT")


def test_mid_capture_learns_both_tags():
    w = Wire()
    p = Peers(w)
    p.a2b(data(1000))
    p.b2a(sack(1000))
    p.b2a(data(5000))
    a = w.analyzer.associations
    assert len(a) == 1 and a[0].inferred
    assert (a[0].ep[0].vtag, a[0].ep[1].vtag) == (p.atag, p.btag)
    assert [pk.analysis["sender"] for pk in w.packets] == [1, 2, 2]


def test_same_ports_different_hosts_are_different_associations():
    w = Wire()
    Peers(w, a=("10.0.0.1",), atag=1, btag=2).a2b(data(1))
    Peers(w, a=("10.0.0.9",), atag=3, btag=4).a2b(data(1))
    assert len(w.analyzer.associations) == 2


def test_multihomed_init_addresses_and_asconf_one_association():
    w = Wire()
    p = Peers(w, a=("10.0.0.1", "10.1.0.1"), b=("10.0.0.2", "10.1.0.2"))
    p.handshake()
    p.a2b(data(1000, payload=b"1" * 20))
    p.b2a(sack(1000), src="10.1.0.2", dst="10.1.0.1")
    # the first path is cut: data moves to the second path
    p.a2b(data(1001, ssn=1), src="10.1.0.1", dst="10.1.0.2")
    # ASCONF adds a third address for A, deletes the first
    p.a2b(SCTPChunkAddressConf(seq=1, params=[
        SCTPChunkParamIPv4Addr(addr="10.1.0.1"),
        SCTPChunkParamAddIPAddr(correlation_id=1, addr_type=5, addr_len=8, addr="10.2.0.1"),
        SCTPChunkParamDelIPAddr(correlation_id=2, addr_type=5, addr_len=8, addr="10.0.0.1")]),
        src="10.1.0.1", dst="10.1.0.2")
    p.a2b(data(1002, ssn=2), src="10.2.0.1", dst="10.1.0.2")
    an = w.analyzer
    assert len(an.associations) == 1
    a = an.associations[0]
    assert set(a.ep[0].addresses) == {"10.0.0.1", "10.1.0.1", "10.2.0.1"}
    assert a.ep[0].deleted == ["10.0.0.1"] and "10.2.0.1" in a.ep[0].announced
    changes = [(f, s, frm, to) for f, _, s, frm, to in a.path_changes]
    assert changes[0] == (7, 1, ("10.0.0.1", "10.0.0.2"), ("10.1.0.1", "10.1.0.2"))
    assert changes[1][3] == ("10.2.0.1", "10.1.0.2")
    assert a.dirs[0].streams[0].messages == 3


def test_heartbeat_rtt_per_path():
    w = Wire()
    p = Peers(w, a=("10.0.0.1", "10.1.0.1"))
    p.handshake()
    hb = SCTPChunkHeartbeatReq(params=[SCTPChunkParamHeartbeatInfo(data=b"probe-1")])
    p.a2b(hb, src="10.1.0.1")
    p.b2a(SCTPChunkHeartbeatAck(params=[SCTPChunkParamHeartbeatInfo(data=b"probe-1")]),
          dst="10.1.0.1", dt=0.25)
    ps = w.analyzer.associations[0].paths[("10.1.0.1", "10.0.0.2")]
    assert ps.heartbeats == 1 and ps.heartbeat_acks == 1
    assert abs(ps.rtt_min - 0.25) < 1e-9


def test_retransmission_ack_and_duplicate_fields():
    w = Wire()
    p = Peers(w)
    p.handshake()
    first = p.a2b(data(1000))                  # frame 5
    p.a2b(data(1001, ssn=1))                   # frame 6
    p.b2a(sack(999, gaps=[(2, 2)]))            # frame 7: 1001 gap-acked, 1000 missing
    retx = p.a2b(data(1000), dt=0.5)           # frame 8: retransmission
    p.b2a(sack(1001, dups=[1000]))             # frame 9
    c = retx.chunks[0]
    assert c.get("sctp.retransmission") == 5
    assert abs(c.get("sctp.retransmission_time") - 0.502) < 1e-9  # 3 packets: 1 ms, 1 ms, 500 ms
    assert any(n.key == "sctp.retransmission.expert" for n in retx.notes)
    assert first.chunks[0].get("sctp.retransmitted") == 8
    assert first.chunks[0].get("sctp.acked") == 9
    # the SACK of frame 7 acknowledges TSN 1001 (gap block) sent in frame 6
    sack7 = w.packets[6]
    acks = [(f.value, f.get("sctp.ack_frame")) for f in sack7.walk() if f.name == "sctp.ack"]
    assert acks == [(1001, 6)]
    d = w.analyzer.associations[0].dirs[0]
    assert d.retransmissions == 1 and d.duplicates_count == 1 and d.gap_blocks == 1
    # the message is counted once
    assert d.streams[0].messages == 2


def test_reassembly_data_fragments():
    w = Wire()
    p = Peers(w)
    p.handshake()
    f1 = p.a2b(data(1000, sid=3, ssn=0, ppid=7, payload=b"a" * 1000, b=1, e=0))
    f2 = p.a2b(data(1001, sid=3, ssn=0, ppid=7, payload=b"b" * 1000, b=0, e=0))
    f3 = p.a2b(data(1002, sid=3, ssn=0, ppid=7, payload=b"c" * 500, b=0, e=1))
    assert f1.chunks[0].get("sctp.reassembled_in") == f3.number
    assert f2.chunks[0].get("sctp.reassembled_in") == f3.number
    assert f3.chunks[0].find("sctp.fragments").all("sctp.fragment") == \
        [f1.number, f2.number, f3.number]
    m = w.analyzer.messages[-1]
    assert (m.sid, m.seq, m.ppid, m.length, m.frames) == (3, 0, 7, 2500, [5, 6, 7])


def test_reassembly_idata_and_unordered():
    w = Wire()
    p = Peers(w)
    p.handshake()
    # I-DATA: B fragment carries the PPID, later ones the FSN (RFC 8260 2.1); out of order
    p.a2b(idata(1000, sid=1, mid=4, ppid_fsn=60, payload=b"x" * 300, b=1, e=0))
    p.a2b(idata(1002, sid=1, mid=4, ppid_fsn=2, payload=b"z" * 100, b=0, e=1))
    p.a2b(idata(1001, sid=1, mid=4, ppid_fsn=1, payload=b"y" * 200, b=0, e=0))
    m = w.analyzer.messages[-1]
    assert (m.sid, m.seq, m.ppid, m.length, m.idata) == (1, 4, 60, 600, True)
    p.a2b(data(1003, sid=2, ssn=0, ppid=9, payload=b"u" * 10, u=1))
    st = w.analyzer.associations[0].dirs[0].streams[2]
    assert (st.unordered, st.ordered) == (1, 0)


def test_ssn_gap_and_forward_tsn():
    w = Wire()
    p = Peers(w)
    p.handshake()
    p.a2b(data(1000, ssn=0))
    p.a2b(data(1002, ssn=2))          # SSN 1 (TSN 1001) never seen
    st = w.analyzer.associations[0].dirs[0].streams[0]
    assert st.missing == 1 and st.gaps[0][1:] == (1, 2)
    fw = p.a2b(SCTPChunkForwardTSN(new_tsn=1001, skips=[]))
    assert fw.analysis["forward_tsn"]["new_cum_tsn"] == 1001


def test_zero_window_stall():
    w = Wire()
    p = Peers(w)
    p.handshake()
    p.a2b(data(1000))
    p.b2a(sack(1000, rwnd=0))
    p.b2a(sack(1000, rwnd=0), dt=1.0)
    p.b2a(sack(1000, rwnd=4096), dt=1.0)
    d = w.analyzer.associations[0].dirs[0]
    assert len(d.zero_windows) == 1
    start, end, secs = d.zero_windows[0]
    assert (start, end) == (6, 8) and abs(secs - 2.0) < 1e-9


def test_caps_evict_and_count():
    an = Analyzer(AnalysisOptions(max_associations=3, max_tsns=4))
    w = Wire(an)
    for i in range(5):
        Peers(w, a=(f"10.0.{i}.1",), atag=100 + i, btag=200 + i).a2b(data(1))
    assert an.evicted["associations"] == 2 and len(an.associations) == 5
    p = Peers(w, a=("10.9.0.1",), atag=7, btag=8)
    for t in range(10):
        p.a2b(data(t, ssn=t))
    assert an.evicted["tsns"] == 6
