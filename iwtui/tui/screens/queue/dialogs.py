"""The Message Queue's dialogs: a message or log lines, the retry reasons, the owner of a
whitelist or blacklist entry."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static

from iwtui.errors import IwtuiError
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.queue import deferrals
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.sessions.session_log import ListSource
from iwtui.tui.widgets.log_view import LogView


def age(ts: float, now: float) -> str:
    """How long ago, with its units (``21h 56m``: ``21h56`` read as a clock time)."""
    s = max(0, int(now - ts))
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


class TextScreen(ModalScreen[None]):
    """Lines in a log view (a message, log lines), read-only, Esc closes."""

    BINDINGS = bindings("explore")
    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > Vertical { width: 95%; height: 90%; border: round $accent; background: $surface; }
    TextScreen #text-title { height: auto; padding: 0 1; }
    """

    def __init__(self, title: Text, lines: list[str]) -> None:
        super().__init__()
        self.title_text, self.lines = title, lines

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="text-title")
            yield LogView(id="text-view")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(LogView)
        view.set_source(ListSource(self.lines, datetime.now().date()), follow=False)
        view.focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class OwnerScreen(ModalScreen[str | None]):
    """Whose whitelist or blacklist: * (everyone), a domain or a user (validated)."""

    BINDINGS = bindings("explore")
    DEFAULT_CSS = """
    OwnerScreen { align: center middle; }
    OwnerScreen > Vertical { width: 70; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    OwnerScreen #owner-error { color: $error; height: auto; }
    """

    def __init__(self, which: str, count: int) -> None:
        super().__init__()
        self.which, self.count = which, count

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Add {self.count} sender(s) to the {self.which} of:", style="bold"))
            yield Input(value="*", id="owner-input")
            yield Static(
                Text("* = everyone, example.com = a domain, user@example.com = a user", style="dim")
            )
            yield Static(id="owner-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        try:
            owner = spam_actions.validate_owner(event.value)
        except IwtuiError as exc:
            self.query_one("#owner-error", Static).update(Text(str(exc)))
            return
        self.dismiss(owner)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ReasonsScreen(ModalScreen[list[str] | None]):
    """The retry queue grouped by deferral reason; Enter shows that group's messages."""

    BINDINGS = bindings("explore")
    DEFAULT_CSS = """
    ReasonsScreen { align: center middle; }
    ReasonsScreen > Vertical { width: 90%; height: 80%; border: round $accent; background: $surface; }
    """

    def __init__(self, groups: list[deferrals.ReasonGroup]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(" Retry queue by deferral reason (Enter: show those messages)", style="bold")
            )
            yield DataTable(id="reasons-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("Messages", "Oldest", "Reason")
        for n, g in enumerate(self.groups):
            t.add_row(
                Text(f"{g.count:,}", justify="right"),
                age(g.oldest, datetime.now().timestamp()),
                Text(safe_text(g.reason)),
                key=str(n),
            )
        t.focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected)
    def chosen(self, event: DataTable.RowSelected) -> None:
        self.dismiss(self.groups[int(str(event.row_key.value))].ids)
