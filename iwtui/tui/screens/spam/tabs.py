"""The tabs of the Spam Queues area that read ``antispam.db``: Quarantine, Whitelist and
Blacklist (``SpamTab``) and Greylisting (``GreyTab``); each its filters, buttons, state
line, virtual table and detail. ``spam_tarpit`` holds the Intrusion Prevention tab,
``spam`` the area that holds them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Select

from iwtui.errors import IwtuiError
from iwtui.icewarp import files
from iwtui.icewarp.actions import Plan
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.queue.headers import decode_value, parse_block
from iwtui.icewarp.spam import actions as spam_actions
from iwtui.icewarp.spam import lists as spam
from iwtui.tui.gate import run_plan
from iwtui.tui.screens.queue.dialogs import TextScreen
from iwtui.tui.screens.spam.dialogs import FormScreen
from iwtui.tui.widgets.item_table import Column, ItemTable
from iwtui.tui.widgets.panel import Panel

VIEW_BYTES = 256 * 1024  # of a held message, shown by Enter


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
            ("Delete", "delete"), ("Remove All Expired", "remove-expired"))),
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
        Column("Date/Time", 16, lambda r: _when(r.created), lambda r: r.created, least=16),
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
    Column("First attempt", 16, lambda r: _when(r.created), lambda r: r.created, least=16),
]  # fmt: skip


class SpamTab(Vertical):
    """One tab: its filters, buttons, state line (the count), table and detail."""

    def __init__(self, spec: TabSpec, install: Install) -> None:
        super().__init__(id=f"spam-{spec.id}", classes="spam-tab")
        self.spec, self.install = spec, install
        self.total = 0
        self.error = ""
        self.loaded = False
        self.stale = False  # the data changed while this tab was hidden: reload when shown
        self._loading = False
        self._again = False
        self._query: tuple[object, ...] = ()

    class ActedOn(Message):
        """An action of this tab moved rows: other lists may have changed."""

        def __init__(self, tab_id: str) -> None:
            super().__init__()
            self.tab_id = tab_id

    def compose(self) -> ComposeResult:
        with Horizontal(classes="spam-controls"):
            yield from self.filters()
            yield Input(placeholder="Max Items", id=f"{self.spec.id}-max", max_length=7,
                        classes="spam-max", tooltip="Max Items (0 = all)")  # fmt: skip
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

    def query_key(self) -> tuple[object, ...]:
        """The filter fields' values: the rows a read returns depend on them."""
        return tuple((w.id, w.value) for w in self.query("Input, Select") if w.id)  # type: ignore[attr-defined]

    @work(group="spam-load", exit_on_error=False)
    async def load_worker(self) -> None:
        query = self.query_key()
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
        # rows that left because the filter changed were not acted on: they go at once
        # (fading, struck through, is for rows that vanished under an unchanged filter)
        refiltered = query != self._query
        self._query = query
        self.table.set_rows(rows, initial=first, vanished=set() if refiltered else old - now_keys)
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
        held = spam.held_files(self.install.mail_dir, row.owner, row.folder)
        if not held:
            t.append("Held message: not found", style="yellow")
            t.append(
                f" (folder {safe_text(row.folder) or '—'} of {safe_text(row.owner)})\n", style="dim"
            )
            return t
        path = held[0]
        t.append(f"{safe_text(str(path), 300)}\n", style="dim")
        try:
            data = files.read_head(path, 8192)  # no link followed, a regular file only
        except files.Unsafe as exc:
            t.append(f"{safe_text(str(exc), 300)}\n", style="red")
            return t
        except OSError as exc:
            t.append(f"unreadable: {exc.strerror or exc}\n", style="red")
            return t
        head, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        headers, _problem = parse_block(head)
        for name in ("from", "to", "subject", "date"):
            for v in headers.get(name, [])[:1]:
                t.append(f"{name.title()}: ", style="dim")
                t.append(safe_text(decode_value(v), 200) + "\n")
        for line in body.decode("utf-8", "replace").splitlines()[:6]:
            t.append(safe_text(line, 200) + "\n", style="italic")
        return t

    @on(ItemTable.Chosen)
    def open_held(self) -> None:
        """Enter on a held message: the whole message (safely rendered)."""
        row = self.table.current()
        if self.spec.id != "quarantine" or row is None or self.table.is_gone(row):
            return
        held = spam.held_files(self.install.mail_dir, row.owner, row.folder)
        if not held:
            self.app.notify("the held message was not found", title="Quarantine")
            return
        try:
            data = files.read_head(held[0], VIEW_BYTES)  # no link followed, a regular file
        except files.Unsafe as exc:
            self.app.notify(str(exc), title="Quarantine", severity="error")
            return
        except OSError as exc:
            self.app.notify(f"{held[0]}: {exc.strerror or exc}", severity="error")
            return
        lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
        if len(data) == VIEW_BYTES:
            lines.append(f"… the first {VIEW_BYTES // 1024} KiB")
        title = Text.assemble((" held ", "reverse"), f"  {row.owner}  ", (safe_text(row.subject, 100), "bold"))  # fmt: skip
        self.app.push_screen(TextScreen(title, lines))

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
        chosen = self.table.fresh_selection()  # frozen now: the plan holds these ids
        if chosen is None:
            self.app.notify(
                "the row under the cursor changed (the list moved under it): look, then press the key again",
                title="Spam Queues",
                severity="warning",
            )
            return
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

    def run(self, plan: Plan, on_declined: Callable[[], None] | None = None) -> None:
        def done(_outcome: object) -> None:
            self.table.marked.clear()
            self.reload()
            self.post_message(self.ActedOn(self.spec.id))

        run_plan(self.app, self.app.gate, plan, done, on_declined)  # type: ignore[attr-defined]

    def add_dialog(self, sender: str | None = None, owner: str | None = None) -> None:
        """The Add form (again with the values typed, when its confirmation was declined)."""
        which = self.spec.id
        owner = owner or self.value("owner") or "*"
        sender = self.value("sender") if sender is None else sender

        def check(sender: str, owner: str) -> None:
            spam_actions.validate_sender(sender)
            spam_actions.validate_owner(owner)

        owners = spam.owners(self.install.mail_dir)

        def doubt(_sender: str, owner: str) -> str | None:
            domain = owner.rpartition("@")[2].lower()
            if owner == "*" or domain in {o.lower() for o in owners}:
                return None
            return f"{domain} is not a domain of this server (no mail folder)"

        def chosen(values: tuple[str, ...] | None) -> None:
            if values is not None:
                sender, owner = values
                self.run(
                    spam_actions.add_plan(self.install, which, sender, owner, self.install.root),
                    on_declined=lambda: self.add_dialog(sender, owner),  # keep what was typed
                )

        self.app.push_screen(
            FormScreen(
                f"Add to the {which}",
                [("Sender (the From address, or a domain)", "user@example.com", sender),
                 ("Owner", "* | example.com | user@example.com", owner)],
                "Owner: a user address (that user), a domain (its users) or * (every domain);"
                " it completes from the mail store (right arrow takes it).",
                check,
                {1: owners},
                doubt,
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

    def act(self, action: str) -> None:
        if action != "remove-expired":
            super().act(action)
            return
        cfg = self.app.cfg  # type: ignore[attr-defined]
        try:
            self.app.gate.check("greylist remove-expired")  # type: ignore[attr-defined]
            expiry = spam.Expiry(cfg.greylist_pending_hours, cfg.greylist_authorized_days)
            plan = spam_actions.greylist_expired_plan(self.install, expiry, self.install.root, _now())  # fmt: skip
        except IwtuiError as exc:
            self.app.notify(str(exc), title="Refused", severity="error")
            return
        if not plan.targets:
            self.app.notify("no expired greylist entries", title="Greylisting")
            return
        self.run(plan)

    def plan(self, action: str, chosen: list[Any]) -> Plan:
        return spam_actions.greylist_plan(self.install, action, [r.id for r in chosen], self.install.root)  # fmt: skip
