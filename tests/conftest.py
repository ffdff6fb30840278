"""Shared fixtures. No test reads the developer's own config: IWTUI_CONFIG always points
into the test's tmp_path, and so does the journal/trash state folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iwtui.icewarp.install import Install, discover
from iwtui.simulator.tree import SimOptions, build

# A fixed past "now": every tarpit entry has expired, so counts never move with the clock.
FIXED_START = "2026-01-15T14:30:00"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = tmp_path / "iwtui-config.yaml"
    cfg.write_text(f"state_dir: {tmp_path / 'state'}\ntool_sh: false\nwatch: false\n")
    monkeypatch.setenv("IWTUI_CONFIG", str(cfg))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("IWTUI_DEMO_T0", raising=False)
    return cfg


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A focused Input always draws its cursor: the blink timer toggled it every 0.5 s, so
    a snapshot of a focused field showed it or not by chance (under load mostly not)."""
    from textual.widgets import Input

    def keep(self: Input) -> None:
        self._cursor_visible = True

    monkeypatch.setattr(Input, "_toggle_cursor", keep)


@pytest.fixture(scope="session")
def sim_tree_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim-master") / "icewarp"
    build(
        root, SimOptions(seed=7, start=FIXED_START, log_mb=0.3, queue=60, quarantine=12, tarpit=9)
    )
    return root


@pytest.fixture
def sim_root(sim_tree_master: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated tree: tests may change it."""
    root = tmp_path / "icewarp"
    shutil.copytree(sim_tree_master, root, symlinks=True)
    return root


@pytest.fixture
def sim_install(sim_root: Path) -> Install:
    return discover(sim_root, use_tool_sh=False)
