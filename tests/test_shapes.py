"""Hostile "shape" captures (benchmarks/bench_shapes.py's generators, small
sizes) through every command under an address-space limit (RLIMIT_AS in the
child, tests/_sweep_child.py): no traceback, a normal exit status, and the
answers that the shape implies.  Times are measured in the benchmark, never
asserted here."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
import bench_shapes as S  # noqa: E402
from test_damaged_sweep import run_child  # noqa: E402

LIMIT_MIB = 1024
SIZES = {"all-middle": 3000, "all-b-idata": 3000, "inits": 2000, "addresses": 2000,
         "sack-gaps": S.MAX_GAPS, "tsn-wrap": 300}
COMMANDS = S.COMMANDS + [("assoc --json", ["assoc", "--json"]),
                         ("streams --json", ["streams", "--json"])]


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shapes")
    jobs, where = [], {}
    for shape, size in SIZES.items():
        path = tmp / f"{shape}.pcap"
        S.write_pcap(path, S.SHAPES[shape][0](size))
        where[shape] = len(jobs)
        for name, argv in COMMANDS:
            n = len(jobs)
            argv = [a.replace("{dir}", str(tmp / f"x{n}")) for a in argv]
            jobs.append({"argv": argv + [str(path)], "out": str(tmp / f"{n}.out"),
                         "err": str(tmp / f"{n}.err")})
    res = run_child(tmp, jobs, LIMIT_MIB)
    return {shape: {name: res[i + k] for k, (name, _) in enumerate(COMMANDS)}
            for shape, i in where.items()}


@pytest.mark.parametrize("shape", list(SIZES))
def test_every_command_on_a_shape(shaped, shape):
    for name, r in shaped[shape].items():
        assert "Traceback" not in r["stderr"], (shape, name, r["stderr"][-2000:])
        # diagnose exits 3 / 4 when it has warn / error findings (docs/cli.md)
        assert r["rc"] in ((0, 3, 4) if name == "diagnose" else (0,)), (shape, name, r["rc"],
                                                                        r["stderr"][-500:])
        assert r["maxrss_mib"] < LIMIT_MIB


def test_tsn_wrap_reassembles_every_message(shaped):
    """Messages whose fragments cross TSN 2^32 -> 0 are whole (RFC 9260 serial arithmetic)."""
    rows = json.loads(shaped["tsn-wrap"]["streams --json"]["stdout"])
    (row,) = [r for r in rows if r.get("sid") == 0]
    n = SIZES["tsn-wrap"]
    assert row["messages"] == n and row["bytes"] == 400 * n, row
    complete = [ln for ln in shaped["tsn-wrap"]["messages"]["stdout"].splitlines()
                if ln.rstrip().endswith("complete")]
    assert len(complete) == n
    assert re.search(r"\b4294967294-1\b", shaped["tsn-wrap"]["messages"]["stdout"])


def test_init_flood_one_association_each(shaped):
    assocs = json.loads(shaped["inits"]["assoc --json"]["stdout"])
    assert len(assocs) == SIZES["inits"]


def test_all_middle_and_all_b_give_no_message(shaped):
    """Fragments that never start (no B) or never end (no E) make no message."""
    for shape in ("all-middle", "all-b-idata"):
        rows = json.loads(shaped[shape]["streams --json"]["stdout"])
        assert sum(r["messages"] for r in rows) == 0, (shape, rows)


def test_address_parameters_all_announced(shaped):
    assocs = json.loads(shaped["addresses"]["assoc --json"]["stdout"])
    assert len(assocs) == 10
    per = SIZES["addresses"] // 10
    for a in assocs:
        eps = a["endpoints"]
        assert max(len(ep.get("addresses", [])) for ep in eps) >= per, eps


@pytest.mark.parametrize("argv", [["read", "--no-progress", "-V"],
                                  ["read", "--no-progress", "-T", "json"]], ids=["-V", "json"])
def test_read_tree_output_memory_is_flat(tmp_path, argv):
    """``read -V`` / ``-T json`` on the TSN-wrap shape: the peak RSS (VmHWM of a
    child that runs only this command) of a file 5 times bigger stays within
    16 MiB of the small one's.  It was 53 MiB for 1,000 messages and 183 MiB
    for 5,000 (2,048 packet trees of 30 KB held before each write, and every
    Message record of the analysis kept)."""
    peaks = []
    for n in (1000, 5000):
        path = tmp_path / f"wrap-{n}.pcap"
        S.write_pcap(path, S.SHAPES["tsn-wrap"][0](n))
        sub = tmp_path / f"run-{n}"
        sub.mkdir()
        [r] = run_child(sub, [{"argv": argv + [str(path)], "out": str(sub / "out"),
                               "err": str(sub / "err")}], LIMIT_MIB)
        assert r["rc"] == 0 and "Traceback" not in r["stderr"], r["stderr"][-1000:]
        assert r["stdout"].count("Stream Control Transmission Protocol") >= n // 4 or \
            argv[-1] == "json"
        peaks.append(r["maxrss_mib"])
    assert peaks[1] <= peaks[0] + 16, peaks
