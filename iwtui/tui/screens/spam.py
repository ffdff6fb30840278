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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, TabbedContent, TabPane

from iwtui.errors import IwtuiError
from iwtui.icewarp import messages, spam, spam_actions, tarpit
from iwtui.icewarp.actions import Plan
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.logs.lines import safe_text
from iwtui.tui.bindings import bindings
from iwtui.tui.gate import run_plan
from iwtui.tui.screens.queue_dialogs import TextScreen
from iwtui.tui.screens.spam_dialogs import FormScreen
from iwtui.tui.widgets.item_table import Column, ItemTable
from iwtui.tui.widgets.panel import Panel

TICK_S = 1.0  # the countdowns of the Intrusion Prevention tab
SAFETY_S = 20.0  # a reload of the shown tab even without a watcher event


def _now() -> datetime:
    """Now, for dates and countdowns (tests pin it)."""
    return datetime.now()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def countdown(expires: datetime | None, now: datetime) -> str:
    """``12m 05s``, ``3h 02m``, ``2d 4h``; ``expired 5m ago``; ``unknown``."""
    if expires is None:
        return "unknown"
    secs = int((expires - now).total_seconds())
    ago, secs = secs < 0, abs(secs)
    d, rem = divmod(secs, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    text = f"{d}d {h}h" if d else f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"
    return f"expired {text} ago" if ago else text


@dataclass(frozen=True)
class TabSpec:
    id: str
    title: str
    buttons: tuple[tuple[str, str], ...]  # (label, action)


TABS = (
    TabSpec("quarantine", "Quarantine", (("Refresh", "refresh"), ("Whitelist", "whitelist"),
            ("Blacklist", "blacklist"), ("Deliver", "deliver"), ("Delete", "delete"))),
    TabSpec("whitelist", "Whitelist", (("Refresh", "refresh"), ("Add", "add"),
            ("Blacklist", "blacklist"), ("Delete", "delete"))),
    TabSpec("blacklist", "Blacklist", (("Refresh", "refresh"), ("Add", "add"),
            ("Whitelist", "whitelist"), ("Delete", "delete"))),
    TabSpec("greylist", "Greylisting", (("Refresh", "refresh"), ("Authorize", "authorize"),
            ("Delete", "delete"))),
    TabSpec("tarpit", "Intrusion Prevention", (("Refresh", "refresh"), ("Add", "add"),
            ("Remove", "delete"), ("Remove All Expired", "remove-expired"), ("Remove All", "remove-all"))),
)  # fmt: skip
BY_TAB = {t.id: t for t in TABS}


def _sender_columns(list_name: str) -> list[Column[spam.SenderRow]]:
    cols: list[Column[spam.SenderRow]] = [
        Column("Sender", 32, lambda r: r.sender, lambda r: r.sender),
    ]
    if list_name == "quarantine":
        cols.append(Column("Subject", 0, lambda r: r.subject, lambda r: r.subject))
    cols += [
        Column("Date/Time", 16, lambda r: _when(r.created), lambda r: r.created),
        Column("Owner", 30, lambda r: r.owner, lambda r: r.owner),
        Column("Domain", 18 if list_name == "quarantine" else 0, lambda r: r.domain, lambda r: r.domain),
    ]  # fmt: skip
    return cols


GREY_STYLE = {"pending": "yellow", "authorized": "green", "expired": "dim"}
GREY_COLUMNS: list[Column[spam.GreyRow]] = [
    Column("Value", 0, lambda r: r.value, lambda r: r.value),
    Column("Owner", 32, lambda r: r.owner, lambda r: r.owner),
    Column("Status", 11, lambda r: r.status.title(), lambda r: r.status,
           style=lambda r: GREY_STYLE.get(r.status, "")),
    Column("First attempt", 16, lambda r: _when(r.created), lambda r: r.created),
]  # fmt: skip


def _tarpit_columns(period_min: float) -> list[Column[tarpit.TarpitEntry]]:
    def blocked(e: tarpit.TarpitEntry) -> datetime | None:
        return e.expires - timedelta(minutes=period_min) if e.expires else None

    return [
        Column("IP", 40, lambda e: e.ip, lambda e: e.ip),
        Column("Expires", 16, lambda e: _when(e.expires), lambda e: e.expires),
        Column("Expires in", 21, lambda e: countdown(e.expires, _now()), lambda e: e.expires,
               style=lambda e: "dim" if e.expired(_now()) else "bold"),
        Column("Blocked", 16, lambda e: _when(blocked(e)), blocked),
        Column("Code", 4, lambda e: e.reason or "?", lambda e: e.reason),
        Column("Reason", 0, lambda e: e.reason_text, lambda e: e.reason_text),
    ]  # fmt: skip


class SpamTab(Vertical):
    """One tab: its filters, buttons, state line (the count), table and detail."""

    def __init__(self, spec: TabSpec, install: Install) -> None:
        super().__init__(id=f"spam-{spec.id}", classes="spam-tab")
        self.spec, self.install = spec, install
        self.total = 0
        self.error = ""
        self.loaded = False
        self._loading = False
        self._again = False

    @property
    def area(self) -> SpamArea:
        return self.query_ancestor(SpamArea)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="spam-controls"):
            yield from self.filters()
            yield Input(placeholder="Max Items (0 = all)", id=f"{self.spec.id}-max", max_length=7,
                        classes="spam-max")  # fmt: skip
        with Horizontal(classes="spam-buttons"):
            for label, action in self.spec.buttons:
                yield Button(label, id=f"{self.spec.id}-btn-{action}", compact=True)
        yield Panel(classes="spam-state")
        table: ItemTable[Any] = ItemTable(self.columns(), key=self.key, id=f"{self.spec.id}-table")
        table.sort_column, table.sort_reverse = self.default_sort()
        yield table
        yield Panel(classes="spam-detail")

    def filters(self) -> ComposeResult:
        for name in ("Sender", "Owner", "Domain"):
            yield Input(
                placeholder=name, id=f"{self.spec.id}-{name.lower()}", classes="spam-filter"
            )

    def columns(self) -> list[Column[Any]]:
        return _sender_columns(self.spec.id)

    def key(self, row: Any) -> object:
        return row.id

    def default_sort(self) -> tuple[int, bool]:
        """(column, reverse): newest first."""
        titles = [c.title for c in self.columns()]
        for name in ("Date/Time", "First attempt", "Expires"):
            if name in titles:
                return titles.index(name), name != "Expires"
        return 0, False

    def value(self, name: str) -> str:
        return self.query_one(f"#{self.spec.id}-{name}", Input).value.strip()

    @property
    def max_items(self) -> int:
        text = self.value("max")
        return int(text) if text.isdigit() else 0

    @property
    def table(self) -> ItemTable[Any]:
        return self.query_one(ItemTable)

    # --- loading -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the list again (one read at a time; a request during a read runs after)."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.load_worker()

    @work(group="spam-load", exit_on_error=False)
    async def load_worker(self) -> None:
        try:
            rows, total = await self.fetch()
            self.error = ""
        except IwtuiError as exc:
            rows, total, self.error = [], 0, str(exc)
        finally:
            self._loading = False
        first = not self.loaded
        old = {self.key(r) for r in self.table.rows} if not first else set()
        now_keys = {self.key(r) for r in rows}
        self.table.set_rows(rows, initial=first, vanished=old - now_keys)
        self.total, self.loaded = total, True
        self.show_state()
        if self._again:
            self._again = False
            self.reload()

    async def fetch(self) -> tuple[list[Any], int]:
        return await spam.list_senders(
            self.install.antispam_db,
            self.spec.id,
            sender=self.value("sender"),
            owner=self.value("owner"),
            domain=self.value("domain"),
            max_items=self.max_items,
        )

    def show_state(self) -> None:
        t = Text()
        if self.error:
            t.append(safe_text(self.error), style="bold red")
        else:
            shown = self.table.live_count
            t.append(f"{shown:,}", style="bold")
            if shown != self.total:
                t.append(f" of {self.total:,}", style="bold")
            t.append(f" {self.noun()}", style="")
            marked = len(self.table.marked)
            if marked:
                t.append(f"  │  {marked:,} marked", style="yellow")
            t.append(f"  │  {self.hint()}", style="dim")
        self.query_one(".spam-state", Panel).update(t)

    def noun(self) -> str:
        return {"quarantine": "held messages", "whitelist": "whitelisted senders",
                "blacklist": "blacklisted senders"}[self.spec.id]  # fmt: skip

    def hint(self) -> str:
        keys = {"whitelist": "W whitelist", "blacklist": "X blacklist", "deliver": "D deliver",
                "delete": "d delete", "add": "A add", "authorize": "U authorize",
                "remove-expired": "E remove expired", "remove-all": "Z remove all"}  # fmt: skip
        return "  ".join(keys[a] for _l, a in self.spec.buttons if a in keys) + "  f filter"

    # --- detail --------------------------------------------------------------------------

    @on(ItemTable.CursorMoved)
    def cursor_moved(self) -> None:
        row = self.table.current()
        detail = self.query_one(".spam-detail", Panel)
        if row is None:
            detail.update("")
        elif self.table.is_gone(row):
            detail.update(Text("Gone from this list (acted on, or changed by the server).", style="yellow"))  # fmt: skip
        else:
            detail.update(self.detail(row))
        self.show_state()

    def detail(self, row: Any) -> Text:
        r: spam.SenderRow = row
        t = Text()
        for label, value in (("Sender", r.sender), ("Owner", r.owner), ("Domain", r.domain),
                             ("Subject", r.subject), ("Added", _when(r.created))):  # fmt: skip
            if value:
                t.append(f"{label}: ", style="dim")
                t.append(safe_text(value, 200) + "\n")
        if self.spec.id == "quarantine":
            t.append_text(self.preview(r))
        return t

    def preview(self, row: spam.SenderRow) -> Text:
        """The held message: where it is, its headers, the first lines of its body."""
        t = Text()
        files = spam.held_files(self.install.mail_dir, row)
        if not files:
            t.append("Held message: not found", style="yellow")
            t.append(
                f" (folder {safe_text(row.folder) or '—'} of {safe_text(row.owner)})\n", style="dim"
            )
            return t
        path = files[0]
        t.append(f"{path}\n", style="dim")
        try:
            with open(path, "rb") as fh:
                data = fh.read(8192)
        except OSError as exc:
            t.append(f"unreadable: {exc.strerror or exc}\n", style="red")
            return t
        head, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        headers, _problem = messages.parse_block(head)
        for name in ("from", "to", "subject", "date"):
            for v in headers.get(name, [])[:1]:
                t.append(f"{name.title()}: ", style="dim")
                t.append(safe_text(messages.decode_value(v), 200) + "\n")
        for line in body.decode("utf-8", "replace").splitlines()[:6]:
            t.append(safe_text(line, 200) + "\n", style="italic")
        return t

    # --- actions -------------------------------------------------------------------------

    def act(self, action: str) -> None:
        if action == "refresh":
            self.reload()
            return
        if action not in {a for _l, a in self.spec.buttons}:
            self.app.notify(f"{action} does not apply to the {self.spec.title} tab", title="Spam Queues")  # fmt: skip
            return
        gate = self.app.gate  # type: ignore[attr-defined]
        try:
            gate.check(f"spam {action}")  # refuse before asking anything
        except IwtuiError as exc:
            self.app.notify(str(exc), title="Refused", severity="error")
            return
        if action == "add":
            self.add_dialog()
            return
        chosen = self.table.selection()  # frozen now: the plan holds these ids
        if not chosen:
            self.app.notify("nothing selected", title="Spam Queues")
            return
        try:
            plan = self.plan(action, chosen)
        except IwtuiError as exc:
            self.app.notify(str(exc), severity="error")
            return
        self.run(plan)

    def plan(self, action: str, chosen: list[Any]) -> Plan:
        return spam_actions.sender_plan(
            self.app.gate, self.install, self.spec.id, action, [r.id for r in chosen], self.install.root  # type: ignore[attr-defined]
        )  # fmt: skip

    def run(self, plan: Plan) -> None:
        def done(_outcome: object) -> None:
            self.table.marked.clear()
            self.reload()
            self.area.sibling_changed(self.spec.id)

        run_plan(self.app, self.app.gate, plan, done)  # type: ignore[attr-defined]

    def add_dialog(self) -> None:
        which = self.spec.id
        owner = self.value("owner") or "*"

        def check(sender: str, owner: str) -> None:
            spam_actions.validate_sender(sender)
            spam_actions.validate_owner(owner)

        def chosen(values: tuple[str, ...] | None) -> None:
            if values is not None:
                sender, owner = values
                self.run(
                    spam_actions.add_plan(self.install, which, sender, owner, self.install.root)
                )

        self.app.push_screen(
            FormScreen(
                f"Add to the {which}",
                [("Sender (the From address, or a domain)", "user@example.com", self.value("sender")),
                 ("Owner", "* | example.com | user@example.com", owner)],
                "Owner: a user address (that user), a domain (its users) or * (every domain).",
                check,
            ),
            chosen,
        )  # fmt: skip


class GreyTab(SpamTab):
    def filters(self) -> ComposeResult:
        yield Select[str](
            [("All statuses", ""), ("Pending", "pending"), ("Authorized", "authorized"),
             ("Expired", "expired")],
            value="", allow_blank=False, id="greylist-status",
        )  # fmt: skip
        yield Input(placeholder="Owner", id="greylist-owner", classes="spam-filter")
        yield Input(placeholder="Value (sender, IP)", id="greylist-value", classes="spam-filter")

    def columns(self) -> list[Column[Any]]:
        return GREY_COLUMNS

    async def fetch(self) -> tuple[list[Any], int]:
        cfg = self.app.cfg  # type: ignore[attr-defined]
        status = self.query_one("#greylist-status", Select).value
        return await spam.list_greylist(
            self.install.antispam_db,
            status=str(status) if isinstance(status, str) else "",
            owner=self.value("owner"),
            value=self.value("value"),
            max_items=self.max_items,
            expiry=spam.Expiry(cfg.greylist_pending_hours, cfg.greylist_authorized_days),
            now=_now(),
        )

    def noun(self) -> str:
        return "greylist entries"

    def detail(self, row: Any) -> Text:
        r: spam.GreyRow = row
        t = Text()
        for label, value in (("Value", r.value), ("Owner", r.owner), ("Status", r.status.title()),
                             ("First attempt", _when(r.created)), ("Last seen", _when(r.updated))):  # fmt: skip
            t.append(f"{label}: ", style="dim")
            t.append(safe_text(value, 200) + "\n")
        t.append("Authorize does not deliver anything: the message is accepted when the "
                 "remote server tries again (if it does).", style="dim")  # fmt: skip
        return t

    def plan(self, action: str, chosen: list[Any]) -> Plan:
        return spam_actions.greylist_plan(self.install, action, [r.id for r in chosen], self.install.root)  # fmt: skip


class TarpitTab(SpamTab):
    def filters(self) -> ComposeResult:
        yield Input(placeholder="IP contains", id="tarpit-ip", classes="spam-filter")

    def columns(self) -> list[Column[Any]]:
        return _tarpit_columns(self.app.cfg.tarpit_minutes)  # type: ignore[attr-defined]

    def key(self, row: Any) -> object:
        return row.ip

    async def fetch(self) -> tuple[list[Any], int]:
        import asyncio

        f = self.file = await asyncio.to_thread(self._read)
        wanted = self.value("ip")
        rows = [e for e in f.entries if wanted in e.ip] if wanted else list(f.entries)
        total = len(rows)
        if self.max_items:
            rows = rows[: self.max_items]
        return rows, total

    file: tarpit.TarpitFile | None = None

    def _read(self) -> tarpit.TarpitFile:
        f = tarpit.read(self.install.tarpit_file)
        if f.layout == tarpit.EXTRACTED:  # expiry and reason from the SMTP log
            f = tarpit.enrich(f, catalog_mod.scan(self.install.log_dir))
        return f

    def on_mount(self) -> None:
        self.set_interval(TICK_S, self._tick, name="tarpit-countdown")

    def _tick(self) -> None:
        if self.display and self.loaded:
            self.table.refresh()  # the countdowns

    def noun(self) -> str:
        f = getattr(self, "file", None)
        active = len(f.active(_now())) if f is not None else 0
        note = f"  │  {f.problem}" if f is not None and f.problem else ""
        return f"tarpitted IPs ({active:,} active){note}"

    def hint(self) -> str:
        return super().hint().replace("d delete", "d remove") + "  L log lines"

    def detail(self, row: Any) -> Text:
        e: tarpit.TarpitEntry = row
        t = self.detail_text_base(e)
        t.append("SMTP log: reading…", style="dim")
        self.activity_worker(e.ip)
        return t

    @work(thread=True, exclusive=True, group="tarpit-activity", exit_on_error=False)
    def activity_worker(self, ip: str) -> None:
        act = tarpit.activity(catalog_mod.scan(self.install.log_dir), ip)
        self.app.call_from_thread(self._show_activity, act)

    def _show_activity(self, act: tarpit.Activity) -> None:
        row = self.table.current()
        if row is None or row.ip != act.ip:
            return  # the cursor moved on
        t = self.detail_text_base(row)
        t.append("SMTP log (2 days): ", style="dim")
        t.append(f"{act.connections} connection(s), {act.rejected} rejected reply(ies), {len(act.lines)} line(s)")  # fmt: skip
        if act.blocked_at:
            t.append(f"; blocked at {act.blocked_at} ({act.reason or '?'})")
        t.append("  — L shows the lines", style="dim")
        self.query_one(".spam-detail", Panel).update(t)

    def detail_text_base(self, e: tarpit.TarpitEntry) -> Text:
        t = Text()
        t.append(f"{e.ip}", style="bold")
        t.append(f"  expires {_when(e.expires)} ({countdown(e.expires, _now())})\n")
        t.append("Reason: ", style="dim")
        t.append(f"{e.reason or '?'} — {e.reason_text}\n")
        return t

    def log_lines(self) -> None:
        row = self.table.current()
        if row is not None:
            self.lines_worker(row.ip)

    @work(thread=True, exclusive=True, group="tarpit-lines", exit_on_error=False)
    def lines_worker(self, ip: str) -> None:
        act = tarpit.activity(catalog_mod.scan(self.install.log_dir), ip)
        lines = list(act.lines) or [f"(no SMTP log line of {ip} in the last two days)"]
        title = Text.assemble((f" {ip} ", "reverse"), f"  SMTP log lines: {act.connections} connection(s), {act.rejected} rejected")  # fmt: skip
        self.app.call_from_thread(self.app.push_screen, TextScreen(title, lines))

    def plan(self, action: str, chosen: list[Any]) -> Plan:
        path = self.install.tarpit_file
        return tarpit.remove_plan(path, [e.ip for e in chosen], root=self.install.root)

    def act(self, action: str) -> None:
        if action in ("remove-expired", "remove-all"):
            gate = self.app.gate  # type: ignore[attr-defined]
            try:
                gate.check(f"tarpit {action}")
                plan = tarpit.remove_plan(self.install.tarpit_file, None,
                                          expired_only=action == "remove-expired", root=self.install.root)  # fmt: skip
            except IwtuiError as exc:
                self.app.notify(str(exc), title="Refused", severity="error")
                return
            if not plan.targets:
                self.app.notify("nothing to remove", title="Intrusion Prevention")
                return
            self.run(plan)
            return
        super().act(action)

    def add_dialog(self) -> None:
        minutes = self.app.cfg.tarpit_minutes  # type: ignore[attr-defined]
        path = self.install.tarpit_file
        try:
            tarpit.add_plan(path, "192.0.2.1", minutes)  # refuses an unrecognised file now
        except IwtuiError as exc:
            self.app.notify(str(exc), title="Refused", severity="error")
            return

        def check(ip: str, reason: str) -> None:
            tarpit.add_plan(path, ip, minutes, reason or "U")

        def chosen(values: tuple[str, ...] | None) -> None:
            if values is not None:
                ip, reason = values
                self.run(tarpit.add_plan(path, ip, minutes, reason or "U", self.install.root))

        self.app.push_screen(
            FormScreen(
                "Block an IP (Tarpitted IPs)",
                [("IP address or CIDR range (IPv4 or IPv6)", "203.0.113.7 or 198.51.100.0/24", self.value("ip")),
                 ("Reason code", "U", "U")],
                f"It expires after the block period of config ({minutes:g} minutes). "
                "Reason U: blocked manually via console.",
                check,
            ),
            chosen,
        )  # fmt: skip


class SpamArea(Vertical):
    """The Spam Queues area: five tabs; keys act on the shown tab's list."""

    BINDINGS = bindings("spam")

    def __init__(self, install: Install, *, live: bool = True) -> None:
        super().__init__(id="spam", classes="area")
        self.install, self.live = install, live

    def compose(self) -> ComposeResult:
        with TabbedContent(id="spam-tabs"):
            for spec in TABS:
                with TabPane(spec.title, id=f"tab-{spec.id}"):
                    cls = (
                        GreyTab
                        if spec.id == "greylist"
                        else TarpitTab
                        if spec.id == "tarpit"
                        else SpamTab
                    )
                    yield cls(spec, self.install)  # fmt: skip

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
        if not tab.loaded or getattr(tab, "_stale", False):
            tab._stale = False  # type: ignore[attr-defined]
            tab.reload()
        tab.table.focus()

    def changed(self, database: bool, tarpit_file: bool) -> None:
        """A watcher saw the database or tarpit.dat change: reload the shown tab now;
        hidden tabs of that source reload when shown."""
        for tab in self.query(SpamTab):
            if not (tarpit_file if tab.spec.id == "tarpit" else database):
                continue
            if tab is self.current and self.display:
                tab.reload()
            else:
                tab._stale = True  # type: ignore[attr-defined]

    def sibling_changed(self, tab_id: str) -> None:
        """An action moved rows between lists: the other lists are stale."""
        for tab in self.query(SpamTab):
            if tab.spec.id != tab_id and tab.spec.id != "tarpit":
                tab._stale = True  # type: ignore[attr-defined]

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
