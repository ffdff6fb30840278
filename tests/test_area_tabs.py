"""AreaTabs: the tab shown is the one asked for, and a focus never stays in a hidden tab
(Textual's TabbedContent follows a focus into a hidden pane, late, and its reset of a
hidden focus can pick a widget of the pane just hidden)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, TabPane

from iwtui.tui.widgets.area_tabs import AreaTabs

from .tui_helpers import wait_for


class Area(Vertical):
    def __init__(self, id: str) -> None:
        super().__init__(id=id)
        self.shown: list[str] = []  # every tab shown, in order

    def on_tabbed_content_tab_activated(self, event: AreaTabs.TabActivated) -> None:
        self.shown.append(event.pane.id or "")

    def compose(self) -> ComposeResult:
        with AreaTabs(id="tabs", refocus=self.main):
            for name in ("a", "b"):
                with TabPane(name, id=f"tab-{name}"):
                    yield Input(id=f"{name}-main")
                    yield Input(id=f"{name}-other")

    def main(self) -> None:
        tabs = self.query_one(AreaTabs)
        self.query_one(f"#{tabs.active.removeprefix('tab-')}-main").focus()


class TabsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Area(id="area")
        yield Input(id="outside")


def _focus(app: App[None]) -> str | None:
    return getattr(app.focused, "id", None)


async def test_a_focus_landing_in_a_hidden_pane_goes_to_the_shown_tab() -> None:
    app = TabsApp()
    async with app.run_test() as pilot:
        tabs = app.query_one(AreaTabs)
        area = app.query_one(Area)
        tabs.active = "tab-b"
        app.query_one("#b-other").focus()
        await wait_for(pilot, lambda: _focus(app) == "b-other")
        area.shown.clear()
        app.screen.set_focus(app.query_one("#a-other"))  # a late focus, or Textual's reset
        await wait_for(pilot, lambda: _focus(app) == "b-main")
        await pilot.pause(0.3)
        assert tabs.active == "tab-b" and _focus(app) == "b-main"
        assert area.shown == []  # tab A was never shown, not even for a moment


async def test_a_focus_fallen_to_nothing_from_the_tabs_comes_back() -> None:
    app = TabsApp()
    async with app.run_test() as pilot:
        app.query_one("#a-other").focus()
        await wait_for(pilot, lambda: _focus(app) == "a-other")
        app.screen.set_focus(None)
        await wait_for(pilot, lambda: _focus(app) == "a-main")


async def test_focus_moved_elsewhere_on_purpose_is_left_alone() -> None:
    app = TabsApp()
    async with app.run_test() as pilot:
        app.query_one("#a-other").focus()
        await wait_for(pilot, lambda: _focus(app) == "a-other")
        app.query_one("#outside").focus()
        await pilot.pause(0.3)
        assert _focus(app) == "outside"
        # tabs hidden with their area: a focus hidden with them is not taken back
        app.query_one("#a-main").focus()
        await wait_for(pilot, lambda: _focus(app) == "a-main")
        app.query_one("#area").display = False
        app.screen.set_focus(None)
        await pilot.pause(0.3)
        assert _focus(app) is None
        assert app.query_one(AreaTabs).active == "tab-a"
