"""Removed widgets are not kept by Textual's styles cache (iwtui/tui/styles_cache_fix.py)."""

from __future__ import annotations

import gc
import weakref

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from iwtui.tui import styles_cache_fix
from iwtui.tui.app import IwtuiApp


class _Rebuilds(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="list")


async def _dead_caches_after_rebuilds() -> tuple[int, int]:
    """(removed widgets whose StylesCache is still alive, removed widgets)."""
    refs: list[weakref.ref[object]] = []
    app = _Rebuilds()
    async with app.run_test(size=(60, 20)) as pilot:
        box = app.query_one("#list")
        for round_ in range(5):
            labels = [Label(f"card {round_}.{i}") for i in range(20)]
            await box.mount(*labels)
            await pilot.pause()  # drawn: each label's StylesCache rendered its lines
            refs += [weakref.ref(w._styles_cache) for w in labels]
            await box.remove_children()
            await pilot.pause()
        del labels
        await box.mount(Label("after"))  # the screen is laid out without the last ones
        await pilot.pause()
        gc.collect()
        return sum(1 for r in refs if r() is not None), len(refs)


async def test_removed_widgets_styles_caches_are_freed() -> None:
    assert IwtuiApp is not None  # the console's module applies the fix on import
    alive, removed = await _dead_caches_after_rebuilds()
    assert removed == 100
    assert alive == 0


async def test_without_the_fix_textual_keeps_them() -> None:
    """The leak is real in the pinned Textual: with its own method back, removed widgets'
    caches stay (so the test above can fail)."""
    from functools import lru_cache

    from textual._styles_cache import StylesCache

    def inner_outer(cls, base_background, background):  # type: ignore[no-untyped-def]
        return styles_cache_fix._inner_outer(base_background, background)

    StylesCache.get_inner_outer = lru_cache(1024)(inner_outer)  # type: ignore[method-assign]
    try:
        alive, removed = await _dead_caches_after_rebuilds()
    finally:
        StylesCache.__dict__["get_inner_outer"].cache_clear()
        StylesCache.get_inner_outer = styles_cache_fix._get_inner_outer  # type: ignore[method-assign,assignment]
    assert alive >= removed // 2
