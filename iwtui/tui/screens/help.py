"""Help: every binding with its id and its effective keys (after the config keymap)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from iwtui.keymap import default_keymap
from iwtui.tui.bindings import bindings, effective_keys, key_display


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings("help")

    def __init__(self, overrides: Mapping[str, str]) -> None:
        super().__init__()
        self.overrides = overrides

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                Text("Keys — remap any of them by id under `keymap:` in config.yaml", style="bold")
            )
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Keys", "Action", "Binding id")
        for spec in default_keymap().values():
            keys = key_display(effective_keys(spec.id, self.overrides))
            mark = " *" if spec.id in self.overrides else ""
            table.add_row(
                Text(keys + mark, style="bold"), Text(spec.description), Text(spec.id, style="dim")
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

    # vim motions, as everywhere else (help.down/up/top/bottom in the keymap)
    def action_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def action_top(self) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=0)

    def action_bottom(self) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)
