"""Every area at 80x24 (issue 14.7): its buttons and inputs are on screen, inputs keep a
usable width (a date field a whole date), and a table's flexible column (a subject) keeps a useful share."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, ContentSwitcher, Input, TabbedContent, TabPane

from iwtui.tui.areas import AREAS
from iwtui.tui.widgets.item_table import ItemTable

from .tui_helpers import make_app

SMALL = (80, 24)


@pytest.mark.parametrize("area", [a.id for a in AREAS])
async def test_every_control_is_on_screen_at_80x24(
    area: str, sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SMALL) as pilot:
        app.action_area(area)
        await pilot.pause(0.3)
        pane = app.query_one("#areas", ContentSwitcher).visible_content
        assert pane is not None and pane.id == area
        width = app.size.width
        tabs = [(t, p.id) for t in pane.query(TabbedContent) for p in t.query(TabPane) if p.id]
        for where in [None, *tabs]:  # as it opens, then every tab of it shown in turn
            if where is not None:
                where[0].active = where[1]
                await pilot.pause(0.2)
            controls = [w for w in pane.query("Button, Input") if w.display and w.visible]
            for w in controls:
                if not w.region.width:  # in a hidden tab or a collapsed section
                    continue
                assert w.region.right <= width, f"{area}: {w} runs off screen at {w.region}"
                if isinstance(w, Button):
                    label = str(w.label)
                    assert w.region.width >= len(label), f"{area}: {label!r} cut to {w.region}"
                if isinstance(w, Input):
                    assert w.region.width >= 8, f"{area} {where}: {w.id} is {w.region.width}"
                    dated = w.value[:4].isdigit() and w.value[4:5] == "-"
                    if dated or "YYYY-MM-DD" in str(w.placeholder):
                        # a whole date and the cursor after it (a date typed into 9
                        # cells scrolled out of sight as it was typed)
                        inner = w.content_region.width
                        assert inner >= 11, f"{area} {where}: {w.id} shows {inner} cells"
                    if w.type == "integer":  # a count up to 9999 and the cursor (Max: 3)
                        inner = w.content_region.width
                        assert inner >= 5, f"{area} {where}: {w.id} shows {inner} cells"


async def test_the_subject_keeps_a_useful_width(sim_root: Path, isolated_config: Path) -> None:
    for size in (SMALL, (120, 30)):
        app = make_app(sim_root, isolated_config)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            table = app.query_one("#queue-table", ItemTable)
            widths = table._widths(table.scrollable_content_region.width)
            subject = [c.title for c in table.columns].index("Subject")
            assert widths[subject] >= 18, (size, widths)


async def test_a_number_is_never_cut_at_80x24(sim_root: Path, isolated_config: Path) -> None:
    """``1,234`` squeezed into four cells read as ``1,2…``: a right-aligned cell that does
    not fit takes its short form (a size as 1.2K, an age as 21h), else ``#`` marks."""
    from iwtui.units import compact_bytes

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause(0.3)
        table = app.query_one("#queue-table", ItemTable)
        await pilot.wait_for_scheduled_animations()
        assert table.rows, "the simulator's queue is empty"
        widths = table._widths(table.scrollable_content_region.width)
        size = [c.title for c in table.columns].index("Size")
        assert widths[size] < len(f"{max(r.size for r in table.rows):,}"), widths  # squeezed
        starts = [2 + sum(w + 1 for w in widths[:i]) for i in range(len(widths))]
        lines = [table.render_line(y).text for y in range(1, min(10, len(table.rows)) + 1)]
        for y, line in enumerate(lines):
            row = table.rows[table.scroll_offset.y + y]
            for i, c in enumerate(table.columns):
                if c.justify != "right":
                    continue
                cell = line[starts[i] : starts[i] + widths[i]].strip()
                assert "…" not in cell, (c.title, cell, line)
                if c.title == "Size":
                    assert cell == compact_bytes(row.size), (cell, row.size)


def test_the_tarpit_countdown_keeps_its_meaning_in_seven_cells() -> None:
    from iwtui.tui.screens.spam.tarpit import _short_countdown

    cases = {"expired 1h 35m ago": "-1h 35m", "expired 59m 09s ago": "-59m", "9m 22s": "9m 22s",
             "expired 123d 23h ago": "-123d", "unknown": "unknown"}  # fmt: skip
    for text, short in cases.items():
        assert _short_countdown(text) == short and len(short) <= 7
