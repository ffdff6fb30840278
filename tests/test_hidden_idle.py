"""Hidden areas do no work: the Logs tail and the intrusion-prevention countdown tick only
while they are shown, and catch up when shown again."""

from __future__ import annotations

from pathlib import Path

from iwtui.tui.screens.logs import LogsArea
from iwtui.tui.screens.spam.area import SpamArea, TarpitTab

from .tui_helpers import make_app, wait_for


async def test_timers_of_hidden_areas_are_paused(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.areas_built)  # built just after the first paint
        logs = app.query_one(LogsArea)
        assert logs._tail_timer is not None
        await pilot.pause(0.2)
        assert not logs._tail_timer._active.is_set()  # never shown yet
        await pilot.press("4")
        await wait_for(
            pilot, lambda: logs._tail_timer is not None and logs._tail_timer._active.is_set()
        )
        await pilot.press("9")
        await wait_for(
            pilot, lambda: logs._tail_timer is not None and not logs._tail_timer._active.is_set()
        )

        await pilot.press("2")
        spam = app.query_one(SpamArea)
        for _ in range(4):
            await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: isinstance(spam.current, TarpitTab) and spam.current.loaded)
        tab = spam.current
        assert isinstance(tab, TarpitTab) and tab._countdown is not None
        await wait_for(
            pilot, lambda: tab._countdown is not None and tab._countdown._active.is_set()
        )
        await pilot.press("9")
        await wait_for(
            pilot, lambda: tab._countdown is not None and not tab._countdown._active.is_set()
        )
        await pilot.press("2")
        await wait_for(
            pilot, lambda: tab._countdown is not None and tab._countdown._active.is_set()
        )
