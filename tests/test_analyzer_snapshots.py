"""SVG snapshots of the Log Analyzer tabs (clock pinned, the day imported through the core
before the app starts, so the screens wait only for their own worker)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from iwtui.analyzer.db import connect
from iwtui.analyzer.importer import Options, import_day
from iwtui.tui.screens.analyzer.area import AnalyzerArea
from iwtui.tui.screens.analyzer.tabs import ReportsTab, SqlTab
from iwtui.tui.widgets.item_table import ItemTable
from iwtui.tui.widgets.status_strip import StatusStrip

from .conftest import FIXED_START
from .tui_helpers import make_app, wait_for

# a path relative to the test's folder (the cwd), so the Database field reads the same
DB = "analyzer:\n  db: state/analyzer.sqlite\n"


@pytest.fixture
def fixed_root(sim_tree_master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(sim_tree_master, tmp_path / "icewarp", symlinks=True,
                    copy_function=shutil.copy2)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    fixed = datetime.fromisoformat(FIXED_START)
    monkeypatch.setattr("iwtui.tui.app._now", lambda: fixed)
    monkeypatch.setattr("iwtui.tui.screens.queue.area._now", lambda: fixed.timestamp())
    monkeypatch.setattr("iwtui.tui.screens.analyzer.import_tab._today", lambda: fixed.date())
    return Path("icewarp")


def _imported(tmp_path: Path) -> None:
    db = connect(str(tmp_path / "state" / "analyzer.sqlite"))
    import_day(tmp_path / "icewarp" / "logs", date(2026, 1, 15), db, Options(server_id="mx1"))
    db.execute("DELETE FROM iwtui_runs")  # when it ran is the machine's clock
    db.close()


async def _area(pilot: Pilot[Any], tab: str) -> AnalyzerArea:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None)  # type: ignore[attr-defined]
    strip = pilot.app.query_one(StatusStrip)
    await wait_for(pilot, lambda: strip.sessions is not None)
    await pilot.press("5")
    area = pilot.app.query_one(AnalyzerArea)
    area.show_tab(tab)
    await wait_for(pilot, lambda: area.tab == tab)
    # the tab's main control takes the focus after a refresh: the picture (footer, the
    # focused field) waits for it, under load too
    target = {"import": "an-import-now", "reports": "an-presets", "sql": "an-sql-text",
              "mail": "an-mail-to"}[tab]  # fmt: skip
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", None) == target)
    await pilot.pause(0.3)
    return area


async def _import(pilot: Pilot[Any]) -> None:
    await _area(pilot, "import")
    await pilot.pause(0.3)
    # the focused Import Now is scrolled into view once the layout has settled (under
    # load the focus scrolled the form while the Last runs table was still growing)
    button = pilot.app.query_one("#an-import-now")
    for node in button.ancestors:
        if getattr(node, "is_scrollable", False):
            node.scroll_home(animate=False, immediate=True)  # type: ignore[attr-defined]
    await pilot.pause(0.1)
    button.scroll_visible(animate=False, immediate=True)
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_analyzer_import_tab(snap_compare: Any, fixed_root: Path, isolated_config: Path,
                             size: tuple[int, int]) -> None:  # fmt: skip
    assert snap_compare(make_app(fixed_root, isolated_config, DB), terminal_size=size,
                        run_before=_import)  # fmt: skip


async def _report(pilot: Pilot[Any]) -> None:
    await _area(pilot, "reports")
    rep = pilot.app.query_one(ReportsTab)
    presets = pilot.app.query_one("#an-presets", ItemTable)
    presets.move_to([p.name for p in presets.rows].index("rejections"))
    rep.run_current()
    await wait_for(pilot, lambda: rep.report is not None and not rep.running)
    # the footer shows the keys of the focused list: wait until the list has them (under
    # load the tab's focus lands after the report is done)
    presets.focus()
    await wait_for(pilot, lambda: pilot.app.focused is presets)
    # how long it took depends on the machine: not in the picture
    pilot.app.query_one("#an-report-status").update(rep.report.title)  # type: ignore[attr-defined,union-attr]
    await pilot.pause(0.3)


def test_analyzer_reports_tab(snap_compare: Any, fixed_root: Path, isolated_config: Path,
                              tmp_path: Path) -> None:  # fmt: skip
    _imported(tmp_path)
    assert snap_compare(make_app(fixed_root, isolated_config, DB), terminal_size=(160, 48),
                        run_before=_report)  # fmt: skip


async def _sql(pilot: Pilot[Any]) -> None:
    await _area(pilot, "sql")
    sql = pilot.app.query_one(SqlTab)
    pilot.app.query_one("#an-sql-text", Input).value = (
        "SELECT lg_Error, count(*) AS n, sum(lg_Size) AS bytes FROM smtp GROUP BY lg_Error "
        "ORDER BY n DESC, lg_Error")  # fmt: skip
    sql.run_sql(pilot.app.query_one("#an-sql-text", Input).value)
    await wait_for(pilot, lambda: not sql.running and bool(sql.rows))
    pilot.app.query_one("#an-sql-status").update(f"{len(sql.rows)} rows")  # type: ignore[attr-defined]
    history = pilot.app.query_one("#an-history", ItemTable)
    history.set_rows([])
    history.focus()  # not the field: its cursor blinks
    await pilot.pause(0.3)


def test_analyzer_sql_tab(snap_compare: Any, fixed_root: Path, isolated_config: Path,
                          tmp_path: Path) -> None:  # fmt: skip
    _imported(tmp_path)
    assert snap_compare(make_app(fixed_root, isolated_config, DB), terminal_size=(160, 48),
                        run_before=_sql)  # fmt: skip


async def _mail(pilot: Pilot[Any]) -> None:
    await _area(pilot, "mail")


def test_analyzer_mail_tab(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(make_app(fixed_root, isolated_config, DB), terminal_size=(160, 48),
                        run_before=_mail)  # fmt: skip
