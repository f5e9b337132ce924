"""TUI benchmark: time to the first screen, index time and memory on a big capture.

    python benchmarks/bench_tui.py [-n 1000000] [FILE]

Without FILE, benchmarks/gen_capture.py makes (or reuses) a deterministic
capture of N frames.  The app runs headless (Textual's ``run_test``) at
160x50; measured:

* first screen: from creating the app to the first rendered list rows (the
  background indexer has started; nothing is decoded up front);
* jump to the last frame while indexing is still running (End key);
* full index time (record offsets of every frame) and the memory it takes
  (tracemalloc peak of the index arrays; process max RSS);
* analysis is the background pass that follows; its rate is reported over a
  few seconds (it is not waited for).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def capture(n: int, path: str | None) -> str:
    if path:
        return path
    out = os.path.join(HERE, "out", f"bench-{n}-s1.pcap")
    if not os.path.exists(out):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_capture.py"), "-n", str(n),
                        "-o", out], check=True)
    return out


async def run(path: str) -> dict:
    from sctpinspect.tui.app import SctpInspectApp
    from sctpinspect.tui.widgets import PacketList
    res = {}
    t0 = time.perf_counter()
    app = SctpInspectApp(path)
    async with app.run_test(size=(160, 50)) as pilot:
        lst = app.query_one(PacketList)
        while app.current_packet is None:
            await pilot.pause(0.01)
        res["first_screen_s"] = time.perf_counter() - t0
        res["indexed_at_first_screen"] = len(app.store)
        t1 = time.perf_counter()
        await pilot.press("end")
        await pilot.pause(0.05)
        res["end_key_s"] = time.perf_counter() - t1
        res["end_key_frame"] = app.current_packet.number if app.current_packet else None
        while not app.store.indexed_done:
            await pilot.pause(0.1)
        res["index_s"] = app.indexer.index_seconds
        res["frames"] = len(app.store)
        st = app.store
        res["index_bytes"] = (st.offsets.itemsize * len(st.offsets) + st.ts.itemsize * len(st.ts)
                              + st.linktypes.itemsize * len(st.linktypes)
                              + st.ifaces.itemsize * len(st.ifaces)
                              + st.assoc.itemsize * len(st.assoc) + len(st.kinds)
                              + len(st.senders))
        t2 = time.perf_counter()
        await pilot.press("end")
        await pilot.pause(0.05)
        res["end_key_after_index_s"] = time.perf_counter() - t2
        res["last_frame"] = app.current_packet.number
        a0 = st.analysed
        await pilot.pause(5)
        res["analysis_rate_pps"] = (st.analysed - a0) / 5
        res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        app.shutdown()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("file", nargs="?")
    args = ap.parse_args()
    path = capture(args.n, args.file)
    res = asyncio.run(run(path))
    print(f"capture: {path} ({os.path.getsize(path) / 1e6:.0f} MB)")
    for k, v in res.items():
        print(f"{k:28s} {v:.3f}" if isinstance(v, float) else f"{k:28s} {v}")


if __name__ == "__main__":
    main()
