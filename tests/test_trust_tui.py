"""Issue 9 on screen: a user regex never freezes the console, a running filter stops with
Esc, the pager gets an inert copy, notifications never read data as markup, and a FIFO
named like today's log does not hang the Logs area."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Input

from iwtui.icewarp.install import discover
from iwtui.icewarp.logs import search
from iwtui.icewarp.logs.catalog import scan
from iwtui.icewarp.logs.view import FilterSource
from iwtui.icewarp.queue import scanning
from iwtui.tui.screens.logs import LogsArea
from iwtui.tui.screens.queue.area import QueueArea
from iwtui.tui.widgets.item_table import ItemTable
from iwtui.tui.widgets.log_view import LogView

from .tui_helpers import make_app, wait_for

SIZE = (160, 48)
EVIL = "a" * 34 + "!"  # (a+)+$ on this line takes Python's re hours


def _smtp(root: Path) -> Path:
    d = scan(root / "logs").get("smtp")
    assert d is not None
    return d.current.path


async def _press_timed(pilot: object, *keys: str) -> float:
    t0 = time.perf_counter()
    await pilot.press(*keys)  # type: ignore[attr-defined]
    return time.perf_counter() - t0


async def test_a_catastrophic_regex_filter_never_freezes_the_console(
    sim_root: Path, isolated_config: Path
) -> None:
    with _smtp(sim_root).open("a") as fh:
        fh.write(f"1.2.3.4 [0A0A] 23:59:59 {EVIL}\n1.2.3.4 [0A0A] 23:59:59 matches aaaa\n")
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        area = app.query_one(LogsArea)
        await pilot.press("f")
        await pilot.press(*"re:(a+)+$", "enter")
        assert await _press_timed(pilot, "k", "k", "j") < 2.0  # keys answered at once
        await wait_for(pilot, lambda: area.filter_source is not None and area.filter_source.done)
        assert area.filter_source is not None
        view = app.query_one("#logs-view", LogView)
        src = view.source
        assert src is not None and src.total > 0
        assert all(EVIL not in src.line(i) for i in range(src.total))
        # unsupported syntax: said in a notification, nothing loaded, keys still work
        await pilot.press("f")
        box = app.query_one("#logs-filter", Input)
        box.value = r"re:(a)\1"
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: any("back-references" in n.message for n in app._notifications)
        )


@contextlib.contextmanager
def slow_disk(delay: float) -> Iterator[None]:
    """Each chunk a search reads takes ``delay`` longer (a busy disk): a filter of a small
    log then runs long enough to be cancelled."""
    real = search.Search._chunk

    def slow(self: search.Search) -> tuple[bytes, int] | None:
        time.sleep(delay)
        return real(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(search.Search, "_chunk", slow)
    mp.setattr(search, "CHUNK", 16 * 1024)
    try:
        yield
    finally:
        mp.undo()


async def test_esc_cancels_a_running_filter_and_keys_stay_responsive(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    with slow_disk(0.05):  # ~20 chunks of 16 KiB: a second of filtering at least
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            area = app.query_one(LogsArea)
            await pilot.press("f", *"re:RCPT|MAIL", "enter")
            await wait_for(pilot, lambda: isinstance(area.filter_source, FilterSource))
            fs = area.filter_source
            assert fs is not None
            await wait_for(pilot, lambda: fs.progress > 0)
            assert not fs.done
            assert await _press_timed(pilot, "k", "j") < 1.0  # the console answers meanwhile
            state = str(app.query_one("#logs-state").render())
            assert "Esc cancels" in state
            await pilot.press("escape")
            stopped_at = fs.progress
            await pilot.pause(0.5)
            assert not fs.done and fs.progress <= stopped_at + 0.2  # it stopped
            assert area.filter_source is fs  # the matches found so far stay shown
            assert "filter cancelled" in str(app.query_one("#logs-state").render())
            assert any("filter cancelled" in n.message for n in app._notifications)


async def test_the_pager_gets_an_inert_copy(
    sim_root: Path, isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retry = sim_root / "mail" / "_outgoing" / "retry"
    (retry / "EVILPAGER1.tmp").write_bytes(
        b"From: <a@b.c>\r\nSubject: hi\r\n\r\n\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2Jbody"
        + "\x9b31m".encode()  # C1 CSI, UTF-8 encoded
        + b"\r\n\xff raw byte\r\n"
    )
    copy = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f'#!/bin/sh\ncat "$1" > {copy}\n')
    pager.chmod(0o755)
    monkeypatch.setenv("PAGER", str(pager))
    app = make_app(sim_root, isolated_config)
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    total = len(scanning.scan(discover(sim_root, use_tool_sh=False)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = app.query_one(QueueArea).query_one(ItemTable)
        await wait_for(pilot, lambda: len(table.rows) == total)
        table.move_to(next(i for i, r in enumerate(table.rows) if r.id == "EVILPAGER1"))
        await pilot.press("e")
        await wait_for(pilot, lambda: copy.exists() and copy.stat().st_size > 0)
    paged = copy.read_bytes()
    assert b"\x1b" not in paged and b"\x07" not in paged and "\x9b".encode() not in paged
    assert b"\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2Jbody\\x9b31m" in paged
    assert b"Subject: hi\n" in paged  # lines kept, CR dropped


async def test_notifications_never_read_data_as_markup(
    sim_root: Path, isolated_config: Path
) -> None:
    app = make_app(sim_root, isolated_config)
    async with app.run_test(size=SIZE) as pilot:
        app.notify("gone: [link=http://evil.test]click[/link] \x1b]52;c;eA==\x07", title="[b]x")
        await pilot.pause(0.1)
        note = app._notifications
        msg = next(iter(note)).message
        assert "[link=http://evil.test]click[/link]" in msg and "\x1b" not in msg
        assert "\\x1b]52" in msg


async def test_a_fifo_named_like_todays_log_does_not_hang_the_logs_area(
    sim_root: Path, isolated_config: Path
) -> None:
    fifo = sim_root / "logs" / "smtp" / f"s{date.today():%Y%m%d}.log"
    os.mkfifo(fifo)
    app = make_app(sim_root, isolated_config)
    last = _smtp(sim_root).read_text().rstrip("\n").rsplit("\n", 1)[1]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        view = app.query_one("#logs-view", LogView)
        await wait_for(
            pilot,
            lambda: (
                view.source is not None and any(last in view.render_line(y).text for y in range(40))
            ),
        )
