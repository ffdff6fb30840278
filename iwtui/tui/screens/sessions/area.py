"""Status > Sessions: active sessions and the history of each service, live; Enter opens a
session's protocol log (savable); killing a session is shown as unavailable, with why."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Select, Static
from textual.widgets.data_table import RowDoesNotExist

from iwtui.icewarp.install import Install
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs import sessions
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.logs.sessions import Session, SessionSet, SessionTracker
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.sessions.session_log import STATE_STYLE, SessionLogScreen

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

SERVICES = ("smtp", "pop3", "imap")
REFRESH_S = 2.0
# Read at start per service, then only what is appended. 1 MB of SMTP log holds some 500
# sessions: the active ones and far more than the 100 of history.
LIVE_TAIL = 1024 * 1024
FIRST_DELAY_S = 1.0  # let the first screens paint before parsing starts


def _row(s: Session) -> tuple[Text, ...]:
    when = s.start.strftime("%H:%M:%S") if s.start else "--:--:--"
    who = s.account or s.sender
    rcpt = ", ".join(s.recipients[:3]) + (
        f" +{len(s.recipients) - 3}" if len(s.recipients) > 3 else ""
    )
    dur = f"{s.duration_s:.0f}s" if s.duration_s is not None else ""
    # the short columns first and the long texts last: on any width the state, times,
    # line count and result are on screen, and only recipients may run off the edge
    return (
        Text(f" {s.kind} ", style=f"reverse {STATE_STYLE.get(s.state, '')}"),
        Text(s.state, style=STATE_STYLE.get(s.state, "")),
        Text(f"{s.day:%m-%d} {when}"),
        Text(dur, justify="right"),
        Text(f"{s.line_count:,}", justify="right"),
        Text(s.thread),
        Text(safe_text(s.peer, 39)),
        Text(safe_text(who, 32)),
        Text(safe_text(s.reason, 40), style="red" if s.state == "failed" else "dim"),
        Text(safe_text(rcpt, 60)),
    )


COLUMNS = (
    "",
    "State",
    "Started",
    "Time",
    "Lines",
    "Thread",
    "Peer",
    "Account / sender",
    "Result",
    "Recipients",
)


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
        self._rows: dict[str, dict[str, Session]] = {}
        self._drawn: dict[str, list[tuple[str, ...]]] = {}  # what each table shows now
        self._newer: dict[str, int] = {}  # rows above the user's cursor, by table
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
        yield DataTable(id="sessions-active", cursor_type="row", zebra_stripes=True)
        yield Static(
            Text("History (last 100 per service, newest first)", style="bold"),
            classes="section-title",
            id="sessions-history-title",
        )
        yield DataTable(id="sessions-history", cursor_type="row", zebra_stripes=True)

    def focus(self, scroll_visible: bool = True) -> SessionsArea:
        self.query_one("#sessions-active", DataTable).focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        for t in self.query(DataTable):
            t.add_columns(*COLUMNS)
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
        active = sorted(
            (x for s in keep for x in s.active),
            key=lambda x: x.start or x.end or datetime.min,
            reverse=True,
        )
        history = sorted(
            (x for s in keep for x in s.history),
            key=lambda x: x.start or x.end or datetime.min,
            reverse=True,
        )
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
        self.query_one("#sessions-state", Static).update(state)

    def on_show(self) -> None:
        if self.sets:
            self.show(self.sets)

    def _fill(self, wid: str, rows: list[Session]) -> None:
        cells = [_row(s) for s in rows]
        drawn = [(s.key, *(c.plain for c in r)) for s, r in zip(rows, cells, strict=True)]
        if drawn == self._drawn.get(wid):
            return  # nothing changed: no rebuild, no re-measure of the table
        self._drawn[wid] = drawn
        t = self.query_one(wid, DataTable)
        selected = None
        # newest first: a cursor on the first row follows the newest session (the view
        # stays at the top); a cursor the user moved stays on its session, and the title
        # says how many newer ones came in above it
        following = t.cursor_row <= 0
        if t.row_count and t.cursor_row < t.row_count and not following:
            selected = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        t.clear()
        shown: dict[str, Session] = {}
        self._rows[wid] = shown  # only what is on screen is kept (no growth over hours)
        for s, row in zip(rows, cells, strict=True):
            key = s.key
            shown[key] = s
            t.add_row(*row, key=key)
        above = 0
        if selected is not None:
            with contextlib.suppress(RowDoesNotExist):  # the row is gone: stay put
                above = t.get_row_index(selected)
                t.move_cursor(row=above, animate=False)
        if following:
            t.move_cursor(row=0, animate=False)
            t.scroll_home(animate=False)
        self._newer[wid] = above
        self._titles()

    def _titles(self) -> None:
        n = self._newer.get("#sessions-history", 0)
        title = Text("History (last 100 per service, newest first)", style="bold")
        if n:
            title.append(f"  {n} newer above (Home goes to the newest)", style="bold yellow")
        self.query_one("#sessions-history-title", Static).update(title)

    def _session(self, key: str) -> Session | None:
        for rows in self._rows.values():
            if key in rows:
                return rows[key]
        return None

    @on(Select.Changed, "#sessions-service")
    def service_changed(self) -> None:
        if self.sets:
            self.show(self.sets)

    def action_switch_table(self) -> None:
        a = self.query_one("#sessions-active", DataTable)
        h = self.query_one("#sessions-history", DataTable)
        (h if a.has_focus else a).focus()

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        s = self._session(str(event.row_key.value))
        if s is not None:
            self.open_session(s)

    def action_open(self) -> None:
        for t in self.query(DataTable):
            if t.has_focus and t.row_count:
                key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
                s = self._session(str(key))
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
