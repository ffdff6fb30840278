"""Watcher events reach the areas at most once per WATCH_GAP_S: the first change after a
quiet spell at once, the changes of a busy spell together at the end of the gap, none
lost."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iwtui.icewarp.install import Install
from iwtui.icewarp.watch import Area
from iwtui.tui import app as app_mod

from .tui_helpers import make_app, wait_for

GAP = 0.6


async def test_a_busy_spell_is_delivered_once_per_gap(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    burst = asyncio.Event()

    async def fake_watch(inst: Install, stop: asyncio.Event) -> AsyncIterator[set[Area]]:
        await burst.wait()
        yield {Area.QUEUES}  # after a quiet spell: delivered at once
        for _ in range(8):  # a busy spell: held back, then delivered together
            await asyncio.sleep(0.01)
            yield {Area.QUEUES}
        yield {Area.SPAM}
        await stop.wait()

    monkeypatch.setattr(app_mod, "watch", fake_watch)
    monkeypatch.setattr(app_mod, "WATCH_GAP_S", GAP)
    app = make_app(sim_root, isolated_config, extra="watch: true\n")
    got: list[tuple[float, set[Area]]] = []
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.2)

        def record(areas: set[Area]) -> None:  # what the watcher delivers (not refresh_all)
            if inspect.stack()[1].function == "_deliver_watched":
                got.append((time.monotonic(), set(areas)))

        monkeypatch.setattr(app, "request_refresh", record)
        t0 = time.monotonic()
        burst.set()
        await wait_for(pilot, lambda: len(got) >= 2, timeout=10)
        await pilot.pause(GAP * 1.5)
    assert got[0][1] == {Area.QUEUES}
    assert got[0][0] - t0 < GAP  # the first change is not held back
    assert got[1][1] == {Area.QUEUES, Area.SPAM}  # nothing of the busy spell is lost
    assert (
        got[1][0] - got[0][0] >= GAP * 0.8
    )  # and it waited for the gap (Textual timers may wake a little early)
    assert len(got) == 2
