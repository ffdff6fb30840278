"""Status > Message Queue: every queue and user mailboxes in one virtual table, live, with
safe bulk actions through the gate."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select

from iwtui.errors import IwtuiError
from iwtui.icewarp import files
from iwtui.icewarp.actions import ActionGate, Plan
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.logs.search import grep_days
from iwtui.icewarp.queue import actions as queue_actions
from iwtui.icewarp.queue import deferrals, messages, scanning
from iwtui.icewarp.queue.folders import QUEUE_NAMES, QUEUE_TITLES
from iwtui.icewarp.queue.messages import QueueItem
from iwtui.icewarp.watch import Area
from iwtui.text import write_inert
from iwtui.tui.bindings import bindings
from iwtui.tui.gate import run_plan
from iwtui.tui.screens.queue.dialogs import OwnerScreen, ReasonsScreen, TextScreen, age
from iwtui.tui.widgets.item_table import Column, ItemTable, sort_rows, stable_sort
from iwtui.tui.widgets.panel import Panel
from iwtui.units import compact_bytes

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo

SAFETY_S = 10.0  # a check of the queue folders when no watcher event came
FULL_EVERY = 6  # every sixth safety pass lists and stats every file (rewrites in place)
VIEW_BYTES = 256 * 1024
SLOW_SCAN_S = 1.0  # a scan slower than this says how long it took


def _now() -> float:
    """The clock for ages (tests pin it)."""
    return datetime.now().timestamp()


def _age(ts: float) -> str:
    return age(ts, _now())


_QUEUE_RANK = {q: 10 * n for n, q in enumerate(QUEUE_NAMES)}  # the order of the queue selector
COLUMNS: list[Column[QueueItem]] = [
    Column(
        "Status",
        7,
        lambda i: i.queue[:4] + ("" if i.priority is None else f" {i.priority}"),
        lambda i: _QUEUE_RANK.get(i.queue, 90) + (i.priority or 0),  # a scalar: see sort_rows
    ),
    Column("From", 28, lambda i: i.sender or i.from_, lambda i: i.sender, least=14),
    Column(
        "To",
        28,
        lambda i: ", ".join(i.recipients) or i.to,
        lambda i: ",".join(i.recipients),
        least=14,
    ),
    Column(
        "Subject",
        0,
        lambda i: (i.problem and f"[{i.problem}] {i.subject}") or i.subject,
        lambda i: i.subject,
        style=lambda i: "yellow" if i.problem else "",
    ),
    Column(
        "Size",
        9,
        lambda i: f"{i.size:,}",
        lambda i: i.size,
        justify="right",
        narrow=lambda i: compact_bytes(i.size),
    ),
    Column(
        "Queued",
        7,
        lambda i: _age(i.queued_at),
        lambda i: -i.queued_at,
        justify="right",
        narrow=lambda i: _age(i.queued_at).split(" ")[0],  # 21h 56m: 21h
    ),
    Column(
        "Last error",
        0,
        lambda i: i.last_error or "",
        lambda i: i.last_error or "",
        style=lambda i: "red",
    ),
]


def _select(
    items: dict[str, QueueItem],
    query: messages.Query,
    only_ids: set[str] | None,
    cap: int,
    key: Callable[[QueueItem], Any],
    reverse: bool,
) -> list[QueueItem]:
    """The rows to show: filtered, restricted to a reason's ids, capped (oldest first, as
    IceWarp's Max Items), sorted by the table's column."""
    rows = [i for i in items.values() if messages.matches(i, query)]
    if only_ids is not None:
        rows = [i for i in rows if i.id in only_ids]
    # oldest first, by id on ties (two stable sorts on scalar keys: see sort_rows); ties
    # in the column keep this order
    rows = stable_sort(stable_sort(rows, attrgetter("id")), attrgetter("queued_at"))
    if cap:
        rows = rows[:cap]
    return sort_rows(rows, key, reverse)


class QueueArea(Vertical):
    can_focus = False
    BINDINGS = bindings("queue")
    filter_problem = ""  # the filter's error (an unknown field): on the state line

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> QueueArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install)

    def __init__(self, install: Install, *, live: bool = True) -> None:
        super().__init__(id="queue", classes="area")
        self.install = install
        self.live = live
        self.items: dict[str, QueueItem] = {}
        self.only_ids: set[str] | None = None
        self.reason_label = ""
        self._busy = False
        self._cancel = threading.Event()
        self._deferrals: dict[tuple[str, str], deferrals.Deferral] = {}
        self._deferrals_at = 0.0
        self._scanned_once = False
        self._safety_runs = 0
        self._stale = False  # a change came while hidden: list again when shown
        self.parse_progress = (0, 0)
        self._shown = 0
        self.scanner = scanning.Scanner(install, lazy=True)
        self.scan_s = 0.0

    def compose(self) -> ComposeResult:
        with Horizontal(id="queue-controls"):
            yield Select[str](
                [("All queues", "all"), *((QUEUE_TITLES[q], q) for q in QUEUE_NAMES), ("Mailbox", "mailbox")],
                value="all", allow_blank=False, id="queue-server",
            )  # fmt: skip
            yield Input(
                placeholder="Mailbox user@domain",
                id="queue-account",
                tooltip="The account whose mailbox to list (Server: Mailbox)",
            )
            yield Select[str](
                [("Inbox", "inbox"), ("Spam", "spam")],
                value="inbox",
                allow_blank=False,
                id="queue-folder",
            )
            yield Input(placeholder="Filter: from:x;to:y;subject:z", id="queue-filter")
            yield Input(
                placeholder="Max", id="queue-max", max_length=7, tooltip="Max items (0 = all)"
            )
        with Horizontal(id="queue-buttons"):
            for label, bid in (("Refresh", "refresh"), ("Delete", "delete"), ("Send Now", "send-now"),
                               ("Bounce Back", "bounce"), ("Whitelist", "whitelist"), ("Blacklist", "blacklist"),
                               ("Reasons", "reasons")):  # fmt: skip
                yield Button(label, id=f"queue-btn-{bid}", compact=True)
        yield Panel(id="queue-state")
        yield ItemTable(COLUMNS, key=attrgetter("where"), id="queue-table")
        yield Panel(id="queue-detail")

    def focus(self, scroll_visible: bool = True) -> QueueArea:
        self.query_one(ItemTable).focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        self.rescan()
        if self.live:
            self.set_interval(SAFETY_S, self._safety, name="queue-refresh")

    def _safety(self) -> None:
        self._safety_runs += 1
        full = self._safety_runs % FULL_EVERY == 0
        if not self.display:  # hidden: no work; listed again when shown
            self._stale = True
            return
        self.rescan(full=full)

    # --- scanning ------------------------------------------------------------------------

    def files_changed(self, areas: frozenset[Area]) -> None:
        """A watcher saw the queue folders change: list them again (only changed files
        are read)."""
        if Area.QUEUES in areas:
            if self.display:
                self.rescan()
            else:  # hidden areas do no work: the queues are listed again when shown
                self._stale = True

    def on_show(self) -> None:
        if self._stale:
            self._stale = False
            self.rescan()

    def rescan(self, *, full: bool = False) -> None:
        """List the queues again: folders that did not change are not listed (unless
        ``full``), files that did not change are not read."""
        if self._busy or getattr(self.app, "paused", False):
            return
        if self._scanned_once and not self.display:
            return
        server = self.query_one("#queue-server", Select).value
        self._busy = True
        self.scan_worker(str(server), self.query_one("#queue-account", Input).value.strip(),
                         str(self.query_one("#queue-folder", Select).value), self._cancel, full)  # fmt: skip

    @work(thread=True, group="queue-scan", exit_on_error=False)
    def scan_worker(
        self, server: str, account: str, folder: str, cancel: threading.Event, full: bool
    ) -> None:
        import time

        t0 = time.perf_counter()
        try:
            if server == "mailbox":
                if not account:
                    self.app.call_from_thread(
                        self._show_error, "Mailbox: type an account (user@domain) and press Enter"
                    )
                    return
                _where, found = messages.mailbox(self.install, account, folder)
                items = {i.where: i for i in found}
            else:
                queues = QUEUE_NAMES if server == "all" else (server,)
                items = self.scanner.scan(queues, full=full, cancel=cancel)
                # the listing first (rows on screen parse their own headers), then every
                # header in the background so filters and sorts see all of them; rows are
                # filtered and sorted here, off the UI thread
                view = self.app.call_from_thread(self._view)
                self.app.call_from_thread(self._apply, items, _select(items, *view))
                scanning.parse_all(
                    items.values(),
                    cancel=cancel,
                    progress=lambda n, total: self.app.call_from_thread(self._parsing, n, total),
                )
                retry = [i for i in items.values() if i.queue == "retry"]
                deferrals.attach(retry, self._deferrals)
                # The log is read again (two days of SMTP log: the costly part) only when a
                # retry item has no known attempt, and then at most every 30 s, or every
                # 5 minutes to catch newer attempts of known ones.
                age = time.monotonic() - self._deferrals_at
                unknown = any(i.last_error is None for i in retry)
                if retry and ((unknown and age > 30) or age > 300 or not self._deferrals_at):
                    self._deferrals = deferrals.scan_apart(self.install.log_dir, cancel=cancel)
                    self._deferrals_at = time.monotonic()
                    deferrals.attach(retry, self._deferrals)
            self.scan_s = time.perf_counter() - t0
            view = self.app.call_from_thread(self._view)
            self.app.call_from_thread(self._apply, items, _select(items, *view))
        except IwtuiError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
        finally:
            self._busy = False

    def _parsing(self, done: int, total: int) -> None:
        """Progress of the background header pass: only the state line moves; the rows
        are filtered and sorted again once, by the worker, when the pass is over."""
        self.parse_progress = (done, total)
        self._state_line()

    def _show_error(self, text: str) -> None:
        self.query_one("#queue-state", Panel).update(Text(text, style="yellow"))

    def _apply(self, items: dict[str, QueueItem], rows: list[QueueItem] | None = None) -> None:
        vanished = self.items.keys() - items.keys()  # delivered or removed: these rows fade
        self.items = items
        first = not self._scanned_once
        self._scanned_once = True
        self.show_rows(initial=first, rows=rows, vanished=vanished)

    def _view(
        self,
    ) -> tuple[messages.Query, set[str] | None, int, Callable[[QueueItem], Any], bool]:
        """What the rows depend on, read on the UI thread: filter, reason, Max Items, sort.
        A filter in error (the CLI's exit 2) shows no rows and says why."""
        try:
            query = messages.parse_query(self.query_one("#queue-filter", Input).value)
            self.filter_problem = ""
        except IwtuiError as exc:
            query, self.filter_problem = messages.NOTHING, str(exc)
        text = self.query_one("#queue-max", Input).value.strip()
        key, reverse = self.query_one(ItemTable).sorter()
        return query, self.only_ids, int(text) if text.isdigit() else 0, key, reverse

    def show_rows(
        self,
        *,
        initial: bool = False,
        rows: list[QueueItem] | None = None,
        vanished: Collection[str] = (),
    ) -> None:
        """Show the items: ``rows`` already filtered and sorted (by a worker), or done here."""
        if rows is None:
            rows = _select(self.items, *self._view())
        self.query_one(ItemTable).set_rows(rows, initial=initial, presorted=True, vanished=vanished)
        self._shown = len(rows)
        self._state_line()

    def _state_line(self) -> None:
        table = self.query_one(ItemTable)
        state = Text(f"{self._shown:,} shown", style="bold")
        if self._shown != len(self.items):
            state.append(f" of {len(self.items):,}")
        if self.filter_problem:
            state.append(f"  │  {safe_text(self.filter_problem, 120)}", style="bold red")
        elif self._shown != len(self.items):
            # say what hides rows (a filter kept from another queue or mailbox reads as
            # an empty list otherwise)
            text = self.query_one("#queue-filter", Input).value.strip()
            if text:
                state.append(f"  │  filter {safe_text(text, 60)} (c clears)", style="cyan")
            elif (cap := self.query_one("#queue-max", Input).value.strip()).isdigit() and int(cap):
                state.append(f"  │  Max Items {int(cap):,}", style="cyan")
        if table.marked:
            state.append(f"  │  {len(table.marked):,} marked", style="bold yellow")
        if self.only_ids is not None:
            state.append(
                f"  │  reason: {safe_text(self.reason_label, 60)} (c clears)", style="cyan"
            )
        done, total = self.parse_progress
        if done < total:
            state.append(f"  │  reading headers {done * 100 // max(1, total)}%", style="cyan")
        if self.scan_s >= SLOW_SCAN_S:
            state.append(f"  │  scan took {self.scan_s:.1f} s", style="dim")
        if getattr(self.app, "paused", False):
            state.append("  │  ‖ paused", style="bold yellow")
        self.query_one("#queue-state", Panel).update(state)

    @on(ItemTable.CursorMoved)
    def cursor_moved(self) -> None:
        table = self.query_one(ItemTable)
        item = table.current()
        detail = self.query_one("#queue-detail", Panel)
        if item is None:
            detail.update("")
            return
        t = Text()
        t.append(f"{item.id}", style="bold")
        t.append(f"  {item.queue}  {item.path}\n", style="dim")
        if table.is_gone(item):
            t.append(
                "Gone from the queue (delivered, moved or deleted); L shows its log lines\n",
                style="yellow",
            )
        for label, value in (("From", item.from_), ("To", item.to), ("Envelope", f"{item.sender} -> {', '.join(item.recipients)}"),
                             ("Subject", item.subject), ("Date", item.date or ""), ("Last error", item.last_error or "")):  # fmt: skip
            if value:
                t.append(f"{label}: ", style="dim")
                t.append(safe_text(value, 300) + "\n", style="red" if label == "Last error" else "")
        detail.update(t)

    # --- inputs --------------------------------------------------------------------------

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.items = {}
        self.rescan()
        self.query_one(ItemTable).focus()

    @on(Select.Changed)
    def selected(self) -> None:
        # the Account and Folder fields matter for a mailbox only: a narrow terminal
        # shows them then, and gives their room to the filter otherwise (styles)
        mailbox = self.query_one("#queue-server", Select).value == "mailbox"
        self.set_class(mailbox, "-mailbox")
        self.items = {}
        self.only_ids = None
        self.rescan()

    def action_focus_filter(self) -> None:
        self.query_one("#queue-filter", Input).focus()

    def action_back_to_table(self) -> None:
        self.query_one(ItemTable).focus()

    def action_clear(self) -> None:
        self.only_ids = None
        self.query_one("#queue-filter", Input).value = ""
        self.show_rows()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        what = (event.button.id or "").removeprefix("queue-btn-")
        if what == "refresh":
            self.rescan()
        elif what == "reasons":
            self.action_reasons()
        else:
            self.action_act(what)

    # --- actions -------------------------------------------------------------------------

    def action_act(self, what: str) -> None:
        table = self.query_one(ItemTable)
        chosen = table.fresh_selection()  # frozen now: the plan acts on these
        if chosen is None:
            self.notify(
                "the row under the cursor changed (the list moved under it): look, then press the key again",
                title="Message Queue",
                severity="warning",
            )
            return
        if not chosen:
            self.notify("nothing selected", title="Message Queue")
            return
        if any(i.queue == "mailbox" for i in chosen) and what in ("send-now", "bounce", "delete"):
            self.notify(
                "mailbox messages are not queue items: only whitelist/blacklist apply",
                severity="warning",
            )
            return
        gate = self.app.gate  # type: ignore[attr-defined]
        root = self.install.root
        if what in ("whitelist", "blacklist"):

            def with_owner(owner: str | None) -> None:
                if owner is not None:
                    self._run(
                        gate,
                        queue_actions.sender_list_plan(self.install, chosen, what, owner, root),
                    )

            try:
                gate.check(f"queue {what}")  # refuse before asking anything
            except IwtuiError as exc:
                self.notify(str(exc), title="Refused", severity="error")
                return
            self.app.push_screen(OwnerScreen(what, len({i.sender for i in chosen})), with_owner)
            return
        try:
            if what == "delete":
                plan = queue_actions.delete_plan(gate, chosen, root)
            elif what == "send-now":
                plan = queue_actions.send_now_plan(self.install, chosen, root)
            elif what == "bounce":
                # the DSN names the server as IceWarp knows it, never this machine
                plan = queue_actions.bounce_plan(gate, self.install, chosen, None, root)
            else:
                return
        except IwtuiError as exc:
            self.notify(str(exc), severity="error")
            return
        self._run(gate, plan)

    def _run(self, gate: ActionGate, plan: Plan) -> None:
        def done(_outcome: object) -> None:
            self.query_one(ItemTable).marked.clear()
            self.rescan()

        run_plan(self.app, gate, plan, done)

    def action_reasons(self) -> None:
        retry = [i for i in self.items.values() if i.queue == "retry"]
        if not retry:
            self.notify(
                "the retry queue is empty (or not shown: choose All or Retry)", title="Reasons"
            )
            return
        groups = deferrals.group(retry)

        def chosen(ids: list[str] | None) -> None:
            if ids is None:
                return
            self.only_ids = set(ids)
            self.reason_label = next((g.reason for g in groups if g.ids == ids), "")
            self.show_rows()

        self.app.push_screen(ReasonsScreen(groups), chosen)

    @on(ItemTable.Chosen)
    def open_item(self) -> None:
        item = self.query_one(ItemTable).current()
        if item is None:
            return
        try:  # never through a link, never blocking on a FIFO
            data = files.read_head(item.path, VIEW_BYTES)
        except files.Unsafe as exc:
            self.notify(safe_text(str(exc)), severity="error")
            return
        except FileNotFoundError:
            self.notify(f"{item.id}: already delivered", title="Message Queue")
            return
        except OSError as exc:
            self.notify(f"{item.id}: {exc.strerror or exc}", severity="error")
            return
        lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
        if len(data) == VIEW_BYTES:
            lines.append(
                f"… the first {VIEW_BYTES // 1024} KiB of {item.size:,} bytes; e opens the whole file in $PAGER"
            )
        title = Text.assemble(
            (f" {item.id} ", "reverse"),
            f"  {item.queue}  {item.size:,} bytes  ",
            (safe_text(item.subject, 120), "bold"),
        )
        self.app.push_screen(TextScreen(title, lines))

    def action_pager(self) -> None:
        """The whole message in $PAGER, from a private copy (the queue file may go),
        made inert: a pager such as ``more`` passes escape sequences to the terminal."""
        item = self.query_one(ItemTable).current()
        if item is None:
            return
        pager = os.environ.get("PAGER") or shutil.which("less") or "more"
        fd, tmp = tempfile.mkstemp(prefix=f"iwtui-{item.id}-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as out, files.open_regular(item.path) as (src, _st):
                write_inert(lambda n: os.read(src, n), out)
            os.chmod(tmp, 0o400)
            with self.app.suspend():
                subprocess.run([*pager.split(), tmp], check=False)
        except FileNotFoundError:
            self.notify(f"{item.id}: already delivered", title="Message Queue")
        except files.Unsafe as exc:
            self.notify(safe_text(str(exc)), severity="error")
        except OSError as exc:
            self.notify(f"{pager}: {exc.strerror or exc}", severity="error")
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # our own temporary copy, never the queue file

    def action_log_lines(self) -> None:
        item = self.query_one(ItemTable).current()
        if item is not None:
            self.log_worker(item)

    @work(thread=True, exclusive=True, group="queue-log", exit_on_error=False)
    def log_worker(self, item: QueueItem) -> None:
        """The SMTP log lines naming the message's sender and a recipient (its session
        and the client attempts), from the last two days."""
        cat = catalog_mod.scan(self.install.log_dir)
        terms = [t for t in (item.sender, item.recipients[0] if item.recipients else "") if t]
        lines = grep_days(cat, "smtp", ";".join(terms)) if terms else []
        if not lines:
            lines = ["(no SMTP log line names this sender and recipient in the last two days)"]
        title = Text.assemble(
            (f" {item.id} ", "reverse"),
            f"  log lines of {safe_text(item.sender)} -> {safe_text(', '.join(item.recipients), 80)}",
        )
        self.app.call_from_thread(self.app.push_screen, TextScreen(title, lines[-5000:]))

    def on_unmount(self) -> None:
        self._cancel.set()
