"""Status > Account Statistics: per local account over a period (From/To, or 1 day, 1 week,
1 month, all days), the seed's List tab (sortable, in the virtual table) and Chart tab (the
chosen category per account, top N), a ``;`` filter, Max Items, Refresh, Export To File,
Save As Image; ``v`` shows the account's Volume, ``V`` its domain's.

The numbers come from the traffic store (the same incremental ingest as Traffic Charts)
and the mailboxes as they are now (the Volume walker, its cache held here). Work runs in a
thread; the list is sorted on the UI thread by the table (Max Items keeps the top N of the
current sort).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from iwtui.errors import BadInput
from iwtui.icewarp.accounts import chart as chart_mod
from iwtui.icewarp.accounts import export, hosts, quota
from iwtui.icewarp.accounts.stats import AccountRow, Report, _sum, collect, parse_day
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.volume.folders import FolderCache
from iwtui.tui import heap
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.accounts.columns import columns, narrow
from iwtui.tui.widgets.area_tabs import AreaTabs
from iwtui.tui.widgets.item_table import Column, ItemTable, sort_rows
from iwtui.units import human_bytes as human
from iwtui.units import nice_top

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

NARROW_BELOW = 110  # cells: a narrower area shows fewer columns
CHART_TOP = 20  # accounts in the chart when Max Items is 0
LIVE_MIN_S = 5.0  # a log change refreshes a shown list at most this often


def _now() -> datetime:
    """Now (tests and screenshots pin it)."""
    return datetime.now()


class AccountsTable(ItemTable[AccountRow]):
    """The list: sorting goes through the area, so that Max Items keeps the top N of the
    new order (not a re-sort of the N shown). ``v``/``V`` here are Volume (the seed's
    "Display volume"), not the table's mark range."""

    BINDINGS = bindings("accounts_table")

    def action_volume(self, of_domain: bool = False) -> None:
        self.parent_area().action_volume(of_domain)

    def action_sort_next(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.columns)
        self.post_message(self.CursorMoved(self))
        self.parent_area().resort()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self.parent_area().resort()

    def parent_area(self) -> AccountsArea:
        return self.app.query_one(AccountsArea)


class AccountsArea(Vertical):
    can_focus = False
    BINDINGS = bindings("accounts")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> AccountsArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        c = loaded.config
        return cls(install, c.state_path(), tool_sh=c.tool_sh, reverse_lookup=c.reverse_lookup)

    def __init__(self, install: Install, state_dir: Path, *, tool_sh: bool = False,
                 reverse_lookup: bool = False) -> None:  # fmt: skip
        super().__init__(id="accounts", classes="area")
        self.install = install
        self.state_dir = state_dir
        self.tool_sh = tool_sh
        self.reverse_lookup = reverse_lookup
        self.cache = FolderCache()
        self.quotas: dict[str, int] | None = None
        self.hosts: dict[str, str] = {}
        self.report: Report | None = None
        self.all_rows: list[AccountRow] = []
        self.shown: list[AccountRow] = []
        self.period = "all"
        self.category = 0
        self.busy = False
        self.error: str | None = None
        self.saved: list[Path] = []
        self._again = False
        self._last_live = 0.0
        self._cancel = threading.Event()
        self._wide: list[Column[AccountRow]] = []
        self._total: AccountRow | None = None  # the shown rows' totals line

    def compose(self) -> ComposeResult:
        with Horizontal(id="accounts-controls"):
            yield Static("Filter", classes="accounts-label")
            yield Input(placeholder="domain;user@domain (any matches)", id="accounts-filter")
            yield Static("From", classes="accounts-label")
            yield Input(placeholder="YYYY-MM-DD", id="accounts-from", classes="accounts-day")
            yield Static("To", classes="accounts-label")
            yield Input(placeholder="YYYY-MM-DD", id="accounts-to", classes="accounts-day")
            yield Static("Max", classes="accounts-label")
            yield Input("0", type="integer", id="accounts-max")
        yield Static(id="accounts-status")
        with AreaTabs(id="accounts-tabs", refocus=self.focus):
            with TabPane("List", id="accounts-list"):
                host = self._host if self.reverse_lookup else None
                self._wide = columns(host)
                table = AccountsTable(self._wide, key=attrgetter("account"), id="accounts-rows")
                yield table
            with TabPane("Chart", id="accounts-chart"):
                yield Static(id="accounts-chart-title")
                plot = PlotextPlot(id="accounts-plot")
                plot.can_focus = True  # the area's keys (category, save, tab) work here
                yield plot

    def on_resize(self) -> None:
        """Under 110 cells the list keeps the columns that fit (ID, Received, Sent, Sent
        Out, Files); every column is in the export and the JSON."""
        table = self.query_one(AccountsTable)
        want = narrow(self._wide) if self.size.width < NARROW_BELOW else self._wide
        if [c.title for c in table.columns] != [c.title for c in want]:
            title = table.columns[table.sort_column].title
            table.columns = list(want)
            titles = [c.title for c in want]
            table.sort_column = titles.index(title) if title in titles else 0
            table.refresh()

    def _host(self, r: AccountRow) -> str | None:
        return self.hosts.get(r.last_ip) if r.last_ip else None

    def focus(self, scroll_visible: bool = True) -> AccountsArea:
        tabs = self.query_one(TabbedContent)
        if tabs.active == "accounts-chart":
            self.query_one("#accounts-plot").focus(scroll_visible)
        else:
            self.query_one(AccountsTable).focus(scroll_visible)
        return self

    def on_show(self) -> None:
        if self.report is None and not self.busy:
            self.refresh_data()

    def files_changed(self, areas: frozenset[object]) -> None:
        """New log lines: a shown list is brought up to date (at most every 5 s)."""
        if not self.display or "logs" not in {str(a) for a in areas}:
            return
        if time.monotonic() - self._last_live >= LIVE_MIN_S:
            self._last_live = time.monotonic()
            self.refresh_data()

    # -- actions ------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_focus_filter(self) -> None:
        self.query_one("#accounts-filter", Input).focus()

    def action_back(self) -> None:
        self.focus()

    def action_period(self, name: str) -> None:
        today = _now().date()
        start = {"day": today, "week": today - timedelta(days=6),
                 "month": today - timedelta(days=29)}.get(name)  # fmt: skip
        self.query_one("#accounts-from", Input).value = start.isoformat() if start else ""
        self.query_one("#accounts-to", Input).value = today.isoformat() if start else ""
        self.period = name
        self.refresh_data()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "accounts-chart" if tabs.active == "accounts-list" else "accounts-list"
        self.focus()
        self._draw_chart()

    def action_category(self) -> None:
        self.category = (self.category + 1) % len(chart_mod.CATEGORIES)
        self._draw_chart()

    def action_volume(self, of_domain: bool = False) -> None:
        row = self.query_one(AccountsTable).current()
        if row is None:
            return
        target = row.domain if of_domain else row.account
        self.app.show_area("volume", lambda area: area.show_target(target))  # type: ignore[attr-defined]

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("accounts-filter", "accounts-from", "accounts-to", "accounts-max"):
            self.period = "range"
            self.refresh_data()
            self.focus()

    def refresh_data(self) -> None:
        if self.busy:
            self._again = True
            return
        try:
            start = parse_day(self.query_one("#accounts-from", Input).value, "From")
            end = parse_day(self.query_one("#accounts-to", Input).value, "To")
        except BadInput as exc:
            self.error = str(exc)
            self._paint_status()
            return
        self.error = None
        self.busy = True
        self._paint_status()
        self._collect(self.query_one("#accounts-filter", Input).value, start, end)

    @work(thread=True, exclusive=True, group="accounts")
    def _collect(self, filter_text: str, start: date | None, end: date | None) -> None:
        try:
            if self.quotas is None:
                self.quotas = quota.limits(self.install.root, enabled=self.tool_sh)
            report = collect(self.install, self.state_dir, start=start, end=end,
                             filter_text=filter_text, mailbox_cache=self.cache,
                             quotas=self.quotas, cancel=self._cancel)  # fmt: skip
            if self.reverse_lookup:
                self.hosts.update(hosts.lookup([r.last_ip for r in report.rows if r.last_ip]))
        except (BadInput, OSError) as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._collected, report)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.error = message
        self._paint_status()

    def _collected(self, report: Report) -> None:
        self.busy = False
        self.report = report
        self.all_rows = report.rows
        self.resort()
        if len(report.rows) >= heap.BIG:  # after this paint: no long pause at a later key
            self.call_after_refresh(heap.settle)
        if self._again:
            self._again = False
            self.refresh_data()

    def max_items(self) -> int:
        try:
            return max(0, int(self.query_one("#accounts-max", Input).value or 0))
        except ValueError:
            return 0

    def resort(self) -> None:
        """The table's order over every account, then Max Items."""
        table = self.query_one(AccountsTable)
        key, reverse = table.sorter()
        rows = sort_all(self.all_rows, key, reverse)
        n = self.max_items()
        self.shown = rows[:n] if n else rows
        # a re-sort of every account keeps their totals (the report's, summed once by
        # collect): only a list cut by Max Items sums its rows (the top N of this order)
        whole = self.report is not None and len(self.shown) == len(self.all_rows)
        self._total = self.report.total if whole and self.report else _sum(self.shown, "Total")
        table.set_rows(self.shown, presorted=True, initial=True)
        self._paint_status()
        self._draw_chart()

    def action_export(self) -> None:
        r = self.report
        if r is None:
            self.notify("Nothing listed yet", severity="warning")
            return
        shown = replace(r, rows=self.shown, total=self._shown_total())
        path = _free(Path.cwd() / f"iwtui-accounts-{r.start}-{r.end}.txt")
        try:
            export.write(shown, path)
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="Not saved", severity="error")
            return
        self.saved = [path]
        self.notify(f"{path}: {len(self.shown):,} accounts", title="Exported")

    def action_save_image(self) -> None:
        if self.report is None:
            return
        field, title, unit = chart_mod.CATEGORIES[self.category]
        bars = chart_mod.top(self.all_rows, field, self.max_items() or CHART_TOP)
        r = self.report
        stem = _free(Path.cwd() / f"iwtui-accounts-{field}-{r.start}-{r.end}.svg")
        heading = f"{title} per account, {r.start} to {r.end}"
        try:
            stem.write_text(chart_mod.svg(heading, bars, unit))
            stem.with_suffix(".csv").write_text(chart_mod.csv_text(field, bars))
        except OSError as exc:
            self.notify(f"{stem}: {exc.strerror or exc}", title="Not saved", severity="error")
            return
        self.saved = [stem, stem.with_suffix(".csv")]
        self.notify(f"{stem} (and .csv)", title="Chart saved")

    # -- drawing ------------------------------------------------------------------------

    def _paint_status(self) -> None:
        if not self.is_mounted:  # a read finished after the console began to close
            return
        status = self.query_one("#accounts-status", Static)
        if self.error:
            status.update(Text(self.error, style="bold red"))
            return
        r = self.report
        line = Text()
        if r is not None:
            line.append(f"{r.start} to {r.end}", style="bold")
            line.append(f"   {len(self.shown):,} of {r.matched:,} accounts "
                        f"({r.accounts:,} local)")  # fmt: skip
            t = self._shown_total()
            line.append(f"   received {t.received_count:,} ({human(t.received_bytes)})  "
                        f"sent {t.sent_count:,} ({human(t.sent_bytes)})  "
                        f"sent out {t.sent_out_count:,} ({human(t.sent_out_bytes)})")  # fmt: skip
            if r.unknown is not None:
                line.append(f"   unknown senders {r.unknown.sent_count:,}", style="dim")
        if self.busy:
            line.append("   reading logs and mailboxes…", style="yellow")
        status.update(line)

    def _shown_total(self) -> AccountRow:
        if self._total is None:
            self._total = _sum(self.shown, "Total")
        return self._total

    def _draw_chart(self) -> None:
        if self.query_one(TabbedContent).active != "accounts-chart":
            return
        field, title, unit = chart_mod.CATEGORIES[self.category]
        n = self.max_items() or CHART_TOP
        bars = chart_mod.top(self.all_rows, field, n)
        r = self.report
        span = f"{r.start} to {r.end}" if r else ""
        self.query_one("#accounts-chart-title", Static).update(Text.assemble(
            (f"{title}", "bold"), f" per account, top {n}, {span}   ",
            ("c: next category   s: Save As Image", "dim"),
        ))  # fmt: skip
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if bars:
            labels = [safe_text(a) for a, _ in reversed(bars)]
            values = [v / 1024 if unit == "bytes" else v for _, v in reversed(bars)]
            plt.bar(labels, values, orientation="horizontal", width=0.3)
            top = nice_top(max(values))  # round ticks: counts as 0 5 10 15 20, not 4.8 9.5
            ticks = [top * i / 4 for i in range(5)]
            plt.xlim(0, top)
            plt.xticks(ticks, [f"{t:,.6g}" for t in ticks])
            plt.xlabel("KiB" if unit == "bytes" else "messages")
        else:
            plt.title("no account has any in this period")
        plot.refresh()


def sort_all(rows: list[AccountRow], key: Callable[[AccountRow], Any],
             reverse: bool = False) -> list[AccountRow]:  # fmt: skip
    """The table's order (``item_table.sort_rows``: text without case, stable, None last,
    first when reversed; on the UI thread, where ``resort`` runs, one C-level sort).

    A time column (``columns._newest``: newest first by the time's digits) whose times all
    have one length (the ISO times of the store) is sorted by the text itself, reversed:
    the same order, without a key made per row."""
    iso = getattr(key, "iso_field", None)
    if iso is not None:
        vals = list(map(attrgetter(iso), rows))
        texts = [v for v in vals if v is not None]
        if all(type(v) is str for v in texts) and len(set(map(len, texts))) <= 1:
            return _by_text(rows, vals, not reverse)
    return sort_rows(rows, key, reverse)  # on the UI thread: one C-level sort


def _by_text(rows: list[AccountRow], vals: list[Any], descending: bool) -> list[AccountRow]:
    """Rows by their ISO times, newest first when ``descending``; rows without one last
    (first when the table's order is reversed, as ``sort_rows`` puts them)."""
    present = [i for i, v in enumerate(vals) if v]
    missing = [i for i, v in enumerate(vals) if not v]
    present.sort(key=vals.__getitem__, reverse=descending)
    order = present + missing if descending else missing + present
    return [rows[i] for i in order]


def _free(path: Path) -> Path:
    n, base = 1, path
    while path.exists():
        path = base.with_name(f"{base.stem}.{n}{base.suffix}")
        n += 1
    return path
