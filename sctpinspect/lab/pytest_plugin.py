"""pytest plugin: run ``@pytest.mark.kernel`` tests on a kernel with SCTP.

Registered by ``tests/conftest.py``.  Three modes:

* the running kernel has SCTP (``socket(AF_INET, SOCK_STREAM, 132)`` works,
  after ``modprobe sctp`` when root): kernel tests run directly;
* otherwise the outer session replaces each collected kernel test by a
  *proxy* item.  The first proxy to run boots the lab VM **once**
  (:func:`sctpinspect.lab.vm.run_in_vm`), runs every selected kernel test
  inside it with the same python and tree, and reads back a JSON report; each
  proxy then passes, fails (with the inner traceback) or skips as its test
  did inside.  If the VM cannot run, every kernel test FAILS with a one-line
  reason (CI must fail loudly);
* ``SCTPINSPECT_LAB=skip`` (a developer's local opt-out, ignored when
  ``CI`` is set) skips kernel tests when the kernel has no SCTP.

With ``CI`` set, a kernel test that skips, for whatever reason, is reported
as failed.

Environment: ``SCTPINSPECT_LAB_TIMEOUT`` (whole VM run, default 540 s),
``SCTPINSPECT_LAB_TEST_TIMEOUT`` (each test inside, default 300 s),
``SCTPINSPECT_LAB_KERNEL`` (kernel image), ``SCTPINSPECT_LAB_KEEP=1`` (keep
the run directory with the console log and report).
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from . import vm
from .relay import RELAY_ENV, TsharkRelay

INNER_ENV = "SCTPINSPECT_LAB_INNER"      # set inside the VM
REPORT_ENV = "SCTPINSPECT_LAB_REPORT"    # where the inner run writes results


def _inner() -> bool:
    return os.environ.get(INNER_ENV) == "1"


# --------------------------------------------------------------------------- inner side

class _TestTimeout(Exception):
    pass


def _alarm(seconds: int):
    def handler(signum, frame):
        raise _TestTimeout(f"kernel test exceeded {seconds} s (SCTPINSPECT_LAB_TEST_TIMEOUT)")
    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    return old


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Inside the lab (or on an SCTP host) bound each kernel test's run time."""
    if item.get_closest_marker("kernel") is None or isinstance(item, KernelProxy):
        yield
        return
    seconds = int(os.environ.get("SCTPINSPECT_LAB_TEST_TIMEOUT", "300"))
    old = _alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _inner_logreport(report):
    path = os.environ.get(REPORT_ENV)
    if not path or not _inner():
        return
    entry = {
        "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
        "duration": report.duration, "longrepr": report.longreprtext if report.longrepr else "",
        "sections": [[k, v] for k, v in report.sections],
    }
    if report.skipped and isinstance(report.longrepr, tuple):
        entry["longrepr"] = report.longrepr[2]
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")


# --------------------------------------------------------------------------- outer side

class KernelLabFailure(Exception):
    """A kernel test failed inside the lab VM (or the VM could not run)."""


class KernelProxy(pytest.Item):
    """Stands for a ``kernel`` test that runs inside the lab VM."""

    def __init__(self, *, original: pytest.Item, **kw):
        super().__init__(**kw)
        self.original = original
        self.lab_nodeid = original.nodeid     # the test's id inside the VM
        self.own_markers = list(original.own_markers)
        self.keywords.update(original.keywords)

    def reportinfo(self):
        return self.original.reportinfo()

    def runtest(self):
        lab = self.session.config.stash[_LAB_KEY]
        first = lab._results is None
        results = lab.results(self.session)
        if first:       # the lab's timings travel to an xdist controller with the report
            self.user_properties.append((_SUMMARY_PROP, lab.summary_lines()))
        phases = results.get(self.lab_nodeid)
        if phases is None:
            raise KernelLabFailure(lab.missing_reason(self.lab_nodeid))
        for when in ("setup", "call", "teardown"):
            r = phases.get(when)
            if r is None:
                continue
            for name, content in r["sections"]:
                self._report_sections.append((when, f"{name} (lab VM)", content))
            if r["outcome"] == "failed":
                raise KernelLabFailure(f"[in lab VM, {when}] {r['longrepr']}")
            if r["outcome"] == "skipped":
                pytest.skip(f"[in lab VM] {r['longrepr']}")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, KernelLabFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _shards(nodeids: list[str], n: int) -> list[list[str]]:
    """Split tests into ``n`` groups, whole files together (module fixtures are
    shared), the largest files first onto the lightest group."""
    files: dict[str, list[str]] = {}
    for nid in nodeids:
        files.setdefault(nid.split("::")[0], []).append(nid)
    groups: list[list[str]] = [[] for _ in range(max(1, n))]
    for _, ids in sorted(files.items(), key=lambda kv: -len(kv[1])):
        min(groups, key=len).extend(ids)
    return [g for g in groups if g]


class _Shard:
    """One VM run over a group of kernel tests."""

    def __init__(self, rundir: str, index: int, nodeids: list[str]):
        self.nodeids = nodeids
        self.dir = os.path.join(rundir, f"vm{index}")
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "console.log")
        self.report = os.path.join(self.dir, "report.jsonl")
        self.error: str | None = None
        self.seconds: float | None = None
        self.boot_seconds: float | None = None

    def run(self, repo: str, timeout: float, cpus: int | None) -> None:
        script = os.path.join(self.dir, "run.sh")
        relay = TsharkRelay(os.path.join(self.dir, "relay")).start()
        # Plugins the kernel tests do not use are left out: every import is
        # read over 9p by an emulated CPU (hypothesis' plugin alone costs ~30 s).
        inner = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                 "-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:xdist.looponfail",
                 "-p", "no:benchmark", "-p", "no:textual-snapshot", "-p", "no:syrupy",
                 "-o", "addopts=", "--rootdir", repo, "-rs", "--durations=0", *self.nodeids]
        with open(script, "w") as f:
            f.write("set -u\n")
            f.write(f"cd {shlex.quote(repo)}\n")
            f.write(f"export {INNER_ENV}=1 {REPORT_ENV}={shlex.quote(self.report)} "
                    f"{RELAY_ENV}={shlex.quote(relay.dir)} PYTHONDONTWRITEBYTECODE=1\n")
            f.write("echo '[lab] guest up:' $(cut -d' ' -f1 /proc/uptime) s; uname -r\n")
            f.write(" ".join(shlex.quote(a) for a in inner) + " 2>&1\n")
        start = time.monotonic()
        try:
            vm.run_in_vm(f"sh {shlex.quote(script)}", rwdirs=[repo, self.dir],
                         log_path=self.log, timeout=timeout, cwd=repo, cpus=cpus)
        except vm.LabError as e:
            # tests that finished before the failure keep their own outcome
            self.error = f"{e}\n{vm.log_tail(self.log)}"
        except Exception as e:  # noqa: BLE001 - reported as the tests' failure
            self.error = f"kernel lab: could not run the VM: {e}"
        finally:
            relay.stop()
            self.seconds = time.monotonic() - start
            self.boot_seconds = _guest_boot_seconds(self.log)

    def results(self) -> dict:
        out: dict = {}
        try:
            with open(self.report) as f:
                for line in f:
                    try:
                        r = json.loads(line)
                    except ValueError:  # a line cut short by a VM timeout
                        continue
                    out.setdefault(r["nodeid"], {})[r["when"]] = r
        except FileNotFoundError:
            if not self.error:
                self.error = ("kernel lab: the VM wrote no test report (console log "
                              f"{self.log}):\n{vm.log_tail(self.log)}")
        # a test whose teardown never ran did not finish
        for nodeid, phases in list(out.items()):
            if "teardown" not in phases and not any(p["outcome"] == "failed" for p in phases.values()):
                del out[nodeid]
        return out


class _Lab:
    """The kernel tests of a session, run once, on first use, in
    ``SCTPINSPECT_LAB_VMS`` VMs side by side (default 2: the emulated CPU is
    the bottleneck and most lab work is single-threaded, so two one-vCPU
    guests finish sooner than one two-vCPU guest)."""

    def __init__(self):
        self._results: dict | None = None
        self._error: str | None = None
        self.rundir: str | None = None
        self.shards: list[_Shard] = []
        self.seconds: float | None = None

    @property
    def log(self) -> str | None:
        return ", ".join(s.log for s in self.shards) or None

    @property
    def boot_seconds(self) -> float | None:
        boots = [s.boot_seconds for s in self.shards if s.boot_seconds]
        return max(boots) if boots else None

    def missing_reason(self, nodeid: str) -> str:
        for s in self.shards:
            if nodeid in s.nodeids:
                if s.error:
                    return s.error
                return (f"kernel lab: no result for {nodeid} from the VM (console log {s.log}):\n"
                        f"{vm.log_tail(s.log)}")
        return self._error or f"kernel lab: {nodeid} was not run"

    def results(self, session) -> dict:
        if self._results is not None:
            return self._results
        self._results = {}
        nodeids = [i.lab_nodeid for i in session.items if isinstance(i, KernelProxy)]
        repo = str(session.config.rootpath)
        self.rundir = tempfile.mkdtemp(prefix="sctpinspect-lab-")
        vms = max(1, int(os.environ.get("SCTPINSPECT_LAB_VMS", "2")))
        groups = _shards(nodeids, vms)
        self.shards = [_Shard(self.rundir, i, g) for i, g in enumerate(groups)]
        # beside pytest-xdist workers the guests share the CPU with the host tests
        default = vm.DEFAULT_VM_TIMEOUT * (2.5 if hasattr(session.config, "workerinput") else 1)
        timeout = float(os.environ.get("SCTPINSPECT_LAB_TIMEOUT", default))
        cpus = 1 if len(self.shards) > 1 else None
        start = time.monotonic()
        threads = [threading.Thread(target=s.run, args=(repo, timeout, cpus), daemon=True)
                   for s in self.shards]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.seconds = time.monotonic() - start
        for s in self.shards:
            self._results.update(s.results())
        self._error = "; ".join(s.error.splitlines()[0] for s in self.shards if s.error) or None
        return self._results

    def summary_lines(self) -> list[str]:
        if not self.shards:
            return []
        n = len(self.shards)
        boot = f", guests booted in {self.boot_seconds:.1f} s" if self.boot_seconds else ""
        lines = [f"kernel lab: {n} VM{'s' if n > 1 else ''} side by side, {self.seconds or 0:.1f} s"
                 f"{boot}, console log {self.log}"]
        lines += [f"  {s.dir}: {len(s.nodeids)} tests, {s.seconds or 0:.1f} s" for s in self.shards]
        return lines

    def passed(self) -> bool:
        return not self._error and all(r.get("outcome") != "failed"
                                       for ph in (self._results or {}).values() for r in ph.values())


_LAB_KEY = pytest.StashKey[_Lab]()
_SUMMARY_PROP = "kernel_lab_summary"
XDIST_DIST_ENV = "SCTPINSPECT_XDIST_DIST"
XDIST_GROUP = "kernel-lab"     # with pytest-xdist: every proxy on one worker (--dist loadgroup)


def _guest_boot_seconds(log) -> float | None:
    """Guest uptime when the run script started (printed by the script)."""
    try:
        for line in Path(log).read_text(errors="replace").splitlines():
            if line.startswith("[lab] guest up:"):
                return float(line.split()[3])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a kernel test never passes silently by skipping: a skip (a missing
    tool, a missing kernel feature, the local opt-out) is reported as a failure."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and _ci() and item.get_closest_marker("kernel") is not None:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"kernel test skipped in CI (CI must run every kernel test): {reason}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    kernel_items = [i for i in items if i.get_closest_marker("kernel") is not None]
    if not kernel_items or _inner():
        return
    if vm.sctp_available():
        return
    if os.environ.get("SCTPINSPECT_LAB") == "skip" and not _ci():
        for i in kernel_items:
            i.add_marker(pytest.mark.skip(reason="no kernel SCTP and SCTPINSPECT_LAB=skip"))
        return
    # Under pytest-xdist (a worker has ``workerinput``) the proxies carry the
    # group suffix ``@kernel-lab`` that --dist loadgroup sends to ONE worker:
    # that worker boots the VMs once and waits for them while the other
    # workers run the host tests.  Any other distribution would boot VMs on
    # every worker: refused.
    xdist = hasattr(config, "workerinput")
    # a worker parses the command line only: tests/conftest.py's CI default
    # (-n 2 --dist loadgroup) reaches it through XDIST_DIST_ENV
    dist = config.getoption("dist", "no")
    if xdist and dist == "no":
        dist = os.environ.get(XDIST_DIST_ENV, "no")
    if xdist and dist != "loadgroup":
        raise pytest.UsageError("kernel tests under pytest-xdist need --dist loadgroup "
                                "(one worker runs the lab VMs)")
    config.stash[_LAB_KEY] = _Lab()
    for n, item in enumerate(items):
        if item.get_closest_marker("kernel") is not None:
            proxy = KernelProxy.from_parent(item.parent, name=item.name, original=item)
            if xdist:
                proxy._nodeid = f"{proxy.lab_nodeid}@{XDIST_GROUP}"
            items[n] = proxy


def pytest_runtest_logreport(report):
    _inner_logreport(report)
    for name, value in getattr(report, "user_properties", ()):
        if name == _SUMMARY_PROP and value:
            _SUMMARIES.append(value)


_SUMMARIES: list = []      # lab summaries seen in reports (from xdist workers, or this process)


def pytest_sessionfinish(session, exitstatus):
    """The run directory goes when everything passed (this runs on the xdist
    worker that ran the lab too, where there is no terminal summary)."""
    lab = session.config.stash.get(_LAB_KEY, None)
    if lab is None or lab.rundir is None:
        return
    if os.environ.get("SCTPINSPECT_LAB_KEEP") != "1" and lab.passed():
        shutil.rmtree(lab.rundir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for lines in _SUMMARIES[:1]:
        for line in lines:
            terminalreporter.write_line(line)
