"""A time-series chart on textual-plotext, with what plotext lacks: a cursor with a readout
(the seed's tooltip: time and value under the cursor, average and peak for rolled-up
points), zoom (keys ``+``/``-`` around the cursor, ``0`` back to the whole range, or a
rectangle dragged with the mouse), and Save As Image (SVG, plus CSV and JSON of the points).

Feed it :class:`iwtui.icewarp.traffic.query.Series` (one per line, same steps). Other
areas may reuse it: anything with ``service``, ``category``, ``step_s`` and ``points``
(``t``, ``v``, ``avg``, ``peak``) draws.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import ComposeResult, RenderResult
from textual.containers import Vertical
from textual.message import Message
from textual_plotext import PlotextPlot

from iwtui.icewarp.traffic.query import Point, Series
from iwtui.tui.bindings import bindings
from iwtui.tui.widgets.panel import Panel

COLOURS = ("cyan", "red", "green", "orange", "magenta", "blue", "yellow")
RICH = {"orange": "dark_orange"}
MIN_WINDOW = 4
LEFT_MARGIN = 9  # columns plotext gives the y-axis labels (approximate; mouse mapping)


def _nice(top: float) -> float:
    """A round top for the y axis (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 4:
        return 4.0
    mag = 10 ** (len(str(int(top))) - 1)
    return float(next(m * mag for m in (1, 2, 2.5, 4, 5, 8, 10) if top <= m * mag))


def human(v: float, unit: str = "count") -> str:
    if unit == "bytes":
        for name, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if abs(v) >= size:
                return f"{v / size:.1f} {name}"
        return f"{v:.0f} B"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}"
    return f"{int(v):,}"


class ChartPlot(PlotextPlot):
    """The plot itself: mouse drags become zoom requests, clicks move the cursor."""

    class Dragged(Message):
        def __init__(self, x0: int, x1: int) -> None:
            super().__init__()
            self.x0, self.x1 = x0, x1

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._down: int | None = None
        self.built_at = 0.0  # perf_counter when the plot was last drawn (bench, tests)
        self.build_s = 0.0

    def render(self) -> RenderResult:
        t0 = time.perf_counter()
        chart = next((a for a in self.ancestors if isinstance(a, Chart)), None)
        if chart is not None:
            chart.build_plot(self)
        out = super().render()
        self.built_at = time.perf_counter()
        self.build_s = self.built_at - t0
        return out

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._down = event.x
        self.capture_mouse()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()
        if self._down is not None:
            self.post_message(self.Dragged(self._down, event.x))
        self._down = None


class Chart(Vertical, can_focus=True):
    """Series over a shared time axis; ``window`` is the shown slice of point indices."""

    BINDINGS = bindings("chart")
    DEFAULT_CSS = """
    Chart { height: 1fr; }
    Chart ChartPlot { height: 1fr; }
    Chart .chart-readout { height: 2; padding: 0 1; }
    Chart #chart-legend { height: 1; }
    Chart:focus .chart-readout { background: $boost; }
    """

    def __init__(self, *, id: str | None = None, units: dict[str, str] | None = None) -> None:
        super().__init__(id=id)
        self.series: list[Series] = []
        self.units = units or {}
        self.window = (0, 0)
        self.cursor = 0
        self.title = ""
        self.draws = 0  # how many times the plot was rebuilt (tests, bench)

    def compose(self) -> ComposeResult:
        yield ChartPlot(id="chart-plot")
        # panels repaint without a relayout: a live update redraws only what changed
        yield Panel(classes="chart-readout", id="chart-readout")
        yield Panel(classes="chart-readout", id="chart-legend")

    # -- data ---------------------------------------------------------------------------

    @property
    def length(self) -> int:
        return len(self.series[0].points) if self.series else 0

    def set_series(self, series: Sequence[Series], title: str = "", *, keep_view: bool = False
                   ) -> None:  # fmt: skip
        """New data. ``keep_view``: the same range moved on (live), keep zoom and cursor."""
        same_shape = keep_view and self.series and self.length == len(series[0].points)
        self.series = list(series)
        self.title = title
        self.query_one("#chart-legend", Panel).styles.height = max(1, len(self.series))
        if not same_shape:
            self.window = (0, self.length)
            self.cursor = self._last_nonzero()
        self.redraw()

    def _last_nonzero(self) -> int:
        last = 0
        for s in self.series:
            for i, p in enumerate(s.points):
                if p.v:
                    last = max(last, i)
        return last

    # -- keys ---------------------------------------------------------------------------

    def action_move(self, n: int) -> None:
        if not self.length:
            return
        self.cursor = max(0, min(self.length - 1, self.cursor + n))
        lo, hi = self.window
        if self.cursor < lo or self.cursor >= hi:
            width = hi - lo
            lo = max(0, min(self.length - width, self.cursor - width // 2))
            self.window = (lo, lo + width)
        self.redraw()

    def action_edge(self, end: int) -> None:
        self.action_move(-self.length if end < 0 else self.length)

    def action_zoom(self, factor: float) -> None:
        """``factor`` < 1 zooms in around the cursor; > 1 out."""
        if not self.length:
            return
        lo, hi = self.window
        width = max(MIN_WINDOW, min(self.length, round((hi - lo) * factor)))
        if factor > 1 and width == hi - lo:
            width = min(self.length, width * 2)
        lo = max(0, min(self.length - width, self.cursor - width // 2))
        self.window = (lo, lo + width)
        self.redraw()

    def action_whole(self) -> None:
        self.window = (0, self.length)
        self.redraw()

    def zoom_to(self, lo: int, hi: int) -> None:
        lo, hi = max(0, min(lo, hi)), min(self.length, max(lo, hi) + 1)
        if hi - lo < MIN_WINDOW:
            hi = min(self.length, lo + MIN_WINDOW)
            lo = max(0, hi - MIN_WINDOW)
        self.window = (lo, hi)
        self.cursor = max(lo, min(hi - 1, self.cursor))
        self.redraw()

    def index_at(self, x: int) -> int:
        """The point under column ``x`` of the plot (approximate: plotext's axis width)."""
        plot = self.query_one(ChartPlot)
        width = max(1, plot.size.width - LEFT_MARGIN - 1)
        lo, hi = self.window
        frac = (x - LEFT_MARGIN) / width
        return max(lo, min(hi - 1, lo + int(frac * (hi - lo))))

    def on_chart_plot_dragged(self, event: ChartPlot.Dragged) -> None:
        a, b = self.index_at(event.x0), self.index_at(event.x1)
        if abs(event.x1 - event.x0) <= 1:
            self.cursor = a
            self.redraw()
        else:
            self.zoom_to(a, b)

    # -- drawing ------------------------------------------------------------------------

    def redraw(self) -> None:
        """New state: the plot is rebuilt at its next paint, at its size then."""
        self.draws += 1
        self.query_one(ChartPlot).refresh()
        self.query_one("#chart-readout", Panel).update(self.readout())
        self.query_one("#chart-legend", Panel).update(self.legend())

    def build_plot(self, plot: ChartPlot) -> None:
        """Fill plotext for the plot's current size (called by its ``render``)."""
        plt = plot.plt
        plt.clear_figure()
        lo, hi = self.window
        cols = max(10, plot.size.width - LEFT_MARGIN)  # a point a column: plotext draws the lines
        if self.series and hi > lo:
            step = max(1, -(-(hi - lo) // cols))
            xs = list(range(lo, hi, step))
            for k, s in enumerate(self.series):
                values = [max(p.v for p in s.points[i : min(i + step, hi)]) for i in xs]
                plt.plot(xs, values, marker="braille", color=COLOURS[k % len(COLOURS)])
            top = max((p.v for s in self.series for p in s.points[lo:hi]), default=0)
            nice = _nice(top)
            plt.ylim(0, nice)
            unit = self.units.get(self.series[0].category, "count")
            yt = [nice * i / 4 for i in range(5)]
            plt.yticks(yt, [human(v, unit).replace(" ", "") for v in yt])
            plt.xlim(lo, max(lo + 1, hi - 1))
            plt.vline(self.cursor, "white")
            ticks = list(range(lo, hi, max(1, (hi - lo) // 6)))
            plt.xticks([float(i) for i in ticks], [self._label(i) for i in ticks])
        plt.title(self.title)
        plt.frame(True)

    def _label(self, i: int) -> str:
        t = self.series[0].points[i].t
        step = self.series[0].step_s
        if step >= 86400:
            return t[5:10]
        span = self.series[0].points[-1].t[:10] != self.series[0].points[0].t[:10]
        return f"{t[5:10]} {t[11:16]}" if span and (self.window[1] - self.window[0]) * step > 86400 \
            else t[11:16]  # fmt: skip

    def point(self, k: int) -> Point | None:
        if not self.series or not 0 <= self.cursor < self.length:
            return None
        return self.series[k].points[self.cursor]

    def readout(self) -> Text:
        """The cursor column: its time, each series' value (average and peak per minute
        when a point holds more than one minute)."""
        if not self.series:
            return Text("no data", style="dim")
        p0 = self.series[0].points[self.cursor]
        step = self.series[0].step_s
        out = Text()
        out.append(f"▏{p0.t.replace('T', ' ')}", style="bold")
        out.append(f" (+{step // 60} min)  " if step > 60 else "  ", style="dim")
        for k, s in enumerate(self.series):
            p = s.points[self.cursor]
            unit = self.units.get(s.category, "count")
            out.append(f"{s.category} ", style=RICH.get(COLOURS[k % 7], COLOURS[k % 7]))
            out.append(human(p.v, unit), style="bold")
            if step > 60:
                out.append(f" ({human(round(p.avg, 1), unit)} avg, {human(p.peak, unit)} peak /min)",
                           style="dim")  # fmt: skip
            out.append("   ")
        lo, hi = self.window
        if (lo, hi) != (0, self.length):
            out.append(f"zoom {hi - lo}/{self.length}", style="italic")
        return out

    def legend(self) -> Text:
        out = Text()
        for k, s in enumerate(self.series):
            unit = self.units.get(s.category, "count")
            colour = RICH.get(COLOURS[k % 7], COLOURS[k % 7])
            peak = s.peak
            out.append("━━ ", style=colour)
            out.append(f"{s.service} {s.category}", style=f"bold {colour}")
            out.append(f"  total {human(s.total, unit)}  avg {human(s.average(), unit)}/min"
                       f"  max {human(peak.peak if peak else 0, unit)}/min")  # fmt: skip
            if peak is not None:
                out.append(f" ({peak.t.replace('T', ' ')[:16]})", style="dim")
            out.append("\n" if k < len(self.series) - 1 else "")
        return out

    # -- saving -------------------------------------------------------------------------

    def shown(self) -> list[Series]:
        """The series cut to the zoom window."""
        lo, hi = self.window
        out = []
        for s in self.series:
            part = Series(s.service, s.category, s.step_s, s.start, s.end, s.points[lo:hi])
            out.append(part)
        return out

    def save(self, stem: Path) -> list[Path]:
        """``stem``.svg, .csv and .json of what is shown (the zoom window)."""
        from iwtui.icewarp.traffic.svg import render

        series = self.shown()
        svg = stem.with_suffix(".svg")
        _write(svg, render(series, self.title))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["service", "category", "step_s", "t", "v", "avg", "peak"])
        for s in series:
            for p in s.points:
                w.writerow([s.service, s.category, s.step_s, p.t, p.v, f"{p.avg:.3f}", p.peak])
        _write(stem.with_suffix(".csv"), buf.getvalue())
        _write(stem.with_suffix(".json"), json.dumps([s.as_json() for s in series], indent=1))
        return [svg, stem.with_suffix(".csv"), stem.with_suffix(".json")]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
