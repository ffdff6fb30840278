"""The Intrusion Prevention tab: the tarpitted IPs of ``tarpit.dat`` with expiry
countdowns, reason codes and what each IP did in the SMTP log."""

from __future__ import annotations

import ipaddress
import time
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import Input

from iwtui.errors import IwtuiError
from iwtui.icewarp.actions import Plan
from iwtui.icewarp.logs import catalog as catalog_mod
from iwtui.icewarp.spam import tarpit
from iwtui.tui.screens.queue.dialogs import TextScreen
from iwtui.tui.screens.spam import tabs as spam_tabs
from iwtui.tui.screens.spam.dialogs import FormScreen
from iwtui.tui.screens.spam.tabs import SpamTab, _when, countdown
from iwtui.tui.widgets.item_table import Column
from iwtui.tui.widgets.panel import Panel

TICK_S = 1.0  # the countdowns
ACTIVITY_DELAY_S = 0.25  # the cursor rests this long on an IP before its log is read
ACTIVITY_KEEP_S = 30.0  # a finished read is kept this long at least while the log grows


def _now() -> datetime:
    return spam_tabs._now()  # one clock for every tab (tests pin it there)


def _ip_order(ip: str) -> tuple[int, int, int]:
    """IPv4 before IPv6, then by address, then the wider range first (text order would
    put 10.0.0.2 before 9.1.1.1)."""
    try:
        net = ipaddress.ip_network(ip, strict=False)
    except ValueError:
        return (9, 0, 0)
    return (net.version, int(net.network_address), net.prefixlen)


def _tarpit_columns(period_min: float) -> list[Column[tarpit.TarpitEntry]]:
    def blocked(e: tarpit.TarpitEntry) -> datetime | None:
        return e.expires - timedelta(minutes=period_min) if e.expires else None

    return [
        Column("IP", 39, lambda e: e.ip, lambda e: _ip_order(e.ip), least=15),
        Column("Expires", 16, lambda e: _when(e.expires), lambda e: e.expires, least=16),
        Column("Expires in", 21, lambda e: countdown(e.expires, _now()), lambda e: e.expires,
               style=lambda e: "dim" if e.expired(_now()) else "bold", least=7,
               narrow=lambda e: _short_countdown(countdown(e.expires, _now()))),
        Column("Blocked", 16, lambda e: _when(blocked(e)), blocked, least=16),
        Column("Code", 4, lambda e: e.reason or "?", lambda e: e.reason),
        Column("Reason", 0, lambda e: e.reason_text, lambda e: e.reason_text),
    ]  # fmt: skip


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
    _activity: tarpit.Activity | None = None  # of the row under the cursor, once read

    def _read(self) -> tarpit.TarpitFile:
        f = tarpit.read(self.install.tarpit_file)
        if f.layout == tarpit.EXTRACTED:  # expiry and reason from the SMTP log
            f = tarpit.enrich(f, catalog_mod.scan(self.install.log_dir))
        return f

    _countdown: Timer | None = None

    def on_mount(self) -> None:
        self._countdown = self.set_interval(TICK_S, self._tick, name="tarpit-countdown", pause=True)

    def on_show(self) -> None:
        if self._countdown is not None:
            self._countdown.resume()
            self._tick()

    def on_hide(self) -> None:
        if self._countdown is not None:
            self._countdown.pause()  # the countdowns are computed again when shown

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

    _activity_at = 0.0  # when it was read (monotonic)
    _log_changed_at = 0.0  # when a watcher last saw the log folder change

    def log_changed(self) -> None:
        self._log_changed_at = time.monotonic()

    def _kept_activity(self, ip: str) -> tarpit.Activity | None:
        """The finished read of ``ip``, kept until the row or the log changes (and at
        least ACTIVITY_KEEP_S while the log grows): rebuilding the detail, as a reload or
        a countdown tick does, never reads two days of log again."""
        act = self._activity
        if act is None or act.ip != ip:
            return None
        fresh = time.monotonic() - self._activity_at < ACTIVITY_KEEP_S
        return act if fresh or self._log_changed_at <= self._activity_at else None

    def detail(self, row: Any) -> Text:
        e: tarpit.TarpitEntry = row
        kept = self._kept_activity(e.ip)
        if kept is not None:
            return self._activity_text(e, kept)
        t = self.detail_text_base(e)
        t.append("SMTP log: reading…", style="dim")
        # read the log only for a row the cursor rests on: scrolling past ten rows must
        # not start ten reads of two days of log
        self.set_timer(ACTIVITY_DELAY_S, lambda: self._activity_if_current(e.ip))
        return t

    _reading: str | None = None  # the IP whose log is being read

    def _activity_if_current(self, ip: str) -> None:
        row = self.table.current()
        if row is None or row.ip != ip or self._reading == ip:
            return
        if self._kept_activity(ip) is None:
            # one read per IP at a time, however often the detail was rebuilt meanwhile
            self._reading = ip
            self.activity_worker(ip)

    @work(thread=True, exclusive=True, group="tarpit-activity", exit_on_error=False)
    def activity_worker(self, ip: str) -> None:
        try:
            act = tarpit.activity(catalog_mod.scan(self.install.log_dir), ip)
        finally:
            self.app.call_from_thread(self._read_done, ip)
        self.app.call_from_thread(self._show_activity, act)

    def _read_done(self, ip: str) -> None:
        if self._reading == ip:
            self._reading = None

    def _show_activity(self, act: tarpit.Activity) -> None:
        self._activity = act  # L shows these lines without reading the log again
        self._activity_at = time.monotonic()
        row = self.table.current()
        if row is None or row.ip != act.ip:
            return  # the cursor moved on
        self.query_one(".spam-detail", Panel).update(self._activity_text(row, act))

    def _activity_text(self, row: tarpit.TarpitEntry, act: tarpit.Activity) -> Text:
        t = self.detail_text_base(row)
        t.append("SMTP log (2 days): ", style="dim")
        t.append(f"{act.connections} connection(s), {act.rejected} rejected reply(ies), {len(act.lines)} line(s)")  # fmt: skip
        if act.blocked_at:
            t.append(f"; blocked at {act.blocked_at} ({act.reason or '?'})")
        t.append("  — L shows the lines", style="dim")
        return t

    def detail_text_base(self, e: tarpit.TarpitEntry) -> Text:
        t = Text()
        t.append(f"{e.ip}", style="bold")
        t.append(f"  expires {_when(e.expires)} ({countdown(e.expires, _now())})\n")
        t.append("Reason: ", style="dim")
        t.append(f"{e.reason or '?'} — {e.reason_text}\n")
        return t

    def log_lines(self) -> None:
        row = self.table.current()
        if row is None:
            return
        act = self._activity
        if act is not None and act.ip == row.ip:
            self._show_lines(act)  # the detail read them already
        else:
            self.lines_worker(row.ip)

    @work(thread=True, exclusive=True, group="tarpit-lines", exit_on_error=False)
    def lines_worker(self, ip: str) -> None:
        act = tarpit.activity(catalog_mod.scan(self.install.log_dir), ip)
        self.app.call_from_thread(self._show_lines, act)

    def _show_lines(self, act: tarpit.Activity) -> None:
        lines = list(act.lines) or [f"(no SMTP log line of {act.ip} in the last two days)"]
        title = Text.assemble((f" {act.ip} ", "reverse"), f"  SMTP log lines: {act.connections} connection(s), {act.rejected} rejected")  # fmt: skip
        self.app.push_screen(TextScreen(title, lines))

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

    def add_dialog(self, ip: str | None = None, reason: str | None = None) -> None:
        minutes = self.app.cfg.tarpit_minutes  # type: ignore[attr-defined]
        path = self.install.tarpit_file
        try:
            tarpit.check_writable(path)  # an unrecognised file is refused before the dialog
        except IwtuiError as exc:
            self.app.notify(str(exc), title="Refused", severity="error")
            return

        def check(ip: str, reason: str) -> None:
            tarpit.add_plan(path, ip, minutes, reason or "U", force=True)

        def doubt(ip: str, _reason: str) -> str | None:
            wide = tarpit.wide_range(ip)
            return f"{wide}: Enter again to block it all" if wide else None

        def chosen(values: tuple[str, ...] | None) -> None:
            if values is not None:
                ip, reason = values
                # a wide range was confirmed in the form (the doubt), as --force does
                plan = tarpit.add_plan(path, ip, minutes, reason or "U", self.install.root, force=True)  # fmt: skip
                self.run(plan, on_declined=lambda: self.add_dialog(ip, reason))

        self.app.push_screen(
            FormScreen(
                "Block an IP (Tarpitted IPs)",
                [("IP address or CIDR range (IPv4 or IPv6)", "203.0.113.7 or 198.51.100.0/24",
                  self.value("ip") if ip is None else ip),
                 ("Reason code", "U", reason or "U")],
                f"It expires after the block period of config ({minutes:g} minutes). "
                "Reason U: blocked manually via console.",
                check,
                None,
                doubt,
            ),
            chosen,
        )  # fmt: skip


def _short_countdown(text: str) -> str:
    """At most 7 cells: ``expired 1h 35m ago`` -> ``-1h 35m``, ``expired 59m 09s ago`` ->
    ``-59m``; ``9m 22s`` as it is."""
    if text.startswith("expired ") and text.endswith(" ago"):
        text = "-" + text[len("expired ") : -len(" ago")]
    return text if len(text) <= 7 else text.split(" ")[0]
