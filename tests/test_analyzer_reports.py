"""Preset reports and read-only custom SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest

from iwtui.analyzer import reports
from iwtui.analyzer.db import Database, WriteRefused, connect
from iwtui.analyzer.importer import Options, import_day
from iwtui.analyzer.reports import Params
from iwtui.analyzer.sql import History, Query, open_read_only, run_sql
from tests.pg import fresh_db, pg_url  # noqa: F401

DAY = date(2026, 1, 15)


@pytest.fixture
def lite(sim_root: Path, tmp_path: Path) -> Database:
    db = connect(str(tmp_path / "a.sqlite"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="one"))
    import_day(sim_root / "logs", DAY, db, Options(server_id="two"))
    return db


def _plain(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [tuple(float(v) if isinstance(v, float) else v for v in r) for r in rows]


def test_every_preset_runs_and_grand_totals_add_up(lite: Database) -> None:
    for name in reports.PRESETS:
        rep = reports.run(lite, name, Params(q="icewarpdemo.com"))
        assert rep.columns and all(len(r) == len(rep.columns) for r in rep.rows), name
    gt = {r[0]: r[1] for r in reports.run(lite, "grand-totals", Params(server="one")).rows}
    _c, rows = lite.query("SELECT lg_ClientSession, lg_Error = 'OK', count(*) FROM smtp "
                          "WHERE lg_Server = 'one' GROUP BY 1, 2")  # fmt: skip
    by = {(int(c), int(ok)): n for c, ok, n in rows}
    assert gt["received"] == by[(0, 1)] and gt["rejected"] == by[(0, 0)]
    assert gt["delivered"] == by[(1, 1)] and gt["deferred"] == by[(1, 0)]
    assert gt["messages"] == sum(by.values())
    both = {r[0]: r[1] for r in reports.run(lite, "grand-totals", Params()).rows}
    assert both["messages"] == 2 * gt["messages"]
    # a range without data is empty, not an error
    empty = reports.run(lite, "grand-totals", Params(start="2025-01-01", end="2025-01-31"))
    assert dict((r[0], r[1]) for r in empty.rows)["messages"] == 0


def test_global_groups_and_highlight(lite: Database) -> None:
    hours = reports.run(lite, "global-hour", Params(server="one", threshold=1))
    assert hours.rows and hours.highlight == list(range(len(hours.rows)))
    week = reports.run(lite, "global-week", Params(server="one"))
    month = reports.run(lite, "global-month", Params(server="one"))
    assert week.rows[0][0] == "2026-W03" and month.rows[0][0] == "2026-01"
    assert week.rows[0][1] == month.rows[0][1] == sum(r[1] for r in hours.rows)
    top = max(r[1] for r in hours.rows)
    assert reports.run(lite, "global-hour", Params(threshold=2 * top + 1)).highlight == []


def test_top_lists_and_searches(lite: Database) -> None:
    _c, rows = lite.query("SELECT lg_FromDomain, count(*) FROM smtp WHERE lg_Error = 'OK' AND "
                          "lg_Server = 'one' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3")  # fmt: skip
    top = reports.run(lite, "top-sender-domains", Params(server="one", limit=3))
    assert [(r[0], r[1]) for r in top.rows] == [tuple(r) for r in rows]
    _c, one = lite.query("SELECT lg_MessageID, lg_FromAccount, lg_FromDomain FROM smtp "
                         "WHERE lg_MessageID IS NOT NULL AND lg_Server = 'one' LIMIT 1")  # fmt: skip
    mid, acc, dom = one[0]
    hit = reports.run(lite, "direct-search", Params(q=mid))
    assert {r[10] for r in hit.rows} == {mid} and len(hit.rows) == 2  # both servers
    found = reports.run(lite, "mail-search", Params(q=f"{acc}@{dom}".upper(), server="one"))
    assert found.rows and all(r[4].lower() == acc.lower() or r[6].lower() == acc.lower()
                              for r in found.rows)  # fmt: skip
    assert reports.run(lite, "mail-search", Params()).note
    with pytest.raises(Exception, match="no report"):
        reports.run(lite, "nope", Params())


@pytest.mark.parametrize("sql", [
    "INSERT INTO smtp (lg_Server) VALUES ('x')",
    "DELETE FROM smtp",
    "DROP TABLE smtp",
    "CREATE TABLE evil (a)",
    "UPDATE smtp SET lg_Size = 0",
])  # fmt: skip
def test_custom_sql_refuses_writes_on_sqlite(lite: Database, tmp_path: Path, sql: str) -> None:
    ro = open_read_only(str(tmp_path / "a.sqlite"))
    before = lite.query("SELECT count(*) FROM smtp")[1]
    with pytest.raises(WriteRefused):
        run_sql(ro, sql)
    assert lite.query("SELECT count(*) FROM smtp")[1] == before


def test_sqlite_read_only_tricks_are_refused(lite: Database, tmp_path: Path) -> None:
    ro = open_read_only(str(tmp_path / "a.sqlite"))
    run_sql(ro, "PRAGMA query_only=OFF")
    with pytest.raises(WriteRefused):
        run_sql(ro, "DELETE FROM smtp")
    with pytest.raises(WriteRefused):
        run_sql(ro, f"ATTACH DATABASE '{tmp_path / 'x.sqlite'}' AS x")
    assert not (tmp_path / "x.sqlite").exists()
    res = run_sql(ro, "SELECT lg_Error, count(*) AS n FROM smtp GROUP BY lg_Error", limit=3)
    assert res.columns == ["lg_Error", "n"] and len(res.rows) == 3 and res.truncated


def test_custom_sql_pages_and_cancels(lite: Database, tmp_path: Path) -> None:
    ro = open_read_only(str(tmp_path / "a.sqlite"))
    q = Query(ro, "SELECT * FROM smtp")
    pages = list(q.pages(size=100))
    assert len(pages) > 2 and all(len(p) <= 100 for p in pages)
    slow = Query(ro, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                     "SELECT count(*) FROM c")  # fmt: skip
    threading.Timer(0.3, slow.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Exception, match="cancelled"):
        list(slow.pages())
    assert time.monotonic() - t0 < 5


def test_history(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    h.add("SELECT 1")
    h.add("SELECT 2")
    h.add("SELECT 1")
    assert [x["sql"] for x in h.items()] == ["SELECT 2", "SELECT 1"]


def test_presets_and_sql_agree_on_postgresql(sim_root: Path, lite: Database,
                                             pg_url: str) -> None:  # noqa: F811  # fmt: skip
    url = fresh_db(pg_url, "reports")
    pg = connect(url)
    import_day(sim_root / "logs", DAY, pg, Options(server_id="one"))
    import_day(sim_root / "logs", DAY, pg, Options(server_id="two"))
    for name in reports.PRESETS:
        for p in (Params(), Params(server="two", q="icewarpdemo.com", threshold=5)):
            a, b = reports.run(lite, name, p), reports.run(pg, name, p)
            assert a.columns == b.columns, name
            key = repr if name.endswith("search") else None
            assert sorted(_plain(a.rows), key=key) == sorted(_plain(b.rows), key=key), name
            assert a.highlight == b.highlight
    ro = open_read_only(url)
    for sql in ("INSERT INTO smtp (lg_Server) VALUES ('x')", "DELETE FROM smtp",
                "CREATE TABLE evil (a int)", "COMMIT; DELETE FROM smtp"):  # fmt: skip
        with pytest.raises((WriteRefused, Exception)) as exc:
            run_sql(ro, sql)
        assert "read-only" in str(exc.value) or "one statement" in str(exc.value)
    assert pg.query("SELECT count(*) FROM smtp")[1] == lite.query("SELECT count(*) FROM smtp")[1]
    res = run_sql(ro, "SELECT lg_Error FROM smtp WHERE lg_Error LIKE 'O%'", limit=5)
    assert res.rows == [("OK",)] * 5
