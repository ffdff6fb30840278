"""The console's Footer keeps only the keys it shows: Textual's own kept every key it
had ever drawn (a removed key's watcher stayed bound to the Footer's ``compact``), ~23
widgets an area switch, 212 more after each tour of the nine areas."""

from __future__ import annotations

import gc
from pathlib import Path

from textual.widgets._footer import FooterKey

from iwtui.tui.areas import AREAS

from .tui_helpers import make_app, wait_for


def _keys() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


async def test_area_switches_do_not_keep_old_footer_keys(sim_root: Path, isolated_config: Path) -> None:  # fmt: skip
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.areas_built)
        tour = [a.key for a in AREAS]
        for key in tour:
            await pilot.press(key)
            await pilot.pause(0.2)
        before = _keys()
        for _ in range(3):
            for key in tour:
                await pilot.press(key)
                await pilot.pause(0.2)
        after = _keys()
    assert after - before < 3 * len(tour)  # was ~23 keys a switch: 600 more here
