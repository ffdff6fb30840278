"""The Spam Queues area (issue 5): Quarantine, Whitelist, Blacklist, Greylisting and
Intrusion Prevention, one tab each, as the seed describes them.

Lists are read with aiosqlite (async, on the event loop; no lock is held between reads),
tarpit.dat in a thread. Only the shown tab reloads when a watcher reports a change of
``antispam.db`` (or its ``-wal``) or ``tarpit.dat``; the others reload when shown. Every
write goes through the action gate (read-only refusal, a dialog with the count, the
journal, undo). Buttons the seed marks "non-functional here" or "useless here" are not shown.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Input, Select, TabbedContent, TabPane

from iwtui.icewarp.install import Install
from iwtui.icewarp.watch import Area
from iwtui.tui.bindings import bindings
from iwtui.tui.screens.spam.tabs import TABS, GreyTab, SpamTab, countdown
from iwtui.tui.screens.spam.tarpit import TarpitTab
from iwtui.tui.widgets.area_tabs import AreaTabs

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

__all__ = ["SpamArea", "SpamTab", "TarpitTab", "countdown"]

SAFETY_S = 20.0  # a reload of the shown tab even without a watcher event


class SpamArea(Vertical):
    """The Spam Queues area: five tabs; keys act on the shown tab's list."""

    BINDINGS = bindings("spam")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> SpamArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install)

    def __init__(self, install: Install, *, live: bool = True) -> None:
        super().__init__(id="spam", classes="area")
        self.install, self.live = install, live
        self._tabs: list[SpamTab] = []

    def compose(self) -> ComposeResult:
        with AreaTabs(id="spam-tabs", refocus=self.focus):
            for spec in TABS:
                with TabPane(spec.title, id=f"tab-{spec.id}"):
                    cls = (
                        GreyTab
                        if spec.id == "greylist"
                        else TarpitTab
                        if spec.id == "tarpit"
                        else SpamTab
                    )
                    tab = cls(spec, self.install)
                    self._tabs.append(tab)
                    yield tab

    @property
    def current(self) -> SpamTab:
        tab_id = self.query_one(TabbedContent).active.removeprefix("tab-") or "quarantine"
        return self.query_one(f"#spam-{tab_id}", SpamTab)

    def focus(self, scroll_visible: bool = True) -> SpamArea:
        self.current.table.focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        if self.live:
            self.set_interval(SAFETY_S, self._safety, name="spam-refresh")

    def on_show(self) -> None:
        if not self.current.loaded:
            self.current.reload()

    def _safety(self) -> None:
        if self.display and not getattr(self.app, "paused", False):
            self.current.reload()

    @on(TabbedContent.TabActivated)
    def tab_shown(self, event: TabbedContent.TabActivated) -> None:
        tab = self.current
        self.refresh_bindings()
        if not tab.loaded or tab.stale:
            tab.stale = False
            tab.reload()
        if self.display:  # (its first tab is activated while the area is built, hidden)
            tab.table.focus()

    def files_changed(self, areas: frozenset[Area]) -> None:
        if Area.LOGS in areas:  # several times a second on a busy server: no DOM query
            for tab in self._tabs:
                if isinstance(tab, TarpitTab):
                    tab.log_changed()
        if Area.SPAM in areas or Area.TARPIT in areas:
            self.changed(Area.SPAM in areas, Area.TARPIT in areas)

    def changed(self, database: bool, tarpit_file: bool) -> None:
        """A watcher saw the database or tarpit.dat change: reload the shown tab now;
        hidden tabs of that source reload when shown."""
        for tab in self.query(SpamTab):
            if not (tarpit_file if tab.spec.id == "tarpit" else database):
                continue
            if tab is self.current and self.display:
                tab.reload()
            else:
                tab.stale = True

    @on(SpamTab.ActedOn)
    def sibling_changed(self, event: SpamTab.ActedOn) -> None:
        """An action moved rows between lists: the other lists are stale."""
        for tab in self.query(SpamTab):
            if tab.spec.id != event.tab_id and tab.spec.id != "tarpit":
                tab.stale = True

    # --- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers only what the shown tab does (as the seed hides its
        non-functional buttons)."""
        if action == "act" and parameters:
            return parameters[0] in {a for _l, a in self.current.spec.buttons}
        if action == "log_lines":
            return isinstance(self.current, TarpitTab)
        return True

    def action_act(self, action: str) -> None:
        self.current.act(action)

    def action_tab(self, delta: int) -> None:
        ids = [f"tab-{t.id}" for t in TABS]
        tabs = self.query_one(TabbedContent)
        tabs.active = ids[(ids.index(tabs.active) + delta) % len(ids)]

    def action_log_lines(self) -> None:
        tab = self.current
        if isinstance(tab, TarpitTab):
            tab.log_lines()
        else:
            self.app.notify("L works on the Intrusion Prevention tab", title="Spam Queues")

    def action_focus_filter(self) -> None:
        with contextlib.suppress(Exception):
            self.current.query(".spam-filter").first().focus()

    def action_back_to_table(self) -> None:
        self.current.table.focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.current.reload()
        self.current.table.focus()

    @on(Select.Changed)
    def selected(self) -> None:
        if self.current.loaded:
            self.current.reload()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").split("-btn-", 1)[-1]
        self.current.act(action)
