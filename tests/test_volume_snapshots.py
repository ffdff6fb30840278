"""SVG snapshots of the Volume area: the server measured (clock pinned, a fresh state
dir: no previous result), then an account measured twice with a file added between."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from iwtui.tui.screens.volume.area import VolumeArea
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
    monkeypatch.setattr("iwtui.tui.screens.volume.area._now", lambda: fixed)
    monkeypatch.setattr("iwtui.tui.screens.queue.area._now", lambda: fixed.timestamp())
    return Path("icewarp")


async def _header(pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: pilot.app.snapshot is not None)  # type: ignore[attr-defined]
    strip = pilot.app.query_one(StatusStrip)
    await wait_for(pilot, lambda: strip.sessions is not None)


async def _server(pilot: Pilot[Any]) -> None:
    await _header(pilot)
    await pilot.press("9")
    area = pilot.app.query_one(VolumeArea)
    await wait_for(pilot, lambda: area.result is not None and not area.running)
    await pilot.pause(0.3)


def test_volume_server(snap_compare: Any, fixed_root: Path, isolated_config: Path) -> None:
    assert snap_compare(make_app(fixed_root, isolated_config), terminal_size=SIZE,
                        run_before=_server)  # fmt: skip


async def _account_twice(pilot: Pilot[Any]) -> None:
    await _server(pilot)
    area = pilot.app.query_one(VolumeArea)
    await pilot.press("t")
    pilot.app.query_one("#volume-target", Input).value = "john.doe@acme-corp.test"
    await pilot.press("enter")
    await wait_for(pilot, lambda: area.result is not None and area.result.kind == "account")
    box = Path("icewarp/mail/acme-corp.test/john.doe/inbox")
    (box / "added.imap").write_bytes(b"x" * 5000)
    first = area.result
    await pilot.press("R")
    await wait_for(pilot, lambda: area.result is not first and not area.running)
    await pilot.pause(0.3)


def test_volume_account_previous(snap_compare: Any, fixed_root: Path,
                                 isolated_config: Path) -> None:  # fmt: skip
    assert snap_compare(make_app(fixed_root, isolated_config), terminal_size=SIZE,
                        run_before=_account_twice)  # fmt: skip
