"""5 TSN graph: per direction, DATA TSNs and the peer's SACK cumulative TSN ack over time."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..widgets import braille_plot
from .base import DeferredView, FocusStatic


class TsnView(DeferredView):
    view_id, key, tab_title, short = "tsn", "5", "TSN graph", "TSN"
    main = "#tsn-plot"
    palette = "TSN graph"
    help = """\
[b]TSN graph[/b]      braille plot per direction: TSN of each DATA chunk (white) and the
                      peer's SACK cumulative TSN ack (cyan) over time
"""

    def build(self) -> list:
        return [Static("", id="tsn-title"), FocusStatic("", id="tsn-plot")]

    def tick(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        app = self.app
        a = app.assoc_for_views()
        title = self.query_one("#tsn-title", Static)
        plot = self.query_one("#tsn-plot", Static)
        if a is None:
            title.update("no association (yet)")
            return
        with app.store.lock:
            s = app.store.series.get(a)
            s = {k: list(v) for k, v in s.items()} if s else None
        if not s:
            title.update(f"association {a}: no DATA or SACK")
            plot.update("")
            return
        w = max(20, (plot.size.width or 100) - 12)
        h = max(4, ((plot.size.height or 20) - 4) // 2)
        out = Text()
        t0 = app.store.first_ts
        for d in (1, 2):
            data = [((t - t0) / 1e9, v) for t, v in s[f"data{d}"]]
            sack = [((t - t0) / 1e9, v) for t, v in s[f"sack{d}"]]
            out.append(f"ep{d} -> ep{3 - d}: {len(data)} DATA chunks (white), "
                       f"{len(sack)} SACK cum TSN ack from ep{3 - d} (cyan)\n", style="bold")
            pts = data + sack
            if not pts:
                out.append("(none)\n")
                continue
            ys = [v for _, v in pts]
            xs = [x for x, _ in pts]
            y0, y1 = min(ys), max(ys)
            out.append(f"TSN {y1}\n", style="grey50")
            out.append_text(braille_plot([data, sack], w, h, (min(xs), max(xs)), (y0, y1),
                                         styles=["white", "cyan"]))
            out.append(f"\nTSN {y0}    t={min(xs):.6f}s .. {max(xs):.6f}s\n", style="grey50")
        title.update(f"association {a}: TSN (DATA) and cumulative TSN ack (SACK) over time")
        plot.update(out)
