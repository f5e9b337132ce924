"""Child process of tests/test_damaged_sweep.py and tests/test_shapes.py: runs
several sctpinspect commands in one interpreter (imports paid once) under an
address-space limit, each with its own stdout/stderr files (fd level, so
every write is caught), and prints one JSON object per command.

    python tests/_sweep_child.py LIMIT_MIB JOBS.json

JOBS.json: [{"argv": [...], "out": path, "err": path, "fifo": bytes-file or null,
             "grow": [first-bytes-file, rest-bytes-file] or null}, ...]
A job with "fifo" has the test FIFO (argv's capture path) fed with that file's
bytes by a thread; "grow" appends the rest to the capture while it is read.
An exception that escapes the command is written to the err file with its
traceback (the test then fails on "Traceback").  MemoryError under the limit
counts the same way.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
import traceback
from pathlib import Path

# this checkout first (the installed package may point at another one)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _feed_fifo(path: str, data: bytes) -> None:
    with open(path, "wb") as f:           # blocks until the command opens it
        for i in range(0, len(data), 997):
            f.write(data[i:i + 997])
            f.flush()


def _grow(path: str, rest: bytes) -> None:
    with open(path, "ab") as f:
        for i in range(0, len(rest), 500):
            f.write(rest[i:i + 500])
            f.flush()
            time.sleep(0.002)


def main() -> None:
    limit = int(sys.argv[1]) << 20
    jobs = json.load(open(sys.argv[2]))
    from sctpinspect.cli import main as cli_main
    assert Path(sys.modules["sctpinspect"].__file__).resolve().parent.parent == \
        Path(__file__).resolve().parent.parent
    import sctpinspect.analysis  # noqa: F401  (imports before the limit counts data)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    saved = os.dup(1), os.dup(2)
    results = []
    for job in jobs:
        feeder = None
        if job.get("fifo"):
            data = open(job["fifo"], "rb").read()
            feeder = threading.Thread(target=_feed_fifo, args=(job["argv"][-1], data), daemon=True)
            feeder.start()
        if job.get("grow"):
            first, rest = (open(p, "rb").read() for p in job["grow"])
            with open(job["argv"][-1], "wb") as f:
                f.write(first)
            feeder = threading.Thread(target=_grow, args=(job["argv"][-1], rest), daemon=True)
            feeder.start()
        out = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(job["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out, 1)
        os.dup2(err, 2)
        try:
            rc = cli_main(list(job["argv"]))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 2
        except BaseException:                       # noqa: BLE001 - reported, the test fails
            traceback.print_exc()
            rc = -1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(out)
            os.close(err)
        if feeder is not None:
            feeder.join(30)
        results.append({"rc": rc, "maxrss_mib": _peak_mib()})
    print(json.dumps(results))


def _peak_mib() -> int:
    """This process's own peak RSS (VmHWM, MiB).  Not ru_maxrss: across exec Linux
    keeps the larger of the old and new image's peak, so a child of a big pytest
    process would report the parent's size."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024   # pragma: no cover


if __name__ == "__main__":
    main()
