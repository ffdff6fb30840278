"""Tabs of an area that change only when asked (a key, a click on a tab, ``active`` set),
and a focus that never stays in a hidden tab.

Textual's TabbedContent shows the pane a focused widget is in (a TabPane.Focused message).
That message arrives after the focus, and Textual moves a focus hidden by a switch to a
sibling of the hidden widget, which may be in the pane just hidden. A focus given just
before a switch (the area's own, on being shown), or that reset, took the tabs back to the
old tab; the new tab's control, hidden in turn, then lost the focus to nothing (seen under
load: Log Analyzer's E-mail tab shown with no focus, its keys dead). Here the tabs do not
follow the focus; a focus that lands in a hidden pane, or falls to nothing from inside
these tabs, goes to the area's main control (``refocus``) once the screen has refreshed."""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane


class AreaTabs(TabbedContent):
    def __init__(self, *, refocus: Callable[[], object], id: str | None = None) -> None:
        super().__init__(id=id)
        self._refocus = refocus

    def on_mount(self) -> None:
        self.watch(self.screen, "focused", self._focus_moved, init=False)

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        # the tab shown is the one asked for, not the pane a focus fell into (without
        # prevent_default Textual runs TabbedContent's own handler after this one)
        event.stop()
        event.prevent_default()

    def _stray(self, focused: Widget | None, was_ours: bool) -> bool:
        """Whether FOCUSED is a focus the area must take back: in a hidden pane of these
        tabs, or nothing after being in them, while the tabs are on screen."""
        if focused is None:
            ours = was_ours
        else:  # a focus elsewhere on the screen (most of them): no further look
            pane = self.active_pane
            ours = self in focused.ancestors and (pane is None or pane not in focused.ancestors)
        return ours and all(n.display for n in self.ancestors_with_self if isinstance(n, Widget))

    def _focus_moved(self, old: Widget | None, new: Widget | None) -> None:
        was_ours = old is not None and self in old.ancestors
        if self._stray(new, was_ours):
            self.call_after_refresh(self._settle, was_ours)

    def _settle(self, was_ours: bool) -> None:
        if self.is_attached and self._stray(self.screen.focused, was_ours):
            self._refocus()
