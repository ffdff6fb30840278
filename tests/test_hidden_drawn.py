"""What a hidden area has drawn is let go (heap.release_drawn, LogView.on_hide) and drawn
again when it is shown; the Logs view keeps drawn lines by its height, not 1,024 of them."""

from __future__ import annotations

from pathlib import Path

from textual.widget import Widget

from iwtui.tui.screens.logs import LogsArea
from iwtui.tui.widgets.log_view import DRAWN_PER_ROW, PAINTED_PER_ROW, LogView

from .tui_helpers import make_app, wait_for


def _kept_lines(root: Widget) -> int:
    return sum(len(w._styles_cache._cache) for w in root.walk_children(with_self=True))


def _painted_text(view: LogView) -> str:
    return "\n".join(strip.text for strip in view._styles_cache._cache.values())


async def test_a_hidden_area_lets_its_drawn_lines_go(sim_root: Path, isolated_config: Path) -> None:
    last = (sim_root / "logs" / "smtp").glob("*.log")
    path = max(last, key=lambda p: p.stat().st_mtime)
    last_line = path.read_text().rstrip("\n").rsplit("\n", 1)[1]
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("4")
        logs = app.query_one(LogsArea)
        view = app.query_one("#logs-view", LogView)
        await wait_for(pilot, lambda: last_line in _painted_text(view))
        assert _kept_lines(logs) > 40 and len(view._drawn) > 0 and len(view._painted) > 0

        await pilot.press("9")
        await wait_for(pilot, lambda: app.current_area == "volume")
        await wait_for(pilot, lambda: len(view._drawn) == 0)  # on_hide
        assert _kept_lines(logs) == 0 and len(view._painted) == 0

        await pilot.press("4")  # shown again: drawn again, the same last line at the foot
        await wait_for(pilot, lambda: last_line in _painted_text(view))
        assert _kept_lines(logs) > 40


async def test_the_log_views_line_caches_follow_its_height(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        await wait_for(pilot, lambda: view.source is not None and view.source.total > 0)
        rows = view.size.height
        assert view._drawn.maxsize == DRAWN_PER_ROW * rows
        assert view._painted.maxsize == PAINTED_PER_ROW * rows
        total = view.source.total if view.source else 0
        assert total > DRAWN_PER_ROW * rows * 2  # enough lines to overfill a larger cache
        for _ in range(3 * DRAWN_PER_ROW):  # page up through more lines than are kept
            await pilot.press("pageup")
            await pilot.pause()
        assert len(view._drawn) == DRAWN_PER_ROW * rows
        assert len(view._painted) <= PAINTED_PER_ROW * rows
        await pilot.resize_terminal(160, 30)
        await wait_for(pilot, lambda: view.size.height < rows)
        assert view._drawn.maxsize == DRAWN_PER_ROW * view.size.height
        assert len(view._drawn) <= view._drawn.maxsize
