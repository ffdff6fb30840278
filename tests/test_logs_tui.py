"""Pilot tests of the Logs and Sessions areas."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input

from iwtui.icewarp.logs.catalog import scan
from iwtui.icewarp.logs.view import FilterSource
from iwtui.tui.screens.logs import LogsArea
from iwtui.tui.screens.sessions.area import SessionsArea, SessionTable
from iwtui.tui.screens.sessions.session_log import SessionLogScreen
from iwtui.tui.widgets.log_view import LogView
from iwtui.tui.widgets.status_strip import StatusStrip

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)


def _smtp_path(root: Path) -> Path:
    d = scan(root / "logs").get("smtp")
    assert d is not None
    return d.current.path


def _screen_text(view: LogView) -> str:
    return "\n".join(view.render_line(y).text for y in range(view.scrollable_content_region.height))


async def test_logs_follow_pause_counter_and_resume(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    last = path.read_text().rstrip("\n").rsplit("\n", 1)[1]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        assert view.has_focus
        await wait_for(pilot, lambda: view.source is not None and last in _screen_text(view))
        assert view.following
        with path.open("a") as fh:
            fh.write("9.9.9.9 [ABCD] 23:59:58 <<< FIRST NEW\n")
        await wait_for(pilot, lambda: "FIRST NEW" in _screen_text(view))
        await pilot.press("k", "k")
        assert not view.following
        with path.open("a") as fh:
            fh.write("9.9.9.9 [ABCD] 23:59:59 <<< SECOND NEW\n9.9.9.9 [ABCD] 23:59:59 <<< half")
        await wait_for(pilot, lambda: view.new_lines == 1)
        assert "SECOND NEW" not in _screen_text(view)
        state = str(app.query_one("#logs-state").render())
        assert "not following" in state and "+1 new" in state
        await pilot.press("G")
        await pilot.pause(0.1)
        assert (
            view.following
            and "SECOND NEW" in _screen_text(view)
            and "half" not in _screen_text(view)
        )


async def test_hostile_lines_render_inert(sim_root: Path, isolated_config: Path) -> None:
    path = _smtp_path(sim_root)
    with path.open("a") as fh:
        fh.write(
            "6.6.6.6 [EEEE] 23:59:59 <<< MAIL From:<\x1b[2J\x1b]0;pwned\x07[bold red]x[/]@y>\n"
        )
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        await wait_for(pilot, lambda: "EEEE" in _screen_text(view))
        text = _screen_text(view)
        assert "\\x1b[2J" in text and "[bold red]x[/]" in text and "\x1b" not in text
        detail = str(app.query_one("#logs-detail").render())
        assert "\x1b" not in detail


async def test_filter_find_and_session(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    want = sum(1 for ln in path.read_text().splitlines() if "<<< RCPT" in ln and "To:" in ln)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        area = app.query_one(LogsArea)
        await pilot.press("f")
        box = app.query_one("#logs-filter", Input)
        assert box.has_focus
        await pilot.press(*"<<< RCPT;To:", "enter")
        await wait_for(
            pilot, lambda: isinstance(area.filter_source, FilterSource) and area.filter_source.done
        )
        assert area.filter_source is not None and area.filter_source.total == want
        view = app.query_one("#logs-view", LogView)
        assert view.has_focus and all(
            "RCPT" in ln for ln in _screen_text(view).splitlines() if ln.strip()
        )
        # clear, then find a rejection and open its session
        await pilot.press("c")
        await wait_for(pilot, lambda: area.filter_source is None)
        await pilot.press("g", "slash", *"We do not relay", "enter")
        await wait_for(pilot, lambda: "We do not relay" in (view.current_text() or ""))
        detail = str(app.query_one("#logs-detail").render())
        assert "cause:" in detail and "remedy:" in detail
        thread = (view.current_text() or "").split("[", 1)[1][:4]
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionLogScreen))
        assert isinstance(app.screen, SessionLogScreen) and app.screen.session.thread.startswith(
            thread
        )
        assert app.screen.session.state == "failed"
        await pilot.press("escape")


async def test_delete_is_refused_in_read_only_mode(sim_root: Path, isolated_config: Path) -> None:
    app = make_app(sim_root, isolated_config, "read_only: true\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.click("#logs-btn-delete")
        await pilot.pause(0.2)
        assert any("read-only" in n.message for n in app._notifications)
        assert _smtp_path(sim_root).exists()


async def test_sessions_area_lists_opens_and_explains_kill(
    sim_root: Path, isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the protocol log is saved in the working folder
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        area = app.query_one(SessionsArea)
        history = app.query_one("#sessions-history", SessionTable)
        await wait_for(pilot, lambda: len(history.rows) > 0)
        assert len(history.rows) == sum(len(s.history) for s in area.sets.values())
        assert app.query_one(StatusStrip).sessions == 0  # the fixed past day has no active session
        history.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionLogScreen))
        await pilot.press("K")
        await pilot.pause(0.1)
        assert any("not available" in n.message for n in app._notifications)
        await pilot.press("w", "enter")
        await pilot.pause(0.2)
        assert any("saved to" in n.message for n in app._notifications)
        saved = list(tmp_path.glob("session-smtp-*.log"))
        assert len(saved) == 1 and saved[0].read_text().startswith(app.screen.lines[0])


async def test_sessions_history_follows_the_newest_and_says_what_came_above(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.4: the history kept its cursor on a session while newer ones were added
    above, so the view scrolled away from the newest (30-70 s behind, then a jump),
    with nothing saying newer rows exist."""
    from dataclasses import replace

    from iwtui.icewarp.logs import sessions

    full = sessions.service_sessions(scan(sim_root / "logs"), "smtp")
    assert len(full.history) > 20
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        area = app.query_one(SessionsArea)
        await wait_for(pilot, lambda: bool(area.sets))
        app.paused = True  # the area's own tracker stops: the test feeds it
        await wait_for(pilot, lambda: not area._busy)
        await pilot.pause(0.2)
        table = app.query_one("#sessions-history", SessionTable)
        newest = [s.key for s in full.history]

        def feed(n_new_hidden: int) -> None:
            area.show({"smtp": replace(full, active=[], history=full.history[n_new_hidden:])})

        feed(10)
        await pilot.pause()
        table.focus()
        assert table.cursor == 0
        feed(5)  # five newer sessions: the cursor on the first row follows the newest
        await pilot.pause()
        assert table.cursor == 0 and table.scroll_y == 0
        assert table.current_key() == newest[5]
        await pilot.press("down", "down")  # the user looks at a session
        looked = table.current_key()
        assert looked == newest[7]
        feed(2)  # three more arrive above it
        await pilot.pause()
        assert table.current_key() == looked
        title = str(app.query_one("#sessions-history-title").render())
        assert "5 newer above" in title
        # the Active list is as tall as its rows (and its header)
        active = app.query_one("#sessions-active", SessionTable)
        assert active.region.height == 1
        area.show({"smtp": replace(full, active=full.history[:3], history=full.history[2:])})
        await pilot.pause(0.2)
        assert len(active.rows) == 3 and active.region.height == 4


def _state(app: object) -> str:
    from textual.app import App

    assert isinstance(app, App)
    return str(app.query_one("#logs-state").render())


async def test_state_line_counts_lines_that_do_not_match_the_filter(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.4: following with a filter, the state line stopped counting the day's
    lines (16,431 shown while the file grew past 16,998): it was redrawn only when a new
    line matched."""
    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        area = app.query_one(LogsArea)
        await pilot.press("f", *"NEVER-MATCHES-XYZ", "enter")
        await wait_for(pilot, lambda: area.filter_source is not None and area.filter_source.done)
        await wait_for(pilot, lambda: area.day_source is not None and area.day_source.complete)
        await pilot.pause(0.3)
        with path.open("a") as fh:
            for i in range(50):
                fh.write(f"9.9.9.9 [ABCD] 23:59:59 <<< NOISE {i}\n")
        want = f"{len(path.read_bytes().splitlines()):,} lines"
        await wait_for(pilot, lambda: want in _state(app), timeout=2.0)
        assert "0 matching" in _state(app)


async def test_day_list_shows_the_followed_days_size_now(
    sim_root: Path, isolated_config: Path
) -> None:
    """Issue 14.4: the day list showed the size the day had when the area opened."""
    from textual.widgets import Select

    from iwtui.units import compact_bytes

    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        area = app.query_one(LogsArea)
        await wait_for(pilot, lambda: area.day_source is not None)
        with path.open("a") as fh:
            fh.write("9.9.9.9 [ABCD] 23:59:59 <<< " + "x" * 300_000 + "\n")
        want = compact_bytes(path.stat().st_size)
        day = app.query_one("#logs-day", Select)
        await wait_for(pilot, lambda: want in str(day.query_one("#label").render()), 2.0)


async def test_following_parses_the_detail_at_most_twice_a_second(
    sim_root: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: while following, the detail panel was parsed and repainted on every poll
    with a new line (a second repaint of the screen each time); now the newest line's
    detail is drawn at most every DETAIL_FOLLOW_S, and the last one is always drawn."""
    import asyncio

    from iwtui.tui.screens import logs as logs_mod

    calls: list[str] = []
    real = logs_mod.detail_text

    def counting(raw: str, day: object) -> object:
        calls.append(raw)
        return real(raw, day)  # type: ignore[arg-type]

    monkeypatch.setattr(logs_mod, "detail_text", counting)
    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        area = app.query_one(LogsArea)
        await wait_for(pilot, lambda: area.day_source is not None and area.day_source.complete)
        syncs = [0]
        real_sync = view.sync

        def counted_sync(appended: int = 0) -> None:
            syncs[0] += 1
            real_sync(appended)

        monkeypatch.setattr(view, "sync", counted_sync)
        await pilot.pause(0.3)
        calls.clear()
        t0 = time.monotonic()
        for i in range(30):
            with path.open("a") as fh:
                fh.write(f"9.9.9.9 [ABCD] 23:59:59 <<< TICK {i}\n")
            await asyncio.sleep(0.06)
        await wait_for(pilot, lambda: bool(calls) and calls[-1].endswith("TICK 29"))
        took = time.monotonic() - t0
        # a calm tail (a line every 60 ms) reaches the screen in a repaint every
        # CALM_PAINT_S, not at each of the ~30 polls
        assert 4 <= syncs[0] <= took / logs_mod.CALM_PAINT_S + 2, (syncs, took)
        assert len(calls) <= took / logs_mod.DETAIL_FOLLOW_S + 2, (len(calls), took)


async def test_save_asks_where_and_never_overwrites(
    sim_root: Path, isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14.6: `w` wrote the lines into the working folder without a word; now it asks
    where (the full path, editable), says where it went and how big, and refuses a name
    that is taken by a file or a link."""
    from textual.widgets import Static

    from iwtui.tui.screens.log_save import SaveLinesScreen

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        area = app.query_one(LogsArea)
        await wait_for(pilot, lambda: area.day_source is not None and area.day_source.complete)
        app.paused = True  # the file does not grow under the test
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveLinesScreen))
        box = app.screen.query_one("#save-target", Input)
        default = work / f"iwtui-smtp-{path.name[1:5]}-{path.name[5:7]}-{path.name[7:9]}.log"
        assert box.value == str(default)
        assert not list(work.iterdir())  # nothing written before the answer
        await pilot.press("enter")
        await wait_for(pilot, lambda: default.exists() and bool(app._notifications))
        assert default.read_bytes() == path.read_bytes()
        note = next(n.message for n in app._notifications if "saved to" in n.message)
        assert str(default) in note and " KiB" in note
        # a taken name, a link to elsewhere: refused in the dialog, nothing replaced
        victim = tmp_path / "victim.txt"
        victim.write_text("keep")
        link = work / "link.log"
        link.symlink_to(victim)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveLinesScreen))
        box = app.screen.query_one("#save-target", Input)
        assert box.value.endswith(".1.log")  # the default is a free name
        for taken in (str(link), "iwtui-smtp-" + default.name.removeprefix("iwtui-smtp-")):
            box.value = taken
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert isinstance(app.screen, SaveLinesScreen)
            assert "exists" in str(app.screen.query_one("#save-error", Static).render())
        await pilot.press("escape")
        assert victim.read_text() == "keep" and default.read_bytes() == path.read_bytes()
        assert sorted(p.name for p in work.iterdir()) == sorted([default.name, "link.log"])


def _textual_paint(view: LogView) -> list[str]:
    """The rows as Textual itself paints them now (its caches dropped first)."""
    from textual.geometry import Region
    from textual.scroll_view import ScrollView

    view._styles_cache.clear()
    w, h = view.size
    return [s.text + repr(list(s)) for s in ScrollView.render_lines(view, Region(0, 0, w, h))]


def _reused_paint(view: LogView) -> list[str]:
    from textual.geometry import Region

    w, h = view.size
    return [s.text + repr(list(s)) for s in view.render_lines(Region(0, 0, w, h))]


async def test_rows_kept_between_paints_equal_textuals_own(
    sim_root: Path, isolated_config: Path
) -> None:
    """Following reuses the rows already painted; each reuse must be what Textual would
    paint now: after appends (every row moves up), a cursor move, focus lost and a theme
    switch (the colours around each row change)."""
    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        await wait_for(pilot, lambda: view.source is not None and view.following)
        _reused_paint(view)  # fill the cache
        for n in range(3):
            with path.open("a") as fh:
                fh.write(f"9.9.9.9 [ABCD] 23:59:5{n} <<< APPENDED {n}\n")
            await wait_for(pilot, lambda n=n: f"APPENDED {n}" in _screen_text(view))
            assert _reused_paint(view) == _textual_paint(view)
        assert len(view._painted) > 0  # rows were kept and reused, not painted anew
        await pilot.press("k", "k")
        assert _reused_paint(view) == _textual_paint(view)
        app.set_focus(None)
        await pilot.pause(0.1)
        assert _reused_paint(view) == _textual_paint(view)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause(0.1)
        assert _reused_paint(view) == _textual_paint(view)


def test_a_line_drawn_as_one_segment_equals_rich_texts_rendering(sim_root: Path) -> None:
    """The fast path (no word found: one segment) gives what Rich's Text gives, cell for
    cell and style for style, for every line of a simulated day, hostile ones included,
    with and without the cursor."""
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from rich.text import Text

    from iwtui.icewarp.logs.lines import parse_line, safe_text
    from iwtui.tui.widgets.log_view import CURSOR, CURSOR_FOCUSED, draw_segments, line_style

    console = Console(width=200, color_system="truecolor")
    base = Style(color="#e0e0e0", bgcolor="#121212")
    path = _smtp_path(sim_root)
    lines = path.read_text(errors="replace").splitlines()[:3000]
    lines += ["", "x\x1b[31mred\x1b[0m [bold]b[/bold] \t tab", "日本語 wide 🙂 chars"]
    assert len(lines) > 1000
    for raw in lines:
        plain, style = safe_text(raw, 2000), line_style(parse_line(raw, None))
        for cursor in (None, CURSOR, CURSOR_FOCUSED):
            text = Text(plain, no_wrap=True, end="")
            text.stylize(style)
            if cursor is not None:
                text.stylize(cursor)
            want = list(Segment.apply_style(text.render(console), style=base))
            got = draw_segments(plain, style, base, None, cursor, console)
            drawn = [(s.text, s.style) for s in want if s.text]  # an empty one draws nothing
            assert [(s.text, s.style) for s in got] == drawn, raw


async def test_rows_scrolled_sideways_show_the_right_columns(
    sim_root: Path, isolated_config: Path
) -> None:
    """A line is cut to what can be shown before it is measured: scrolled to the right,
    every row still shows exactly its own columns."""
    from iwtui.text import safe_text

    app = make_app(sim_root, isolated_config)
    path = _smtp_path(sim_root)
    wide = "9.9.9.9 [ABCD] 23:59:58 <<< " + "".join(f"{i:04d}-" for i in range(80))
    with path.open("a") as fh:
        fh.write(wide + "\n")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        await wait_for(pilot, lambda: view.source is not None and "0000-" in _screen_text(view))
        width = view.scrollable_content_region.width
        for sx in (0, 7, 150, 300):
            view.scroll_to(x=sx, animate=False, immediate=True)
            await pilot.pause(0.05)
            assert view.scroll_offset.x == min(sx, view.max_scroll_x)
            sx = view.scroll_offset.x
            assert view.source is not None
            for y in range(view.scrollable_content_region.height):
                i = view.scroll_offset.y + y
                if i >= view.source.total:
                    break
                want = safe_text(view.source.line(i), 2000)[sx : sx + width].ljust(width)
                assert view.render_line(y).text == want, (sx, y)
        assert sx > 0


def test_the_detail_of_a_command_shows_the_command() -> None:
    """A line the parser knows but has no fields for (``<<< STARTTLS``) showed only its
    thread and time: the command, cut at the view's edge on a narrow terminal, was not
    there. A reply's fields say it already, so it is not repeated."""
    from iwtui.tui.screens.logs import detail_text

    cmd = "127.0.0.1 [1F0E] 14:24:48 <<< STARTTLS"
    assert "STARTTLS" in detail_text(cmd, None).plain
    reply = "127.0.0.1 [1F0E] 14:24:48 >>> 554 5.3.4 Message size exceeds fixed maximum"
    assert detail_text(reply, None).plain.count("exceeds fixed maximum") == 1  # its text: field
