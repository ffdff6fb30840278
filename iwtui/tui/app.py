"""The App: the Status node's areas, the header strip, keymap, theme and refresh policy.

Refresh policy (after Dolphie): counts are computed in a thread worker, applied on the UI
thread in one go; a refresh never overlaps another (requests during a run are merged into
one follow-up run). File watchers request a refresh of just the changed areas; a slow
timer re-reads everything as a safety net (and for tarpit expiry, which no file event
announces). Without watchers, the timer polls every ``refresh_seconds``. ``p`` pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast

from textual import events, on, work
from textual.actions import parse
from textual.app import App, ComposeResult
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, OptionList, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from iwtui.config import LoadedConfig
from iwtui.errors import IwtuiError
from iwtui.icewarp import status
from iwtui.icewarp.actions import ActionGate, describe_record, install_roots
from iwtui.icewarp.install import Install
from iwtui.icewarp.watch import Area, watch
from iwtui.resources import resource_dir
from iwtui.text import safe_lines, safe_text
from iwtui.tui import heap, styles_cache_fix
from iwtui.tui.areas import AREAS, BY_ID, AreaInfo
from iwtui.tui.bindings import bindings, effective_keys, key_display
from iwtui.tui.gate import run_undo
from iwtui.tui.screens.help import HelpScreen
from iwtui.tui.screens.journal import JournalScreen
from iwtui.tui.screens.pending import PendingArea
from iwtui.tui.svg import unglue
from iwtui.tui.widgets.footer import IwtuiFooter
from iwtui.tui.widgets.nav import NavList
from iwtui.tui.widgets.status_strip import StatusStrip

styles_cache_fix.apply()

SAFETY_POLL_S = 15.0
# Watcher events are delivered at most this often (the header and the shown area follow
# a busy server once a second; a change after a quiet spell is delivered at once).
WATCH_GAP_S = 1.0
TRIM_S = 60.0
NARROW_COLUMNS = 120  # under this width the navigation column hides


def _now() -> datetime:
    """Now, for tarpit expiry in the header (tests and screenshots pin it)."""
    return datetime.now()


class AreaCommands(Provider):
    """Command palette: the shown area's actions and tabs, Undo and Journal, and a jump
    to any area by name."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, IwtuiApp)
        matcher = self.matcher(query)
        commands = [
            *palette_commands(app, self.screen),
            ("Undo the last action", app.action_undo, f"key {app.key_for('app.undo')}"),
            ("Journal of actions", app.action_journal, f"key {app.key_for('app.journal')}"),
            *((f"Go to {a.title}", partial(app.action_area, a.id), f"key {app._area_key(a.id)}")
              for a in AREAS),
        ]  # fmt: skip
        for text, command, help_text in commands:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)


def palette_commands(app: IwtuiApp, screen: Screen[object]) -> list[tuple[str, Any, str]]:
    """(text, command, help) for every key action of the shown area (its bindings and
    those of its focused widgets, as the footer shows them) and every tab it has."""
    pane = app.query_one("#areas", ContentSwitcher).visible_content
    if pane is None or screen is not app.screen_stack[0]:
        return []
    title = BY_ID[pane.id].title if pane.id in BY_ID else ""
    focused = screen.focused
    nodes: list[DOMNode] = []
    node: DOMNode | None = focused if focused is not None and pane in focused.ancestors_with_self else pane  # fmt: skip
    while node is not None:
        nodes.append(node)
        if node is pane:
            break
        node = node.parent
    out: list[tuple[str, Any, str]] = []
    seen: set[str] = set()
    for node in nodes:
        for key, bound in node._bindings:
            name, params = parse(bound.action)[1:]
            if not bound.id or not bound.description or bound.description in seen:
                continue  # Textual's own scroll keys have no id: not commands
            if name in _MOVES:
                continue
            if node.check_action(name, params) is False:
                continue
            seen.add(bound.description)
            shown = app.key_for(bound.id) if bound.id else key_display(key)
            out.append((f"{title}: {bound.description}", partial(app.run_action, bound.action, node),
                        f"key {shown}"))  # fmt: skip
    for area in app.query_one("#areas", ContentSwitcher).children:  # every area's tabs
        where = BY_ID[area.id].title if area.id in BY_ID else ""
        for tabs in area.query(TabbedContent):
            for tab in tabs.query(TabPane):
                label = str(tabs.get_tab(tab).label) if tab.id else ""
                if not tab.id or not label:
                    continue
                short = tab.id.removeprefix("tab-")
                alias = (
                    f" ({short})" if short.isalpha() and short.lower() not in label.lower() else ""
                )
                go = partial(_show_tab, app, str(area.id), tabs, tab.id)
                out.append((f"{where}: {label} tab{alias}", go, f"area {app._area_key(str(area.id))}"))  # fmt: skip
    return out


# cursor movement is not a command
_MOVES = frozenset({"move", "page", "top", "bottom", "first", "last", "cursor_up",
                    "cursor_down", "edge", "follow", "cursor"})  # fmt: skip


def _show_tab(app: IwtuiApp, area_id: str, tabs: TabbedContent, tab_id: str) -> None:
    # the tab first: the area then focuses that tab's list (AreaTabs keeps the tab asked
    # for whatever focus lands late)
    tabs.active = tab_id
    app.action_area(area_id)


class AreaSlot(Widget):
    """The place of an area not built yet (the console builds them just after its first
    paint; ``IwtuiApp.build_area``). Never shown: an area is built before it is."""

    def __init__(self, area: AreaInfo) -> None:
        super().__init__(id=f"slot-{area.id}")
        self.area = area


_T = TypeVar("_T")


class IwtuiApp(App[int]):
    TITLE = "iwtui"
    CSS_PATH = [
        resource_dir("styles") / n
        for n in dict.fromkeys(("base.tcss", "shell.tcss", *(a.css for a in AREAS if a.css)))
    ]
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {AreaCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, install: Install, loaded: LoadedConfig, *, demo: bool = False) -> None:
        super().__init__()
        self.install = install
        self.loaded = loaded
        self.cfg = loaded.config
        self.demo = demo
        self.gate = ActionGate(self.cfg.state_path(), read_only=self.cfg.read_only)
        self.snapshot: status.Snapshot | None = None
        self.paused = False
        self._refreshing = False
        self._pending: set[Area] = set()
        self._watched: set[Area] = set()  # watcher events held back by WATCH_GAP_S
        self._watch_timer: Timer | None = None
        self._watch_last = -WATCH_GAP_S
        self._stop_watch = asyncio.Event()
        self._started = time.perf_counter()
        self.first_paint_s: float | None = None
        # areas whose widget is (being) built: set once it is in place (AreaSlot)
        self._built: dict[str, asyncio.Event] = {AREAS[0].id: asyncio.Event()}
        self._built[AREAS[0].id].set()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications are plain text: a file name or log text in a message is never
        read as Rich markup (``[link=...]``), and control characters show escaped."""
        super().notify(safe_lines(message), title=safe_text(title), severity=severity,
                       timeout=timeout, markup=False)  # fmt: skip

    @property
    def closing(self) -> bool:
        """The console is shutting down: its widgets go one by one."""
        return not self.is_running or bool(self._exit)

    def call_from_thread(
        self, callback: Callable[..., _T | Awaitable[_T]], *args: Any, **kwargs: Any
    ) -> _T:
        """As Textual's, but a worker's result that arrives while the console closes finds
        its widgets gone: that lookup failure is dropped (``None``) instead of failing the
        worker. While the console runs, a missing widget is still an error."""

        async def guarded() -> Any:
            try:
                result = callback(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result
            except NoMatches:
                if self.closing:
                    return None
                raise

        return cast(_T, super().call_from_thread(guarded))

    def _handle_exception(self, error: Exception) -> None:
        """A widget that finds a child gone while the console closes (an area still being
        built when the user quits at once: its widgets are removed as they mount) is not
        an error, as in ``call_from_thread``; while the console runs, it is one."""
        if isinstance(error, NoMatches) and self.closing:
            return
        super()._handle_exception(error)

    def post_from_thread(self, callback: Callable[..., object], *args: Any) -> None:
        """Run ``callback(*args)`` on the UI thread soon, without waiting for it: for a
        worker's progress reports. A worker that waits for the UI thread (as
        ``call_from_thread`` does) while the UI thread waits for that worker (quitting
        stops an ingest in flight) would hang both. Dropped once the console closes."""
        loop = self._loop
        if loop is None or loop.is_closed() or self.closing:
            return

        def run() -> None:
            if self.closing:
                return
            with contextlib.suppress(NoMatches):  # its widget went away meanwhile
                callback(*args)

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(run)

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusStrip(self.install, self.cfg.read_only, id="status-strip")
        with Horizontal(id="body"):
            yield NavList(
                *(Option(f"{self._area_key(a.id)} {a.title}", id=a.id) for a in AREAS), id="nav"
            )
            with ContentSwitcher(initial=AREAS[0].id, id="areas"):
                # the first area now, the others just after the first paint (composing all
                # nine first took 0.4-0.6 s of the start: their CSS applied to ~1,000 widgets)
                yield AREAS[0].build(self.install, self.loaded)
                for area in AREAS[1:]:
                    yield AreaSlot(area)
        yield IwtuiFooter()

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """The SVG of the screen, with no text run that begins with spaces: renderers draw
        such a run from its first glyph, gluing words (``○ not followingsmtp``)."""
        return unglue(super().export_screenshot(title=title, simplify=simplify))

    def _area_key(self, area_id: str) -> str:
        """The first key of ``app.area.<id>`` after the config's keymap, as shown."""
        return self.key_for(f"app.area.{area_id}")

    def key_for(self, binding_id: str) -> str:
        """The first key of a binding after the config's keymap, as shown (``u``)."""
        keys = effective_keys(binding_id, self.cfg.keymap)
        return key_display(keys.split(",")[0])

    def on_mount(self) -> None:
        if self.cfg.keymap:
            self.set_keymap(self.cfg.keymap)
        if self.cfg.theme in self.available_themes:
            self.theme = self.cfg.theme
        else:
            self.notify(
                f"theme {self.cfg.theme!r} is unknown; using {self.theme}", severity="warning"
            )
        nav = self.query_one("#nav", OptionList)
        nav.highlighted = 0
        # the first area takes the keys at once when it is built (triage starts at once);
        # Tab reaches the navigation, 1-9 switch areas from anywhere
        first = self.query_one("#areas", ContentSwitcher).visible_content
        if first is not None and not isinstance(first, PendingArea):
            first.focus()
        else:
            nav.focus()
        strip = self.query_one(StatusStrip)
        if self.cfg.watch:
            strip.live_state = "live"
            self.watch_files()
            self.set_interval(SAFETY_POLL_S, self.refresh_all, name="safety-poll")
        else:
            strip.live_state = "poll"
            self.set_interval(self.cfg.refresh_seconds, self.refresh_all, name="poll")
        self.request_refresh(status.ALL_AREAS)
        # freed heap pages back to the system once a minute (a console runs for hours)
        self.set_interval(TRIM_S, heap.trim, name="heap-trim")
        # (a worker: the keys are handled while the other areas are built)
        self.call_after_refresh(lambda: self.run_worker(self._build_areas(), group="areas"))
        if self.demo:
            self.notify(
                f"Simulated server writing live into {self.install.root}; removed on exit.",
                title="Demo",
                timeout=8,
            )

    def on_resize(self, event: events.Resize) -> None:
        """Under NARROW_COLUMNS the navigation hides (the areas need the width)."""
        narrow = event.size.width < NARROW_COLUMNS
        self.screen.set_class(narrow, "-narrow")
        nav = self.query_one("#nav", OptionList)
        if narrow and nav.has_focus:
            pane = self.query_one("#areas", ContentSwitcher).visible_content
            if pane is not None:
                pane.focus()

    async def on_unmount(self) -> None:
        self._stop_watch.set()

    # --- refresh policy ----------------------------------------------------------------

    def refresh_all(self) -> None:
        self.request_refresh(status.ALL_AREAS)

    def request_refresh(self, areas: Iterable[Area]) -> None:
        areas = set(areas)
        if areas and not areas & status.ALL_AREAS and not self.paused:
            # only folders the header does not count (logs, config): no snapshot to
            # compute, the areas that read them are told at once
            self._files_changed(frozenset(areas))
            return
        self._pending |= areas
        if self._refreshing or self.paused or not self._pending:
            return
        todo = frozenset(self._pending)
        self._pending.clear()
        self._refreshing = True
        self.compute_snapshot(todo, self.snapshot)

    @work(thread=True, exclusive=False, group="status", exit_on_error=False)
    def compute_snapshot(self, areas: frozenset[Area], previous: status.Snapshot | None) -> None:
        try:
            snap = status.refresh(self.install, areas, previous, now=_now())
        finally:
            self.call_from_thread(self._refresh_done)
        self.call_from_thread(self.apply_snapshot, snap)
        self.call_from_thread(self._files_changed, areas)

    def _files_changed(self, areas: frozenset[Area]) -> None:
        """Tell every area which parts of the install changed (``files_changed``): the
        Message Queue lists the queues again, the Spam Queues reload their lists."""
        if self.closing:
            return
        for pane in self.query_one("#areas", ContentSwitcher).children:
            hook = getattr(pane, "files_changed", None)
            if hook is not None:
                hook(areas)

    def _refresh_done(self) -> None:
        self._refreshing = False
        if self._pending and not self.paused:
            self.request_refresh(())

    def apply_snapshot(self, snap: status.Snapshot) -> None:
        if self.paused:
            return
        self.snapshot = snap
        with self.batch_update():
            self.query_one(StatusStrip).snapshot = snap
        if self.first_paint_s is None:
            self.first_paint_s = time.perf_counter() - self._started
            t0 = os.environ.get("IWTUI_DEMO_T0")
            if self.demo and t0:
                self.log.info(f"demo: first counts after {time.perf_counter() - float(t0):.2f} s")

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_files(self) -> None:
        async for areas in watch(self.install, self._stop_watch):
            self._watched |= areas
            if self._watch_timer is None:
                wait = self._watch_last + WATCH_GAP_S - time.monotonic()
                if wait <= 0:
                    self._deliver_watched()
                else:
                    self._watch_timer = self.set_timer(wait, self._deliver_watched)

    def _deliver_watched(self) -> None:
        """Watcher events reach the areas at most once per WATCH_GAP_S: the first change
        after a quiet spell at once, the changes of a busy spell together at the end of the
        gap (a busy server writes its logs and queues several times a second; each delivery
        recounts the header and relists what is shown)."""
        self._watch_timer = None
        self._watch_last = time.monotonic()
        areas, self._watched = self._watched, set()
        if areas and not self.closing:
            self.request_refresh(areas)

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors surface: a clear message, and the app goes on."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        text = " ".join(str(error).split()) or type(error).__name__
        self.notify(
            f"{event.worker.name or 'background work'}: {text}",
            title="Error",
            severity="error",
            timeout=10,
        )
        if event.worker.group == "watch":
            self.query_one(StatusStrip).live_state = "poll"
            self.set_interval(self.cfg.refresh_seconds, self.refresh_all, name="poll")

    # --- actions -----------------------------------------------------------------------

    def action_area(self, area_id: str) -> None:
        self.show_area(area_id)

    def show_area(self, area_id: str, then: Callable[[Widget], object] | None = None, *,
                  focus: bool = True) -> None:  # fmt: skip
        """Show an area (built first if it is still a slot: a key in the first moments),
        its widget given the keys (``focus``), then ``then(area)``."""
        if area_id not in BY_ID:
            return
        if area_id in self._built:
            self._switch(area_id, then, focus)
            return

        async def built_then_shown() -> None:
            await self.build_area(area_id)
            if not self.closing:
                self._switch(area_id, then, focus)

        self.call_later(built_then_shown)

    def _switch(self, area_id: str, then: Callable[[Widget], object] | None, focus: bool) -> None:
        # the message can arrive while the console closes and the panes are gone
        for switcher in self.query("#areas").results(ContentSwitcher):
            hidden = switcher.visible_content
            switcher.current = area_id
            if hidden is not None and hidden is not switcher.visible_content:
                heap.release_drawn(hidden)  # drawn again when shown
            nav = self.query_one("#nav", OptionList)
            index = [a.id for a in AREAS].index(area_id)
            if nav.highlighted != index:
                nav.highlighted = index
            pane = switcher.visible_content
            if pane is not None and focus:
                # the shown area takes the keys at once; never leave them with a hidden
                # one (a key meant for this area must not act on the list of another)
                pane.focus()
            if pane is not None and then is not None:
                then(pane)

    async def build_area(self, area_id: str) -> None:
        """The area's widget in place of its slot (once; a second caller waits for it)."""
        ready = self._built.get(area_id)
        if ready is not None:
            await ready.wait()
            return
        ready = self._built[area_id] = asyncio.Event()
        try:
            switcher = self.query_one("#areas", ContentSwitcher)
            slot = switcher.get_child_by_id(f"slot-{area_id}")
            widget = BY_ID[area_id].build(self.install, self.loaded)
            widget.display = False  # (the switcher hides only the children it started with)
            await switcher.mount(widget, after=slot)
            await slot.remove()
        except NoMatches:
            if not self.closing:
                raise
        finally:
            ready.set()

    async def _build_areas(self) -> None:
        """After the first paint: every area still a slot, in order (keys are handled
        between two areas; one asked for meanwhile is built at once)."""
        for area in AREAS:
            if self.closing:
                return
            await self.build_area(area.id)

    @property
    def areas_built(self) -> bool:
        """Every area's widget is in place (the palette lists every area's tabs)."""
        return len(self._built) == len(AREAS) and all(e.is_set() for e in self._built.values())

    @on(OptionList.OptionHighlighted, "#nav")
    def nav_moved(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.show_area(event.option.id, focus=False)

    @on(OptionList.OptionSelected, "#nav")
    def nav_chosen(self, event: OptionList.OptionSelected) -> None:
        pane = self.query_one("#areas", ContentSwitcher).visible_content
        if pane is not None:
            pane.focus()

    def action_help(self) -> None:
        """The keys, those that work here first (the focused widget's and its ancestors')."""
        if isinstance(self.screen, HelpScreen):
            return
        focused = self.screen.focused
        chain = focused.ancestors_with_self if focused is not None else [self.screen, self]
        here = {bound.id for node in chain for _key, bound in node._bindings if bound.id}
        pane = self.query_one("#areas", ContentSwitcher).visible_content
        where = BY_ID[pane.id].title if pane is not None and pane.id in BY_ID else ""
        self.push_screen(HelpScreen(self.cfg.keymap, here, where))

    def action_undo(self, journal_id: str | None = None) -> None:
        """Undo the newest undoable action (or ``journal_id``) after a confirmation that
        lists what moves back, through the gate, as ``iwtui undo`` does."""
        try:
            self.gate.check("undo")
            entry = self.gate.find_undoable(journal_id)
            records = self.gate.undo_records(entry)
            roots = install_roots(self.install)
            self.gate.check_roots_exist(records, self.gate.allowed_roots(roots))
        except IwtuiError as exc:
            self.notify(str(exc), title="Undo", severity="warning")
            return
        run_undo(self, self.gate, entry, roots, [describe_record(r) for r in records],
                 on_done=lambda _o: self.refresh_all())  # fmt: skip

    def action_journal(self) -> None:
        if isinstance(self.screen, JournalScreen):
            return

        def chosen(journal_id: str | None) -> None:
            if journal_id:
                self.action_undo(journal_id)

        self.push_screen(JournalScreen(self.gate, dict(self.cfg.keymap)), chosen)

    def action_refresh_now(self) -> None:
        self.refresh_all()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        strip = self.query_one(StatusStrip)
        strip.live_state = "paused" if self.paused else ("live" if self.cfg.watch else "poll")
        if not self.paused:
            self.refresh_all()

    def set_sessions_count(self, n: int | None) -> None:
        """Active SMTP, POP3 and IMAP sessions, for the header (from the Sessions area)."""
        self.query_one(StatusStrip).sessions = n

    @property
    def current_area(self) -> str | None:
        return self.query_one("#areas", ContentSwitcher).current


def run_app(install: Install, loaded: LoadedConfig, *, demo: bool = False) -> int:
    app = IwtuiApp(install, loaded, demo=demo)
    app.run()
    return app.return_code or 0
