"""Issue 14.6 and 14.8 in the Spam Queues: Greylisting removes its expired entries (`E`,
and `iwtui greylist remove-expired`), answering No at an Add confirmation keeps the form
with what was typed, and a wide tarpit range is asked about in the console (the CLI's
`--force`) instead of being refused with advice the console cannot follow."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from iwtui.icewarp.install import discover
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.icewarp.spam import tarpit
from iwtui.tui.screens.spam.area import SpamArea
from iwtui.tui.screens.spam.dialogs import FormScreen
from iwtui.tui.widgets.confirm import ConfirmDialog

from .conftest import FIXED_START
from .tui_helpers import make_app, wait_for

SIZE = (160, 48)
NOW = datetime.fromisoformat(FIXED_START)


def _grey_count(db: Path) -> int:
    with closing(sqlite3.connect(db)) as con:
        return int(con.execute("SELECT count(*) FROM Greylist").fetchone()[0])


def _expired(db: Path) -> list[int]:
    return spam.expired_greylist_ids(db, spam.Expiry(), NOW)


async def _tab(pilot, app, tab: str) -> SpamArea:  # type: ignore[no-untyped-def]
    await pilot.press("2")
    area = app.query_one(SpamArea)
    await wait_for(pilot, lambda: area.current.loaded)
    while area.current.spec.id != tab:
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: area.current.loaded)
    return area


async def test_greylisting_removes_every_expired_entry_and_only_those(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("iwtui.tui.screens.spam.tabs._now", lambda: NOW)
    db = sim_root / "spam" / "antispam.db"
    expired = _expired(db)
    before = _grey_count(db)
    assert 0 < len(expired) < before  # the simulator has both kinds
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await _tab(pilot, app, "greylist")
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert f"Remove {len(expired)} expired greylist entr" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: _grey_count(db) == before - len(expired))
    assert _expired(db) == []
    # undoable: every row comes back
    gate = app.gate
    gate.undo(roots=[sim_root])
    assert _grey_count(db) == before and _expired(db) == expired


def test_cli_greylist_remove_expired(sim_root: Path, isolated_config: Path) -> None:
    db = sim_root / "spam" / "antispam.db"
    before = _grey_count(db)
    inst = discover(sim_root, use_tool_sh=False)
    n = len(spam_actions.greylist_expired_plan(inst, spam.Expiry()).targets)
    assert n > 0
    cli = [sys.executable, "-m", "iwtui", "--root", str(sim_root), "greylist", "remove-expired"]
    out = subprocess.run([*cli, "--yes"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"{n} done" in out.stdout and _grey_count(db) == before - n
    again = subprocess.run([*cli, "--yes"], capture_output=True, text=True)
    assert again.returncode == 0 and "no expired greylist entries" in again.stdout


async def test_no_at_the_add_confirmation_keeps_the_form_with_what_was_typed(
    sim_root: Path, isolated_config: Path
) -> None:
    db = sim_root / "spam" / "antispam.db"
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await _tab(pilot, app, "whitelist")
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        boxes = list(app.screen.query(Input))
        boxes[0].value, boxes[1].value = "friend@ok.test", "*"
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert [b.value for b in app.screen.query(Input)] == ["friend@ok.test", "*"]
    with closing(sqlite3.connect(db)) as con:
        assert con.execute("SELECT count(*) FROM Senders WHERE SndEmail = 'friend@ok.test'").fetchone()[0] == 0  # fmt: skip


async def test_a_wide_tarpit_range_is_asked_about_then_blocked(
    sim_root: Path, isolated_config: Path
) -> None:
    inst = discover(sim_root, use_tool_sh=False)
    assert inst.tarpit_file.exists()
    path = inst.tarpit_file
    with pytest.raises(Exception, match="--force"):
        tarpit.add_plan(path, "0.0.0.0/0", 30)  # the CLI's rule stays
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await _tab(pilot, app, "tarpit")
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query(Input).first().value = "0.0.0.0/0"
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)  # asked, not refused
        error = str(app.screen.query_one("#form-error").render())
        assert "4,294,967,296 addresses" in error and "--force" not in error
        await pilot.press("enter")  # again: meant
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: "0.0.0.0/0" in path.read_text(errors="replace"))


async def test_a_new_filter_shows_only_the_matches_with_no_struck_through_rows(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.4: the spam filter showed struck-through non-matching rows for 2-3 s
    before the matches; rows a filter leaves out are not 'gone', they just go."""
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _tab(pilot, app, "whitelist")
        tab = area.current
        rows = list(tab.table.rows)
        assert len(rows) > 2
        wanted = rows[0].sender
        tab.query_one("#whitelist-sender", Input).value = wanted
        await pilot.press("f", "enter")
        await wait_for(pilot, lambda: tab.table.live_count < len(rows))  # the read is in
        assert not any(tab.table.is_gone(r) for r in tab.table.rows)
        assert all(wanted in r.sender for r in tab.table.rows)
