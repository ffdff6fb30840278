"""SVG snapshots of the shell on a pinned Textual, watchers and clocks off.

The tree is copied under a fixed relative name so the header shows the same root on
every machine; its seed and fixed "now" make every count the same on every run.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from iwtui.tui.screens.logs import LogsArea
from iwtui.tui.screens.queue.area import QueueArea
from iwtui.tui.screens.sessions.area import SessionTable
from iwtui.tui.screens.spam.area import SpamArea, TarpitTab
from iwtui.tui.widgets.item_table import ItemTable
from iwtui.tui.widgets.status_strip import StatusStrip

from .conftest import FIXED_START
from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


@pytest.fixture
def fixed_root(sim_tree_master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(
        sim_tree_master, tmp_path / "icewarp", symlinks=True, copy_function=shutil.copy2
    )
    monkeypatch.chdir(tmp_path)
    # queue ages against the simulated "now", not the wall clock
    now = datetime.fromisoformat(FIXED_START).timestamp()
    monkeypatch.setattr("iwtui.tui.screens.queue.area._now", lambda: now)
    monkeypatch.setattr(
        "iwtui.tui.screens.spam.tabs._now", lambda: datetime.fromisoformat(FIXED_START)
    )
    monkeypatch.setattr("iwtui.tui.app._now", lambda: datetime.fromisoformat(FIXED_START))
    # how long a scan took depends on the machine's load: never part of a picture
    monkeypatch.setattr("iwtui.tui.screens.queue.area.SLOW_SCAN_S", float("inf"))
    return Path("icewarp")


async def _loaded(pilot: Pilot[Any]) -> None:
    """The header complete (counts, session count: its tracker starts after 1 s) and the
    Message Queue listed."""
    await wait_for(pilot, lambda: pilot.app.snapshot is not None)  # type: ignore[attr-defined]
    strip = pilot.app.query_one(StatusStrip)
    await wait_for(pilot, lambda: strip.sessions is not None)
    table = pilot.app.query_one(ItemTable)
    await wait_for(pilot, lambda: len(table.rows) > 0)
    queue = pilot.app.query_one(QueueArea)  # the whole pass, deferral reasons included
    await wait_for(pilot, lambda: not queue._busy)
    await pilot.pause()


def test_shell_message_queue(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_loaded
    )


def _spam_ready(tabs: int) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def ready(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("2")
        area = pilot.app.query_one(SpamArea)
        for _ in range(tabs):
            await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: area.current.loaded)
        if isinstance(area.current, TarpitTab):
            detail = area.current.query_one(".spam-detail")
            await wait_for(pilot, lambda: "SMTP log (2 days)" in str(detail.render()))
        await pilot.pause(0.3)

    return ready


@pytest.mark.parametrize("tab", range(5), ids=["quarantine", "whitelist", "blacklist", "greylist", "tarpit"])  # fmt: skip
def test_spam_queues(snap_compare: Any, fixed_root: Path, isolated_config: Path, tab: int) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_spam_ready(tab)
    )


def test_help_screen(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), press=["?"], terminal_size=SIZE, run_before=_loaded
    )


async def _logs_ready(pilot: Pilot[Any]) -> None:
    await _loaded(pilot)
    await pilot.press("4")
    area = pilot.app.query_one(LogsArea)
    await wait_for(pilot, lambda: area.day_source is not None and area.day_source.complete)
    await pilot.press("k", "k", "k")  # a reply line with its explanation in the detail panel
    await pilot.pause(0.3)


def test_logs_area(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_logs_ready
    )


async def _logs_filtered(pilot: Pilot[Any]) -> None:
    await _logs_ready(pilot)
    await pilot.press("f", *">>> 5;!Client", "enter")
    area = pilot.app.query_one(LogsArea)
    await wait_for(pilot, lambda: area.filter_source is not None and area.filter_source.done)
    await pilot.press("g")
    await pilot.pause(0.3)


def test_logs_area_filtered(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_logs_filtered
    )


async def _sessions_ready(pilot: Pilot[Any]) -> None:
    await _loaded(pilot)
    await pilot.press("7")
    table = pilot.app.query_one("#sessions-history", SessionTable)
    await wait_for(pilot, lambda: len(table.rows) > 0)
    await pilot.pause(0.3)


def test_sessions_area(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_sessions_ready
    )
