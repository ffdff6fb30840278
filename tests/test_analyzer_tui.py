"""Pilot tests of the Log Analyzer area: Import Now in a worker (progress, last runs),
the connection test, a preset report with its chart, read-only SQL with history and a
refused write, the mailed statistics into the queue through the gate's dialog."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from iwtui.tui.screens.analyzer.area import AnalyzerArea
from iwtui.tui.screens.analyzer.import_tab import ImportTab
from iwtui.tui.screens.analyzer.tabs import MailTab, ReportsTab, SqlTab
from iwtui.tui.widgets.item_table import ItemTable

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _text(app: Any, wid: str) -> str:
    return str(app.query_one(wid, Static).render())


async def _open(pilot: Any) -> AnalyzerArea:
    await pilot.press("5")
    area: AnalyzerArea = pilot.app.query_one(AnalyzerArea)
    await wait_for(pilot, lambda: area.tab == "import")
    return area


async def test_import_now_then_reports_sql_and_mail(sim_root: Path, isolated_config: Path,
                                                    tmp_path: Path) -> None:  # fmt: skip
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot)
        imp = app.query_one(ImportTab)
        imp.query_one("#an-date", Input).value = "2026-01-15"
        imp.query_one("#an-server", Input).value = "edge1"
        await pilot.press("f6")
        await wait_for(pilot, lambda: imp.result is not None and not imp.running, 20)
        assert imp.result is not None and imp.result.tables["smtp"].rows > 100
        assert "imported 2026-01-15" in _text(app, "#an-import-status")
        runs = app.query_one("#an-runs", ItemTable)
        await wait_for(pilot, lambda: len(runs.rows) == 1)
        assert runs.rows[0]["lg_Server"] == "edge1"
        imp.test_db()
        await wait_for(pilot, lambda: "connected: sqlite" in _text(app, "#an-import-status"))
        # Reports: the first preset (grand totals) under the cursor, Enter runs it
        await pilot.press("right_square_bracket")
        assert area.tab == "reports"
        rep = app.query_one(ReportsTab)
        app.query_one("#an-presets", ItemTable).focus()
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: rep.report is not None and not rep.running, 20)
        assert rep.report is not None and rep.report.name == "grand-totals"
        table = app.query_one("#an-report-table", ItemTable)
        assert table.rows[0][1][0] == "messages" and table.rows[0][1][1] == imp.result.tables[
            "smtp"].rows  # fmt: skip
        assert "messages" in str(app.query_one("#an-chart", Static).render())
        await pilot.press("ctrl+s")
        assert (tmp_path / "state" / "exports" / "analyzer-grand-totals.csv").is_file()
        # SQL: a query pages into the table; a write is refused; history keeps both
        await pilot.press("right_square_bracket")
        assert area.tab == "sql"
        sql = app.query_one(SqlTab)
        field = app.query_one("#an-sql-text", Input)
        field.focus()
        field.value = "SELECT lg_Error, count(*) FROM smtp GROUP BY lg_Error"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not sql.running and sql.rows, 20)
        assert "rows in" in _text(app, "#an-sql-status")
        field.value = "DELETE FROM smtp"
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: not sql.running and "read-only" in _text(app, "#an-sql-status"), 20
        )
        hist = app.query_one("#an-history", ItemTable)
        assert [h["sql"] for h in hist.rows][:2] == ["DELETE FROM smtp",
                                                     "SELECT lg_Error, count(*) FROM smtp GROUP BY lg_Error"]  # fmt: skip
        # E-mail: Send now queues the report after the gate's dialog
        hist.focus()  # "]" typed in the SQL field is text; from the history it switches
        await pilot.pause()
        await pilot.press("right_square_bracket")
        assert area.tab == "mail"
        mail = app.query_one(MailTab)
        mail.query_one("#an-mail-to", Input).value = "ops@example.org"
        mail.query_one("#an-mail-date", Input).value = "2026-01-15"
        outgoing = sim_root / "mail" / "_outgoing"
        before = {p.name for p in outgoing.iterdir()}
        await pilot.press("f7")
        await wait_for(pilot, lambda: "waiting" in _text(app, "#an-mail-status"), 30)
        await pilot.press("y")
        await wait_for(pilot, lambda: "done" in mail.sent, 30)
        new = [p for p in outgoing.iterdir() if p.name not in before]
        assert len(new) == 1
        msg = email.message_from_bytes(new[0].read_bytes())
        assert msg["To"] == "ops@example.org" and msg.is_multipart()


async def test_import_cancel_and_bad_input(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        imp = app.query_one(ImportTab)
        imp.query_one("#an-date", Input).value = "15.1.2026"
        imp.import_now()
        assert "YYYY-MM-DD" in _text(app, "#an-import-status") and not imp.running
        imp.query_one("#an-date", Input).value = "2026-01-15"
        imp.query_one("#an-db", Input).value = str(sim_root / "nope" / "\0bad")
        imp.test_db()
        await wait_for(pilot, lambda: "cannot" in _text(app, "#an-import-status"))
        imp.query_one("#an-db", Input).value = ""
        # cancel before the first block is read: nothing imported, the keys still answer
        imp._cancel.set()
        imp.running = False
        imp.import_now()
        imp._cancel.set()
        await wait_for(pilot, lambda: not imp.running, 20)
        assert imp.result is None or imp.result.tables["smtp"].rows >= 0
        await pilot.press("right_square_bracket")
        assert app.query_one(AnalyzerArea).tab == "reports"


async def test_a_focus_in_a_hidden_tab_does_not_take_the_tabs_back(sim_root: Path,
                                                                   isolated_config: Path) -> None:  # fmt: skip
    """Textual moves a focus hidden by a tab switch to a sibling, which can be in the pane
    just hidden (Import's date field); that focus, or the area's own given just before the
    switch, must leave the console on the tab asked for with its main control focused (it
    took the tabs back to Import, and the E-mail tab then had no focus at all)."""
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot)
        for tab, main in (("mail", "an-mail-to"), ("sql", "an-sql-text"),
                          ("reports", "an-presets")):  # fmt: skip
            area.show_tab(tab)
            app.screen.set_focus(app.query_one("#an-date"))  # in the hidden Import tab
            await pilot.pause(0.2)
            await wait_for(pilot, lambda m=main: getattr(app.focused, "id", None) == m)  # type: ignore[misc]
            assert area.tab == tab
            area.show_tab("import")
            await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "an-import-now")
