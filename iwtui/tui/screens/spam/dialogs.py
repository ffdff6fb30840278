"""Dialogs of the Spam Queues area: the seed's Add dialogs (a sender and its owner for the
whitelist or blacklist; an IP or CIDR for intrusion prevention). Values are checked by
the same core validators as the CLI; the error shows under the fields and the dialog stays."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from iwtui.errors import IwtuiError
from iwtui.tui.bindings import bindings

# (label, placeholder, initial value)
Field = tuple[str, str, str]


class FormScreen(ModalScreen[tuple[str, ...] | None]):
    """A few labelled inputs; Enter on the last one submits (after ``check``), Escape
    cancels. ``check`` raises an IwtuiError to refuse the values with its message."""

    BINDINGS = bindings("explore")  # escape: cancel
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical { width: 76; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    FormScreen #form-error { height: auto; }
    """

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        note: str,
        check: Callable[..., object],
        suggest: dict[int, list[str]] | None = None,
        warn: Callable[..., str | None] | None = None,
    ) -> None:
        """``suggest``: completions for some fields (by index), shown as you type; the
        right arrow takes one (the seed's "..." Select Item list, by keyboard).
        ``warn``: a doubt about values that pass ``check`` (an owner domain that is not on
        this server): shown, and the same values submitted again go ahead."""
        super().__init__()
        self.title_text, self.fields, self.note, self.check = title, list(fields), note, check
        self.suggest = suggest or {}
        self.warn = warn
        self._warned: tuple[str, ...] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, style="bold"))
            yield Static(Text(self.note, style="dim"))
            for n, (label, placeholder, value) in enumerate(self.fields):
                yield Static(label)
                choices = self.suggest.get(n)
                suggester = SuggestFromList(choices, case_sensitive=False) if choices else None
                yield Input(
                    value=value, placeholder=placeholder, id=f"form-{n}", suggester=suggester
                )
            yield Static("", id="form-error")

    def on_mount(self) -> None:
        self.query_one("#form-0", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            inputs[inputs.index(event.input) + 1].focus()
            return
        values = tuple(i.value.strip() for i in inputs)
        error = self.query_one("#form-error", Static)
        try:
            self.check(*values)
        except IwtuiError as exc:
            error.update(Text(str(exc), style="red"))
            return
        doubt = self.warn(*values) if self.warn is not None else None
        if doubt and self._warned != values:
            self._warned = values
            error.update(Text(f"{doubt} — Enter again to go ahead", style="yellow"))
            return
        self.dismiss(values)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
