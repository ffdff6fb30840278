"""Status > Traffic Charts: a service's counters over 1 day, 1 week, 1 month, 1 year or a
From/To range, several categories overlaid with a legend (total, average and maximum per
minute), a cursor with its readout, zoom, Save As Image; live while shown.

The data is the traffic store (``iwtui.icewarp.traffic``), brought up to date from the
logs every second while the area is shown (a hidden area does no work at all).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Select, SelectionList, Static

from iwtui.icewarp.install import Install
from iwtui.icewarp.traffic import counters as counters_mod
from iwtui.icewarp.traffic import query
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.charts.dialogs import RangeScreen
from iwtui.tui.screens.charts.feed import FeedArea, TrafficFeed
from iwtui.tui.widgets.chart import Chart
from iwtui.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

SERVICES = ("smtp", "pop3", "imap")
POLL_S = 1.0
STEP = {"day": 300, "week": 3600, "month": 3600, "year": 86400}
PERIOD_NAMES = {"day": "1 Day", "week": "1 Week", "month": "1 Month", "year": "1 Year",
                "range": "From/To"}  # fmt: skip


def _now() -> datetime:
    """Now (tests and screenshots pin it)."""
    return datetime.now()


@dataclass(frozen=True)
class View:
    service: str
    categories: tuple[str, ...]
    period: str  # day week month year range
    day: date
    start: datetime | None = None  # range only
    end: datetime | None = None

    def bounds(self) -> tuple[datetime, datetime, int]:
        if self.period == "range" and self.start is not None and self.end is not None:
            return self.start, self.end, query.auto_step(self.start, self.end, most=800)
        start, end = query.period_range(self.period, self.day)
        return start, end, STEP[self.period]

    def title(self) -> str:
        start, end, step = self.bounds()
        last = end - timedelta(seconds=1)
        span = f"{start:%Y-%m-%d}" if self.period == "day" else \
            f"{start:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"  # fmt: skip
        return (
            f"{self.service.upper()} · {PERIOD_NAMES[self.period]} · {span} · step {step // 60} min"
        )


class ChartsArea(FeedArea, Vertical):
    can_focus = False
    BINDINGS = bindings("charts")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> ChartsArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install, loaded.config.state_path())

    def __init__(self, install: Install, state_dir: Path, *, live: bool = True) -> None:
        super().__init__(id="charts", classes="area")
        self.install = install
        self.state_dir = state_dir
        self.live = live
        self.feed: TrafficFeed | None = None
        # one category at first, as IceWarp shows it; more can be overlaid
        self.view = View("smtp", ("serverconn",), "day", _now().date())
        self.drawn: tuple[View, int] | None = None  # what the chart shows, at which version
        self.busy = False
        self.ready = False
        self._again = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="charts-controls"):
            yield Select[str]([(s.upper(), s) for s in SERVICES], value="smtp",
                              allow_blank=False, id="charts-service")  # fmt: skip
            yield Static(id="charts-period")
            yield Panel(id="charts-status")
        with Horizontal(id="charts-body"):
            yield SelectionList[str](id="charts-categories")
            units = {c.name: c.unit for c in counters_mod.SMTP}
            yield Chart(id="charts-chart", units=units)

    def on_mount(self) -> None:
        self._fill_categories()
        self._show_period()
        self._timer = self.set_interval(POLL_S, self.tick, pause=True, name="charts-live")

    def focus(self, scroll_visible: bool = True) -> ChartsArea:
        self.query_one(Chart).focus(scroll_visible)
        return self

    # -- the loop -----------------------------------------------------------------------

    def tick(self, *, read_logs: bool = True) -> None:
        """Read what the logs gained (``read_logs``: the live tick), then redraw if the
        data or the view changed. A view change alone only queries the store."""
        if self.feed is None or getattr(self.app, "paused", False):
            return
        if self.busy:
            self._again = True
            return
        self.busy = True
        self.update_worker(self.view, read_logs or self.feed.ingests == 0)

    @work(thread=True, group="charts", exit_on_error=False)
    def update_worker(self, view: View, read_logs: bool) -> None:
        feed = self.feed
        assert feed is not None
        try:
            if read_logs:
                post = getattr(self.app, "post_from_thread", None)  # never waits for the UI
                feed.update(None if post is None else lambda d, t: post(self._progress, d, t))
            if self.drawn != (view, feed.version) and not feed.cancel.is_set():
                start, end, step = view.bounds()
                series = feed.read(lambda st: [
                    query.series(st, feed.server, view.service, c, start, end, step)
                    for c in view.categories
                ])  # fmt: skip
                self.app.call_from_thread(self.apply, view, feed.version, series)
        finally:
            self.app.call_from_thread(self._done)

    def _done(self) -> None:
        self.busy = False
        if self._again:
            self._again = False
            self.tick()

    def _progress(self, done: int, total: int) -> None:
        if done < total:
            pct = done * 100 // max(1, total)
            self._status(Text(f"reading logs {pct}% of {total / 2**20:,.0f} MiB", style="yellow"))

    def apply(self, view: View, version: int, series: list[query.Series]) -> None:
        chart = self.query_one(Chart)
        keep = self.drawn is not None and self.drawn[0] == view
        self.drawn = (view, version)
        if view != self.view:
            return  # the user moved on while this was read: the next tick reads the new view
        title = view.title()
        if series and series[0].step_s != view.bounds()[2]:  # minutes thinned: hours
            from iwtui.icewarp.traffic.store import MINUTE_DAYS

            title = (f"{title.rsplit(' · step', 1)[0]} · step {series[0].step_s // 60} min"
                     f" (minutes kept {MINUTE_DAYS} days)")  # fmt: skip
        with self.app.batch_update():
            chart.set_series(series, title, keep_view=keep)
            stamp = _now().strftime("%H:%M:%S")
            self._status(Text(f"live · updated {stamp}" if self.live else f"updated {stamp}",
                              style="dim"))  # fmt: skip
        self.ready = True

    def _status(self, text: Text) -> None:
        self.query_one("#charts-status", Panel).update(text)

    # -- controls -----------------------------------------------------------------------

    def _fill_categories(self) -> None:
        sel = self.query_one("#charts-categories", SelectionList)
        sel.clear_options()
        chosen = set(self.view.categories)
        for c in counters_mod.counters_of(self.view.service):
            label = c.title if c.derived else f"{c.title} (n/a)"
            sel.add_option((label, c.name, c.name in chosen))

    def _show_period(self) -> None:
        out = Text()
        for p in ("day", "week", "month", "year", "range"):
            key = {"day": "d", "week": "w", "month": "m", "year": "y", "range": "i"}[p]
            style = "bold reverse" if p == self.view.period else "dim"
            out.append(f" {key} {PERIOD_NAMES[p]} ", style=style)
            out.append(" ")
        self.query_one("#charts-period", Static).update(out)

    def set_view(self, view: View) -> None:
        if view == self.view:
            return
        self.view = view
        self._show_period()
        self.tick(read_logs=False)

    def action_period(self, period: str) -> None:
        if period == "range":
            start, end, _step = self.view.bounds()
            self.app.push_screen(RangeScreen(start, end), self._range_chosen)
            return
        self.set_view(replace(self.view, period=period, start=None, end=None))

    def _range_chosen(self, got: tuple[datetime, datetime] | None) -> None:
        if got is not None:
            self.set_view(replace(self.view, period="range", start=got[0], end=got[1]))

    def action_shift(self, n: int) -> None:
        """The previous / next period (day, week...; a range moves by its length)."""
        v = self.view
        if v.period == "range" and v.start is not None and v.end is not None:
            span = v.end - v.start
            self.set_view(replace(v, start=v.start + n * span, end=v.end + n * span))
            return
        self.set_view(replace(v, day=v.day + timedelta(days=n * query.PERIODS[v.period])))

    def action_today(self) -> None:
        self.set_view(replace(self.view, day=_now().date(), period=self.view.period
                              if self.view.period != "range" else "day"))  # fmt: skip

    def action_next_service(self) -> None:
        i = SERVICES.index(self.view.service) if self.view.service in SERVICES else -1
        self.query_one("#charts-service", Select).value = SERVICES[(i + 1) % len(SERVICES)]

    @on(Select.Changed, "#charts-service")
    def service_changed(self, event: Select.Changed) -> None:
        service = str(event.value)
        if service == self.view.service:
            return
        have = {c.name for c in counters_mod.counters_of(service)}
        cats = tuple(c for c in self.view.categories if c in have) or ("serverconn",)
        self.view = replace(self.view, service=service, categories=cats)
        self._fill_categories()
        self.tick(read_logs=False)

    @on(SelectionList.SelectedChanged, "#charts-categories")
    def categories_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        chosen = tuple(str(v) for v in event.selection_list.selected)
        if chosen and chosen != self.view.categories:
            self.set_view(replace(self.view, categories=chosen))

    def action_categories(self) -> None:
        self.query_one("#charts-categories", SelectionList).focus()

    def action_back(self) -> None:
        self.query_one(Chart).focus()

    def action_save(self) -> None:
        chart = self.query_one(Chart)
        if not chart.series:
            return
        start, _end, _step = self.view.bounds()
        base = f"iwtui-chart-{self.view.service}-{'-'.join(self.view.categories)}-{start:%Y%m%d}"
        stem = Path.cwd() / base
        n = 1
        while stem.with_suffix(".svg").exists():
            stem = Path.cwd() / f"{base}.{n}"
            n += 1
        try:
            paths = chart.save(stem)
        except OSError as exc:
            self.notify(f"{stem}: {exc.strerror or exc}", title="Not saved", severity="error")
            return
        self.notify(f"{paths[0]} (and .csv, .json)", title="Chart saved")
        self.saved = paths
