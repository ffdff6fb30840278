"""The Import tab (the seed's General and DB Settings dialogs): which logs, Active, the
database with a connection test, Server ID, raw data, empty tables, retention with its
SQL, Import Now for a date (progress, cancel) and the last runs."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Button, Checkbox, Input, ProgressBar, Static

from iwtui.analyzer import store
from iwtui.analyzer.db import connect
from iwtui.analyzer.importer import Cancelled, DayResult, Options, import_day
from iwtui.analyzer.settings import LOGS
from iwtui.errors import IwtuiError
from iwtui.icewarp.logs.lines import safe_text
from iwtui.tui.screens.analyzer.common import Shared
from iwtui.tui.widgets.item_table import Column, ItemTable


def _today() -> date:
    """Today (tests and screenshots pin it)."""
    return datetime.now().date()


def _run_text(r: dict[str, Any], key: str) -> str:
    return safe_text(str(r.get(key) or ""))


RUN_COLUMNS: list[Column[dict[str, Any]]] = [
    Column("Started", 20, lambda r: _run_text(r, "started"), lambda r: str(r.get("started"))),
    Column("Date", 11, lambda r: _run_text(r, "lg_Date"), lambda r: str(r.get("lg_Date"))),
    Column("Server ID", 12, lambda r: _run_text(r, "lg_Server"), lambda r: str(r.get("lg_Server"))),
    Column("Status", 8, lambda r: _run_text(r, "status"), lambda r: str(r.get("status"))),
    Column(
        "Seconds",
        9,
        lambda r: f"{float(r.get('seconds') or 0):.2f}",
        lambda r: float(r.get("seconds") or 0),
        "right",
    ),
    Column("Rows", 0, lambda r: _run_text(r, "rows"), lambda r: str(r.get("rows"))),
]


class ImportTab(VerticalScroll):
    def __init__(self, shared: Shared) -> None:
        super().__init__(id="an-import")
        self.shared = shared
        self.running = False
        self.result: DayResult | None = None
        self.message = ""
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        s = self.shared.settings
        with Horizontal(classes="an-row"):
            yield Static("Process logs", classes="an-label")
            for name in LOGS:
                yield Checkbox(name.upper(), name in s.logs, id=f"an-log-{name}")
        with Horizontal(classes="an-row"):
            yield Checkbox("Active", s.active, id="an-active")
            yield Checkbox("Import raw session data", s.raw, id="an-raw")
            yield Checkbox("Empty tables before import", s.empty_first, id="an-empty")
        with Horizontal(classes="an-row"):
            yield Static("Database", classes="an-label")
            yield Input(self.shared.url, placeholder="postgresql://... or a SQLite path",
                        id="an-db")  # fmt: skip
            yield Button("Test connection", id="an-test")
        with Horizontal(classes="an-row"):
            yield Static("Server ID", classes="an-label")
            yield Input(s.server_id, placeholder="(from log names)", id="an-server")
            yield Static("Delete older than", classes="an-label")
            yield Input("" if s.keep_days is None else str(s.keep_days), placeholder="days",
                        id="an-keep", type="integer")  # fmt: skip
        with Horizontal(classes="an-row"):
            yield Static("SQL before delete", classes="an-label")
            yield Input(s.pre_delete_sql, placeholder="run before the retention delete",
                        id="an-sql-pre")  # fmt: skip
        with Horizontal(classes="an-row"):
            yield Static("Date", classes="an-label")
            yield Input(_today().isoformat(), id="an-date", classes="an-date")
            yield Button("Import Now", id="an-import-now", variant="primary")
            yield Button("Cancel", id="an-import-cancel", disabled=True)
        yield ProgressBar(total=100, show_eta=False, id="an-progress")
        yield Static(id="an-import-status")
        yield Static("Last runs", classes="an-heading")
        yield ItemTable(RUN_COLUMNS, key=lambda r: (r.get("started"), r.get("lg_Server"),
                                                    r.get("lg_Date")), id="an-runs")  # fmt: skip

    def on_mount(self) -> None:
        runs = self.query_one("#an-runs", ItemTable)
        runs.sort_column, runs.sort_reverse = 0, True
        self.refresh_runs()

    # --- settings from the form --------------------------------------------------------

    def url(self) -> str:
        return self.query_one("#an-db", Input).value.strip() or self.shared.url

    def options(self) -> Options:
        logs = tuple(n for n in LOGS if self.query_one(f"#an-log-{n}", Checkbox).value)
        keep = self.query_one("#an-keep", Input).value.strip()
        if keep and (not keep.isdigit() or int(keep) < 1):
            raise IwtuiError("Delete older than: a whole number of days (1 or more)")
        opts = Options(
            logs=logs,
            server_id=self.query_one("#an-server", Input).value.strip(),
            raw=self.query_one("#an-raw", Checkbox).value,
            empty_first=self.query_one("#an-empty", Checkbox).value,
            keep_days=int(keep) if keep else None,
            pre_delete_sql=self.query_one("#an-sql-pre", Input).value,
        )
        self.shared.settings = replace(self.shared.settings, db=self.url(), logs=logs,
                                       server_id=opts.server_id, raw=opts.raw,
                                       empty_first=opts.empty_first, keep_days=opts.keep_days,
                                       pre_delete_sql=opts.pre_delete_sql)  # fmt: skip
        return opts

    def _status(self, text: str, error: bool = False) -> None:
        self.message = text
        w = self.query_one("#an-import-status", Static)
        w.update(safe_text(text))
        w.set_class(error, "an-error")

    # --- actions -----------------------------------------------------------------------

    @on(Button.Pressed, "#an-test")
    def test_db(self) -> None:
        self._test(self.url())

    @work(thread=True, exclusive=True, group="analyzer-test")
    def _test(self, url: str) -> None:
        try:
            db = connect(url)
            tables = db.tables()
            label, engine = db.label, db.engine
            db.close()
            text, err = f"connected: {engine} {label} ({len(tables)} tables)", False
        except IwtuiError as exc:
            text, err = str(exc), True
        self.app.call_from_thread(self._status, text, err)

    @on(Button.Pressed, "#an-import-now")
    def import_now(self) -> None:
        if self.running:
            return
        if not self.query_one("#an-active", Checkbox).value:
            self._status("the Log Analyzer is not Active: tick Active to import", True)
            return
        try:
            day = date.fromisoformat(self.query_one("#an-date", Input).value.strip())
            opts = self.options()
        except ValueError:
            self._status("Date: YYYY-MM-DD", True)
            return
        except IwtuiError as exc:
            self._status(str(exc), True)
            return
        self.running = True
        self._cancel = threading.Event()
        self.query_one("#an-import-cancel", Button).disabled = False
        self.query_one("#an-progress", ProgressBar).update(progress=0)
        self._status(f"importing {day} ...")
        self._import(day, opts, self.url())

    @on(Button.Pressed, "#an-import-cancel")
    def cancel(self) -> bool:
        if self.running:
            self._cancel.set()
            self._status("cancelling ...")
            return True
        return False

    @work(thread=True, exclusive=True, group="analyzer-import")
    def _import(self, day: date, opts: Options, url: str) -> None:
        def progress(done: int, total: int, what: str) -> None:
            pct = 100 * done / total if total else 100
            self.app.call_from_thread(self._progressed, pct, what)

        result: DayResult | None = None
        try:
            db = connect(url)
            try:
                result = import_day(self.shared.install.log_dir, day, db, opts,
                                    default_server=self.shared.install.server_id,
                                    progress=progress, cancel=self._cancel)  # fmt: skip
            finally:
                db.close()
            text, err = _done_text(result), False
        except Cancelled as exc:
            text, err = str(exc), True
        except IwtuiError as exc:
            text, err = str(exc), True
        self.app.call_from_thread(self._finished, result, text, err)

    def _progressed(self, pct: float, what: str) -> None:
        self.query_one("#an-progress", ProgressBar).update(progress=pct)
        self._status(f"{what}: {pct:.0f}%")

    def _finished(self, result: DayResult | None, text: str, err: bool) -> None:
        self.running = False
        self.result = result
        self.query_one("#an-import-cancel", Button).disabled = True
        if result is not None:
            self.query_one("#an-progress", ProgressBar).update(progress=100)
        self._status(text, err)
        self.refresh_runs()

    def refresh_runs(self) -> None:
        self._runs(self.url())

    @work(thread=True, exclusive=True, group="analyzer-runs")
    def _runs(self, url: str) -> None:
        import json

        rows: list[dict[str, Any]] = []
        try:
            db = connect(url)
            try:
                rows = store.last_runs(db)
            finally:
                db.close()
        except IwtuiError:
            rows = []
        for r in rows:
            try:
                detail = json.loads(str(r.get("detail") or "{}"))
                r["rows"] = ", ".join(f"{t} {v['rows']:,}" for t, v in detail["tables"].items()
                                      if v.get("rows"))  # fmt: skip
            except (ValueError, KeyError, TypeError, AttributeError):
                r["rows"] = ""
        with contextlib.suppress(RuntimeError):  # the console closed meanwhile
            self.app.call_from_thread(self._show_runs, rows)

    def _show_runs(self, rows: list[dict[str, Any]]) -> None:
        """On the UI thread, and only while the tab is still there (the read of last
        runs may finish after the console began to close)."""
        if self.is_mounted:
            with contextlib.suppress(NoMatches):
                self.query_one("#an-runs", ItemTable).set_rows(rows)


def _done_text(r: DayResult | None) -> str:
    if r is None:
        return ""
    parts = ", ".join(f"{t} {s.rows:,}" for t, s in r.tables.items())
    return (f"imported {r.day}: {parts} rows from {r.lines:,} lines in {r.seconds:.2f} s"
            + (f"; {r.deleted_old:,} old rows deleted" if r.deleted_old else ""))  # fmt: skip
