"""The confirm dialog of the action gate: it states the count, defaults to No."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from iwtui.text import safe_text
from iwtui.tui.bindings import bindings


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = bindings("confirm")

    def __init__(self, summary: str, count: int, detail: str = "",
                 items: Sequence[str] = ()) -> None:  # fmt: skip
        super().__init__()
        self.summary, self.count, self.detail = summary, count, detail
        self.items = list(items)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(safe_text(f"{self.summary}?"), style="bold"), id="confirm-summary")
            if self.items:  # what the action touches, by the names the user knows
                lines = [safe_text(f"  {i}", 150) for i in self.items]
                text = Text("\n".join(lines), no_wrap=True, overflow="ellipsis")
                yield Static(text, id="confirm-items")
            yield Static(Text(f"{self.count:,} item(s) will be affected.", style="yellow"))
            if self.detail:
                yield Static(Text(self.detail), id="confirm-detail")
            with Horizontal(id="confirm-buttons"):
                yield Button("No (n)", id="no", variant="primary")
                yield Button("Yes (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
