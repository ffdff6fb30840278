from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import ContentSwitcher, DataTable, OptionList

from iwtui.icewarp import status
from iwtui.icewarp.actions import Plan, targets_of, trash_step
from iwtui.tui.areas import AREAS
from iwtui.tui.gate import run_plan
from iwtui.tui.screens.help import HelpScreen
from iwtui.tui.screens.spam.area import SpamArea
from iwtui.tui.widgets.confirm import ConfirmDialog
from iwtui.tui.widgets.status_strip import StatusStrip

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _strip_text(app: object) -> str:
    return app.query_one(StatusStrip).render_strip().plain  # type: ignore[attr-defined, no-any-return]


async def test_keys_1_to_9_and_vim_motions_navigate(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        switcher = app.query_one("#areas", ContentSwitcher)
        for area in reversed(AREAS):
            await pilot.press(area.key)
            assert switcher.current == area.id
        # a built area (Logs, Sessions) takes the keys; the navigation gets them back
        # when focused (Tab order, or a click)
        app.query_one("#nav").focus()
        await pilot.press("g")
        assert switcher.current == "queue"
        await pilot.press("j", "j")
        assert switcher.current == "charts"
        await pilot.press("G")
        assert switcher.current == "volume"
        await pilot.press("k")
        assert switcher.current == "accounts"


async def test_a_pending_area_says_so_plainly(sim_root: Path) -> None:
    """Every area is built now, so a registry entry without a widget is made up here (it
    skipped before, a test that could not fail)."""
    from textual.app import App, ComposeResult

    from iwtui.icewarp.install import discover
    from iwtui.tui.areas import AreaInfo
    from iwtui.tui.screens.pending import PendingArea

    info = AreaInfo("future", "Future Area", "0", 99, "what the future holds")
    assert not info.built

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield PendingArea(info, discover(sim_root, use_tool_sh=False))

    app = One()
    async with app.run_test(size=SIZE):
        texts = " ".join(str(s.render()) for s in app.query("Static"))
        assert "not built yet" in texts and "Future Area" in texts and "#99" in texts
        assert "what the future holds" in texts


async def test_help_lists_every_binding_with_its_id(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "keymap:\n  app.area.logs: f9\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("?")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        ids = {r[2] for r in rows}
        assert {
            "app.area.queue",
            "app.help",
            "app.quit",
            "nav.down",
            "confirm.accept",
            "help.close",
        } <= ids
        logs = next(r for r in rows if r[2] == "app.area.logs")
        assert logs[0] == "f9 *"  # the remapped key, marked
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_keymap_from_config_remaps_by_id(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "keymap:\n  app.area.logs: f9\n")
    async with app.run_test(size=SIZE) as pilot:
        switcher = app.query_one("#areas", ContentSwitcher)
        await pilot.press("4")
        assert switcher.current == "queue"  # 4 no longer bound
        await pilot.press("f9")
        assert switcher.current == "logs"


async def test_keys_show_as_typed_help_scrolls_and_the_navigation_shows_real_keys(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.5: help showed `right_square_bracket` and `slash`, did not move with G/j;
    the navigation said `4 Logs` after Logs was remapped."""
    app = make_app(sim_root, isolated_config, "keymap:\n  app.area.logs: f9\n")
    async with app.run_test(size=SIZE) as pilot:
        nav = app.query_one("#nav", OptionList)
        labels = [str(nav.get_option_at_index(i).prompt) for i in range(nav.option_count)]
        assert "f9 Logs" in labels and "1 Message Queue" in labels
        await pilot.press("?")
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        keys = " ".join(r[0] for r in rows)
        assert "right_square_bracket" not in keys and "slash" not in keys
        assert next(r for r in rows if r[2] == "logs.find")[0] == "/"
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g", "j")
        assert table.cursor_row == 1


async def test_header_counts_follow_file_watchers(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "watch: true\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        assert app.snapshot is not None
        before = app.snapshot.queues["outgoing"]
        assert f"Outgoing {before}" in _strip_text(app)
        await pilot.pause(0.3)  # let the watcher start
        out = sim_root / "mail" / "_outgoing"
        for i in range(3):
            (out / f"NEW{i}.tmp").write_bytes(b"From: a@b\r\n\r\nx")
        await wait_for(
            pilot,
            lambda: app.snapshot is not None and app.snapshot.queues["outgoing"] == before + 3,
        )
        assert f"Outgoing {before + 3}" in _strip_text(app)
        # tarpit.dat replaced atomically (as IceWarp and iwtui write it) is seen too.
        tarpit = sim_root / "config" / "tarpit.dat"
        tmp = tarpit.with_name(".tarpit.tmp")
        tmp.write_text(tarpit.read_text() + "10.9.9.9\t2999-01-01T00:00:00\tU\n")
        tmp.replace(tarpit)
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.tarpit_active == 1)
        assert "Tarpitted 1" in _strip_text(app)


async def test_polling_mode_and_pause(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "refresh_seconds: 0.2\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        assert "polling" in _strip_text(app)
        retry = sim_root / "mail" / "_outgoing" / "retry"
        n = len(list(retry.iterdir()))
        await pilot.press("p")
        assert "paused" in _strip_text(app)
        victim = next(retry.iterdir())
        victim.unlink()
        await pilot.pause(0.8)
        assert f"Retry {n}" in _strip_text(app)  # paused: nothing moves
        await pilot.press("p")
        await wait_for(pilot, lambda: f"Retry {n - 1}" in _strip_text(app))


async def test_hostile_root_name_and_broken_spam_db_render_inert(
    sim_root: Path, isolated_config: Path, tmp_path: Path
) -> None:
    hostile = tmp_path / "[bold red]x[/bold red]\x1b[31m"
    shutil.move(sim_root, hostile)
    (hostile / "spam" / "antispam.db").write_bytes(b"garbage" * 50)
    app = make_app(hostile, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        text = _strip_text(app)
        assert "[bold red]x[/bold red]" in text
        assert "spam db unreadable" in text
        await pilot.press("2")
        await pilot.pause()
        assert app.is_running


async def test_a_missing_spam_db_is_not_found_rather_than_unreadable(
    sim_root: Path, isolated_config: Path
) -> None:
    (sim_root / "spam" / "antispam.db").unlink()
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        text = _strip_text(app)
        assert "spam db not found" in text and "unreadable" not in text


async def test_a_failing_refresh_is_reported_and_the_app_goes_on(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(sim_root, isolated_config)
    calls = {"n": 0}
    real = status.refresh

    def flaky(*a: object, **k: object) -> status.Snapshot:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk went away")
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(status, "refresh", flaky)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: any("disk went away" in str(n.message) for n in app._notifications)
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: app.snapshot is not None)


def _trash_plan(app: object, files: dict[str, Path]) -> Plan:
    gate = app.gate  # type: ignore[attr-defined]
    return Plan(
        "queue.delete",
        targets_of(files),
        f"Delete {len(files)} messages",
        "iwtui queue delete " + " ".join(files),
        trash_step(gate, "outgoing", files),
        True,
    )


async def test_gate_in_the_tui_confirms_with_the_count(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    files = {p.stem: p for p in sorted((sim_root / "mail/_outgoing").glob("*.tmp"))[:3]}
    async with app.run_test(size=SIZE) as pilot:
        run_plan(app, app.gate, _trash_plan(app, files))
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        texts = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "3 item(s) will be affected" in texts and "iwtui queue delete" in texts
        await pilot.press("n")
        assert all(p.exists() for p in files.values())
        run_plan(app, app.gate, _trash_plan(app, files))
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: not any(p.exists() for p in files.values()))
        assert len(app.gate.entries()) == 1


async def test_gate_in_the_tui_refuses_in_read_only_mode(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config, "read_only: true\n")
    files = {p.stem: p for p in sorted((sim_root / "mail/_outgoing").glob("*.tmp"))[:2]}
    async with app.run_test(size=SIZE) as pilot:
        assert "READ-ONLY" in _strip_text(app)
        run_plan(app, app.gate, _trash_plan(app, files))
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("read-only" in str(n.message) for n in app._notifications)
        assert all(p.exists() for p in files.values())


async def test_header_keeps_the_counts_on_an_80_column_terminal(
    sim_root: Path, isolated_config: Path
) -> None:
    """CI's tmux once came up at 80x24: the long root path wrapped and pushed the counts
    off the two-line strip. The counts must stay; the path gives way."""
    deep = sim_root.parent / ("very-long-folder-name-" * 4) / "icewarp"
    deep.parent.mkdir(parents=True)
    shutil.move(str(sim_root), deep)
    app = make_app(deep, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.pause()
        assert app.snapshot is not None
        strip = app.query_one(StatusStrip)
        lines = strip.render_strip().plain.split("\n")
        assert len(lines) == 2 and all(len(line) <= strip.content_size.width for line in lines)
        assert lines[0].startswith("iwtui …") and lines[0].rstrip().endswith(("live", "polling"))
        out, retry = app.snapshot.queues["outgoing"], app.snapshot.queues["retry"]
        assert f"Out {out}" in lines[1] and f"Rty {retry}" in lines[1] and "Tarpit" in lines[1]
        # and what the terminal shows is the same thing
        shown = strip.render_line(1).text
        assert f"Out {out}" in shown and "Tarpit" in shown


async def test_keys_never_stay_with_a_hidden_area(sim_root: Path, isolated_config: Path) -> None:
    """Switching from the Message Queue to another area moves the focus with it: a `d`
    pressed on Spam Queues must not delete from the hidden queue list."""
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        assert (
            app.focused is not None and app.query_one("#queue") in app.focused.ancestors_with_self
        )
        for key, area in (("2", "#spam"), ("4", "#logs"), ("9", "#volume")):
            await pilot.press(key)
            assert (
                app.focused is not None and app.query_one(area) in app.focused.ancestors_with_self
            ), key
        await pilot.press("3", "d")  # a pending area: nothing to delete
        assert not isinstance(app.screen, ConfirmDialog)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.query_one(SpamArea).current.loaded)
        await pilot.press("d")  # the shown list's delete, never the hidden queue's
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert isinstance(app.screen, ConfirmDialog) and "spam delete" in app.screen.detail
        await pilot.press("n")


async def test_a_narrow_terminal_hides_the_navigation_and_keys_still_switch(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        nav = app.query_one("#nav")
        assert not nav.display or nav.region.width == 0
        await pilot.press("2")
        assert app.focused is not None and app.query_one("#spam") in app.focused.ancestors_with_self
    wide = make_app(sim_root, isolated_config)
    async with wide.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert wide.query_one("#nav").region.width > 0


async def test_the_strip_repaints_only_when_what_it_shows_changes(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        strip = app.query_one(StatusStrip)
        await pilot.pause(0.3)
        repaints: list[int] = []
        real = strip.refresh

        def counted(*a: object, **kw: object) -> object:
            repaints.append(1)
            return real(*a, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(strip, "refresh", counted)
        snap = app.snapshot
        assert snap is not None
        same = status.Snapshot(**{**snap.__dict__})
        strip.snapshot = same  # the same counts again: nothing to draw
        strip.snapshot = status.Snapshot(**{**snap.__dict__})
        assert repaints == []
        more = dict(snap.queues)
        more["outgoing"] = more.get("outgoing", 0) + 5
        strip.snapshot = status.Snapshot(**{**snap.__dict__, "queues": more})
        assert len(repaints) == 1 and "Outgoing" in strip.render_strip().plain
        strip.snapshot = status.Snapshot(**{**snap.__dict__, "queues": more})
        assert len(repaints) == 2  # the highlight of the changed count goes: drawn again
        strip.snapshot = status.Snapshot(**{**snap.__dict__, "queues": more})
        assert len(repaints) == 2


async def test_help_puts_the_keys_of_the_area_first(sim_root: Path, isolated_config: Path) -> None:
    """In the Message Queue, `?` opened on the shell's area keys; the queue's own (Delete,
    Send now) came 70 rows down among every other area's."""
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await pilot.pause(0.3)
        await pilot.press("?")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0][1] == "Here: Message Queue"
        first = next(i for i, r in enumerate(rows[1:], 1) if not r[2])  # the next heading
        here = {r[2] for r in rows[1:first]}
        assert {"queue.delete", "queue.send_now", "table.mark", "app.quit"} <= here, here
        assert not any(i.startswith(("logs.", "spam.")) for i in here), here
        ids = [r[2] for r in rows if r[2]]
        assert len(ids) == len(set(ids))  # each binding once
        from iwtui.tui.screens.help import SCOPES

        headings = [r[1] for r in rows[first:] if not r[2]]
        assert headings and set(headings) <= set(SCOPES.values()), headings
        assert "Spam Queues" in headings  # the other areas' keys follow under their names
