"""Network-namespace topologies for the kernel lab (run as root, kernel with SCTP).

Hosts are network namespaces, paths are veth pairs between them.  The usual
two-host lab::

    from sctpinspect.lab import Topology

    with Topology.pair(paths=2) as t:   # hosts t.client_host, t.server_host
        t.checksum_offload("client0", on=False)  # real CRC32c on the wire
        with t.capture(["client0", "client1"], "/tmp/x.pcapng"):
            srv = t.server(port=5000)
            cli = t.client(messages=["0:18:100", "1:46:200"], port=5000)
            client_rec, server_rec = cli.result(), srv.result()

Path ``i`` of :meth:`Topology.pair` joins ``client<i>`` (``.1``) to
``server<i>`` (``.2``) in a documentation network: 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24.  Everything is removed on exit (also at
interpreter exit if the ``with`` block was skipped).
"""
from __future__ import annotations

import atexit
import ctypes
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

DOC_NETS = ["192.0.2", "198.51.100", "203.0.113"]
_counter = itertools.count()


class LabCommandError(RuntimeError):
    pass


def _run(argv: list[str], check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, input=input)
    if check and p.returncode != 0:
        raise LabCommandError(f"{' '.join(argv)} -> {p.returncode}: {p.stderr.strip()}"
                              + (f"\n{input}" if input else ""))
    return p


def _ip_batch(lines: list[str], netns: str | None = None) -> None:
    """Several ``ip`` commands in one process (process start-up is what is slow
    in the emulated lab VM)."""
    _run(["ip", *(["-n", netns] if netns else []), "-batch", "-"], input="\n".join(lines) + "\n")


CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(netns: str) -> None:
    """Move the *calling thread* into network namespace ``netns`` (setns(2))."""
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({netns}): {os.strerror(e)}")
    finally:
        os.close(fd)


@dataclass
class Host:
    """One namespace.  ``addrs`` are its addresses in path order."""
    name: str
    netns: str
    addrs: list[str] = field(default_factory=list)
    devs: list[str] = field(default_factory=list)

    def __str__(self):
        return self.name


@dataclass
class Path:
    """One veth pair: ``dev_a``/``addr_a`` in host ``a``, ``dev_b``/``addr_b`` in ``b``."""
    index: int
    a: Host
    b: Host
    dev_a: str
    dev_b: str
    addr_a: str
    addr_b: str
    prefixlen: int = 24


class Peer:
    """A running :mod:`sctpinspect.lab.peer` process."""

    def __init__(self, argv: list[str], ready_timeout: float = 90.0):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buf = b""
        self.port = self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                self.kill()
                raise LabCommandError(f"peer did not become ready: {' '.join(self.argv)}\n{err}")
            if select.select([fd], [], [], min(left, 0.5))[0]:
                chunk = os.read(fd, 4096)
                if not chunk and self.proc.poll() is not None:
                    continue
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        if not line.startswith(b"READY"):
            self.kill()
            raise LabCommandError(f"peer said {line!r} instead of READY")
        return int(line.split()[1])

    def result(self, timeout: float = 60.0) -> dict:
        """Wait for the peer to finish; its JSON record (see :mod:`sctpinspect.lab.peer`)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise LabCommandError(f"peer did not finish in {timeout} s: {' '.join(self.argv)}")
        lines = (self._buf + out).decode(errors="replace").strip().splitlines()
        if self.proc.returncode != 0 or not lines:
            raise LabCommandError(f"peer exited {self.proc.returncode}: {' '.join(self.argv)}\n"
                                  f"{err.decode(errors='replace')}")
        return json.loads(lines[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class ThreadPeer:
    """A :mod:`sctpinspect.lab.peer` server or client run in a thread of this
    process that has entered the host's namespace (no interpreter start-up,
    which costs seconds in the emulated VM).  Same API as :class:`Peer`."""

    def __init__(self, netns: str, role: str, opts: list[str], ready_timeout: float = 30.0):
        from . import peer as peermod
        self.args = peermod.build_parser().parse_args([role, *opts])
        self.argv = [f"[thread in {netns}]", role, *opts]
        self._fn = peermod.run_server if role == "server" else peermod.run_client
        self._netns = netns
        self._ready = threading.Event()
        self._rec = self._exc = None
        self.port = None
        self.thread = threading.Thread(target=self._run, name=f"peer-{role}", daemon=True)
        self.thread.start()
        if not self._ready.wait(ready_timeout) or self._exc is not None:
            raise LabCommandError(f"peer did not become ready: {' '.join(self.argv)}: {self._exc!r}")

    def _on_ready(self, port: int) -> None:
        self.port = port
        self._ready.set()

    def _run(self) -> None:
        try:
            enter_netns(self._netns)
            self._rec = self._fn(self.args, ready=self._on_ready)
        except BaseException as e:  # reported by result()
            self._exc = e
        finally:
            self._ready.set()

    def result(self, timeout: float = 60.0) -> dict:
        """Wait for the peer to finish; its JSON-like record."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise LabCommandError(f"peer did not finish in {timeout} s: {' '.join(self.argv)}")
        if self._exc is not None:
            raise LabCommandError(f"peer failed: {' '.join(self.argv)}: {self._exc!r}") from self._exc
        return self._rec

    def poll(self):
        return None if self.thread.is_alive() else 0

    def kill(self) -> None:
        """Threads cannot be killed: the peer's socket timeout ends it."""


class Capture:
    """A packet capture running in a namespace (dumpcap -> pcapng, or tcpdump -> pcap)."""

    def __init__(self, netns: str, devs: list[str], path: str, bpf: str = "sctp",
                 tool: str = "dumpcap", ready_timeout: float = 90.0):
        self.path = path
        if tool == "dumpcap":
            argv = ["dumpcap", "-q", "-f", bpf, "-w", path]
            for d in devs:
                argv += ["-i", d]
            ready = b"Capturing on"
        elif tool == "tcpdump":
            if len(devs) != 1:
                raise ValueError("tcpdump captures one interface (use 'any' or dumpcap)")
            # --immediate-mode: deliver each packet at once, so the last ones are
            # not left in a ring block when the capture is stopped
            argv = ["tcpdump", "-Z", "root", "-U", "--immediate-mode", "-n", "-i", devs[0],
                    "-w", path, bpf]
            ready = b"listening on"
        else:
            raise ValueError(f"unknown capture tool {tool}")
        self.argv = ["ip", "netns", "exec", netns, *argv]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = b""
        deadline = time.monotonic() + ready_timeout
        fd = self.proc.stderr.fileno()
        while ready not in err:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise LabCommandError(f"capture did not start: {' '.join(self.argv)}: {err!r}")
            if select.select([fd], [], [], 0.2)[0]:
                err += os.read(fd, 4096)
        self.stderr = err
        # (generous timeouts: a cold dumpcap start in the emulated VM on a loaded
        # machine has taken more than 20 s)
        time.sleep(0.3)  # the filter is attached once the banner is out; be safe

    def stop(self) -> str:
        """Stop (SIGINT), wait until the file is complete, return its path."""
        if self.proc.poll() is None:
            time.sleep(1.0)  # let the last frames reach the ring and the file
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Topology:
    """Hosts (namespaces) joined by veth paths; removes everything on :meth:`close`."""

    def __init__(self, name: str | None = None):
        self.prefix = name or f"sil{os.getpid() % 100000}x{next(_counter)}"
        self.hosts: dict[str, Host] = {}
        self.paths: list[Path] = []
        self._dev_host: dict[str, Host] = {}
        self._netem: dict[str, list[str]] = {}
        self._procs: list = []
        self._closed = False
        atexit.register(self.close)

    # ------------------------------------------------------------ building
    @classmethod
    def pair(cls, paths: int = 1, name: str | None = None) -> "Topology":
        """Hosts ``client`` and ``server`` joined by ``paths`` veth pairs
        (``client<i>`` 192.0.2.1 <-> ``server<i>`` 192.0.2.2 for path 0, then
        198.51.100.0/24, 203.0.113.0/24)."""
        t = cls(name)
        try:
            c, s = t.add_host("client"), t.add_host("server")
            for i in range(paths):
                t.link(c, s, DOC_NETS[i])
        except BaseException:
            t.close()
            raise
        return t

    def add_host(self, name: str) -> Host:
        """A new namespace with ``lo`` up."""
        netns = f"{self.prefix}-{name}"
        _run(["ip", "netns", "add", netns])
        h = Host(name, netns)
        self.hosts[name] = h
        _ip_batch(["link set lo up"], netns)
        return h

    def link(self, a: Host, b: Host, net: str, prefixlen: int = 24,
             dev_a: str | None = None, dev_b: str | None = None, mtu: int = 1500) -> Path:
        """A veth pair between ``a`` and ``b`` with ``net``.1 on a and ``net``.2 on b."""
        i = len(self.paths)
        dev_a = dev_a or f"{a.name[:12]}{len(a.devs)}"
        dev_b = dev_b or f"{b.name[:12]}{len(b.devs)}"
        _run(["ip", "link", "add", dev_a, "netns", a.netns, "type", "veth",
              "peer", "name", dev_b, "netns", b.netns])
        addr_a, addr_b = f"{net}.1", f"{net}.2"
        for h, dev, addr in ((a, dev_a, addr_a), (b, dev_b, addr_b)):
            _ip_batch([f"link set {dev} mtu {mtu} up",
                       f"addr add {addr}/{prefixlen} dev {dev}"], h.netns)
            h.addrs.append(addr)
            h.devs.append(dev)
            self._dev_host[dev] = h
        p = Path(i, a, b, dev_a, dev_b, addr_a, addr_b, prefixlen)
        self.paths.append(p)
        return p

    # ------------------------------------------------------------ commands
    def host(self, h: Host | str) -> Host:
        return h if isinstance(h, Host) else self.hosts[h]

    def ns(self, h: Host | str, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        """Run ``argv`` inside host ``h``'s namespace and wait."""
        return _run(["ip", "netns", "exec", self.host(h).netns, *argv], check=check)

    def popen(self, h: Host | str, argv: list[str], **kw) -> subprocess.Popen:
        """Start ``argv`` inside ``h``'s namespace (killed on close)."""
        p = subprocess.Popen(["ip", "netns", "exec", self.host(h).netns, *argv], **kw)
        self._procs.append(p)
        return p

    def sysctl(self, h: Host | str | None, key: str, value) -> None:
        """Set a per-namespace sysctl (e.g. ``net.sctp.rto_min``) in ``h`` (None: all hosts)."""
        for host in ([self.host(h)] if h is not None else self.hosts.values()):
            self.ns(host, ["sysctl", "-q", "-w", f"{key}={value}"])

    def netem(self, dev: str, loss: float | None = None, delay: float | None = None,
              jitter: float | None = None, rate: str | None = None, extra: list[str] = ()) -> None:
        """Egress impairment on ``dev`` with tc netem: ``loss`` in percent, ``delay``
        and ``jitter`` in ms, ``rate`` like ``"10mbit"``.  No arguments: remove it."""
        args = []
        if loss is not None:
            args += ["loss", f"{loss}%"]
        if delay is not None:
            args += ["delay", f"{delay}ms"] + ([f"{jitter}ms"] if jitter is not None else [])
        if rate is not None:
            args += ["rate", rate]
        args += list(extra)
        self._netem[dev] = args
        self._apply_netem(dev, args)

    def _apply_netem(self, dev: str, args: list[str]) -> None:
        h = self._dev_host[dev]
        if args:
            self.ns(h, ["tc", "qdisc", "replace", "dev", dev, "root", "netem", *args])
        else:
            self.ns(h, ["tc", "qdisc", "del", "dev", dev, "root"], check=False)

    def checksum_offload(self, dev: str, on: bool = False) -> None:
        """Turn SCTP CRC32c offload (``tx-checksum-sctp``) on or off on ``dev``.
        With it on (the veth default) the kernel leaves the checksum field 0."""
        self.ns(self._dev_host[dev], ["ethtool", "-K", dev, "tx-checksum-sctp",
                                      "on" if on else "off"])

    def _path(self, path: Path | int) -> Path:
        return self.paths[path] if isinstance(path, int) else path

    def cut(self, path: Path | int) -> None:
        """Drop everything on ``path`` both ways (netem loss 100%; links stay up,
        so SCTP sees a silent path failure, as with a broken cable further on)."""
        p = self._path(path)
        for dev in (p.dev_a, p.dev_b):
            self._apply_netem(dev, ["loss", "100%"])

    def restore(self, path: Path | int) -> None:
        """Undo :meth:`cut` (back to the netem settings given earlier, if any)."""
        p = self._path(path)
        for dev in (p.dev_a, p.dev_b):
            self._apply_netem(dev, self._netem.get(dev, []))

    # ------------------------------------------------------------ capture and peers
    def capture(self, devs: str | list[str], path: str, host: Host | str | None = None,
                bpf: str = "sctp", tool: str = "dumpcap") -> Capture:
        """Start capturing ``devs`` (names, or ``"any"`` with ``host``) into ``path``;
        use as a context manager or call ``.stop()``.  dumpcap writes pcapng
        (several interfaces -> several IDBs in one file); tcpdump writes pcap."""
        devs = [devs] if isinstance(devs, str) else list(devs)
        h = self.host(host) if host is not None else self._dev_host[devs[0]]
        c = Capture(h.netns, devs, path, bpf=bpf, tool=tool)
        self._procs.append(c.proc)
        return c

    def _peer_argv(self, h: Host | str, role: str, opts: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.host(h).netns, sys.executable, "-m",
                "sctpinspect.lab.peer", role, *opts]

    def server(self, host: Host | str | None = None, port: int = 5000, style: str = "stream",
               bind: list[str] | None = None, streams: int = 10, echo: bool = False,
               assocs: int = 1, timeout: float = 30.0, process: bool = False,
               interleave: bool = False, prsctp: bool = False) -> Peer:
        """Start a listening kernel SCTP server (ready on return).  ``bind``
        defaults to all the host's addresses (multihomed when several paths).
        Runs in a thread (:class:`ThreadPeer`), or with ``process=True`` as
        ``ip netns exec NS python -m sctpinspect.lab.peer server ...``."""
        h = self.host(host if host is not None else self.server_host)
        opts = ["--port", str(port), "--style", style, "--streams", str(streams),
                "--assocs", str(assocs), "--timeout", str(timeout)]
        for a in (bind if bind is not None else h.addrs):
            opts += ["--bind", a]
        if echo:
            opts.append("--echo")
        if interleave:
            opts.append("--interleave")
        if prsctp:
            opts.append("--prsctp")
        return self._start(h, "server", opts, process)

    def client(self, host: Host | str | None = None, connect: str | list[str] | None = None,
               port: int = 5000, messages: list[str] = (), style: str = "stream",
               bind: list[str] | None = None, streams: int = 10, echo: bool = False,
               repeat: int = 1, interval: float = 0.0, timeout: float = 30.0,
               sport: int = 0, process: bool = False, interleave: bool = False,
               prsctp: bool = False, pr_policy: str | None = None, pr_value: int = 0,
               pr_sids: list[int] = ()) -> Peer:
        """Start a client that connects, sends ``messages`` (``"SID:PPID:SIZE"`` or
        ``"SID:PPID:=text"``), shuts down gracefully and prints its record.
        ``connect`` defaults to the server host's first address; ``bind`` to
        all the client host's addresses."""
        h = self.host(host if host is not None else self.client_host)
        if connect is None:
            connect = [self.server_host.addrs[0]]
        connect = [connect] if isinstance(connect, str) else list(connect)
        opts = ["--port", str(port), "--style", style, "--streams", str(streams),
                "--timeout", str(timeout), "--repeat", str(repeat),
                "--interval", str(interval), "--sport", str(sport)]
        for a in connect:
            opts += ["--connect", a]
        for a in (bind if bind is not None else h.addrs):
            opts += ["--bind", a]
        for m in messages:
            opts += ["-m", m]
        if echo:
            opts.append("--echo")
        if interleave:
            opts.append("--interleave")
        # PR-SCTP (RFC 3758): the policy of each message on ``pr_sids`` (all when empty)
        if prsctp:
            opts.append("--prsctp")
        if pr_policy:
            opts += ["--pr-policy", pr_policy, "--pr-value", str(pr_value)]
            for sid in pr_sids:
                opts += ["--pr-sid", str(sid)]
        return self._start(h, "client", opts, process)

    def _start(self, h: Host, role: str, opts: list[str], process: bool):
        if not process:
            return ThreadPeer(h.netns, role, opts)
        p = Peer(self._peer_argv(h, role, opts))
        self._procs.append(p.proc)
        return p

    @property
    def client_host(self) -> Host:
        return self.hosts["client"]

    @property
    def server_host(self) -> Host:
        return self.hosts["server"]

    # ------------------------------------------------------------ teardown
    def close(self) -> None:
        """Kill what we started and delete the namespaces (and so the veths)."""
        if self._closed:
            return
        self._closed = True
        for p in self._procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for h in self.hosts.values():
            _run(["ip", "netns", "del", h.netns], check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
