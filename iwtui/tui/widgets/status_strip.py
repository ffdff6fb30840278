"""The header strip: the install, read-only state, live state and the live counts.

Everything shown here comes from disk and may hold anything (a root path with ``[``):
it is assembled as ``rich.text.Text`` pieces, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from iwtui.icewarp.install import Install
from iwtui.icewarp.queues import QUEUE_NAMES, QUEUE_TITLES
from iwtui.icewarp.status import Snapshot


class StatusStrip(Static):
    """Two lines: where and how; then what is queued, quarantined and tarpitted."""

    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True)
    live_state: reactive[str] = reactive("live")

    def __init__(self, install: Install, read_only: bool, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.install = install
        self.read_only = read_only
        self._previous: Snapshot | None = None
        self._changed: set[str] = set()

    def watch_snapshot(self, old: Snapshot | None, new: Snapshot | None) -> None:
        self._changed = set()
        if old is not None and new is not None:
            for q in QUEUE_NAMES:
                if old.queues.get(q) != new.queues.get(q):
                    self._changed.add(q)
            if (old.spam_lists or {}).get("quarantine") != (new.spam_lists or {}).get("quarantine"):
                self._changed.add("quarantine")
            if old.tarpit_active != new.tarpit_active:
                self._changed.add("tarpit")
        self.update(self.render_strip())

    def watch_live_state(self) -> None:
        self.update(self.render_strip())

    def _count(self, key: str, label: str, value: int | None) -> Text:
        style = "bold reverse" if key in self._changed else "bold"
        shown = "—" if value is None else f"{value:,}"
        return Text.assemble((f"{label} ", "dim"), (shown, style))

    def render_strip(self) -> Text:
        inst = self.install
        top = Text.assemble(
            ("iwtui ", "bold"),
            (str(inst.root), "underline"),
            (f"  server {inst.server_id}" if inst.server_id else "", ""),
            "  ",
            ("READ-ONLY", "bold reverse yellow") if self.read_only else ("read-write", "green"),
            "  ",
            {
                "live": ("● live", "green"),
                "paused": ("‖ paused (p resumes)", "bold yellow"),
                "poll": ("○ polling", "cyan"),
            }.get(self.live_state, (self.live_state, "")),
        )
        snap = self.snapshot
        parts: list[Text] = []
        if snap is None:
            parts.append(Text("reading the install…", style="dim"))
        else:
            for q in QUEUE_NAMES:
                parts.append(self._count(q, QUEUE_TITLES[q], snap.queues.get(q)))
            parts.append(Text("│", style="dim"))
            quarantine = snap.spam_lists.get("quarantine") if snap.spam_lists else None
            held = self._count("quarantine", "Quarantine", quarantine)
            if snap.spam_error:
                held.append(" (spam db unreadable)", style="red")
            parts.append(held)
            t = self._count("tarpit", "Tarpitted", snap.tarpit_active)
            if snap.tarpit_total != snap.tarpit_active:
                t.append(f" (+{snap.tarpit_total - snap.tarpit_active} expired)", style="dim")
            parts.append(t)
            parts.append(Text("│", style="dim"))
            parts.append(Text.assemble(("Sessions ", "dim"), ("—", "dim")))
        line2 = Text("  ").join(parts)
        return Text("\n").join([top, line2])
