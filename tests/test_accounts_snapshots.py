"""SVG snapshots of the Account Statistics area on the simulated tree (clock pinned): the
list after the logs were read and the mailboxes counted, and the chart tab."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from iwtui.tui.screens.accounts.area import AccountsArea
from iwtui.tui.widgets.status_strip import StatusStrip

from .conftest import FIXED_START
from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


@pytest.fixture
def fixed_root(sim_tree_master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(sim_tree_master, tmp_path / "icewarp", symlinks=True,
                    copy_function=shutil.copy2)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    fixed = datetime.fromisoformat(FIXED_START)
    monkeypatch.setattr("iwtui.tui.app._now", lambda: fixed)
    monkeypatch.setattr("iwtui.tui.screens.accounts.area._now", lambda: fixed)
    monkeypatch.setattr("iwtui.tui.screens.queue.area._now", lambda: fixed.timestamp())
    return Path("icewarp")


async def _listed(pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None)  # type: ignore[attr-defined]
    strip = pilot.app.query_one(StatusStrip)
    await wait_for(pilot, lambda: strip.sessions is not None)
    await pilot.press("8")
    area = pilot.app.query_one(AccountsArea)
    await wait_for(pilot, lambda: area.report is not None and not area.busy, timeout=15)
    await pilot.pause(0.3)


def test_accounts_list(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(make_app(fixed_root, isolated_config), terminal_size=SIZE,
                        run_before=_listed)  # fmt: skip


async def _chart(pilot: Pilot[Any]) -> None:
    await _listed(pilot)
    await pilot.press("right_square_bracket", "c")
    await pilot.pause(0.3)


def test_accounts_chart(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(make_app(fixed_root, isolated_config), terminal_size=SIZE,
                        run_before=_chart)  # fmt: skip
