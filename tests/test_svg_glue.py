"""Screenshots read cleanly as pictures (issue 14.9): laid out as an SVG renderer does
(each text run drawn from its first visible glyph at its x), every line reads as the
terminal shows it; no two styled pieces glue together (`○ not followingsmtp`)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from iwtui.tui.areas import AREAS
from iwtui.tui.svg import unglue

from .tui_helpers import make_app

RUN = re.compile(
    r'<text\b[^>]*?\bx="([0-9.]+)"[^>]*?\by="([0-9.]+)"[^>]*?\btextLength="([0-9.]+)"[^>]*>([^<]*)</text>'
)


def _lines(svg: str, *, as_drawn: bool) -> dict[str, str]:
    """Each line's text: as the terminal has it (runs at their x, spaces kept), or as
    a renderer draws it (leading spaces of a run dropped, the rest at the run's x)."""
    rows: dict[str, dict[int, str]] = {}
    for x, y, length, raw in RUN.findall(svg):
        text = html.unescape(raw)
        cell = float(length) / max(1, len(text))
        col = round(float(x) / cell) if cell else 0
        if as_drawn:
            text = text.lstrip("\xa0 ")
        row = rows.setdefault(y, {})
        for i, ch in enumerate(text):
            row[col + i] = ch
    return {
        y: "".join(r.get(i, " ") for i in range(max(r) + 1)).rstrip() for y, r in rows.items() if r
    }


def _glued(svg: str) -> list[tuple[str, str]]:
    seen, drawn = _lines(svg, as_drawn=False), _lines(svg, as_drawn=True)
    return [
        (seen[y], drawn.get(y, ""))
        for y in seen
        if drawn.get(y, "").replace("\xa0", " ") != seen[y].replace("\xa0", " ")
    ]


def test_the_check_sees_glue_in_a_raw_export() -> None:
    raw = ('<text x="0" y="1" textLength="30">not&#160;fo</text>'
           '<text x="30" y="1" textLength="30">&#160;&#160;smtp</text>')  # fmt: skip
    assert _glued(raw)
    assert not _glued(unglue(raw))


@pytest.mark.parametrize("area", [a.id for a in AREAS])
@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
async def test_every_area_reads_cleanly_as_a_picture(
    area: str, size: tuple[int, int], sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=size) as pilot:
        app.action_area(area)
        await pilot.pause(0.5)
        assert not _glued(app.export_screenshot())
