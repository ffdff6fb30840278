"""Status > Log Analyzer: the seed's dialogs as tabs. Import (which logs, Active, the
database and its connection test, server ID, raw data, empty tables, retention with its
SQL, Import Now with a date, the last runs), Reports (the presets, a table and a chart),
SQL (read-only, paged, cancellable, with history) and E-mail (settings, Send now). Every
long piece of work runs in a worker; Esc cancels it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane

from iwtui.analyzer.settings import Settings, parse
from iwtui.errors import ConfigError
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs.lines import safe_text
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.analyzer.common import Shared
from iwtui.tui.screens.analyzer.import_tab import ImportTab
from iwtui.tui.screens.analyzer.tabs import MailTab, ReportsTab, SqlTab
from iwtui.tui.widgets.area_tabs import AreaTabs

if TYPE_CHECKING:
    from pathlib import Path

    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

TABS = (("import", "Import"), ("reports", "Reports"), ("sql", "SQL"), ("mail", "E-mail"))


class AnalyzerArea(Vertical):
    can_focus = False
    BINDINGS = bindings("analyzer")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> AnalyzerArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install, loaded.config.state_path(), loaded.config.analyzer)

    def __init__(self, install: Install, state_dir: Path, raw: dict[str, object]) -> None:
        super().__init__(id="analyzer", classes="area")
        self.config_error = ""
        try:
            settings = parse(raw)
        except ConfigError as exc:
            settings, self.config_error = Settings(), str(exc)
        self.shared = Shared(install, state_dir, settings)

    def compose(self) -> ComposeResult:
        if self.config_error:
            yield Static(safe_text(self.config_error), classes="an-error")
        with AreaTabs(id="an-tabs", refocus=self.focus):
            with TabPane("Import", id="tab-import"):
                yield ImportTab(self.shared)
            with TabPane("Reports", id="tab-reports"):
                yield ReportsTab(self.shared)
            with TabPane("SQL", id="tab-sql"):
                yield SqlTab(self.shared)
            with TabPane("E-mail", id="tab-mail"):
                yield MailTab(self.shared)

    def focus(self, scroll_visible: bool = True) -> AnalyzerArea:
        """The main control of the tab on show (so the area's keys answer at once)."""
        target = {"import": "#an-import-now", "reports": "#an-presets", "sql": "#an-sql-text",
                  "mail": "#an-mail-to"}.get(self.tab, "#an-import-now")  # fmt: skip
        self.query_one(target).focus(scroll_visible)
        return self

    @property
    def tab(self) -> str:
        return self.query_one(TabbedContent).active.removeprefix("tab-")

    def show_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{name}"
        self.focus()

    def action_tab(self, step: int) -> None:
        ids = [t for t, _ in TABS]
        self.show_tab(ids[(ids.index(self.tab) + step) % len(ids)])

    def action_import_now(self) -> None:
        self.show_tab("import")
        self.query_one(ImportTab).import_now()

    def action_test_db(self) -> None:
        self.query_one(ImportTab).test_db()

    def action_run(self) -> None:
        if self.tab == "sql":
            sql = self.query_one(SqlTab)
            sql.run_sql(sql.query_one("#an-sql-text").value)  # type: ignore[attr-defined]
        else:
            self.show_tab("reports")
            self.query_one(ReportsTab).run_current()

    def action_cancel(self) -> None:
        if not (self.query_one(ImportTab).cancel() or self.query_one(SqlTab).cancel()):
            self.screen.focus_next()

    def action_export(self) -> None:
        paths = self.query_one(ReportsTab).export()
        if paths:
            self.app.notify("saved " + ", ".join(safe_text(str(p)) for p in paths),
                            title="Export")  # fmt: skip
        else:
            self.app.notify("run a report first (Reports tab, Enter)", severity="warning")

    def action_send(self) -> None:
        self.show_tab("mail")
        self.query_one(MailTab).send()
