"""Issue 14.1, 14.2, 14.8: undo where the action was taken (the toast names the journal
id and the key, `u` undoes after a confirmation listing the moves, a journal screen),
the palette offers the shown area's actions, Undo, Journal and every tab, dialogs name
what they act on, and an undo whose install is gone refuses before touching anything."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList, TabbedContent

from iwtui.errors import Refused
from iwtui.icewarp.actions import ActionGate, install_roots
from iwtui.icewarp.install import discover
from iwtui.icewarp.queue import actions as queue_actions
from iwtui.icewarp.queue import scanning
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.tui.app import palette_commands
from iwtui.tui.screens.journal import JournalScreen
from iwtui.tui.widgets.confirm import ConfirmDialog
from iwtui.tui.widgets.item_table import ItemTable

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _dialog_text(app: Any) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query("Static"))


def _messages(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_delete_then_u_undoes_it_after_listing_what_moves_back(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: any(r.queue == "outgoing" for r in table.rows))
        table.move_to(next(n for n, r in enumerate(table.rows) if r.queue == "outgoing"))
        item = table.current()
        path = Path(item.path)  # type: ignore[union-attr]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = _dialog_text(app)
        # the dialog names the message, not only the count
        assert item.id in text and (item.sender or "<>") in text  # type: ignore[union-attr]
        await pilot.press("y")
        await wait_for(pilot, lambda: not path.exists())
        await wait_for(pilot, lambda: any("u undoes it" in m for m in _messages(app)))
        entry = app.gate.entries()[-1]
        toast = next(m for m in _messages(app) if "u undoes it" in m)
        assert entry["id"] in toast
        await pilot.press("escape")  # back to the list (the area took the keys)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = _dialog_text(app)
        assert "Undo queue delete" in text and path.name in text and str(path.parent) in text
        assert not path.exists()  # nothing before the answer
        await pilot.press("y")
        await wait_for(pilot, lambda: path.exists())
        await wait_for(pilot, lambda: app.gate.entries()[-1].get("state") == "complete")
        assert app.gate.entries()[-1]["undoes"] == entry["id"]
        await pilot.press("u")  # nothing left: said, not a dialog
        await wait_for(pilot, lambda: any("nothing to undo" in m for m in _messages(app)))
        assert not isinstance(app.screen, ConfirmDialog)


async def test_declining_the_undo_changes_nothing(sim_root: Path, isolated_config: Path) -> None:
    inst = discover(sim_root, use_tool_sh=False)
    app = make_app(sim_root, isolated_config)
    item = next(i for i in scanning.scan(inst).values() if i.queue == "outgoing")
    app.gate.execute(queue_actions.delete_plan(app.gate, [item], sim_root))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert not Path(item.path).exists()
        assert len(app.gate.undoable()) == 1


async def test_the_journal_screen_lists_actions_with_their_commands_and_undoes_one(
    sim_root: Path, isolated_config: Path
) -> None:
    inst = discover(sim_root, use_tool_sh=False)
    app = make_app(sim_root, isolated_config)
    first, second = [i for i in scanning.scan(inst).values() if i.queue == "outgoing"][:2]
    app.gate.execute(queue_actions.delete_plan(app.gate, [first], sim_root))
    app.gate.execute(queue_actions.delete_plan(app.gate, [second], sim_root))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("J")
        await wait_for(pilot, lambda: isinstance(app.screen, JournalScreen))
        listing = app.screen.query_one(OptionList)
        assert listing.option_count == 2
        shown = "\n".join(str(listing.get_option_at_index(i).prompt) for i in range(2))
        assert f"iwtui queue delete --root {sim_root} {second.id} --yes" in shown
        assert shown.index(second.id) < shown.index(first.id)  # newest first
        await pilot.press("j")  # the older one
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert Path(first.path).name in _dialog_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: Path(first.path).exists())
        assert not Path(second.path).exists()  # only the one chosen


async def test_the_palette_offers_area_actions_undo_journal_and_every_tab(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) > 0)
        texts = [t for t, _c, _h in palette_commands(app, app.screen)]
        assert "Message Queue: Send now" in texts
        assert "Spam Queues: Intrusion Prevention tab (tarpit)" in texts
        assert not any("Row down" in t for t in texts)  # moves are not commands
        for query, expect in (("undo", "Undo the last action"), ("journal", "Journal of actions"),
                              ("send now", "Send now"), ("tarpit", "Intrusion Prevention")):  # fmt: skip
            await pilot.press("colon")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*query)
            listing = app.screen.query_one("CommandList", OptionList)

            def found(listing: OptionList = listing, expect: str = expect) -> bool:
                return any(expect in str(listing.get_option_at_index(i).prompt)
                           for i in range(listing.option_count))  # fmt: skip

            await wait_for(pilot, found)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        # choosing the tab switches area and tab
        cmd = next(c for t, c, _h in palette_commands(app, app.screen) if "(tarpit)" in t)
        cmd()
        tabs = app.query_one("#spam-tabs", TabbedContent)
        await wait_for(pilot, lambda: app.current_area == "spam" and tabs.active == "tab-tarpit")
        await pilot.pause(0.5)  # and it stays there: the old tab's focus does not take it back
        assert tabs.active == "tab-tarpit" and app.current_area == "spam"
        assert isinstance(app.focused, ItemTable) and app.focused in tabs.query("#tab-tarpit *")


def test_plans_name_their_items(sim_install: Any) -> None:
    inst = sim_install
    gate = ActionGate(inst.root.parent / "state", read_only=False)
    items = [i for i in scanning.scan(inst).values() if i.sender][:7]
    plan = queue_actions.delete_plan(gate, items, inst.root)
    shown = plan.items()
    assert len(shown) == 6 and shown[-1] == "and 2 more"
    assert shown[0].startswith(items[0].id) and items[0].sender in shown[0]
    one = queue_actions.sender_list_plan(inst, items[:1], "whitelist", "example.com")
    assert items[0].sender.lower() in one.summary
    with closing(sqlite3.connect(inst.antispam_db)) as con:
        gid, value = con.execute("SELECT rowid, GLValue FROM Greylist LIMIT 1").fetchone()
        sid, email = con.execute(
            "SELECT rowid, SndEmail FROM Senders WHERE SndAuthorized = 2 LIMIT 1"
        ).fetchone()
    grey = spam_actions.greylist_plan(inst, "authorize", [gid])
    assert value in grey.items()[0]
    held = spam_actions.sender_plan(gate, inst, "quarantine", "delete", [sid])
    assert email in held.items()[0]


def test_undo_refuses_when_the_install_is_gone_and_creates_nothing(
    sim_root: Path, tmp_path: Path
) -> None:
    inst = discover(sim_root, use_tool_sh=False)
    gate = ActionGate(tmp_path / "state", read_only=False)
    item = next(i for i in scanning.scan(inst).values() if i.queue == "outgoing")
    roots = install_roots(inst)
    gate.execute(queue_actions.delete_plan(gate, [item], sim_root))
    shutil.rmtree(sim_root)
    with pytest.raises(Refused, match="is gone"):
        gate.undo(roots=roots)
    assert not sim_root.exists()  # no empty tree made where the install was
    assert len(gate.undoable()) == 1  # still there, for when the install comes back


def test_cli_undo_refuses_when_the_install_is_gone(
    sim_root: Path, tmp_path: Path, isolated_config: Path
) -> None:
    cli = [sys.executable, "-m", "iwtui", "--root", str(sim_root)]
    inst = discover(sim_root, use_tool_sh=False)
    item = next(i for i in scanning.scan(inst).values() if i.queue == "outgoing")
    out = subprocess.run([*cli, "queue", "delete", item.id, "--yes"], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    shutil.rmtree(sim_root)
    out = subprocess.run([*cli, "undo", "--yes"], capture_output=True, text=True)
    assert out.returncode != 0
    assert not sim_root.exists()
    entries = subprocess.run([*cli, "journal", "--json"], capture_output=True, text=True)
    assert not any(e.get("action") == "undo" for e in json.loads(entries.stdout))


def test_an_undo_that_failed_everywhere_leaves_the_action_undoable(tmp_path: Path) -> None:
    gate = ActionGate(tmp_path / "state", read_only=False)
    gate.journal_path.parent.mkdir(parents=True)
    lines = [
        {"kind": "plan", "id": "a", "action": "queue delete", "targets": ["x"], "undoable": True},
        {"kind": "steps", "id": "a", "results": [{"t": "x", "s": "done", "u": [{"op": "move", "from": "/f", "to": "/t"}]}]},
        {"kind": "end", "id": "a"},
        {"kind": "plan", "id": "b", "action": "undo", "undoes": "a", "targets": ["0"]},
        {"kind": "steps", "id": "b", "results": [{"t": "0", "s": "failed", "d": "outside"}]},
        {"kind": "end", "id": "b"},
    ]  # fmt: skip
    gate.journal_path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [e["id"] for e in gate.undoable()] == ["a"]
