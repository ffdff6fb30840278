"""Pilot tests of the Message Queue area."""

from __future__ import annotations

from pathlib import Path

import pytest

from iwtui.icewarp.install import discover
from iwtui.icewarp.queue import scanning
from iwtui.tui.screens.queue.area import QueueArea
from iwtui.tui.screens.queue.dialogs import ReasonsScreen, TextScreen
from iwtui.tui.widgets import item_table
from iwtui.tui.widgets.confirm import ConfirmDialog
from iwtui.tui.widgets.item_table import ItemTable
from iwtui.tui.widgets.log_view import LogView

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _table_text(table: ItemTable[object]) -> str:
    return "\n".join(
        table.render_line(y).text for y in range(table.scrollable_content_region.height)
    )


async def test_lists_every_item_and_the_cursor_sticks_while_the_queue_changes(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(item_table, "GONE_S", 1.0)
    app = make_app(sim_root, isolated_config)
    total = len(scanning.scan(discover(sim_root, use_tool_sh=False)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        area = app.query_one(QueueArea)
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) == total)
        assert table.has_focus
        await pilot.press("j", "j", "j")
        key = table.current_key()
        # new files arrive and one delivered item vanishes: the cursor keeps its item
        out = sim_root / "mail" / "_outgoing"
        for n in range(3):
            (out / f"NEWITEM00{n}.tmp").write_bytes(
                b"From: a@b.c\r\nTo: d@e.f\r\nSubject: [bold]new[/bold] \x1b[2J\r\n\r\nx"
            )
        gone = next(r for r in table.rows if r.where != key)
        gone.path.unlink()
        area.rescan()
        await wait_for(pilot, lambda: any(r.id == "NEWITEM002" for r in table.rows))
        assert table.current_key() == key
        # the vanished row was on screen: it fades (struck through, never selectable)
        assert len(table.rows) == total + 3 and table.is_gone(gone)
        line = table.render_line(table.rows.index(gone) + 1 - int(table.scroll_offset.y))
        assert gone.sender in line.text and any(seg.style and seg.style.strike for seg in line)
        table.move_to(table.rows.index(gone))
        assert table.selection() == []
        table.move_to(table.rows.index(next(r for r in table.rows if r.where == key)))
        await wait_for(pilot, lambda: gone not in table.rows)  # after GONE_S
        assert len(table.rows) == total + 2 and table.current_key() == key
        table.move_to(next(n for n, r in enumerate(table.rows) if r.id == "NEWITEM000"))
        await pilot.pause()
        text = _table_text(table)
        assert "[bold]new[/bold] \\x1b[" in text and "\x1b" not in text
        key = table.current_key()
        await pilot.press("o")  # sort by the next column
        assert table.sort_column == 1 and table.current_key() == key


async def test_delete_marked_confirms_with_the_count_and_journals(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) > 5)
        await pilot.press("space", "space")
        chosen = [r.path for r in table.selection()]
        assert len(chosen) == 2
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        dialog_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "2 item(s)" in dialog_text and "iwtui queue delete" in dialog_text
        await pilot.press("y")
        await wait_for(pilot, lambda: not any(p.exists() for p in chosen))
        # one action is several journal lines now (plan, steps, end): read it merged
        await wait_for(pilot, lambda: app.gate.entries()[-1].get("state") == "complete")
        entry = app.gate.entries()[-1]
        assert entry["action"] == "queue delete" and "iwtui queue delete" in entry["cli"]


async def test_read_only_refuses_and_changes_nothing(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "read_only: true\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) > 0)
        path = table.rows[0].path
        for key in ("d", "S", "B", "W", "X"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, ConfirmDialog)
        assert sum("read-only" in n.message for n in app._notifications) >= 1
        assert path.exists()


async def test_open_message_and_reasons(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: any(r.queue == "retry" and r.last_error for r in table.rows))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
        view = app.screen.query_one(LogView)
        first = view.render_line(0).text
        assert ":" in first  # a header line of the message
        await pilot.press("escape")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonsScreen))
        groups = app.screen.groups
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ReasonsScreen))
        await pilot.pause(0.1)
        assert {r.id for r in table.rows} == set(groups[0].ids)
        await pilot.press("c")
        await pilot.pause(0.1)
        assert len(table.rows) > len(groups[0].ids)


async def test_whitelist_asks_whose_list_and_validates_it(
    sim_root: Path, isolated_config: Path
) -> None:
    import sqlite3
    from contextlib import closing

    from textual.widgets import Input

    from iwtui.tui.screens.queue.dialogs import OwnerScreen

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: any(r.queue == "outgoing" for r in table.rows))
        table.move_to(next(n for n, r in enumerate(table.rows) if r.queue == "outgoing"))
        sender = table.current().sender.lower()  # type: ignore[union-attr]
        await pilot.press("W")
        await wait_for(pilot, lambda: isinstance(app.screen, OwnerScreen))
        box = app.screen.query_one(Input)
        box.value = "not an owner"
        await pilot.press("enter")
        assert isinstance(app.screen, OwnerScreen)  # refused, still asking
        assert "bad owner" in str(app.screen.query_one("#owner-error").render())
        box.value = "Example.COM"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        db = sim_root / "spam" / "antispam.db"

        def rows() -> list[tuple[str, int]]:
            with closing(sqlite3.connect(db)) as con:
                return con.execute(
                    "SELECT SndOwner, SndAuthorized FROM Senders WHERE lower(SndEmail) = ?",
                    (sender,),
                ).fetchall()

        await wait_for(pilot, lambda: ("example.com", 1) in rows())


async def test_the_state_line_says_a_filter_hides_rows(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.6: a filter kept from another queue or the mailbox view read as an empty
    list (``0 shown of 3``); the state line names the filter and how to clear it."""
    from textual.widgets import Input

    from iwtui.tui.widgets.panel import Panel

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) > 5)
        app.query_one("#queue-filter", Input).value = "subject:no such subject anywhere"
        await pilot.press("f", "enter")
        state = app.query_one("#queue-state", Panel)
        await wait_for(pilot, lambda: "filter subject:no such" in str(state.render()))
        assert "(c clears)" in str(state.render()) and "0 shown of" in str(state.render())
