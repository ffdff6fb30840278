"""Pilot tests of Traffic Charts (area 3) and Statistics (area 6): period switch, zoom in and
out, cursor readout, mouse zoom, categories overlaid, From/To, Save As Image (a valid SVG),
live updates within 2 s, hidden areas doing no work, the Statistics counters and export."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, SelectionList

from iwtui.icewarp.install import discover
from iwtui.tui.screens.charts.area import ChartsArea
from iwtui.tui.screens.charts.dialogs import RangeScreen
from iwtui.tui.screens.statistics.area import StatisticsArea
from iwtui.tui.widgets.chart import Chart, ChartPlot
from tests import test_traffic_reference as ref
from tests.conftest import FIXED_START
from tests.tui_helpers import make_app, wait_for

DAY = FIXED_START[:10]


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    now = datetime.fromisoformat(FIXED_START)
    monkeypatch.setattr("iwtui.tui.screens.charts.area._now", lambda: now)
    monkeypatch.setattr("iwtui.tui.screens.statistics.area._now", lambda: now)
    monkeypatch.chdir(tmp_path)


def _five_minutes(root: Path, counter: str = "serverconn") -> Counter[str]:
    counts, _ = ref.count(discover(root, use_tool_sh=False).log_dir)
    out: Counter[str] = Counter()
    for (s, c, m), v in counts.items():
        if (s, c) == ("smtp", counter):
            out[f"{m[:14]}{int(m[14:16]) // 5 * 5:02d}:00"] += v
    return out


async def _charts(pilot: Any) -> ChartsArea:
    await pilot.press("3")
    area: ChartsArea = pilot.app.query_one(ChartsArea)
    await wait_for(pilot, lambda: area.ready, timeout=20)
    return area


async def test_day_chart_counts_cursor_zoom_and_periods(sim_root: Path,
                                                        isolated_config: Path) -> None:  # fmt: skip
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        area = await _charts(pilot)
        chart = app.query_one(Chart)
        assert chart.has_focus
        [series] = chart.series
        assert series.category == "serverconn" and series.step_s == 300
        assert len(series.points) == 288 and series.points[0].t == f"{DAY}T00:00:00"
        expected = _five_minutes(sim_root)
        assert {p.t: p.v for p in series.points if p.v} == dict(expected)
        # the cursor starts on the newest point with data; its readout says time and value
        last = max(expected)
        assert series.points[chart.cursor].t == last
        readout = str(app.query_one("#chart-readout").render())
        assert last.replace("T", " ") in readout and f"{expected[last]:,}" in readout
        await pilot.press("left", "left")
        p = series.points[chart.cursor]
        assert p.t < last and p.t.replace("T", " ") in str(app.query_one("#chart-readout").render())
        # zoom in around the cursor, out again, whole period
        await pilot.press("plus")
        lo, hi = chart.window
        assert hi - lo == 144 and lo <= chart.cursor < hi
        await pilot.press("plus", "plus")
        assert chart.window[1] - chart.window[0] == 36
        assert "zoom 36/288" in str(app.query_one("#chart-readout").render())
        await pilot.press("minus")
        assert chart.window[1] - chart.window[0] == 72
        await pilot.press("0")
        assert chart.window == (0, 288)
        # period switch: week (hours), month, year (days), back to the day
        for key, n, step in (("w", 168, 3600), ("m", 720, 3600), ("y", 365, 86400),
                             ("d", 288, 300)):  # fmt: skip
            await pilot.press(key)

            def shown(n: int = n) -> bool:
                return len(chart.series[0].points) == n and not area.busy

            await wait_for(pilot, shown)
            assert chart.series[0].step_s == step
            assert chart.series[0].total == sum(expected.values())
        assert area.view.period == "day" and "1 Day" in chart.title


async def test_mouse_drag_zooms_and_click_moves_cursor(sim_root: Path,
                                                       isolated_config: Path) -> None:  # fmt: skip
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await _charts(pilot)
        chart = app.query_one(Chart)
        plot = app.query_one(ChartPlot)
        a, b = chart.index_at(30), chart.index_at(60)
        await pilot.mouse_down(plot, offset=(30, 10))
        await pilot.mouse_up(plot, offset=(60, 10))
        assert chart.window == (a, b + 1) and 0 < b - a < 287
        await pilot.press("0")
        await pilot.click(plot, offset=(40, 10))
        assert chart.cursor == chart.index_at(40)


async def test_categories_overlay_and_range(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        area = await _charts(pilot)
        chart = app.query_one(Chart)
        await pilot.press("c")
        sel = app.query_one(SelectionList)
        assert sel.has_focus
        sel.select("msgreceived")
        await wait_for(pilot, lambda: len(chart.series) == 2 and not area.busy)
        assert [s.category for s in chart.series] == ["serverconn", "msgreceived"]
        legend = str(app.query_one("#chart-legend").render())
        assert "msgreceived" in legend and "total" in legend and "max" in legend
        assert chart.series[1].total == sum(_five_minutes(sim_root, "msgreceived").values())
        await pilot.press("escape")
        assert chart.has_focus
        await pilot.press("i")
        assert isinstance(app.screen, RangeScreen)
        app.screen.query_one("#range-from", Input).value = f"{DAY} 09:00"
        app.screen.query_one("#range-to", Input).value = f"{DAY} 10:00"
        await pilot.press("enter")  # From: to the next field
        await pilot.press("enter")
        await wait_for(pilot, lambda: area.view.period == "range" and not area.busy)
        await wait_for(pilot, lambda: len(chart.series[0].points) == 60)
        assert chart.series[0].step_s == 60
        assert chart.series[0].total == _five_minutes(sim_root)[f"{DAY}T09:00:00"] + sum(
            v for t, v in _five_minutes(sim_root).items() if f"{DAY}T09:00" < t < f"{DAY}T10:00"
        )


async def test_save_as_image_writes_valid_svg(sim_root: Path, isolated_config: Path,
                                              tmp_path: Path) -> None:  # fmt: skip
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await _charts(pilot)
        await pilot.press("plus")  # the saved image is what is shown
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(list(tmp_path.glob("iwtui-chart-*.svg"))))
    svg = next(tmp_path.glob("iwtui-chart-smtp-serverconn-*.svg"))
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    [line] = root.findall(f"{ns}polyline")
    assert len(line.get("points", "").split()) == 144
    data = json.loads(svg.with_suffix(".json").read_text())
    assert data[0]["category"] == "serverconn" and len(data[0]["points"]) == 144
    assert svg.with_suffix(".csv").read_text().startswith("service,category,step_s,t,v")


async def test_live_update_within_two_seconds(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await _charts(pilot)
        chart = app.query_one(Chart)
        i = next(k for k, p in enumerate(chart.series[0].points) if p.t == f"{DAY}T14:25:00")
        before = chart.series[0].points[i].v
        log = sim_root / "logs" / "smtp" / f"s{DAY.replace('-', '')}.log"
        t0 = time.monotonic()
        with log.open("a") as fh:
            fh.writelines(f"10.0.0.{n}        [0F{n:02X}] 14:29:59 Connected\n" for n in range(5))
        await wait_for(pilot, lambda: chart.series[0].points[i].v == before + 5, timeout=2.5)
        assert time.monotonic() - t0 < 2.0


async def test_hidden_areas_do_no_work(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.areas_built)  # built just after the first paint
        charts = app.query_one(ChartsArea)
        stats = app.query_one(StatisticsArea)
        await pilot.pause(1.5)
        assert charts.feed is None and stats.feed is None  # never shown: nothing read
        await _charts(pilot)
        feed = charts.feed
        assert feed is not None
        await pilot.press("4")  # away: the timer stops
        await pilot.pause(0.3)
        n = feed.ingests
        await pilot.pause(2.5)
        assert feed.ingests == n


async def test_statistics_counts_service_switch_and_export(
    sim_root: Path, isolated_config: Path, tmp_path: Path
) -> None:
    counts, _ = ref.count(discover(sim_root, use_tool_sh=False).log_dir)

    def total(service: str, name: str) -> int:
        return sum(v for (s, c, _m), v in counts.items() if (s, c) == (service, name))

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("6")
        area = app.query_one(StatisticsArea)
        await wait_for(pilot, lambda: area.ready, timeout=20)
        table = app.query_one(DataTable)
        assert table.has_focus
        assert str(table.get_cell("serverconn", "Value")) == f"{total('smtp', 'serverconn'):,}"
        assert str(table.get_cell("msgreceived", "Value")) == f"{total('smtp', 'msgreceived'):,}"
        assert "since midnight" in str(app.query_one("#statistics-since").render())
        assert "(n/a)" in str(table.get_cell("msgrules", "Item"))
        await pilot.press("s")
        await wait_for(pilot, lambda: area.stats is not None and area.stats.service == "pop3")
        await wait_for(pilot, lambda: table.row_count == 4)
        assert str(table.get_cell("logins", "Value")) == f"{total('pop3', 'logins'):,}"
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(area.saved))
    data = json.loads((tmp_path / f"iwtui-statistics-pop3-{DAY}.json").read_text())
    assert data["pop3"]["since"] == f"{DAY}T00:00:00"
    assert data["pop3"]["logins"] == total("pop3", "logins")
    lines = (tmp_path / f"iwtui-statistics-pop3-{DAY}.csv").read_text().splitlines()
    assert lines[0].startswith("service,since,counter") and len(lines) == 5


async def test_live_plot_coalesced_unchanged_builds_nothing(sim_root: Path,
                                                           isolated_config: Path) -> None:  # fmt: skip
    """A live update with the same drawn values builds no picture; new values are drawn
    within live_plot_s of the step (updates in between coalesced); the line-by-line paint is what
    Textual draws from the whole picture."""
    from rich.text import Text
    from textual.visual import Visual, visualize

    from iwtui.icewarp.traffic.query import Point, Series
    from iwtui.tui.widgets import chart as chart_mod

    def strips_match(plot: ChartPlot) -> bool:
        w, h = plot.size
        whole = Visual.to_strips(plot, visualize(plot, Text.from_ansi("\n".join(plot._lines))),
                                 w, h, plot.visual_style)  # fmt: skip
        return [list(s) for s in whole] == [list(plot.render_line(y)) for y in range(h)]

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        area = await _charts(pilot)
        area.live = False
        assert area._timer is not None
        area._timer.pause()
        chart = app.query_one(Chart)
        plot = app.query_one(ChartPlot)
        await pilot.pause(0.3)
        assert strips_match(plot)
        series = chart.series
        builds = plot.builds
        chart.set_series(series, chart.title, keep_view=True)  # the same values
        chart._plot_now()
        assert plot.builds == builds
        last = len(series[0].points) - 1

        def bumped(n: int) -> list[Series]:
            s = series[0]
            pts = [*s.points[:last], Point(s.points[last].t, s.points[last].v + n, 0.0, n)]
            return [Series(s.service, s.category, s.step_s, s.start, s.end, pts)]

        every = chart_mod.live_plot_s(series[0].step_s)
        assert every == min(10.0, max(2.0, series[0].step_s / 30))
        t0 = time.perf_counter()
        chart.set_series(bumped(40), chart.title, keep_view=True)
        chart.set_series(bumped(80), chart.title, keep_view=True)
        await wait_for(pilot, lambda: plot.builds > builds, timeout=every + 1)
        assert plot.builds == builds + 1  # two updates, one build
        assert time.perf_counter() - t0 <= every + 0.5
        assert strips_match(plot)  # a partial rebuild paints what a whole one would


@pytest.mark.timeout(60)
@pytest.mark.parametrize("area_key", ["3", "6"])
async def test_quitting_during_an_ingest_that_reports_progress_does_not_hang(
    area_key: str, sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow machine: the console quits while the first ingest still reports progress.
    The ingest's progress reaches the UI thread; the UI thread, quitting, must not wait
    for the ingest (each waiting on the other hung CI for 80 minutes)."""
    import threading

    from iwtui.icewarp.traffic.ingest import IngestReport
    from iwtui.tui.screens.charts import feed as feed_mod

    started, stopped = threading.Event(), threading.Event()

    def slow_ingest(install: Any, store: Any, *, progress: Any = None, cancel: Any = None,
                    **kw: Any) -> IngestReport:  # fmt: skip
        started.set()
        deadline = time.monotonic() + 20
        while not cancel.wait(0.01) and time.monotonic() < deadline:
            if progress is not None:
                progress(1, 100)
        if progress is not None:
            progress(2, 100)  # a piece finished as the console began to quit
        stopped.set()
        return IngestReport()

    monkeypatch.setattr(feed_mod, "ingest", slow_ingest)
    app = make_app(sim_root, isolated_config)
    t0 = time.monotonic()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(area_key)
        await wait_for(pilot, started.is_set, timeout=10)
        await pilot.pause(0.2)
    assert stopped.wait(5), "the ingest was not told to stop"
    assert time.monotonic() - t0 < 20  # quit at once, not when the ingest ran out


async def test_statistics_updated_every_second_keep_their_memory_bounded(
    sim_root: Path, isolated_config: Path
) -> None:
    """Each live update changes the cells; Textual's DataTable keeps the renders of every
    earlier state until 10,000 cells (~10 MB for this table in the demo). The table keeps
    a few screens' worth and still shows the newest values."""
    from iwtui.icewarp.traffic.query import CounterStats, ServiceStats
    from iwtui.tui.screens.statistics.area import LiveTable

    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("6")
        area = app.query_one(StatisticsArea)
        await wait_for(pilot, lambda: area.ready, timeout=20)
        area._timer.pause()  # type: ignore[union-attr]  # only these updates
        table = app.query_one(LiveTable)
        first = area.stats
        assert first is not None
        for n in range(1, 150):
            counters = [CounterStats(c.name, c.title, c.unit, c.total + n, c.per_minute, c.peak,
                                     c.peak_t) for c in first.counters]  # fmt: skip
            area.apply(first.service, area.day, 1000 + n,
                       ServiceStats(first.service, first.since, False, counters))  # fmt: skip
            await pilot.pause()
        total = next(c.total for c in first.counters if c.name == "serverconn") + 149
        assert str(table.get_cell("serverconn", "Value")) == f"{total:,}"
        assert len(table._cell_render_cache) <= LiveTable.CELLS
        assert len(table._row_render_cache) <= LiveTable.ROWS
        assert len(table._cell_render_cache) > 500  # the updates were drawn
