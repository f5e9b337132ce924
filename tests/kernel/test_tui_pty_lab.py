"""The live UI as a user starts it: its own process on a terminal, kernel peers talking.

``sctpinspect tui -i client0 -w FILE`` runs in the client's namespace on a
pseudo-terminal (200x50); pyte, a VT100 emulator, renders what it draws, so
the test reads the screen a user would see.  Nothing waits a fixed time: the
test waits for the UI's own readiness (its first painted screen with the
status ``live: 0 captured``, i.e. the capture socket is open and the app is
drawn; then the Associations view drawn), and only then starts the kernel
peers.  The oracle is dumpcap capturing the same interface in the same run,
read by tshark (ports, Initiate Tags, chunk sequence), and the peers' own
records (messages and bytes).

Under the emulated CPU of the lab VM the UI needs tens of seconds to start
(Textual's imports over 9p); peers started before it is ready would talk
before its socket exists.  That, not the UI being a subprocess, was why an
earlier attempt with fixed sleeps "captured nothing".
"""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from sctpinspect.lab.tshark import tshark_rows

pytestmark = pytest.mark.kernel

COLS, ROWS = 200, 50
PORT = 5000
MESSAGES = ["0:18:100", "1:46:300", "2:60:=hello", "3:0:700"]
INIT, INIT_ACK = 1, 2


class Terminal:
    """A program on a pseudo-terminal, its output rendered by pyte."""

    def __init__(self, argv: list[str], cols: int = COLS, rows: int = ROWS):
        import pyte
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""                  # everything the program wrote (for failure messages)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.fd = master

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def pump(self, timeout: float) -> bool:
        """Feed what the program wrote within ``timeout`` s to the screen; False at EOF."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return True
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:                 # the program closed the terminal
            return False
        if not chunk:
            return False
        self.raw += chunk
        self.stream.feed(chunk)
        return True

    def wait_for(self, pred, timeout: float, what: str) -> str:
        """Pump until ``pred(screen text)``; fails with the screen after ``timeout`` s."""
        end = time.monotonic() + timeout
        alive = True
        while True:
            text = self.text()
            if pred(text):
                return text
            if time.monotonic() > end or not alive:
                pytest.fail(f"{what}: not on screen after {timeout} s "
                            f"(exit {self.proc.poll()}):\n{text}\n--- tail of the output:\n"
                            f"{strip(self.raw[-1500:])}")
            alive = self.pump(0.2)

    def press(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)


def strip(raw: bytes) -> str:
    return re.sub(r"\x1b\[[0-9;?<>$]*[A-Za-z]", "", raw.decode("utf-8", "replace"))


def assoc_line(text: str, ep1: str, ep2: str) -> str | None:
    """The Associations view's row of the association ``ep1`` - ``ep2``."""
    for ln in text.splitlines():
        if ep1 in ln and ep2 in ln and ln.index(ep1) < ln.index(ep2):
            return ln
    return None


def test_live_ui_on_a_terminal_shows_the_kernel_association(topology, tmp_path):
    t = topology()
    cdev = t.paths[0].dev_a
    t.checksum_offload(cdev, on=False)       # a real CRC32c on every packet we send
    ref = tmp_path / "dumpcap.pcapng"
    out = tmp_path / "ui.pcapng"
    cap = t.capture(cdev, str(ref))           # the oracle, listening on return
    term = Terminal(["ip", "netns", "exec", t.client_host.netns, sys.executable, "-m",
                     "sctpinspect", "tui", "-i", cdev, "-w", str(out)])
    try:
        # the UI's readiness: its first screen, with the capture open
        term.wait_for(lambda s: "live: 0 captured" in s, 240, "the live UI's first screen")
        term.press("2")
        term.wait_for(lambda s: "vtag 1" in s and "state 2" in s, 120, "the Associations view")
        srv = t.server(port=PORT, streams=8)
        cli = t.client(port=PORT, messages=MESSAGES, streams=8, repeat=3, interval=0.5)
        crec, srec = cli.result(), srv.result()
        assert crec["error"] is None and srec["error"] is None, (crec, srec)
        ref_path = cap.stop()
        rows = tshark_rows(ref_path, ["sctp.chunk_type", "sctp.srcport", "sctp.dstport",
                                      "sctp.init_initiate_tag", "sctp.initack_initiate_tag"])
        init = next(r for r in rows if r[0].split(",")[0] == str(INIT))
        init_ack = next(r for r in rows if r[0].split(",")[0] == str(INIT_ACK))
        cport, sport = int(init[1]), int(init[2])
        assert sport == PORT and int(init_ack[1]) == PORT and int(init_ack[2]) == cport
        ep1 = f"{t.client_host.addrs[0]}:{cport}"
        ep2 = f"{t.server_host.addrs[0]}:{sport}"
        vtag1, vtag2 = "0x%08x" % int(init[3], 16), "0x%08x" % int(init_ack[4], 16)
        # the association, as the kernel made it, until both ends are closed
        text = term.wait_for(lambda s: (ln := assoc_line(s, ep1, ep2)) is not None
                             and ln.count("CLOSED") == 2, 120,
                             f"association {ep1} - {ep2} CLOSED on both sides")
        line = assoc_line(text, ep1, ep2)
        cells = line.split()
        assert vtag1 in cells and vtag2 in cells and cells.index(vtag1) < cells.index(vtag2), line
        sent = crec["sent"]
        echoed = srec["received"]
        assert len(echoed) == len(sent) == len(MESSAGES) * 3
        nbytes = sum(m["size"] for m in sent)
        # msgs 1>2 and bytes 1>2 (nothing from the server: no echo)
        assert f"{len(sent)} {nbytes} 0 0" in " ".join(cells), line
        n_ref = len(rows)
        term.wait_for(lambda s: f"live: {n_ref} captured" in s, 60,
                      f"{n_ref} packets counted in the status line")
        term.press("q")
        end = time.monotonic() + 60
        while term.proc.poll() is None and time.monotonic() < end:
            term.pump(0.2)
        assert term.proc.poll() == 0, strip(term.raw[-1500:])
        assert f"live capture saved to {out}" in strip(term.raw)
    finally:
        term.close()
        cap.stop()
    # the UI's own file holds the same packets as dumpcap's
    mine = tshark_rows(out, ["sctp.chunk_type", "sctp.srcport", "sctp.dstport",
                             "sctp.verification_tag"])
    theirs = tshark_rows(ref, ["sctp.chunk_type", "sctp.srcport", "sctp.dstport",
                               "sctp.verification_tag"])
    assert mine == theirs and len(mine) >= 7 + len(MESSAGES) * 3, (mine, theirs)
