"""SVG snapshots of Traffic Charts and Statistics with every clock pinned (the simulated
"now", FIXED_START), on the shared simulated tree copied under a fixed relative name."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from iwtui.tui.screens.charts.area import ChartsArea
from iwtui.tui.screens.statistics.area import StatisticsArea
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
    now = datetime.fromisoformat(FIXED_START)
    monkeypatch.setattr("iwtui.tui.screens.queue.area._now", lambda: now.timestamp())
    monkeypatch.setattr("iwtui.tui.screens.spam.tabs._now", lambda: now)
    monkeypatch.setattr("iwtui.tui.app._now", lambda: now)
    monkeypatch.setattr("iwtui.tui.screens.charts.area._now", lambda: now)
    monkeypatch.setattr("iwtui.tui.screens.statistics.area._now", lambda: now)
    monkeypatch.setattr("iwtui.tui.screens.queue.area.SLOW_SCAN_S", float("inf"))
    return Path("icewarp")


async def _header(pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None, timeout=20)  # type: ignore[attr-defined]
    strip = pilot.app.query_one(StatusStrip)
    await wait_for(pilot, lambda: strip.sessions is not None, timeout=20)


async def _charts(pilot: Pilot[Any]) -> None:
    await _header(pilot)
    await pilot.press("3")
    area = pilot.app.query_one(ChartsArea)
    await wait_for(pilot, lambda: area.ready and not area.busy, timeout=20)
    await pilot.press("left", "left", "left")  # the cursor and its readout
    await pilot.pause(0.3)


async def _statistics(pilot: Pilot[Any]) -> None:
    await _header(pilot)
    await pilot.press("6")
    area = pilot.app.query_one(StatisticsArea)
    await wait_for(pilot, lambda: area.ready and not area.busy, timeout=20)
    await pilot.pause(0.3)


def test_traffic_charts_day(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_charts
    )


def test_statistics_smtp(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=SIZE, run_before=_statistics
    )


def test_traffic_charts_80x24(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(
        make_app(fixed_root, isolated_config), terminal_size=(80, 24), run_before=_charts
    )
