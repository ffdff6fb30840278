from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from iwtui import config
from iwtui.icewarp.install import discover
from iwtui.tui.app import IwtuiApp


def make_app(root: Path, cfg_file: Path, extra: str = "") -> IwtuiApp:
    if extra:
        cfg_file.write_text(cfg_file.read_text() + extra)
    loaded = config.load({"IWTUI_CONFIG": str(cfg_file)})
    return IwtuiApp(discover(root, use_tool_sh=False), loaded)


async def wait_for(
    pilot: Pilot[object], predicate: Callable[[], bool], timeout: float = 30.0
) -> None:
    """Wait until PREDICATE holds. The bound only matters when it fails, so it is generous:
    the shared CI machine is often loaded, and a slow pass is not a wrong one."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)
        await asyncio.sleep(0)
