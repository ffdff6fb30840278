"""Help: every binding with its id and its effective keys (after the config keymap).

The keys that work where the user pressed ``?`` (the focused widget and its ancestors:
the area, its table, the shell) come first, under the area's name; then every other
scope under its own heading, in the keymap's order."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from iwtui.keymap import KeySpec, default_keymap
from iwtui.tui.bindings import bindings, effective_keys, key_display

# the keymap's scopes as a heading reads them
SCOPES = {
    "app": "Everywhere", "nav": "Area list", "confirm": "Confirmations",
    "journal": "Journal of actions", "help": "This help", "logs": "Logs",
    "logview": "A log view", "sessions": "Sessions", "session_log": "A session's log",
    "explore": "Explore logs", "table": "Every table", "queue": "Message Queue",
    "spam": "Spam Queues", "charts": "Traffic Charts", "chart": "A chart",
    "statistics": "Statistics", "volume": "Volume", "volume_target": "Volume: target",
    "accounts": "Account Statistics", "accounts_table": "Account list",
    "analyzer": "Log Analyzer",
}  # fmt: skip


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings("help")

    def __init__(
        self, overrides: Mapping[str, str], here: Collection[str] = (), where: str = ""
    ) -> None:
        """``here``: the ids of the bindings active where ``?`` was pressed (``where``:
        the area's title)."""
        super().__init__()
        self.overrides = overrides
        self.here = here
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                Text("Keys — remap any of them by id under `keymap:` in config.yaml", style="bold")
            )
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def _heading(self, table: DataTable[Text], title: str) -> None:
        table.add_row(Text(""), Text(title, style="bold underline"), Text(""))

    def _row(self, table: DataTable[Text], spec: KeySpec) -> None:
        keys = key_display(effective_keys(spec.id, self.overrides))
        mark = " *" if spec.id in self.overrides else ""
        table.add_row(
            Text(keys + mark, style="bold"), Text(spec.description), Text(spec.id, style="dim")
        )

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.add_columns("Keys", "Action", "Binding id")
        specs = default_keymap()
        # the area's own keys, then the table's, then the shell's
        rank = {"app": 2, "nav": 2, "table": 1}
        here = sorted((s for s in specs.values() if s.id in self.here),
                      key=lambda s: rank.get(s.id.split(".", 1)[0], 0))  # fmt: skip
        if here:
            self._heading(table, f"Here{': ' + self.where if self.where else ''}")
            for spec in here:
                self._row(table, spec)
        scope = None
        for spec in specs.values():
            if spec.id in self.here:
                continue
            name = spec.id.split(".", 1)[0]
            if name != scope:
                scope = name
                self._heading(table, SCOPES.get(name, name))
            self._row(table, spec)
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
