"""Pilot tests of the Spam Queues area."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from iwtui.icewarp.watch import Area
from iwtui.tui.screens.queue.dialogs import TextScreen
from iwtui.tui.screens.spam.area import SpamArea, SpamTab, TarpitTab, countdown
from iwtui.tui.screens.spam.dialogs import FormScreen
from iwtui.tui.widgets.confirm import ConfirmDialog

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _count(db: Path, sql: str) -> int:
    with closing(sqlite3.connect(db)) as con:
        return int(con.execute(sql).fetchone()[0])


async def _open(pilot, app) -> SpamArea:  # type: ignore[no-untyped-def]
    await pilot.press("2")
    area = app.query_one(SpamArea)
    await wait_for(pilot, lambda: area.current.loaded)
    return area


async def test_tabs_list_rows_and_keys_follow_the_tab(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        tab = area.current
        assert tab.spec.id == "quarantine" and len(tab.table.rows) == 12 and tab.table.has_focus
        await pilot.press("enter")  # the whole held message
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
        assert any(line.lower().startswith("subject:") for line in app.screen.lines)
        await pilot.press("escape")
        assert area.check_action("act", ("deliver",)) and not area.check_action("act", ("add",))
        seen = []
        for _ in range(4):
            await pilot.press("right_square_bracket")
            await wait_for(pilot, lambda: area.current.loaded)
            seen.append((area.current.spec.id, len(area.current.table.rows)))
            assert area.current.table.has_focus
        assert [s[0] for s in seen] == ["whitelist", "blacklist", "greylist", "tarpit"]
        assert all(n > 0 for _id, n in seen)
        assert area.check_action("act", ("remove-all",)) and not area.check_action(
            "act", ("deliver",)
        )
        # a key that does not apply to this tab does nothing
        await pilot.press("D")
        assert not isinstance(app.screen, ConfirmDialog)


async def test_delete_marked_states_the_count_and_a_watcher_reload_shows_it(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    db = sim_root / "spam" / "antispam.db"
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        tab = area.current
        await pilot.press("space", "space", "space")
        assert len(tab.table.marked) == 3
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and dialog.count == 3
        assert "iwtui --root" in dialog.detail and "spam delete --list quarantine" in dialog.detail
        await pilot.press("y")
        await wait_for(pilot, lambda: len(tab.table.rows) == 9 + 3 and not tab.table.marked)
        await wait_for(pilot, lambda: _count(db, "SELECT count(*) FROM Senders WHERE SndAuthorized=2") == 9)  # fmt: skip
        await wait_for(pilot, lambda: len([r for r in tab.table.rows if not tab.table.is_gone(r)]) == 9)  # fmt: skip
        # one action is several journal lines now (plan, steps, end): read it merged
        await wait_for(pilot, lambda: app.gate.entries()[-1].get("state") == "complete")
        assert app.gate.entries()[-1]["action"] == "spam delete"
        # another process adds a held message: the watcher's event reloads the shown tab
        with closing(sqlite3.connect(db)) as con:
            con.execute("INSERT INTO Senders (SndOwner, SndEmail, SndAuthorized, SndFolder, SndDomain,"
                        " SndSubject, SndCreatedOn) VALUES ('a@b.test','new@x.test',2,'f','b.test','hi',46000)")  # fmt: skip
            con.commit()
        app._files_changed(frozenset({Area.SPAM}))
        await wait_for(pilot, lambda: any(r.sender == "new@x.test" for r in tab.table.rows))


async def test_add_dialog_validates_and_adds(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    db = sim_root / "spam" / "antispam.db"
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: area.current.spec.id == "whitelist" and area.current.loaded)
        before = len(area.current.table.rows)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"friend@ok.test", "enter")  # to the owner field ("*")
        await pilot.press("backspace", *"not an owner", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)  # refused, stays open with the reason
        assert "bad owner" in str(app.screen.query_one("#form-error").render())
        for _ in range(12):
            await pilot.press("backspace")
        await pilot.press(*"acme-c")  # completes from the mail store; right arrow takes it
        await pilot.pause(0.2)
        await pilot.press("right")
        assert app.screen.query_one("#form-1", Input).value == "acme-corp.test"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(area.current.table.rows) == before + 1)
        q = "SELECT count(*) FROM Senders WHERE SndEmail='friend@ok.test' AND SndOwner='acme-corp.test' AND SndAuthorized=1"  # fmt: skip
        assert _count(db, q) == 1


async def test_add_warns_about_an_owner_domain_not_on_this_server(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.6: the Whitelist Add form took an owner domain that is not on the server
    without a word. It says so, and the same values again go ahead."""
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: area.current.spec.id == "whitelist" and area.current.loaded)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"friend@ok.test", "enter", "backspace", *"elsewhere.test", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "elsewhere.test is not a domain of this server" in str(
            app.screen.query_one("#form-error").render()
        )
        await pilot.press("enter")  # again: the admin means it
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))


async def test_read_only_refuses_before_asking(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "read_only: true\n")
    db = sim_root / "spam" / "antispam.db"
    before = db.read_bytes()
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        for key in ("d", "W", "X", "D"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmDialog | FormScreen)
        await pilot.press("right_square_bracket")
        await pilot.press("A")
        await pilot.pause()
        assert not isinstance(app.screen, FormScreen)
        assert area.current.spec.id == "whitelist"
    assert db.read_bytes() == before


async def test_intrusion_prevention_countdown_activity_and_log_lines(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        for _ in range(4):
            await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: isinstance(area.current, TarpitTab) and area.current.loaded)
        tab = area.current
        assert isinstance(tab, TarpitTab) and len(tab.table.rows) == 9
        detail = tab.query_one(".spam-detail")
        await wait_for(pilot, lambda: "SMTP log (2 days)" in str(detail.render()))
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))


async def test_a_finished_log_read_is_kept_across_reloads_and_ticks(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, section 0: a reload (a watcher, the first header refresh) rebuilt the
    detail and showed "reading…" again, and read two days of log once more."""
    from iwtui.icewarp.spam import tarpit

    reads: list[str] = []
    real = tarpit.activity

    def counting(cat: Any, ip: str) -> tarpit.Activity:
        reads.append(ip)
        return real(cat, ip)

    monkeypatch.setattr(tarpit, "activity", counting)
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        for _ in range(4):
            await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: isinstance(area.current, TarpitTab) and area.current.loaded)
        tab = area.current
        assert isinstance(tab, TarpitTab)
        detail = tab.query_one(".spam-detail")
        await wait_for(pilot, lambda: "SMTP log (2 days)" in str(detail.render()))
        assert len(reads) == 1
        for _ in range(3):
            tab.reload()
            await wait_for(pilot, lambda: not tab._loading)
            area.files_changed(frozenset({Area.TARPIT}))
            await pilot.pause(0.4)  # past the activity delay: a new read would have started
            assert "SMTP log (2 days)" in str(detail.render())
        assert len(reads) == 1
        # another row is another read; coming back after the log changed reads again
        await pilot.press("j")
        await wait_for(pilot, lambda: len(reads) == 2)


def test_countdown_words() -> None:
    from datetime import datetime, timedelta

    now = datetime(2026, 1, 1, 12)
    assert countdown(now + timedelta(seconds=65), now) == "1m 05s"
    assert countdown(now + timedelta(hours=3, minutes=2), now) == "3h 02m"
    assert countdown(now + timedelta(days=2, hours=4), now) == "2d 4h"
    assert countdown(now - timedelta(minutes=5), now) == "expired 5m 00s ago"
    assert countdown(None, now) == "unknown"
    assert SpamTab  # the base tab is importable for other screens


async def test_a_corrupt_database_is_a_message_not_a_crash(
    sim_root: Path, isolated_config: Path
) -> None:
    (sim_root / "spam" / "antispam.db").write_bytes(b"not sqlite at all " * 200)
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        state = str(area.current.query_one(".spam-state").render())
        assert "not a readable SQLite database" in state and not area.current.table.rows
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await wait_for(pilot, lambda: area.current.loaded)
        assert "not a readable SQLite database" in str(area.current.query_one(".spam-state").render())  # fmt: skip
        await pilot.press("right_square_bracket")  # tarpit.dat is a file of its own: it lists
        await wait_for(pilot, lambda: area.current.loaded and len(area.current.table.rows) > 0)


def test_ips_sort_by_address_not_text() -> None:
    from iwtui.tui.screens.spam.tarpit import _ip_order

    ips = ["9.1.1.1", "10.0.0.2", "10.0.0.0/8", "2001:db8::1", "192.0.2.1", "not an ip"]
    assert sorted(ips, key=_ip_order) == ["9.1.1.1", "10.0.0.0/8", "10.0.0.2", "192.0.2.1", "2001:db8::1", "not an ip"]  # fmt: skip


async def test_a_held_file_swapped_for_a_link_is_refused(
    sim_root: Path, isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the listing and the read, a held message replaced by a symlink to a secret
    is refused by the preview and by Enter: its target is never shown."""
    secret = tmp_path / "secret.txt"
    secret.write_text("Subject: root's secret\n\nTOP-SECRET-LINE\n")
    from iwtui.icewarp.spam import lists as spam_lists

    real = spam_lists.held_files
    links: list[Path] = []

    def swapped(mail_dir: Path, owner: str, folder: str, **kw: Any) -> list[Path]:
        if not links:  # listed as a regular file, then swapped before the read
            found = real(mail_dir, owner, folder, **kw)
            found[0].unlink()
            found[0].symlink_to(secret)
            links.append(found[0])
        return links[:1]

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        area = await _open(pilot, app)
        tab = area.current
        monkeypatch.setattr(spam_lists, "held_files", swapped)
        row = tab.table.current()
        assert row is not None
        shown = tab.preview(row).plain
        assert "symbolic link" in shown and "TOP-SECRET" not in shown
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, TextScreen)
        assert any("symbolic link" in str(n.message) for n in app._notifications)
