"""Pilot tests of the Account Statistics area: the list against the independent count, the
';' filter, sorting with Max Items (the top N of the new order), the chart tab and Save As
Image, Export To File, and ``v`` showing an account's Volume."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from textual.widgets import Input, Static, TabbedContent

from iwtui.icewarp.install import Install
from iwtui.tui.screens.accounts.area import AccountsArea, AccountsTable
from iwtui.tui.screens.volume.area import VolumeArea

from .test_accounts import DAY1, DAY2, LOCAL, independent
from .test_accounts import install as install
from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


async def _open(pilot: object, app: object) -> AccountsArea:
    await pilot.press("8")  # type: ignore[attr-defined]
    area = app.query_one(AccountsArea)  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: area.report is not None and not area.busy)  # type: ignore[arg-type]
    return area


async def test_list_filter_sort_and_max(install: Install, isolated_config: Path) -> None:
    app = make_app(install.root, isolated_config)
    ref = independent(DAY1 + DAY2)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        table = app.query_one(AccountsTable)
        assert [r.account for r in table.rows] == sorted(LOCAL)
        for r in table.rows:
            assert (r.received_count, r.sent_count, r.sent_out_bytes) == (
                ref[r.account]["received_count"], ref[r.account]["sent_count"],
                ref[r.account]["sent_out_bytes"])  # fmt: skip
        status = str(app.query_one("#accounts-status", Static).render())
        assert "4 of 4 accounts" in status and "unknown senders 4" in status
        # the ';' filter: any term matches
        await pilot.press("f")
        app.query_one("#accounts-filter", Input).value = "b.test;ALICE@"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not area.busy and len(table.rows) == 3)
        assert {r.account for r in table.rows} == {"alice@a.test", "carol@b.test", "dave@b.test"}
        assert table.has_focus
        # sort by Recv (amount received, largest first), then Max 2 keeps the top two of that order
        app.query_one("#accounts-filter", Input).value = ""
        app.query_one("#accounts-max", Input).value = "2"
        area.refresh_data()
        await wait_for(pilot, lambda: not area.busy and len(table.rows) == 2)
        titles = [c.title for c in table.columns]
        assert "Recv" in titles
        while titles[table.sort_column] != "Recv":
            await pilot.press("o")
        await wait_for(pilot, lambda: [r.account for r in table.rows] == ["alice@a.test",
                                                                          "carol@b.test"])  # fmt: skip
        await pilot.press("O")  # reversed: the two with the least
        await wait_for(pilot, lambda: table.rows[0].account == "dave@b.test")


async def test_chart_save_export_and_volume(
    install: Install,
    isolated_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(install.root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        await pilot.press("right_square_bracket")
        assert app.query_one("#accounts-tabs", TabbedContent).active == "accounts-chart"
        title = app.query_one("#accounts-chart-title", Static)
        assert str(title.render()).startswith("Received # per account")
        await pilot.press("c")
        assert str(title.render()).startswith("Received per account")
        await pilot.press("s")
        await wait_for(pilot, lambda: len(area.saved) == 2)
        svg = ElementTree.parse(area.saved[0]).getroot()
        labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
        assert "alice@a.test" in labels and "4,500 B" in labels
        assert area.saved[1].read_text().splitlines()[1] == "alice@a.test,4500"
        await pilot.press("right_square_bracket", "e")
        await wait_for(pilot, lambda: area.saved and area.saved[0].suffix == ".txt")
        lines = area.saved[0].read_text().splitlines()
        assert lines[0].startswith("[Account]\t[Received Messages]")
        assert lines[-2].startswith("Unknown senders\t") and lines[-1].startswith("Total\t")
        assert len(lines) == 1 + 4 + 2
        # v: the account under the cursor in Volume
        await pilot.press("j", "v")
        volume = app.query_one(VolumeArea)
        await wait_for(pilot, lambda: volume.result is not None and not volume.running)
        assert volume.result is not None and volume.result.target == "bob@a.test"
        assert json.loads(json.dumps(volume.result.to_json()))["kind"] == "account"


async def test_status_totals_through_resorts_and_max_items(
    install: Install, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iwtui.tui.screens.accounts import area as area_mod

    ref = independent(DAY1 + DAY2)
    everyone = sum(ref[a]["received_count"] for a in LOCAL)
    summed: list[int] = []
    real_sum = area_mod._sum

    def counting_sum(rows: list[object], name: str) -> object:
        summed.append(len(rows))
        return real_sum(rows, name)  # type: ignore[arg-type]

    monkeypatch.setattr(area_mod, "_sum", counting_sum)
    app = make_app(install.root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        table = app.query_one(AccountsTable)

        def status() -> str:
            return str(app.query_one("#accounts-status", Static).render())

        assert f"received {everyone:,} " in status()
        for _ in range(len(table.columns) + 1):  # every column, and back
            await pilot.press("o")
            await pilot.press("O")
        # the same accounts in another order: the report's totals line, not summed again
        assert f"received {everyone:,} " in status() and summed == []
        # Max 2 keeps the top two of the current order: their totals
        app.query_one("#accounts-max", Input).value = "2"
        area.refresh_data()
        await wait_for(pilot, lambda: not area.busy and len(table.rows) == 2)
        top = sum(r.received_count for r in table.rows)
        assert f"received {top:,} " in status() and summed[-1] == 2
        titles = [c.title for c in table.columns]
        while titles[table.sort_column] != "Recv #":
            await pilot.press("o")
        await wait_for(pilot, lambda: len(table.rows) == 2)
        best = sorted((ref[a]["received_count"] for a in LOCAL), reverse=True)[:2]
        assert [r.received_count for r in table.rows] == best
        assert f"received {sum(best):,} " in status()


def test_screen_sort_equals_the_tables_sort() -> None:
    from iwtui.icewarp.accounts.stats import AccountRow
    from iwtui.tui.screens.accounts.area import sort_all
    from iwtui.tui.screens.accounts.columns import columns
    from iwtui.tui.widgets.item_table import sort_rows

    times = ["2026-01-10T09:00:05", "2026-01-11T08:00:00", None, "2026-01-10T09:00:05",
             "2025-12-01T10:00:00", None, "2026-01-11T08:00:01"]  # fmt: skip
    rows = [
        AccountRow(f"{'UB'[i % 2]}ser{i}@x.test", received_count=i % 3, sent_bytes=(i * 7) % 5,
                   last_login=t, last_ip=None if i % 3 else f"10.0.0.{i}",
                   created=times[(i + 2) % len(times)], quota_percent=None if i % 2 else i / 2)
        for i, t in enumerate(times * 3)
    ]  # fmt: skip
    odd = [AccountRow("a@x.test", last_login="2026-01-10T09:00"), *rows]  # another length
    for data in (rows, odd):
        for col in columns(lambda r: r.last_ip):
            for reverse in (False, True):
                got = sort_all(data, col.sort, reverse)
                assert [id(r) for r in got] == [id(r) for r in sort_rows(data, col.sort, reverse)]
