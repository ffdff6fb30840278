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


async def test_a_widget_missing_a_child_while_closing_is_not_an_error(
    sim_root: Path, isolated_config: Path
) -> None:
    """An area still being built when the user quits at once: its widgets mount while
    they are removed, and one finds a child gone (seen under load: '#an-db' on the
    Import tab, '#charts-categories'): dropped, as a late worker result is."""
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        app._exit = True  # what App.exit sets first (run_test's shutdown: not running)
        app._handle_exception(NoMatches("No nodes match '#an-db'"))
        app._exit = False
        assert app._exception is None and app.is_running


async def test_a_widget_missing_a_child_while_running_is_an_error(
    sim_root: Path, isolated_config: Path
) -> None:
    from textual.widgets import Static

    class Broken(Static):
        def on_mount(self) -> None:
            self.query_one("#gone")

    app = make_app(sim_root, isolated_config)
    with pytest.raises(NoMatches):
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause(0.1)
            await app.screen.mount(Broken())
            await pilot.pause(0.1)
