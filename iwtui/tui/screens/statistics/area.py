"""Status > Statistics: a service's counters since its newest start line of the day (else
since midnight), each with its rate per minute and its peak minute; live while shown;
CSV/JSON export. The same traffic feed as Traffic Charts."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Select, Static

from iwtui.icewarp.install import Install
from iwtui.icewarp.traffic import counters as counters_mod
from iwtui.icewarp.traffic import query
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.charts.feed import FeedArea, TrafficFeed
from iwtui.tui.widgets.chart import human
from iwtui.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

SERVICES = ("smtp", "pop3", "imap")
POLL_S = 1.0
COLUMNS = ("Item", "Value", "Per minute", "Peak", "At")  # Peak: the busiest minute, At: when
WIDTHS = (28, 12, 10, 9, 5)  # fixed (a live update never moves them); fits 80 columns
NOTE = (
    "A filter's counter rises once per session (several recipients caught by one filter "
    "count once; by two filters, once each). SpamAssassin counts messages it scored "
    "non-zero. (n/a): not written in IceWarp's logs, always 0."
)


def _now() -> datetime:
    """Now (tests and screenshots pin it)."""
    return datetime.now()


class LiveTable(DataTable[Text]):
    """A DataTable whose cells change every second: Textual keys its render caches by
    an update count, so each update leaves the previous renders behind until the caches
    hold 10,000 cells and 1,000 rows (about 10 MB for this table of 25 rows). Kept to a
    few screens' worth here; they are caches, so only the memory changes."""

    CELLS = 2_000
    ROWS = 200

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cell_render_cache.maxsize = self.CELLS
        self._row_render_cache.maxsize = self.ROWS
        self._line_cache.maxsize = self.ROWS


class StatisticsArea(FeedArea, Vertical):
    can_focus = False
    BINDINGS = bindings("statistics")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> StatisticsArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install, loaded.config.state_path())

    def __init__(self, install: Install, state_dir: Path, *, live: bool = True) -> None:
        super().__init__(id="statistics", classes="area")
        self.install = install
        self.state_dir = state_dir
        self.live = live
        self.feed: TrafficFeed | None = None
        self.service = "smtp"
        self.day = _now().date()
        self.stats: query.ServiceStats | None = None
        self.drawn: tuple[str, date, int] | None = None
        self.busy = False
        self.ready = False
        self._again = False
        self._timer: Timer | None = None
        self.saved: list[Path] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="statistics-controls"):
            yield Select[str]([(s.upper(), s) for s in SERVICES], value="smtp",
                              allow_blank=False, id="statistics-service")  # fmt: skip
            yield Panel(id="statistics-since")
        yield LiveTable(id="statistics-table", cursor_type="row", zebra_stripes=True)
        yield Static(Text(NOTE, style="dim"), id="statistics-note")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in zip(COLUMNS, WIDTHS, strict=True):
            table.add_column(name, key=name, width=width)
        self._timer = self.set_interval(POLL_S, self.tick, pause=True, name="statistics-live")

    def focus(self, scroll_visible: bool = True) -> StatisticsArea:
        self.query_one(DataTable).focus(scroll_visible)
        return self

    def tick(self) -> None:
        if self.feed is None or getattr(self.app, "paused", False):
            return
        if self.busy:
            self._again = True
            return
        self.busy = True
        self.update_worker(self.service, self.day)

    @work(thread=True, group="statistics", exit_on_error=False)
    def update_worker(self, service: str, day: date) -> None:
        feed = self.feed
        assert feed is not None
        try:
            feed.update()
            if self.drawn != (service, day, feed.version) and not feed.cancel.is_set():
                now = _now()
                got = feed.read(lambda st: query.stats(st, feed.server, service, day, now))
                self.app.call_from_thread(self.apply, service, day, feed.version, got)
        finally:
            self.app.call_from_thread(self._done)

    def _done(self) -> None:
        self.busy = False
        if self._again:
            self._again = False
            self.tick()

    def apply(self, service: str, day: date, version: int, stats: query.ServiceStats) -> None:
        self.drawn = (service, day, version)
        if (service, day) != (self.service, self.day):
            return
        self.stats = stats
        table = self.query_one(DataTable)
        with self.app.batch_update():
            keys = {str(k.value) for k in table.rows}
            for c in stats.counters:
                peak_t = c.peak_t[11:16] if c.peak_t else "—"
                known = counters_mod.counter(service, c.name)
                title = c.title if known is None or known.derived else f"{c.title} (n/a)"
                cells = (
                    Text(title),
                    Text(human(c.total, c.unit), justify="right"),
                    Text(human(round(c.per_minute, 2), c.unit), justify="right"),
                    Text(human(c.peak, c.unit), justify="right"),
                    Text(peak_t, justify="center"),
                )
                if c.name in keys:
                    for col, cell in zip(COLUMNS, cells, strict=True):
                        table.update_cell(c.name, col, cell)
                else:
                    table.add_row(*cells, key=c.name)
            for k in keys - {c.name for c in stats.counters}:
                table.remove_row(k)
            how = "since the service started" if stats.since_start_line else "since midnight"
            since = Text()
            since.append(f" {service.upper()} ", style="bold reverse")
            since.append(f"  {day.isoformat()}  {how}: {stats.since.replace('T', ' ')}")
            stamp = _now().strftime("%H:%M:%S")
            since.append(f"   live · updated {stamp}" if self.live else f"   updated {stamp}",
                         style="dim")  # fmt: skip
            self.query_one("#statistics-since", Panel).update(since)
        self.ready = True

    @on(Select.Changed, "#statistics-service")
    def service_changed(self, event: Select.Changed) -> None:
        if str(event.value) != self.service:
            self.service = str(event.value)
            self.query_one(DataTable).clear()
            self.tick()

    def action_next_service(self) -> None:
        i = SERVICES.index(self.service)
        self.query_one("#statistics-service", Select).value = SERVICES[(i + 1) % len(SERVICES)]

    def action_shift(self, n: int) -> None:
        self.day += timedelta(days=n)
        self.tick()

    def action_today(self) -> None:
        self.day = _now().date()
        self.tick()

    def action_save(self) -> None:
        if self.stats is None:
            return
        stem = Path.cwd() / f"iwtui-statistics-{self.service}-{self.day.isoformat()}"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["service", "since", "counter", "title", "value", "per_minute", "peak",
                    "peak_at"])  # fmt: skip
        for c in self.stats.counters:
            w.writerow([self.service, self.stats.since, c.name, c.title, c.total,
                        f"{c.per_minute:.3f}", c.peak, c.peak_t or ""])  # fmt: skip
        try:
            paths = [stem.with_suffix(".csv"), stem.with_suffix(".json")]
            _write(paths[0], buf.getvalue())
            _write(paths[1], json.dumps({self.service: self.stats.as_json()}, indent=1))
        except OSError as exc:
            self.notify(f"{stem}: {exc.strerror or exc}", title="Not saved", severity="error")
            return
        self.saved = paths
        self.notify(f"{paths[0]} and .json", title="Statistics exported")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
