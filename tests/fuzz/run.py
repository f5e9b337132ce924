"""Coverage-guided fuzzing of one target with atheris (libFuzzer for Python).

    python tests/fuzz/run.py TARGET [libFuzzer options]
    python tests/fuzz/run.py frame -max_total_time=600 -rss_limit_mb=1024

TARGET is one of targets.TARGETS (capture, frame, sctp, m3ua, diameter, dcep,
webrtc, filter).  The committed seed corpus tests/fuzz/corpus/TARGET is read;
new interesting inputs go to a scratch directory (``--work DIR``, default a
temporary one) so the repository corpus stays small; a crashing input is
written to tests/fuzz/crashers/TARGET/ (``crash-<sha1>``; ``--crashers DIR``
elsewhere), which
tests/test_fuzz.py replays as a regression test.  ``-timeout`` defaults to 5 s
per input: a decoder that loops is a crash too.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(argv: list[str]) -> int:
    import atheris
    args = list(argv[1:])
    work = crashers = None
    for opt in ("--work", "--crashers"):
        if opt in args:
            i = args.index(opt)
            if opt == "--work":
                work = args[i + 1]
            else:
                crashers = Path(args[i + 1])
            del args[i:i + 2]
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    name = args.pop(0)
    with atheris.instrument_imports(include=["sctpinspect", "dissectors"]):
        import sctpinspect.decode.frame  # noqa: F401  (instrument the whole decoder)
        import sctpinspect.decode.sctp  # noqa: F401
        import sctpinspect.sources  # noqa: F401
        import sctpinspect.filter  # noqa: F401
        import dissectors  # noqa: F401
        import dissectors.m3ua, dissectors.diameter, dissectors.webrtc  # noqa: F401,E401
    import targets
    target = targets.TARGETS[name]
    if name == "filter":
        targets._filter_packets()
    corpus = HERE / "corpus" / name
    crashers = crashers or HERE / "crashers" / name
    crashers.mkdir(parents=True, exist_ok=True)
    work = work or tempfile.mkdtemp(prefix=f"fuzz-{name}-")
    os.makedirs(work, exist_ok=True)
    if not any(a.startswith("-timeout") for a in args):
        args.append("-timeout=5")
    if not any(a.startswith("-rss_limit_mb") for a in args):
        args.append("-rss_limit_mb=1024")
    fuzz_argv = [argv[0], *args, f"-artifact_prefix={crashers}/", work, str(corpus)]
    atheris.Setup(fuzz_argv, target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
