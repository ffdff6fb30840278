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
from textual.css.scalar import Scalar
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.style import Style
from textual.timer import Timer
from textual.visual import Visual, visualize
from textual_plotext import PlotextPlot

from iwtui.icewarp.traffic.query import Point, Series
from iwtui.tui.bindings import bindings
from iwtui.tui.widgets.panel import Panel
from iwtui.units import nice_top

COLOURS = ("cyan", "red", "green", "orange", "magenta", "blue", "yellow")
RICH = {"orange": "dark_orange"}
MIN_WINDOW = 4
# A live update (the same range, new counts) rebuilds the plot at most every
# live_plot_s(step): the readout and legend show the new numbers at once, the plot within
# a thirtieth of its step, between LIVE_PLOT_S and LIVE_PLOT_MAX_S (a day of 5-minute
# steps: every 10 s; a rebuild of 13 series at 160x48 costs ~25 ms, 1.3 % of a core
# every 2 s).
LIVE_PLOT_S = 2.0
LIVE_PLOT_MAX_S = 10.0


def live_plot_s(step_s: float) -> float:
    """How often a live plot of ``step_s`` buckets is rebuilt at most."""
    return min(LIVE_PLOT_MAX_S, max(LIVE_PLOT_S, step_s / 30))


LEFT_MARGIN = 9  # columns plotext gives the y-axis labels (approximate; mouse mapping)


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
    """The plot itself: mouse drags become zoom requests, clicks move the cursor.

    The picture is built when asked (:meth:`rebuild`), or when Textual paints it at a new
    size or style, never on every paint. It is painted line by line (Textual's line API):
    each line of plotext's picture becomes a strip once, and a rebuild converts and
    repaints only the lines that changed (a live update moves a few lines at the right
    end; a change too small to move a dot repaints nothing). Converting the whole picture
    to Rich text and then to strips on each build was two thirds of a build's cost."""

    class Dragged(Message):
        def __init__(self, x0: int, x1: int) -> None:
            super().__init__()
            self.x0, self.x1 = x0, x1

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._down: int | None = None
        self.built_at = 0.0  # perf_counter when the plot was last built (bench, tests)
        self.build_s = 0.0
        self.builds = 0  # plotext builds (tests, bench)
        self.pictures = 0  # builds that changed the picture
        self._lines: list[str] = []  # plotext's picture, one ANSI string a line
        self._strips: list[Strip] = []
        self._text: Text | None = None
        self._key: tuple[int, int, str, Style] | None = None
        self._inputs: object = None  # what the last build drew (Chart.plot_inputs)

    def _size_key(self) -> tuple[int, int, str, Style]:
        theme = self._get_plotext_theme_name(self.app.theme)
        return (self.size.width, self.size.height, theme, self.visual_style)

    def rebuild(self) -> list[int] | None:
        """Build the picture now, at the current size: the lines that changed (none:
        nothing to paint), or None when the whole plot must be painted (a new size, or
        not laid out yet: its first paint builds)."""
        key = self._size_key()
        if key[0] <= 0 or key[1] <= 0:
            self._key = None
            return None
        return self._build(key)

    def _build(self, key: tuple[int, int, str, Style]) -> list[int] | None:
        t0 = time.perf_counter()
        chart = next((a for a in self.ancestors if isinstance(a, Chart)), None)
        inputs = chart.plot_inputs(key[0]) if chart is not None else None
        if inputs is not None and key == self._key and inputs == self._inputs:
            return []  # what plotext would draw is what it drew: nothing to do
        self._inputs = inputs
        if chart is not None:
            chart.build_plot(self)
        plt = self._plot  # what PlotextPlot.render does before plotext's build
        plt.plotsize(key[0], key[1])
        plt._set_size(key[0], key[1])
        plt.theme(key[2])
        lines = plt.build().split("\n")
        changed: list[int] | None
        if key != self._key or len(lines) != len(self._lines):
            changed = None
            self._strips = self._convert(lines, range(len(lines)), key[0])
        else:
            changed = [
                y for y, (new, old) in enumerate(zip(lines, self._lines, strict=True)) if new != old
            ]
            if changed:
                for y, strip in zip(changed, self._convert(lines, changed, key[0]), strict=True):
                    self._strips[y] = strip
        self.pictures += changed is None or bool(changed)
        self._key, self._lines, self._text = key, lines, None
        self.builds += 1
        self.built_at = time.perf_counter()
        self.build_s = self.built_at - t0
        return changed

    def _convert(self, lines: list[str], rows: Sequence[int], width: int) -> list[Strip]:
        """The strips of ``rows`` of the picture, as Textual draws the whole picture
        rendered as Rich text (the other rows are left empty, so each strip keeps its own
        row in its offsets)."""
        wanted = set(rows)
        last = max(rows) + 1
        text = Text.from_ansi("\n".join(lines[y] if y in wanted else "" for y in range(last)))
        strips = Visual.to_strips(self, visualize(self, text), width, last, self.visual_style)
        blank = Strip.blank(width, self.visual_style.rich_style)
        return [strips[y] if y < len(strips) else blank for y in rows]

    def render_line(self, y: int) -> Strip:
        if self._size_key() != self._key:
            self._build(self._size_key())
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def render(self) -> RenderResult:
        """The whole picture as Rich text (painting goes through :meth:`render_line`)."""
        if self._size_key() != self._key:
            self._build(self._size_key())
        if self._text is None:
            self._text = Text.from_ansi("\n".join(self._lines))
        return self._text

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
        self.draws = 0  # redraws asked (tests, bench)
        self._pending: Timer | None = None  # a live plot rebuild waiting for LIVE_PLOT_S

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
        legend = self.query_one("#chart-legend", Panel)
        if legend.styles.height != Scalar.from_number(max(1, len(self.series))):
            legend.styles.height = max(1, len(self.series))  # (a change means a new layout)
        if not same_shape:
            self.window = (0, self.length)
            self.cursor = self._last_nonzero()
        self.redraw(live=bool(same_shape))

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

    def redraw(self, *, live: bool = False) -> None:
        """New state: readout and legend now; the plot now too, unless ``live`` (new
        counts for the same view) and the last build is younger than live_plot_s: then
        once that much has passed (live updates in between are coalesced)."""
        self.draws += 1
        self.query_one("#chart-readout", Panel).update(self.readout())
        self.query_one("#chart-legend", Panel).update(self.legend())
        if live:
            every = live_plot_s(self.series[0].step_s if self.series else 0)
            wait = self.query_one(ChartPlot).built_at + every - time.perf_counter()
            if wait > 0:
                if self._pending is None:
                    self._pending = self.set_timer(wait, self._plot_now, name="chart-live")
                return
        self._plot_now()

    def _plot_now(self) -> None:
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        plot = self.query_one(ChartPlot)
        changed = plot.rebuild()
        if changed is None:
            plot.refresh()
        elif changed:
            plot.refresh(*[Region(0, y, plot.size.width, 1) for y in changed])

    def plot_inputs(self, width: int) -> tuple[object, ...]:
        """Everything the plot is drawn from at ``width`` columns: equal inputs, equal
        picture (a live tick that changed no drawn value builds nothing)."""
        lo, hi = self.window
        cols = max(10, width - LEFT_MARGIN)  # a point a column: plotext draws the lines
        lines: list[tuple[int, ...]] = []
        top = 0
        if self.series and hi > lo:
            step = max(1, -(-(hi - lo) // cols))
            for s in self.series:
                pts = s.points
                lines.append(tuple(max(p.v for p in pts[i : min(i + step, hi)])
                                   for i in range(lo, hi, step)))  # fmt: skip
            top = max((max(v) for v in lines if v), default=0)
        unit = self.units.get(self.series[0].category, "count") if self.series else ""
        first = self.series[0] if self.series else None
        labels = (first.step_s, first.points[0].t, first.points[-1].t, first.points[lo].t) \
            if first is not None and lines else ()  # fmt: skip
        return (self.title, lo, hi, self.cursor, cols, unit, top, labels, tuple(lines))

    def build_plot(self, plot: ChartPlot) -> None:
        """Fill plotext for the plot's current size (called when the plot is built)."""
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
            nice = nice_top(top)
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
