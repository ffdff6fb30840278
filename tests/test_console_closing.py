"""A worker's result that arrives while the console closes (its widgets already gone) is
dropped; while the console runs, the same lookup failure is still an error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.css.query import NoMatches

from .tui_helpers import make_app


def _lookup_missing() -> int:
    raise NoMatches("No nodes match '#gone'")


async def test_a_missing_widget_is_an_error_while_running(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        assert not app.closing
        with pytest.raises(NoMatches):
            await asyncio.to_thread(app.call_from_thread, _lookup_missing)
        assert await asyncio.to_thread(app.call_from_thread, lambda: 42) == 42


async def test_a_late_result_is_dropped_while_closing(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        app._exit = True  # what App.exit sets first: the console is on its way out
        assert app.closing
        assert await asyncio.to_thread(app.call_from_thread, _lookup_missing) is None
        app._exit = False
