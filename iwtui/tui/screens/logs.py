"""Status > Logs: service, day, From/To, Filter; Load, Refresh, Clear, Delete, Save To File,
Find, Explore; a live tail that follows rotation; the parsed detail of the selected line.
"""

from __future__ import annotations

import threading
import time as time_mod
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Input, Select

from iwtui.errors import IwtuiError
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs import search, sessions
from iwtui.icewarp.logs.catalog import Catalog, LogDay
from iwtui.icewarp.logs.lines import Interpretation, parse_line, safe_text
from iwtui.icewarp.logs.manage import delete_plan
from iwtui.icewarp.logs.view import DaySource, FilterSource
from iwtui.icewarp.moves import write_new
from iwtui.tui.bindings import bindings
from iwtui.tui.gate import run_plan
from iwtui.tui.screens.log_explore import ExploreScreen
from iwtui.tui.screens.log_save import SaveLinesScreen, free_name
from iwtui.tui.screens.sessions.session_log import SessionLogScreen
from iwtui.tui.widgets.log_view import LogView
from iwtui.tui.widgets.panel import Panel
from iwtui.units import compact_bytes
from iwtui.units import human_bytes as human

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

POLL_S = 0.1
DETAIL_FOLLOW_S = 0.5  # while following, the detail of the newest line at most twice a second
LABELS_S = 1.0  # the day list's sizes and new days (midnight, rotation) at most once a second
# A calm tail (fewer than CALM_LINES new lines) is followed on screen at most every
# CALM_PAINT_S: each repaint of a following view draws every line again (they all move
# up), and a few lines a second need not cost ten repaints. A busy tail (the 2,000
# lines/s of the latency bench) is painted at every poll, as before.
CALM_LINES = 20
CALM_PAINT_S = 0.25


def detail_text(raw: str, day: date | None) -> Text:
    ln = parse_line(raw, day)
    out = Text()
    out.append(f"{ln.kind}", style="bold")
    if ln.thread:
        out.append(f"  thread {ln.thread}")
    if ln.who:
        out.append(f"  who {safe_text(ln.who, 80)}")
    if ln.time:
        out.append(f"  {ln.time.isoformat()}")
    if ln.direction:
        out.append(f"  {ln.direction} {'client session' if ln.client else 'server session'}")
    if ln.parsed and ln.message and not ln.fields:  # a command (QUIT): the fields say the rest
        out.append("\n  ")
        out.append(safe_text(ln.message, 4000))
    interp: Interpretation | None = None
    for key, value in ln.fields.items():
        if isinstance(value, Interpretation):
            interp = value
            continue
        out.append(f"\n  {key}: ", style="dim")
        out.append(safe_text(str(value), 400))
    if interp is not None:
        out.append(f"\n{interp.code} {interp.enhanced} {interp.phrase}", style="bold red")
        out.append("\n  cause: ", style="dim")
        out.append(interp.cause)
        out.append("\n  remedy: ", style="dim")
        out.append(interp.remedy)
    if not ln.parsed:
        out.append("\n  ")
        out.append(safe_text(raw, 4000))
    return out


class LogsArea(Vertical):
    """The Logs area of the shell."""

    can_focus = False
    BINDINGS = bindings("logs")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> LogsArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install, loaded.config.state_path())

    def __init__(self, install: Install, state_dir: Path, *, live: bool = True) -> None:
        super().__init__(id="logs", classes="area")
        self.install = install
        self.state_dir = state_dir
        self.live = live
        self._tail_timer: Timer | None = None
        self.catalog: Catalog | None = None
        self.day_source: DaySource | None = None
        self.filter_source: FilterSource | None = None
        self._cancel = threading.Event()
        self._filter_cancel = threading.Event()  # Esc stops a running filter only
        self._filter_stopped = False
        self._find = ""
        self._loading = False
        self._detail_key: tuple[object, ...] | None = None  # what the detail panel shows
        self._detail_at = 0.0
        self._labels_at = 0.0
        self._unpainted = 0  # lines read while following, not yet on screen (a calm tail)
        self._synced_at = 0.0
        self._shown_labels: list[tuple[str, str]] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="logs-controls"):
            yield Select[str]([], prompt="Service", id="logs-service", allow_blank=True)
            yield Select[str]([], prompt="Day", id="logs-day", allow_blank=True)
            yield Input(placeholder="From HH:MM", id="logs-from", max_length=8)
            yield Input(placeholder="To HH:MM", id="logs-to", max_length=8)
            yield Input(placeholder="Filter: a;b;!c;re:x  (Enter loads)", id="logs-filter")
        with Horizontal(id="logs-buttons"):
            for label, bid in (("Load", "load"), ("Refresh", "refresh"), ("Clear", "clear"),
                               ("Delete", "delete"), ("Save To File", "save"), ("Find", "find"),
                               ("Explore", "explore")):  # fmt: skip
                yield Button(label, id=f"logs-btn-{bid}", compact=True)
        yield Panel(id="logs-state")
        yield LogView(id="logs-view")
        yield Panel(id="logs-detail")
        yield Input(placeholder="Find (Enter: next, n/N later; Esc closes)", id="logs-find")

    def focus(self, scroll_visible: bool = True) -> LogsArea:
        """Entering the area puts the keys on the log view."""
        self.query_one(LogView).focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        self._tail_timer = (
            self.set_interval(POLL_S, self.poll, name="logs-tail", pause=True)
            if self.live
            else None
        )

    def on_show(self) -> None:
        """The log is opened when the area is first shown, not at start-up: the start of
        the console does not wait for, or compete with, indexing a big log. The tail is
        polled only while the area is shown (a hidden area does no work)."""
        if self.catalog is None and self.day_source is None:
            self.reload_catalog(select_newest=True)
        elif self._tail_timer is not None:
            self.poll()  # what the log gained while hidden, now
        if self._tail_timer is not None:
            self._tail_timer.resume()

    def on_hide(self) -> None:
        if self._tail_timer is not None:
            self._tail_timer.pause()

    # --- catalog and loading -----------------------------------------------------------

    def reload_catalog(self, *, select_newest: bool = False) -> None:
        try:
            self.catalog = catalog_mod.scan(self.install.log_dir)
        except OSError as exc:
            self.catalog = None
            self._state(
                Text(f"log folder {self.install.log_dir}: {exc.strerror or exc}", style="red")
            )
            return
        svc = self.query_one("#logs-service", Select)
        services = self.catalog.services()
        # service names are folder names (discovered): shown as plain text, never markup
        svc.set_options([(Text(safe_text(s)), s) for s in services])
        if not services:
            self._state(Text(f"no log files in {self.install.log_dir}", style="yellow"))
            return
        if select_newest or svc.value not in services:
            svc.value = "smtp" if "smtp" in services else services[0]
        self._fill_days()
        if select_newest:
            self.load()

    def _fill_days(self) -> None:
        if self.catalog is None:
            return
        svc = self.query_one("#logs-service", Select).value
        days = self.catalog.days_of(str(svc)) if isinstance(svc, str) else []
        day_sel = self.query_one("#logs-day", Select)
        current = day_sel.value
        labels = self._day_labels(days)
        day_sel.set_options(labels)
        self._shown_labels = labels
        values = [d.day.isoformat() for d in days]
        if values:
            day_sel.value = current if current in values else values[0]

    def _day_labels(self, days: list[LogDay]) -> list[tuple[str, str]]:
        """Each day with its size; the day being followed with the size it has now."""
        src = self.day_source
        live: tuple[str, date] | None = None
        if src is not None and src.live and src.names:
            live = (src.service, src.names[-1].day)
        out = []
        for d in days:
            size = src.size if src is not None and live == (d.service, d.day) else d.size
            # four cells for the size: the selector is 24 wide (351.4 KB lost its unit)
            out.append((f"{d.day.isoformat()}  {compact_bytes(size)}", d.day.isoformat()))
        return out

    def refresh_day_list(self) -> None:
        """The day list as the files are now: a new day after midnight, the followed
        day's growing size. Options are rebuilt only when a label changed, and never
        while the list is open."""
        src = self.day_source
        if self.catalog is None or src is None:
            return
        svc = self.query_one("#logs-service", Select).value
        day_sel = self.query_one("#logs-day", Select)
        if day_sel.expanded or svc != src.service:
            return
        known = {d.day for d in self.catalog.days_of(src.service)}
        if any(n.day not in known for n in src.names):
            try:
                self.catalog = catalog_mod.scan(self.install.log_dir)
            except OSError:
                return
        labels = self._day_labels(self.catalog.days_of(src.service))
        if labels != self._shown_labels:
            current = day_sel.value
            day_sel.set_options(labels)
            self._shown_labels = labels
            values = [v for _label, v in labels]
            if current in values:
                day_sel.value = current

    @on(Select.Changed, "#logs-service")
    def service_changed(self) -> None:
        self._fill_days()

    def selected_day(self) -> LogDay | None:
        if self.catalog is None:
            return None
        svc = self.query_one("#logs-service", Select).value
        day = self.query_one("#logs-day", Select).value
        if not isinstance(svc, str) or not isinstance(day, str):
            return None
        return self.catalog.get(svc, date.fromisoformat(day))

    def _times(self) -> tuple[time | None, time | None]:
        out: list[time | None] = []
        for wid in ("#logs-from", "#logs-to"):
            text = self.query_one(wid, Input).value.strip()
            out.append(search.parse_clock(text) if text else None)
        return out[0], out[1]

    def load(self) -> None:
        """Load: open the chosen day (instant), index it in the background, apply the filter."""
        d = self.selected_day()
        if d is None:
            return
        try:
            flt = search.parse_filter(self.query_one("#logs-filter", Input).value)
            start, stop = self._times()
        except IwtuiError as exc:
            self.notify(str(exc), title="Filter", severity="error")
            return
        self._cancel.set()
        self._cancel = threading.Event()
        self._filter_cancel.set()
        self._filter_cancel = threading.Event()
        self._filter_stopped = False
        if self.day_source is not None:
            self.day_source.close()
        if self.filter_source is not None:
            self.filter_source.close()
        newest = self.catalog is not None and d is self.catalog.days_of(d.service)[0]
        self.day_source = DaySource(
            self.install.log_dir, [f.name for f in d.files], self.state_dir / "cache", live=newest
        )
        for err in self.day_source.errors:
            self.notify(err, title="Log", severity="warning")
        view = self.query_one(LogView)
        view.highlight = self._find
        self._detail_key = None  # a new source: the detail is drawn again
        self._unpainted = 0
        if flt.empty and start is None and stop is None:
            self.filter_source = None
            view.set_source(self.day_source, follow=True)
        else:
            self.filter_source = FilterSource(self.day_source, flt, start, stop)
            view.set_source(self.filter_source, follow=self.day_source.live)
            self.run_filter(self.filter_source, self._filter_cancel)
        self.index_day(self.day_source, self._cancel)
        self.show_state()

    @work(thread=True, group="logs-index", exit_on_error=False)
    def index_day(self, src: DaySource, cancel: threading.Event) -> None:
        steps = 0
        while not src.complete and not cancel.is_set():
            src.scan_step()
            steps += 1
            time_mod.sleep(0.002)  # let the UI thread have the GIL between chunks
            if steps % 8 == 0:
                self.app.call_from_thread(self._indexed, src)
        if not cancel.is_set():
            self.app.call_from_thread(self._indexed, src)

    def _indexed(self, src: DaySource) -> None:
        if src is self.day_source and self.filter_source is None:
            self.query_one(LogView).sync()
        self.show_state()

    @work(thread=True, group="logs-filter", exit_on_error=False)
    def run_filter(self, fs: FilterSource, cancel: threading.Event) -> None:
        last = [0.0]

        def tick() -> None:
            now = time_mod.monotonic()
            if now - last[0] >= 0.2:
                last[0] = now
                self.app.call_from_thread(self._filtered, fs)

        fs.run(cancel, tick)
        if not cancel.is_set():
            self.app.call_from_thread(self._filtered, fs)

    def _filtered(self, fs: FilterSource) -> None:
        if fs is self.filter_source:
            self.query_one(LogView).sync()
            self.show_state()

    # --- live ----------------------------------------------------------------------------

    def poll(self) -> None:
        src = self.day_source
        if src is None or not self.display or getattr(self.app, "paused", False):
            return
        try:
            res = src.poll()
        except OSError as exc:
            self._state(Text(f"reading the log: {exc.strerror or exc}", style="red"))
            return
        for note in res.notices:
            self.notify(note, title="Log", timeout=4)
        if res.reset:
            self.load()
            return
        added = res.added
        if self.filter_source is not None:
            added = self.filter_source.poll()
        view = self.query_one(LogView)
        now = time_mod.monotonic()
        self._unpainted += added
        if (view.following and 0 < self._unpainted < CALM_LINES and not res.notices
                and now - self._synced_at < CALM_PAINT_S):  # fmt: skip
            return  # a calm tail: these lines go on screen with the next repaint
        synced = self._unpainted
        if synced:
            view.sync(synced)
            self._unpainted, self._synced_at = 0, now
        # the state line counts the day's lines even when none of them match the filter
        if synced or res.added or res.notices:
            self.show_state()
        # the detail of the line followed, in the same repaint as the lines (not one
        # message later), and only when that line changed
        self.show_detail()
        if now - self._labels_at >= LABELS_S:
            self._labels_at = now
            self.refresh_day_list()

    # --- state line and detail -----------------------------------------------------------

    def _state(self, text: Text) -> None:
        self.query_one("#logs-state", Panel).update(text)

    def show_state(self) -> None:
        src = self.day_source
        view = self.query_one(LogView)
        if src is None:
            return
        t = Text()
        if not src.live:
            t.append("■ past day", style="dim")
        elif getattr(self.app, "paused", False):
            t.append("‖ paused", style="bold yellow")
        elif view.following:
            t.append("● following", style="bold green")
        else:
            t.append("○ not following", style="yellow")
            if view.new_lines:
                t.append(f" (+{view.new_lines:,} new, End follows)", style="bold yellow")
        names = ", ".join(n.path.name for n in src.names[-2:])
        t.append(f"  {src.service}  {names}  {human(src.size)}  ")
        t.append(f"{src.total:,} lines")
        if not src.complete:
            t.append(f"  indexing {src.progress:.0%}", style="cyan")
        fs = self.filter_source
        if fs is not None:
            t.append("  │  ", style="dim")
            t.append(f"{fs.total:,} matching", style="bold")
            if not fs.done and self._filter_stopped:
                t.append(f"  filter cancelled at {fs.progress:.0%}", style="yellow")
            elif not fs.done:
                t.append(f"  filtering {fs.progress:.0%} (Esc cancels)", style="cyan")
            if fs.flt.text:
                t.append(f"  filter {safe_text(fs.flt.text, 60)}", style="dim")
        if view.source is not None and view.source.total:
            t.append(f"  │  line {view.cursor + 1:,}", style="dim")
        self._state(t)

    @on(LogView.CursorMoved)
    def cursor_moved(self, event: LogView.CursorMoved) -> None:
        if event.view.id != "logs-view":
            return
        self.show_detail()
        self.show_state()

    def show_detail(self) -> None:
        """The parsed detail of the selected line: parsed and repainted only when the
        selected line changed; while following (a new line every poll) at most every
        DETAIL_FOLLOW_S, the newest line shown at the next poll after that."""
        view = self.query_one(LogView)
        src = view.source
        key = (id(src), view.cursor, src.prepended if src is not None else 0)
        if key == self._detail_key:
            return
        now = time_mod.monotonic()
        if view.following and now - self._detail_at < DETAIL_FOLLOW_S and self._detail_key:
            return  # the next poll shows it
        self._detail_key, self._detail_at = key, now
        raw = view.current_text()
        detail = self.query_one("#logs-detail", Panel)
        if raw is None or src is None:
            detail.update("")
            self._detail_key = None  # not there yet (a filter still finding lines): again
            return
        try:
            day = src.day_of(view.cursor)
        except IndexError:
            day = None
        detail.update(detail_text(raw, day))

    # --- buttons and keys ----------------------------------------------------------------

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").removeprefix("logs-btn-")
        {
            "load": self.load,
            "refresh": self.action_refresh,
            "clear": self.action_clear,
            "delete": self.action_delete_day,
            "save": self.action_save,
            "find": self.action_find,
            "explore": self.action_explore,
        }.get(action, lambda: None)()

    @on(Input.Submitted, "#logs-filter, #logs-from, #logs-to")
    def submitted(self) -> None:
        self.load()
        self.query_one(LogView).focus()

    def action_refresh(self) -> None:
        self.reload_catalog()
        self.load()

    def action_clear(self) -> None:
        for wid in ("#logs-filter", "#logs-from", "#logs-to"):
            self.query_one(wid, Input).value = ""
        self._find = ""
        self.load()

    def action_focus_filter(self) -> None:
        self.query_one("#logs-filter", Input).focus()

    def action_back_to_view(self) -> None:
        """Esc: close the find box; else stop a running filter (its matches so far
        stay); then back to the lines."""
        box = self.query_one("#logs-find", Input)
        fs = self.filter_source
        if not box.has_class("shown") and fs is not None and not fs.done:
            self.cancel_filter()
        box.remove_class("shown")
        self.query_one(LogView).focus()

    def cancel_filter(self) -> None:
        """Stop the running filter at the next chunk (the matches found so far stay)."""
        fs = self.filter_source
        if fs is None or fs.done or self._filter_stopped:
            return
        self._filter_cancel.set()
        self._filter_stopped = True
        self.notify(f"filter cancelled: {fs.total:,} matching so far", title="Logs", timeout=3)
        self.show_state()

    def action_find(self) -> None:
        box = self.query_one("#logs-find", Input)
        box.add_class("shown")
        box.value = self._find
        box.focus()

    @on(Input.Submitted, "#logs-find")
    def find_submitted(self, event: Input.Submitted) -> None:
        self._find = event.value
        view = self.query_one(LogView)
        view.highlight = self._find
        event.input.remove_class("shown")
        view.focus()
        self.action_find_next(1)

    def action_find_next(self, direction: int) -> None:
        if not self._find:
            self.action_find()
            return
        self.find_worker(self._find, direction)

    @work(thread=True, exclusive=True, group="logs-find", exit_on_error=False)
    def find_worker(self, term: str, direction: int) -> None:
        view = self.query_one(LogView)
        src = view.source
        if not isinstance(src, (DaySource, FilterSource)) or not src.total:
            return
        found = src.find(term, view.cursor, direction)
        if found is None:
            self.app.call_from_thread(
                self.notify,
                f"{term!r} not found {'below' if direction > 0 else 'above'}",
                title="Find",
            )
        else:
            self.app.call_from_thread(view.goto, found)

    def action_open_session(self) -> None:
        view = self.query_one(LogView)
        raw = view.current_text()
        src = self.day_source
        if raw is None or view.source is None or src is None:
            return
        ln = parse_line(raw, view.source.day_of(view.cursor))
        if not ln.thread:
            self.notify("this line has no thread id, so no session", title="Session")
            return
        self.session_worker(
            src.service,
            ln.time.date() if ln.time else view.source.day_of(view.cursor),
            ln.thread,
            ln.time.time() if ln.time else None,
        )

    @work(thread=True, exclusive=True, group="logs-session", exit_on_error=False)
    def session_worker(self, service: str, day: date, thread: str, at: time | None) -> None:
        cat = self.catalog or catalog_mod.scan(self.install.log_dir)
        s = sessions.find_session(cat, service, day, thread, at)
        if s is None:
            self.app.call_from_thread(
                self.notify, f"no session for thread {thread}", title="Session"
            )
            return
        related = sessions.related_lines(cat, s)
        self.app.call_from_thread(self.app.push_screen, SessionLogScreen(s, related, Path.cwd()))

    def action_explore(self) -> None:
        self.reload_catalog()
        if self.catalog is None:
            return

        def chosen(pick: tuple[str, date] | None) -> None:
            if pick is None:
                return
            service, day = pick
            self.query_one("#logs-service", Select).value = service
            self._fill_days()
            self.query_one("#logs-day", Select).value = day.isoformat()
            self.load()

        self.app.push_screen(ExploreScreen(self.catalog), chosen)

    def action_delete_day(self) -> None:
        d = self.selected_day()
        if d is None:
            return
        gate = self.app.gate  # type: ignore[attr-defined]
        plan = delete_plan(gate, d, self.install.root)

        def done(_outcome: object) -> None:
            self.reload_catalog()
            self.load()

        run_plan(self.app, gate, plan, done)

    def action_save(self) -> None:
        """Ask where (a full path under the working folder, editable), then save the
        shown lines there: a new file, never an overwrite, never through a link."""
        view = self.query_one(LogView)
        src = view.source
        d = self.selected_day()
        if src is None or d is None:
            return
        cwd = Path.cwd()
        name = (
            f"iwtui-{d.service}-{d.day.isoformat()}{'-filtered' if self.filter_source else ''}.log"
        )
        total = src.total
        if self.filter_source is None and self.day_source is not None:
            what = (
                f"Save {total:,} lines ({human(self.day_source.size)}) of {d.service} {d.day} to:"
            )
        else:
            what = f"Save the {total:,} matching lines of {d.service} {d.day} to:"

        def chosen(dest: Path | None) -> None:
            if dest is not None:
                self.save_worker(src, dest, total)

        self.app.push_screen(SaveLinesScreen(free_name(cwd / name), what, cwd), chosen)

    @work(thread=True, exclusive=True, group="logs-save", exit_on_error=False)
    def save_worker(self, src: DaySource | FilterSource, dest: Path, total: int) -> None:
        """The lines shown when the user chose (not those that came since)."""
        data = b"".join(
            src.line(i).encode("utf-8", errors="surrogateescape") + b"\n" for i in range(total)
        )
        try:
            write_new(dest, data)
        except FileExistsError:
            msg = f"{dest} exists (created meanwhile): nothing was overwritten"
            self.app.call_from_thread(self.notify, msg, title="Not saved", severity="error")
            return
        except OSError as exc:
            self.app.call_from_thread(
                self.notify, f"{dest}: {exc.strerror or exc}", title="Not saved", severity="error"
            )
            return
        self.app.call_from_thread(
            self.notify, f"{total:,} lines ({human(len(data))}) saved to {dest}", title="Saved"
        )

    def on_unmount(self) -> None:
        self._cancel.set()
        self._filter_cancel.set()
        if self.day_source is not None:
            self.day_source.close()
