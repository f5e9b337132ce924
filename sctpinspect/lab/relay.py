"""Run tshark for the lab VM on the host, through a shared directory.

tshark takes ~15 s just to start inside the emulated lab VM (it registers
thousands of dissectors on a CPU emulated in software) and well under a second
on the host.  The kernel tests still need tshark as the oracle for what the
real kernel put on the wire, so the host side of the lab serves tshark runs:
the guest copies the capture into the shared relay directory and writes a
request; :class:`TsharkRelay`, a thread of the outer pytest run, answers it
with tshark's output.  The capture and the oracle are unchanged; only where
tshark runs moves.

Protocol (files in the relay directory, each written then renamed into place):
``<id>.pcap`` the capture; ``<id>.req`` JSON ``{"args": [...]}`` (tshark's
arguments after ``-r FILE``); the host answers ``<id>.resp`` JSON
``{"rc": int, "stdout": str, "stderr": str}``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid

RELAY_ENV = "SCTPINSPECT_LAB_TSHARK_RELAY"


def _write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class TsharkRelay:
    """Host side: answer tshark requests from the guest until stopped."""

    def __init__(self, directory: str, tshark: str | None = None, poll: float = 0.05):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.tshark = tshark or shutil.which("tshark")
        self.poll = poll
        self.served = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tshark-relay", daemon=True)

    def start(self) -> "TsharkRelay":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for name in sorted(os.listdir(self.dir)):
                if name.endswith(".req"):
                    self._serve(name[:-4])
            self._stop.wait(self.poll)

    def _serve(self, rid: str) -> None:
        req_path = os.path.join(self.dir, rid + ".req")
        try:
            with open(req_path) as f:
                args = json.load(f)["args"]
            os.unlink(req_path)
        except (OSError, ValueError, KeyError):
            return
        pcap = os.path.join(self.dir, rid + ".pcap")
        if self.tshark is None:
            resp = {"rc": 127, "stdout": "", "stderr": "tshark is not installed on the lab host"}
        else:
            out = subprocess.run([self.tshark, "-r", pcap, *args], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            resp = {"rc": out.returncode, "stdout": out.stdout, "stderr": out.stderr}
        _write_atomic(os.path.join(self.dir, rid + ".resp"), json.dumps(resp).encode())
        self.served += 1
        try:
            os.unlink(pcap)
        except OSError:
            pass


def run_via_relay(capture, args: list[str], timeout: float = 300.0):
    """Guest side: tshark ``-r capture args`` run by the host.  Returns
    ``(rc, stdout, stderr)``, or None when no relay is configured."""
    directory = os.environ.get(RELAY_ENV)
    if not directory:
        return None
    rid = uuid.uuid4().hex
    with open(capture, "rb") as f:
        _write_atomic(os.path.join(directory, rid + ".pcap"), f.read())
    _write_atomic(os.path.join(directory, rid + ".req"), json.dumps({"args": args}).encode())
    resp_path = os.path.join(directory, rid + ".resp")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(resp_path) as f:
                resp = json.load(f)
        except (OSError, ValueError):
            time.sleep(0.1)
            continue
        os.unlink(resp_path)
        return resp["rc"], resp["stdout"], resp["stderr"]
    raise RuntimeError(f"tshark relay: no answer from the lab host within {timeout:.0f} s")
