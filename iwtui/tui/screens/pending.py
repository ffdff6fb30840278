"""An area whose screen is not built yet: it says so plainly, and what it will show.

Message Queue and Spam Queues already show their live counts here, so the shell is
useful before their screens land.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from iwtui.icewarp.install import Install
from iwtui.icewarp.status import Snapshot
from iwtui.tui.areas import AreaInfo


class PendingArea(VerticalScroll):
    can_focus = True

    def __init__(self, area: AreaInfo, install: Install) -> None:
        super().__init__(id=area.id, classes="area pending")
        self.area, self.install = area, install

    def on_show(self) -> None:
        latest: Snapshot | None = getattr(self, "_latest", None)
        if latest is not None:
            self.show_snapshot(latest)

    def compose(self) -> ComposeResult:
        a = self.area
        yield Static(Text(f"{a.key}  {a.title}", style="bold"), classes="area-title")
        tracked = f"Tracked in issue #{a.issue}." if a.issue else "It gets its own issue."
        yield Static(
            Text.assemble(("This screen is not built yet. ", "bold yellow"), tracked),
            classes="pending-note",
        )
        yield Static(Text(f"What it will show: {a.summary}"), classes="pending-summary")
        if a.id == "spam":
            yield Static(Text("reading…", style="dim"), id=f"{a.id}-counts", classes="live-counts")

    def show_snapshot(self, snap: Snapshot) -> None:
        """Redraw the counts, only when shown and only when they changed: an update asks
        for a layout pass of the whole screen."""
        if self.area.id != "spam":
            return
        self._latest = snap
        if not self.display:
            return
        key = (
            snap.spam_lists,
            snap.spam_error,
            snap.tarpit_active,
            snap.tarpit_total,
            snap.tarpit_note,
        )
        if key == getattr(self, "_shown_key", None):
            return
        self._shown_key = key
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("List")
        table.add_column("Entries", justify="right")
        if snap.spam_lists is not None:
            for name, n in snap.spam_lists.items():
                table.add_row(name.title(), f"{n:,}")
        else:
            table.add_row("Anti-spam database", Text(snap.spam_error, style="red"))
        table.add_row("Tarpitted IPs (active)", f"{snap.tarpit_active:,}")
        table.add_row("Tarpitted IPs (expired)", f"{snap.tarpit_total - snap.tarpit_active:,}")
        if snap.tarpit_note:
            table.add_row("tarpit.dat", Text(snap.tarpit_note, style="yellow"))
        self.query_one(".live-counts", Static).update(table)
