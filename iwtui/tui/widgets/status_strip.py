"""The header strip: the install, read-only state, live state and the live counts.

Everything shown here comes from disk and may hold anything (a root path with ``[``):
it is assembled as ``rich.text.Text`` pieces, never as markup.

The strip fits its width: on an 80-column terminal the counts stay on screen (short
labels) and the root path is shortened from the left, because during an incident the
numbers matter more than the path.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from iwtui.icewarp.install import Install
from iwtui.icewarp.queue.folders import QUEUE_NAMES, QUEUE_TITLES
from iwtui.icewarp.status import Snapshot

SHORT_TITLES = {
    "outgoing": "Out",
    "priority": "Pri",
    "retry": "Rty",
    "incoming": "In",
    "mda": "MDA",
    "sms": "SMS",
    "quarantine": "Quar",
    "tarpit": "Tarpit",
    "sessions": "Sess",
}
LONG_TITLES = {
    **QUEUE_TITLES,
    "quarantine": "Quarantine",
    "tarpit": "Tarpitted",
    "sessions": "Sessions",
}


def shorten_left(text: str, width: int) -> str:
    """``/very/long/path`` -> ``…ong/path`` in at most ``width`` cells."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    return "…" + text[-(width - 1) :]


class StatusStrip(Widget):
    """Two lines: where and how; then what is queued, quarantined, tarpitted and connected."""

    # a new snapshot or session count repaints the strip only when what it shows changed
    # (on a busy server a snapshot comes several times a second, mostly with the same counts)
    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True, repaint=False)
    live_state: reactive[str] = reactive("live")
    sessions: reactive[int | None] = reactive(None, repaint=False)

    def __init__(self, install: Install, read_only: bool, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.install = install
        self.read_only = read_only
        self._changed: set[str] = set()
        self._drawn: tuple[str, tuple[object, ...]] | None = None

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
        self._repaint_if_changed()

    def watch_sessions(self, old: int | None, new: int | None) -> None:
        if old is not None and old != new:
            self._changed.add("sessions")
        self._repaint_if_changed()

    def _repaint_if_changed(self) -> None:
        text = self.render_strip()
        drawn = (text.plain, tuple(text.spans))
        if drawn != self._drawn:
            self._drawn = drawn
            self.refresh()

    def _count(self, key: str, value: int | None, short: bool) -> Text:
        style = "bold reverse" if key in self._changed else "bold"
        shown = "—" if value is None else f"{value:,}"
        label = (SHORT_TITLES if short else LONG_TITLES)[key]
        return Text.assemble((f"{label} ", "dim"), (shown, style))

    def _top(self, width: int) -> Text:
        inst = self.install
        tail = Text.assemble(
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
        room = max(8, width - len("iwtui ") - tail.cell_len)
        return Text.assemble(
            ("iwtui ", "bold"), (shorten_left(str(inst.root), room), "underline"), tail
        )

    def _counts(self, short: bool) -> Text:
        snap = self.snapshot
        if snap is None:
            return Text("reading the install…", style="dim")
        parts = [self._count(q, snap.queues.get(q), short) for q in QUEUE_NAMES]
        parts.append(Text("│", style="dim"))
        quarantine = snap.spam_lists.get("quarantine") if snap.spam_lists else None
        held = self._count("quarantine", quarantine, short)
        if snap.spam_missing:  # not there at all is not the same as unreadable
            held.append(" (no db)" if short else " (spam db not found)", style="yellow")
        elif snap.spam_error:
            held.append(" (db unreadable)" if short else " (spam db unreadable)", style="red")
        parts.append(held)
        t = self._count("tarpit", snap.tarpit_active, short)
        if snap.tarpit_total != snap.tarpit_active and not short:
            t.append(f" (+{snap.tarpit_total - snap.tarpit_active} expired)", style="dim")
        parts.append(t)
        parts.append(Text("│", style="dim"))
        parts.append(self._count("sessions", self.sessions, short))
        return Text(" " if short else "  ").join(parts)

    def render_strip(self, width: int | None = None) -> Text:
        """Both lines for ``width`` cells (the widget's own width when not given)."""
        if width is None:
            width = self.content_size.width or 160
        line2 = self._counts(short=False)
        if line2.cell_len > width:
            line2 = self._counts(short=True)
        line2.truncate(width, overflow="ellipsis")
        top = self._top(width)
        top.truncate(width, overflow="ellipsis")
        return Text("\n").join([top, line2])

    def render(self) -> Text:
        return self.render_strip()
