"""The Logs area's Explore dialog: every file of the log folder with its service, day,
size and time; Enter loads that service and day. Names come from the disk: they are
drawn as ``Text`` made inert, never as markup."""

from __future__ import annotations

import time as time_mod
from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from iwtui.icewarp.logs.catalog import Catalog
from iwtui.text import safe_text
from iwtui.tui.bindings import bindings
from iwtui.units import human_bytes as human


class ExploreScreen(ModalScreen[tuple[str, date] | None]):
    """The log folder's files with sizes and dates; Enter loads that service and day."""

    BINDINGS = bindings("explore")
    DEFAULT_CSS = """
    ExploreScreen { align: center middle; }
    ExploreScreen > Vertical { width: 90%; height: 85%; border: round $accent; background: $surface; }
    """

    def __init__(self, cat: Catalog) -> None:
        super().__init__()
        self.cat = cat

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(safe_text(f" Log folder {self.cat.root}"), style="bold"))
            yield DataTable(id="explore-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("Service", "Day", "File", "Size", "Modified")
        for service in self.cat.services():
            for d in self.cat.days_of(service):
                for f in d.files:
                    t.add_row(  # DataTable reads str cells as markup: Text only
                        Text(safe_text(service)),
                        d.day.isoformat(),
                        Text(safe_text(f.path.name)),
                        Text(human(f.size), justify="right"),
                        time_mod.strftime("%Y-%m-%d %H:%M", time_mod.localtime(f.mtime)),
                        key=f"{service}|{d.day.isoformat()}|{f.path}",
                    )
        for p in self.cat.other:
            t.add_row("?", "", Text(safe_text(p.name)), "", "", key=f"?||{p}")
        t.focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected)
    def chosen(self, event: DataTable.RowSelected) -> None:
        service, day, _path = str(event.row_key.value).split("|", 2)
        if service == "?" or not day:
            return
        self.dismiss((service, date.fromisoformat(day)))
