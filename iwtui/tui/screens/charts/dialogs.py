"""The From/To dialog of Traffic Charts: two local times (``YYYY-MM-DD HH:MM``); Enter on
the second shows the range, Escape cancels. A bad value is said under the fields."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from iwtui.tui.bindings import bindings


def parse_time(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS]`` or ``YYYY-MM-DDTHH:MM`` or a bare date (its midnight)."""
    return datetime.fromisoformat(text.strip().replace(" ", "T", 1)).replace(tzinfo=None)


class RangeScreen(ModalScreen[tuple[datetime, datetime] | None]):
    BINDINGS = bindings("explore")  # escape: cancel
    DEFAULT_CSS = """
    RangeScreen { align: center middle; }
    RangeScreen > Vertical { width: 60; height: auto; border: round $accent;
                             background: $surface; padding: 1 2; }
    RangeScreen #range-error { height: auto; color: $error; }
    """

    def __init__(self, start: datetime, end: datetime) -> None:
        super().__init__()
        self.start, self.end = start, end

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Interval: From / To (local time, as in the logs)", style="bold"))
            yield Static("From")
            yield Input(value=f"{self.start:%Y-%m-%d %H:%M}", id="range-from")
            yield Static("To")
            yield Input(value=f"{self.end:%Y-%m-%d %H:%M}", id="range-to")
            yield Static("", id="range-error")

    def on_mount(self) -> None:
        self.query_one("#range-from", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "range-from":
            self.query_one("#range-to", Input).focus()
            return
        try:
            start = parse_time(self.query_one("#range-from", Input).value)
            end = parse_time(self.query_one("#range-to", Input).value)
        except ValueError:
            self.query_one("#range-error", Static).update("use YYYY-MM-DD HH:MM")
            return
        if end <= start:
            self.query_one("#range-error", Static).update("To must be after From")
            return
        self.dismiss((start, end))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
