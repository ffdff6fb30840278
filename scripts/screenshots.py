"""Regenerate screenshots/*.svg from the simulator (seeded, fixed clock, watchers off).

Run with `make screenshots`. The tree is built under a temporary folder and shown by a
relative name, so the pictures do not depend on where they were made.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from iwtui import config
from iwtui.icewarp.install import discover
from iwtui.simulator.tree import SimOptions, build
from iwtui.tui import app as app_module
from iwtui.tui.app import IwtuiApp
from iwtui.tui.screens.analyzer import import_tab
from iwtui.tui.screens.charts import area as charts_screen
from iwtui.tui.screens.queue import area as queue_screen
from iwtui.tui.screens.spam import tabs as spam_screen
from iwtui.tui.screens.statistics import area as statistics_screen
from iwtui.tui.screens.volume import area as volume_screen
from iwtui.tui.widgets.status_strip import StatusStrip

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (160, 48)
START = "2026-01-15T14:30:00"
SHOTS = [
    ("shell-message-queue", []),
    ("spam-quarantine", ["2"]),
    ("spam-intrusion-prevention", ["2", *["right_square_bracket"] * 4]),
    ("logs", ["4", "k", "k", "k"]),
    ("logs-filtered", ["4", "f", *">>> 5;!Client", "enter", "g"]),
    ("sessions", ["7"]),
    ("traffic-charts", ["3"]),
    ("statistics", ["6"]),
    ("log-analyzer", ["5"]),
    ("account-statistics", ["8"]),
    ("volume", ["9"]),
    ("narrow-message-queue", []),
    ("help", ["?"]),
]
SIZES = {"narrow-message-queue": (80, 24)}


async def shoot(name: str, keys: list[str], cfg: Path) -> None:
    loaded = config.load({"IWTUI_CONFIG": str(cfg)})
    app = IwtuiApp(discover(Path("icewarp"), use_tool_sh=False), loaded)
    async with app.run_test(size=SIZES.get(name, SIZE)) as pilot:
        strip = app.query_one(StatusStrip)
        while app.snapshot is None or strip.sessions is None:
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
        await pilot.pause(2.0)  # background index, filter, session and ingest workers
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"screenshots/{name}.svg")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    # ages and countdowns against the simulated "now", as the snapshot tests do
    now = datetime.fromisoformat(START)
    queue_screen._now = lambda: now.timestamp()  # type: ignore[attr-defined]
    queue_screen.SLOW_SCAN_S = float("inf")  # a scan's duration depends on the machine
    spam_screen._now = lambda: now
    app_module._now = lambda: now
    charts_screen._now = lambda: now  # the status strips' clocks and "today"
    statistics_screen._now = lambda: now
    import_tab._today = lambda: now.date()
    volume_screen._now = lambda: now
    with tempfile.TemporaryDirectory(prefix="iwtui-shots-") as tmp:
        os.chdir(tmp)
        build(Path("icewarp"), SimOptions(seed=7, start=START, log_mb=0.3))
        cfg = Path(tmp) / "config.yaml"
        # the analyzer's database named relative to the tree's folder: the Import tab shows
        # the same path wherever the pictures are made
        cfg.write_text(f"watch: false\ntool_sh: false\nstate_dir: {tmp}/state\n"
                       "analyzer:\n  db: state/analyzer.sqlite\n")  # fmt: skip
        for name, keys in SHOTS:
            asyncio.run(shoot(name, keys, cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
