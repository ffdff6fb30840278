"""Pilot tests of the Volume area: the server measured on show, a typed target with
completion, a bad target, cancel keeping partial totals, previous vs current, export."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from iwtui.icewarp.volume import helper, walk
from iwtui.tui.screens.volume.area import VolumeArea
from iwtui.tui.widgets.item_table import ItemTable

from .test_volume import plain_walk
from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _summary(app: object) -> str:
    return str(app.query_one("#volume-summary", Static).render())  # type: ignore[attr-defined]


async def test_server_measured_on_show_then_an_account_typed_with_completion(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("9")
        area = app.query_one(VolumeArea)
        await wait_for(pilot, lambda: area.result is not None)
        assert area.result is not None
        nbytes, files = plain_walk(sim_root)
        assert (area.result.bytes, area.result.files) == (nbytes, files)
        assert f"{nbytes:,} bytes" in _summary(app) and f"{files:,} files" in _summary(app)
        table = app.query_one("#volume-rows", ItemTable)
        assert {"logs", "mail/acme-corp.test"} <= {c.name for c in table.rows}
        assert table.rows[0].bytes == max(c.bytes for c in table.rows)  # largest first
        assert table.has_focus
        # t: the target field; "john.doe@acm" completes with Tab
        await pilot.press("t")
        field = app.query_one("#volume-target", Input)
        assert field.has_focus
        field.value = ""
        await pilot.press(*"john.doe@acm")
        await wait_for(pilot, lambda: field._suggestion == "john.doe@acme-corp.test")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: area.result is not None and area.result.kind == "account")
        box = sim_root / "mail" / "acme-corp.test" / "john.doe"
        assert (area.result.bytes, area.result.files) == plain_walk(box)
        assert "john.doe@acme-corp.test (account)" in _summary(app)
        assert table.has_focus


async def test_bad_target_says_so_and_shows_no_rows(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("9")
        area = app.query_one(VolumeArea)
        await wait_for(pilot, lambda: area.result is not None)
        await pilot.press("t")
        app.query_one("#volume-target", Input).value = "../etc"
        await pilot.press("enter")
        await wait_for(pilot, lambda: area.error is not None)
        assert "bad domain name" in _summary(app)
        assert app.query_one("#volume-rows", ItemTable).rows == []


async def test_escape_cancels_within_100_ms_keeping_partial_totals(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = walk.list_folder

    def slow(fd: int) -> object:
        time.sleep(0.01)  # a slow disk: the walk takes seconds
        return real(fd)

    monkeypatch.setattr(walk, "list_folder", slow)
    monkeypatch.setattr(helper, "start", lambda *a: None)  # all of it in this process
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("9")
        area = app.query_one(VolumeArea)
        await wait_for(pilot, lambda: area.progress is not None and area.progress.files > 0)
        assert "Walking server" in _summary(app)
        t0 = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: area.result is not None, timeout=10)
        # the walker's own 100 ms bound is test_volume.py's (no UI in it); here the key's
        # round trip through a possibly loaded machine is included, and "cancelled, not
        # finished" below is what shows that escape stopped it
        assert time.monotonic() - t0 < 3.0
        assert area.result is not None and not area.result.complete
        assert 0 < area.result.files < plain_walk(sim_root)[1]
        assert "Cancelled: partial" in _summary(app)


async def test_refresh_shows_previous_and_difference_and_exports(
    sim_root: Path, isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("9")
        area = app.query_one(VolumeArea)
        await wait_for(pilot, lambda: area.result is not None)
        first = area.result
        assert first is not None and "none: this is the first measurement" in _summary(app)
        new = sim_root / "mail" / "acme-corp.test" / "petr" / "inbox" / "new.imap"
        new.write_bytes(b"x" * 2048)
        os.utime(new.parent, None)
        await pilot.press("R")
        await wait_for(pilot, lambda: area.result is not first and not area.running)
        assert area.result is not None and area.result.difference == (2048, 1)
        assert "Difference  +2.0 KiB  +1 files" in _summary(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(area.saved))
        data = json.loads(area.saved[0].read_text())
        assert data["previous"]["bytes"] == first.bytes and data["bytes"] == first.bytes + 2048
        area.saved = []
        await pilot.press("E")
        await wait_for(pilot, lambda: bool(area.saved), timeout=10)
        assert json.loads(area.saved[0].read_bytes())[:2] == [1, 2]
