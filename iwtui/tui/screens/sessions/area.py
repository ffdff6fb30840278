"""Status > Sessions: active sessions and the history of each service, live; Enter opens a
session's protocol log (savable); killing a session is shown as unavailable, with why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.widgets import Select, Static

from iwtui.icewarp.install import Install
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs import sessions
from iwtui.icewarp.logs.sessions import Session, SessionSet, SessionTracker
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.sessions.session_log import STATE_STYLE, SessionLogScreen
from iwtui.tui.widgets.item_table import Column, ItemTable, column_widths

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

SERVICES = ("smtp", "pop3", "imap")
REFRESH_S = 2.0
# Read at start per service, then only what is appended. 1 MB of SMTP log holds some 500
# sessions: the active ones and far more than the 100 of history.
LIVE_TAIL = 1024 * 1024
FIRST_DELAY_S = 1.0  # let the first screens paint before parsing starts


def _started(s: Session) -> datetime:
    return s.start or s.end or datetime.min


def _recipients(s: Session) -> str:
    extra = f" +{len(s.recipients) - 3}" if len(s.recipients) > 3 else ""
    return ", ".join(s.recipients[:3]) + extra


# the short columns first and the long texts last: on any width the state, times, line
# count and result are on screen, and only recipients get cut
COLUMNS: list[Column[Session]] = [
    Column(
        "",
        3,
        lambda s: f" {s.kind} ",
        lambda s: s.kind,
        least=3,
        style=lambda s: f"reverse {STATE_STYLE.get(s.state, '')}",
    ),
    Column(
        "State",
        9,
        lambda s: s.state,
        lambda s: s.state,
        least=9,
        style=lambda s: STATE_STYLE.get(s.state, ""),
    ),
    Column(
        "Started",
        14,
        lambda s: f"{s.day:%m-%d} {s.start:%H:%M:%S}" if s.start else f"{s.day:%m-%d} --:--:--",
        _started,
        least=14,
    ),
    Column(
        "Time",
        5,
        lambda s: "" if s.duration_s is None else f"{s.duration_s:.0f}s",
        lambda s: s.duration_s or 0.0,
        justify="right",
        least=5,
    ),
    Column(
        "Lines", 5, lambda s: f"{s.line_count:,}", lambda s: s.line_count, justify="right", least=5
    ),
    Column("Thread", 8, lambda s: s.thread, lambda s: s.thread),
    Column("Peer", 18, lambda s: s.peer, lambda s: s.peer, least=9),
    Column(
        "Account / sender",
        24,
        lambda s: s.account or s.sender,
        lambda s: s.account or s.sender,
        least=10,
    ),
    Column(
        "Result",
        24,
        lambda s: s.reason,
        lambda s: s.reason,
        least=8,
        style=lambda s: "red" if s.state == "failed" else "dim",
    ),
    Column("Recipients", 0, _recipients, _recipients),
]
STARTED = 2  # newest first: the default sort


class SessionTable(ItemTable[Session]):
    """The virtual table (only the rows on screen are drawn: a refresh every 2 s of 300
    sessions costs no re-measure of every cell); sessions are not marked."""

    def __init__(self, *, id: str) -> None:
        super().__init__(COLUMNS, lambda s: s.key, id=id)
        self.sort_column, self.sort_reverse = STARTED, True

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows) + 1  # ``height: auto`` (Active): its header and its rows

    def set_rows(self, rows: Sequence[Session], **kw: Any) -> None:
        before = len(self.rows)
        super().set_rows(rows, **kw)
        if len(self.rows) != before:
            self.refresh(layout=True)  # an auto height follows the count

    def _widths(self, total: int) -> list[int]:
        # the recipients (last) give way first: state, times and result stay readable
        least = [c.least if c.least is not None else min(c.width, 4) for c in self.columns]
        return column_widths([c.width for c in self.columns], total, 12, least)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"mark", "mark_range", "mark_all"}:
            return False
        return super().check_action(action, parameters)


class SessionsArea(Vertical):
    can_focus = False
    BINDINGS = bindings("sessions")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> SessionsArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install)

    def __init__(self, install: Install, *, live: bool = True) -> None:
        super().__init__(id="sessions", classes="area")
        self.install = install
        self.live = live
        self.sets: dict[str, SessionSet] = {}
        self._busy = False
        self._drawn: dict[str, list[tuple[Any, ...]]] = {}  # what each table shows now
        self._newer: dict[str, int] = {}  # rows above the user's cursor, by table
        self._texts: dict[str, tuple[str, tuple[object, ...]]] = {}  # the lines shown
        self.active_total: int | None = None
        self.trackers = {
            s: SessionTracker(install.log_dir, s, tail_bytes=LIVE_TAIL) for s in SERVICES
        }

    def compose(self) -> ComposeResult:
        with Horizontal(id="sessions-controls"):
            yield Select[str](
                [(s, s) for s in ("all", *SERVICES)],
                value="all",
                allow_blank=False,
                id="sessions-service",
            )
            yield Static(id="sessions-state")
        yield Static(Text("Active", style="bold yellow"), classes="section-title")
        yield SessionTable(id="sessions-active")
        yield Static(
            Text("History (last 100 per service, newest first)", style="bold"),
            classes="section-title",
            id="sessions-history-title",
        )
        yield SessionTable(id="sessions-history")

    def focus(self, scroll_visible: bool = True) -> SessionsArea:
        self.query_one("#sessions-active", SessionTable).focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        self.set_timer(FIRST_DELAY_S, self.refresh_sessions)
        if self.live:
            self.set_interval(REFRESH_S, self.refresh_sessions, name="sessions-refresh")

    def refresh_sessions(self) -> None:
        """Every tick, on screen or not (the header's session count moves too): the
        trackers read only what was appended since the last tick."""
        if self._busy or getattr(self.app, "paused", False):
            return
        self._busy = True
        self.compute()

    @work(thread=True, group="sessions", exit_on_error=False)
    def compute(self) -> None:
        try:
            out = {name: t.update() for name, t in self.trackers.items()}
            self.app.call_from_thread(
                self.show, {k: v for k, v in out.items() if v.day is not None}
            )
        finally:
            self._busy = False

    def show(self, sets: dict[str, SessionSet]) -> None:
        self.sets = sets
        self.active_total = sum(len(s.active) for s in sets.values())
        chosen = self.query_one("#sessions-service", Select).value
        keep = [s for name, s in sets.items() if chosen in ("all", name)]
        active = [x for s in keep for x in s.active]
        history = [x for s in keep for x in s.history]
        if hasattr(self.app, "set_sessions_count"):
            self.app.set_sessions_count(self.active_total)
        if not self.display:
            return  # hidden: only the header's count moves; the tables are drawn when shown
        self._fill("#sessions-active", active)
        self._fill("#sessions-history", history)
        errors = [e for s in keep for e in s.errors]
        state = Text(f"{len(active)} active, {len(history)} in history", style="bold")
        if errors:
            state.append(f"  {errors[0]}", style="red")
        self._update("#sessions-state", state)

    def on_show(self) -> None:
        if self.sets:
            self.show(self.sets)

    def _fill(self, wid: str, rows: list[Session]) -> None:
        t = self.query_one(wid, SessionTable)
        drawn = [tuple(c.text(r) for c in COLUMNS) for r in rows]
        if drawn == self._drawn.get(wid):
            return  # nothing changed: no redraw
        self._drawn[wid] = drawn
        # newest first: a cursor on the first row follows the newest session (the view
        # stays at the top); a cursor the user moved stays on its session (the table
        # keeps it), and the title says how many newer ones came in above it
        following = t.cursor <= 0
        t.set_rows(rows, initial=not t.rows)  # the first rows are not "new" (highlighted)
        if following and t.cursor != 0:
            t.cursor = 0
            t.scroll_home(animate=False, immediate=True)
            t.refresh()
        self._newer[wid] = 0 if following else t.cursor
        self._titles()

    def _titles(self) -> None:
        n = self._newer.get("#sessions-history", 0)
        title = Text("History (last 100 per service, newest first)", style="bold")
        if n:
            title.append(f"  {n} newer above (Home goes to the newest)", style="bold yellow")
        self._update("#sessions-history-title", title)

    def _update(self, wid: str, text: Text) -> None:
        """A line of text, only when it changed: an update lays the screen out again."""
        key = (text.plain, tuple(text.spans))
        if self._texts.get(wid) != key:
            self._texts[wid] = key
            self.query_one(wid, Static).update(text)

    @on(Select.Changed, "#sessions-service")
    def service_changed(self) -> None:
        if self.sets:
            self.show(self.sets)

    def action_switch_table(self) -> None:
        a = self.query_one("#sessions-active", SessionTable)
        h = self.query_one("#sessions-history", SessionTable)
        (h if a.has_focus else a).focus()

    @on(ItemTable.Chosen)
    def row_chosen(self, event: ItemTable.Chosen) -> None:
        s = event.table.current()
        if s is not None:
            self.open_session(s)

    def action_open(self) -> None:
        for t in self.query(SessionTable):
            s = t.current() if t.has_focus else None
            if s is not None:
                self.open_session(s)

    @work(thread=True, exclusive=True, group="sessions-open", exit_on_error=False)
    def open_session(self, s: Session) -> None:
        cat = catalog_mod.scan(self.install.log_dir)
        full = (
            sessions.find_session(
                cat, s.service, s.day, s.thread, s.start.time() if s.start else None
            )
            or s
        )
        related = sessions.related_lines(cat, full)
        self.app.call_from_thread(self.app.push_screen, SessionLogScreen(full, related, Path.cwd()))

    def action_kill(self) -> None:
        self.notify(
            "Killing a session is not available: IceWarp exposes no interface for it that "
            "iwtui could call (spec, section 4). Block the IP in Spam Queues > Intrusion "
            "Prevention instead.",
            title="Unavailable",
            severity="warning",
            timeout=10,
        )
