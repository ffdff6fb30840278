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

GAP = 1.5  # long beside the busy spell, which is yielded without sleeping


async def test_a_busy_spell_is_delivered_once_per_gap(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    burst = asyncio.Event()
    first_delivered = asyncio.Event()

    async def fake_watch(inst: Install, stop: asyncio.Event) -> AsyncIterator[set[Area]]:
        await burst.wait()
        yield {Area.QUEUES}  # after a quiet spell: delivered at once
        # The busy spell starts right after that delivery, so it falls inside the gap
        # however slow the machine is (no timed sleeps: nothing here races the gap).
        await first_delivered.wait()
        for _ in range(8):  # held back, then delivered together
            await asyncio.sleep(0)
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
                first_delivered.set()

        monkeypatch.setattr(app, "request_refresh", record)
        t0 = time.monotonic()
        burst.set()
        await wait_for(pilot, lambda: len(got) >= 2, timeout=30)
        await pilot.pause(GAP * 1.5)  # a third delivery would come within this
    assert got[0][1] == {Area.QUEUES}
    assert got[0][0] - t0 < GAP  # the first change is not held back
    assert got[1][1] == {Area.QUEUES, Area.SPAM}  # nothing of the busy spell is lost
    assert (
        got[1][0] - got[0][0] >= GAP * 0.8
    )  # and it waited for the gap (Textual timers may wake a little early)
    assert len(got) == 2
