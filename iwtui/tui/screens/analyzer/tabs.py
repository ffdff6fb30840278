"""The Reports, SQL and E-mail tabs of the Log Analyzer."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from iwtui.analyzer import mail, reports, schema
from iwtui.analyzer.render import report_csv
from iwtui.analyzer.reports import PRESETS, Params, Preset, Report
from iwtui.analyzer.sql import History, Query, open_read_only
from iwtui.errors import IwtuiError
from iwtui.icewarp.logs.lines import safe_text
from iwtui.tui.screens.analyzer.common import Shared, bar_chart, numbered, result_table
from iwtui.tui.widgets.item_table import Column, ItemTable

MAX_SQL_ROWS = 100_000


def _status(widget: Static, text: str, error: bool = False) -> None:
    widget.update(safe_text(text))
    widget.set_class(error, "an-error")


class ReportsTab(Vertical):
    """Pick a preset (Enter runs it) with From/To, server ID, search text, threshold."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(id="an-reports")
        self.shared = shared
        self.report: Report | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="an-row"):
            yield Input(placeholder="From YYYY-MM-DD", id="an-from", classes="an-date")
            yield Input(placeholder="To YYYY-MM-DD", id="an-to", classes="an-date")
            yield Input(placeholder="Server ID (all)", id="an-rserver", classes="an-small")
            yield Input(placeholder="Search: address, domain, id, IP", id="an-q")
            yield Input(placeholder="Highlight N+", id="an-threshold", classes="an-small",
                        type="integer")  # fmt: skip
        with Horizontal(id="an-reports-body"):
            cols: list[Column[Preset]] = [
                Column("Report", 0, lambda p: p.title, lambda p: p.title),
                Column("From", 9, lambda p: p.source, lambda p: p.source),
            ]
            presets: ItemTable[Preset] = ItemTable(
                cols, key=lambda p: p.name, id="an-presets", own_order=True
            )
            yield presets
            with Vertical(id="an-report-side"):
                yield Static("Enter runs the report under the cursor", id="an-report-status")
                with Horizontal(id="an-report-main"):
                    yield Vertical(id="an-report-box")
                    yield Static(id="an-chart")

    def on_mount(self) -> None:
        self.query_one("#an-presets", ItemTable).set_rows(list(PRESETS.values()), initial=True,
                                                          presorted=True)  # fmt: skip

    def params(self) -> Params:
        def val(wid: str) -> str:
            return self.query_one(wid, Input).value.strip()

        for wid in ("#an-from", "#an-to"):
            if val(wid):
                try:
                    date.fromisoformat(val(wid))
                except ValueError:
                    raise IwtuiError(
                        f"{'From' if wid == '#an-from' else 'To'}: YYYY-MM-DD"
                    ) from None
        th = val("#an-threshold")
        return Params(start=val("#an-from") or None, end=val("#an-to") or None,
                      server=val("#an-rserver") or None, q=val("#an-q"),
                      threshold=int(th) if th.isdigit() else None)  # fmt: skip

    def on_item_table_chosen(self, event: ItemTable.Chosen) -> None:
        if event.table.id == "an-presets":
            event.stop()
            self.run_current()

    @on(Input.Submitted)
    def _submitted(self, _event: Input.Submitted) -> None:
        self.run_current()

    def run_current(self) -> None:
        preset = self.query_one("#an-presets", ItemTable).current()
        if preset is None:
            return
        try:
            params = self.params()
        except IwtuiError as exc:
            _status(self.query_one("#an-report-status", Static), str(exc), True)
            return
        self.running = True
        _status(self.query_one("#an-report-status", Static), f"running {preset.title} ...")
        self._run(preset.name, params, self.shared.url)

    @work(thread=True, exclusive=True, group="analyzer-report")
    def _run(self, name: str, params: Params, url: str) -> None:
        import time

        try:
            db = open_read_only(url)
            try:
                t0 = time.perf_counter()
                rep = reports.run(db, name, params)
                took = time.perf_counter() - t0
            finally:
                db.close()
        except IwtuiError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show, rep, took)

    def _failed(self, text: str) -> None:
        self.running = False
        _status(self.query_one("#an-report-status", Static), text, True)

    def _show(self, rep: Report, took: float) -> None:
        self.running = False
        self.report = rep
        box = self.query_one("#an-report-box", Vertical)
        box.remove_children()
        table = result_table(rep.columns, rep.rows, "an-report-table")
        box.mount(table)
        table.set_rows(numbered(rep.rows), initial=True, presorted=True)
        self.query_one("#an-chart", Static).update(
            bar_chart(rep.columns, rep.rows, rep.chart, highlight=rep.highlight)
        )
        note = f" — {rep.note}" if rep.note else ""
        _status(self.query_one("#an-report-status", Static),
                f"{rep.title}: {len(rep.rows):,} rows in {took * 1000:.0f} ms{note}")  # fmt: skip

    def export(self) -> list[Path]:
        if self.report is None:
            return []
        folder = self.shared.state_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / f"analyzer-{self.report.name}"
        csv_path, json_path = base.with_suffix(".csv"), base.with_suffix(".json")
        csv_path.write_text(report_csv(self.report), encoding="utf-8")
        json_path.write_text(json.dumps(self.report.as_json(), indent=2, default=str),
                             encoding="utf-8")  # fmt: skip
        return [csv_path, json_path]


class SqlTab(Vertical):
    """One read-only statement; results page into the table; Esc cancels; history below
    (Enter on an entry takes it back into the field)."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(id="an-sql")
        self.shared = shared
        self.history = History(shared.state_dir / "analyzer-sql-history.jsonl")
        self.running_query: Query | None = None
        self.rows: list[tuple[Any, ...]] = []
        self.running = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="SELECT ... (read-only; Enter runs, Esc cancels)", id="an-sql-text")
        yield Static(_tables_hint(), id="an-sql-status")
        yield Vertical(id="an-sql-box")
        yield Static("History (and saved queries)", classes="an-heading")
        cols: list[Column[dict[str, str]]] = [
            Column("When", 20, lambda h: safe_text(h["time"]), lambda h: h["time"]),
            Column("SQL", 0, lambda h: safe_text(h["sql"], limit=300), lambda h: h["sql"]),
        ]
        yield ItemTable(cols, key=lambda h: (h["time"], h["sql"]), id="an-history", own_order=True)

    def on_mount(self) -> None:
        self._history()

    def _history(self) -> None:
        saved = [{"time": f"saved: {k}", "sql": v} for k, v in
                 self.shared.settings.saved_queries.items()]  # fmt: skip
        items = saved + list(reversed(self.history.items()))
        self.query_one("#an-history", ItemTable).set_rows(items, initial=True, presorted=True)

    def on_item_table_chosen(self, event: ItemTable.Chosen) -> None:
        if event.table.id != "an-history":
            return
        event.stop()
        h = self.query_one("#an-history", ItemTable).current()
        if h is not None:
            field = self.query_one("#an-sql-text", Input)
            field.value = h["sql"]
            field.focus()

    @on(Input.Submitted, "#an-sql-text")
    def _submitted(self, event: Input.Submitted) -> None:
        self.run_sql(event.value)

    def run_sql(self, text: str) -> None:
        text = text.strip()
        if not text or self.running:
            return
        self.history.add(text)
        self._history()
        self.rows = []
        self.running = True
        _status(self.query_one("#an-sql-status", Static), "running ...")
        self._run(text, self.shared.url)

    def cancel(self) -> bool:
        if self.running and self.running_query is not None:
            self.running_query.cancel()
            return True
        return False

    @work(thread=True, exclusive=True, group="analyzer-sql")
    def _run(self, text: str, url: str) -> None:
        import time

        t0 = time.perf_counter()
        try:
            db = open_read_only(url)
        except IwtuiError as exc:
            self.app.call_from_thread(self._done, str(exc), True)
            return
        try:
            self.running_query = q = Query(db, text)
            first = True
            for page in q.pages():
                self.app.call_from_thread(self._page, q.columns, page, first)
                first = False
                if len(self.rows) + len(page) >= MAX_SQL_ROWS:
                    break
            if first:
                self.app.call_from_thread(self._page, q.columns, [], True)
            took = time.perf_counter() - t0
            self.app.call_from_thread(self._done, f"{len(self.rows):,} rows in {took:.3f} s", False)
        except IwtuiError as exc:
            self.app.call_from_thread(self._done, str(exc), True)
        finally:
            db.close()

    def _page(self, columns: list[str], page: list[tuple[Any, ...]], first: bool) -> None:
        box = self.query_one("#an-sql-box", Vertical)
        if first:
            box.remove_children()
            box.mount(result_table(columns, page, "an-sql-table"))
        start = len(self.rows)
        self.rows += page
        table = box.query_one("#an-sql-table", ItemTable)
        table.set_rows([*table.rows, *numbered(page, start)], initial=first, presorted=True)
        _status(self.query_one("#an-sql-status", Static), f"{len(self.rows):,} rows ...")

    def _done(self, text: str, error: bool) -> None:
        self.running = False
        _status(self.query_one("#an-sql-status", Static), text, error)


class MailTab(Vertical):
    """The seed's Statistics tab: From, To (several), which statistics; Send now puts the
    report into the outgoing queue (through the action gate) or sends it over SMTP."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(id="an-mail")
        self.shared = shared
        self.sent = ""

    def compose(self) -> ComposeResult:
        m = self.shared.settings.mail
        rows = (("From", "an-mail-from", m.sender, "log-analyzer@your.domain"),
                ("To", "an-mail-to", ", ".join(m.to), "a@x.org, b@y.org"),
                ("Statistics", "an-mail-reports", ",".join(m.reports or mail.DEFAULT_REPORTS),
                 "report names (grand totals always first)"),
                ("Date", "an-mail-date", "", "YYYY-MM-DD (default: yesterday)"),
                ("Via", "an-mail-via", "queue" if not m.host else f"smtp://{m.host}",
                 "queue or smtp://HOST:PORT"))  # fmt: skip
        for label, wid, value, hint in rows:
            with Horizontal(classes="an-row"):
                yield Static(label, classes="an-label")
                yield Input(value, placeholder=hint, id=wid)
        with Horizontal(classes="an-row"):
            yield Button("Send now", id="an-send", variant="primary")
        yield Static("", id="an-mail-status")

    def _val(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    @on(Button.Pressed, "#an-send")
    def send(self) -> None:
        from iwtui.analyzer.importer import yesterday

        st = self.query_one("#an-mail-status", Static)
        try:
            names = [n.strip() for n in self._val("an-mail-reports").split(",") if n.strip()]
            bad = [n for n in names if n not in PRESETS]
            if bad:
                raise IwtuiError(f"no report {bad[0]!r}")
            day = date.fromisoformat(self._val("an-mail-date")) if self._val("an-mail-date") \
                else yesterday()  # fmt: skip
            via = mail.parse_via(self._val("an-mail-via") or "queue")
        except ValueError:
            _status(st, "Date: YYYY-MM-DD", True)
            return
        except IwtuiError as exc:
            _status(st, str(exc), True)
            return
        _status(st, "composing ...")
        self._mail_worker(names, day, via, self._val("an-mail-from"), self._val("an-mail-to"))

    @work(thread=True, exclusive=True, group="analyzer-mail")
    def _mail_worker(self, names: list[str], day: date, via: tuple[str, str, int], sender: str,
                 to: str) -> None:  # fmt: skip
        try:
            db = open_read_only(self.shared.url)
            try:
                msg = mail.compose(db, names, Params(start=day.isoformat(), end=day.isoformat()),
                                   sender, [to], day.isoformat())  # fmt: skip
            finally:
                db.close()
            if via[0] == "smtp":
                host = via[1] or self.shared.settings.mail.host or \
                    mail.mla_host(self.shared.install) or "127.0.0.1"  # fmt: skip
                text = mail.send_smtp(msg, host, via[2])
                self.app.call_from_thread(self._done, text, False)
                return
        except Exception as exc:
            self.app.call_from_thread(self._done, f"{type(exc).__name__}: {exc}", True)
            return
        self.app.call_from_thread(self._queue, msg)

    def _queue(self, msg: Any) -> None:
        from iwtui.tui.gate import run_plan

        gate = self.app.gate  # type: ignore[attr-defined]
        plan = mail.queue_plan(gate, self.shared.install, msg, "iwtui analyzer mail --to "
                               f"{msg['To']}")  # fmt: skip
        _status(self.query_one("#an-mail-status", Static), "waiting for your answer ...")
        run_plan(self.app, gate, plan, lambda o: self._done(o.message(), not o.complete))

    def _done(self, text: str, error: bool) -> None:
        self.sent = text
        _status(self.query_one("#an-mail-status", Static), text, error)


def _tables_hint() -> Text:
    """What a first query can read (before any ran): the tables and the rollups."""
    out = Text("Tables: ", style="dim")
    out.append(", ".join(schema.TABLES), style="bold")
    out.append(f"   rollups: {', '.join(schema.ROLLUPS)}", style="dim")
    out.append("\ne.g. SELECT lg_Error, count(*) FROM smtp GROUP BY 1 ORDER BY 2 DESC", style="dim")
    return out
