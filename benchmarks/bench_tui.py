"""TUI benchmark: time to the first screen, index time and memory on a big capture.

    python benchmarks/bench_tui.py [-n 1000000] [FILE] [--repeat 3]

Without FILE, benchmarks/gen_capture.py makes (or reuses) a deterministic
capture of N frames.  The app runs headless (Textual's ``run_test``) at
160x50.  Times are taken at the frames Textual actually paints (the
``App._display`` calls), not at the pilot's returns (the pilot waits for the
app to idle, which takes long while the background passes run):

* first screen: from creating the app to the first painted frame that holds
  list rows and the detail tree of frame 1 (the index child has started,
  nothing else is decoded up front); also the CPU seconds this process used
  until then (load-independent: on a loaded machine wall time is roughly
  CPU time x load / cores);
* End key while the index is still growing, and after the index is complete
  (frame 1 000 000 decoded on demand): from the key to the frame painted with
  that packet's detail;
* full index time (record offsets of every frame) and the memory it takes
  (the index arrays; process max RSS);
* analysis is the background pass that follows; its rate is reported over a
  few seconds (it is not waited for).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
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


async def run(path: str, analysis_seconds: float = 5.0) -> dict:
    from sctpinspect.tui.app import SctpInspectApp
    res: dict = {}
    t0 = time.perf_counter()
    c0 = time.process_time()
    app = SctpInspectApp(path)
    paints: list[float] = []
    shown: dict[int, float] = {}       # frame index -> when its detail was built
    real_display = app._display
    real_show = app.show_packet

    first = asyncio.Event()

    def display(screen, renderable):
        paints.append(time.perf_counter())
        if "first_screen_s" not in res and app.current_packet is not None and len(app.store):
            res["first_screen_s"] = paints[-1] - t0
            res["first_screen_cpu_s"] = time.process_time() - c0
            res["indexed_at_first_screen"] = len(app.store)
            first.set()
        return real_display(screen, renderable)

    def show_packet(i):
        real_show(i)
        shown.setdefault(i, time.perf_counter())

    app._display = display
    app.show_packet = show_packet

    async def key_to_paint(key: str) -> tuple[float, int]:
        """Seconds from ``key`` to the painted detail of the last frame it went to."""
        t = time.perf_counter()
        target = len(app.store) - 1       # End may go further when the index grew
        await pilot.press(key)
        for _ in range(3000):
            done = [(when, i) for i, when in shown.items() if i >= target and when > t]
            if done and paints and paints[-1] > done[-1][0]:
                when, i = done[-1]
                return next(p for p in paints if p > when) - t, i + 1
            await pilot.pause(0.01)
        raise RuntimeError(f"{key}: frame {target + 1} never painted")

    async with app.run_test(size=(160, 50)) as pilot:
        # not pilot.pause() in a loop: it forces screen updates and runs the
        # after-refresh callbacks early, which a real terminal does not do
        await asyncio.wait_for(first.wait(), 120)
        res["end_key_s"], res["end_key_frame"] = await key_to_paint("end")
        await pilot.press("home")
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
        res["end_key_after_index_s"], res["last_frame"] = await key_to_paint("end")
        a0, ta = st.analysed, time.perf_counter()
        await pilot.pause(analysis_seconds)
        res["analysis_rate_pps"] = (st.analysed - a0) / (time.perf_counter() - ta)
        res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        app.shutdown()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="frames of the generated capture")
    ap.add_argument("file", nargs="?", help="capture to open instead of a generated one")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs (each in a fresh process); the median of each figure is shown")
    ap.add_argument("--analysis-seconds", type=float, default=5.0,
                    help="how long the background analysis rate is sampled")
    args = ap.parse_args()
    path = capture(args.n, args.file)
    if args.repeat > 1:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, path, "--analysis-seconds",
                                  str(args.analysis_seconds)], capture_output=True, text=True,
                                 check=True).stdout
            runs.append({k: float(v) for k, v in (ln.split() for ln in out.splitlines()[1:])})
        res = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"capture: {path} ({os.path.getsize(path) / 1e6:.0f} MB), median of {len(runs)}")
        for k in res:
            print(f"{k:28s} {res[k]:.3f}   (" + " ".join(f"{r[k]:g}" for r in runs) + ")")
        return
    res = asyncio.run(run(path, args.analysis_seconds))
    print(f"capture: {path} ({os.path.getsize(path) / 1e6:.0f} MB)")
    for k, v in res.items():
        print(f"{k:28s} {v:.3f}" if isinstance(v, float) else f"{k:28s} {v}")


if __name__ == "__main__":
    main()
