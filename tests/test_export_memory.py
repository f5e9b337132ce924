"""`export` memory is flat in file size (issue 18): an INIT flood 4x longer
(both past the analysis' 10,000-record cap, so its state is at its bound) may
raise the export's peak RSS by a few MiB only.  Each size runs in its own
child process (tests/_sweep_child.py), which reports its own VmHWM."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
import bench_shapes as S  # noqa: E402
from test_damaged_sweep import run_child  # noqa: E402

SMALL, LARGE = 11000, 44000       # INITs, each a new association attempt
SLACK_MIB = 16


def _export_peak(tmp_path, n):
    cap = tmp_path / f"inits-{n}.pcap"
    S.write_pcap(cap, S.SHAPES["inits"][0](n))
    out = tmp_path / f"x-{n}"
    job = {"argv": ["export", "-q", str(cap), "--to", str(out)],
           "out": str(tmp_path / f"{n}.out"), "err": str(tmp_path / f"{n}.err")}
    (res,) = run_child(tmp_path, [job], limit_mib=4096)
    assert res["rc"] == 0 and "Traceback" not in res["stderr"], res["stderr"]
    import pyarrow.dataset as ds
    frames = ds.dataset(out / "frames", partitioning="hive").to_table()
    chunks = ds.dataset(out / "chunks", partitioning="hive").to_table(
        columns=["sctp_chunk_type", "sctp_init_nr_out_streams"])
    assert frames.num_rows == n and chunks.num_rows == n
    # every chunk an INIT (type 1) with the generator's 10 outbound streams
    assert set(chunks.column("sctp_chunk_type").to_pylist()) == {1}
    assert set(chunks.column("sctp_init_nr_out_streams").to_pylist()) == {10}
    return res["maxrss_mib"]


def test_export_peak_rss_is_flat_in_file_size(tmp_path):
    small = _export_peak(tmp_path, SMALL)
    large = _export_peak(tmp_path, LARGE)
    assert large - small <= SLACK_MIB, (small, large)
