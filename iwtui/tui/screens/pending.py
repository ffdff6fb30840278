"""An area whose screen is not built yet: it says so plainly, and what it will show.

The header's live counts stay in view above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from iwtui.icewarp.install import Install
from iwtui.tui.areas import AreaInfo

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo


class PendingArea(VerticalScroll):
    can_focus = True

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> PendingArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(info, install)

    def __init__(self, area: AreaInfo, install: Install) -> None:
        super().__init__(id=area.id, classes="area pending")
        self.area, self.install = area, install

    def compose(self) -> ComposeResult:
        a = self.area
        yield Static(Text(f"{a.key}  {a.title}", style="bold"), classes="area-title")
        tracked = f"Tracked in issue #{a.issue}." if a.issue else "It gets its own issue."
        yield Static(
            Text.assemble(("This screen is not built yet. ", "bold yellow"), tracked),
            classes="pending-note",
        )
        yield Static(Text(f"What it will show: {a.summary}"), classes="pending-summary")
