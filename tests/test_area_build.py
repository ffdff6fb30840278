"""The console paints with its first area built and builds the others just after
(``IwtuiApp.build_area``): the first paint waits for one area, not nine; an area asked
for before it is built is built and shown at once; a hidden area built meanwhile never
takes the keys, and is never drawn beside the shown one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.screen import Screen
from textual.widgets import ContentSwitcher

from iwtui.tui import app as app_module
from iwtui.tui.areas import AREAS
from iwtui.tui.screens.accounts.area import AccountsArea
from iwtui.tui.screens.queue.area import QueueArea

from .tui_helpers import make_app, wait_for


async def test_the_first_paint_has_one_area_and_the_others_follow(
    sim_root: Path, isolated_config: Path, monkeypatch: object
) -> None:
    app = make_app(sim_root, isolated_config)
    at_first_paint: list[list[str]] = []
    refresh = Screen._compositor_refresh

    def painted(screen: Screen[object]) -> None:
        if not at_first_paint:
            switcher = screen.app.query_one("#areas", ContentSwitcher)
            at_first_paint.append([str(c.id) for c in switcher.children])
        refresh(screen)

    Screen._compositor_refresh = painted  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.areas_built)
            switcher = app.query_one("#areas", ContentSwitcher)
            built = [str(c.id) for c in switcher.children]
            shown = [str(c.id) for c in switcher.children if c.display]
            first = app.query_one(f"#{AREAS[0].id}")
    finally:
        Screen._compositor_refresh = refresh  # type: ignore[method-assign]
    assert at_first_paint[0] == [AREAS[0].id] + [f"slot-{a.id}" for a in AREAS[1:]]
    assert built == [a.id for a in AREAS]  # in the registry's order, no slot left
    assert shown == [AREAS[0].id]  # the ones built later are hidden
    assert isinstance(first, QueueArea)


async def test_a_key_for_an_area_not_built_yet_shows_it_with_the_keys(
    sim_root: Path, isolated_config: Path, monkeypatch: object
) -> None:
    started = asyncio.Event()

    async def held(self: app_module.IwtuiApp) -> None:  # the background build waits
        started.set()
        await asyncio.sleep(3600)

    monkeypatch.setattr(app_module.IwtuiApp, "_build_areas", held)  # type: ignore[attr-defined]
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, started.is_set)
        assert not app.query(AccountsArea)
        await pilot.press("8")
        await wait_for(pilot, lambda: app.current_area == "accounts")
        area = app.query_one(AccountsArea)
        assert area.display and app.focused is not None and area in app.focused.ancestors_with_self
        assert not app.areas_built  # only the one asked for
        assert [str(c.id) for c in app.query_one("#areas", ContentSwitcher).children if c.display] == ["accounts"]  # fmt: skip


async def test_areas_built_in_the_background_leave_the_keys_where_they_are(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        focused = app.focused
        assert focused is not None and app.query_one(QueueArea) in focused.ancestors_with_self
        await wait_for(pilot, lambda: app.areas_built)
        await pilot.pause(0.5)  # (a tab's first activation comes after its mount)
        assert app.focused is focused
