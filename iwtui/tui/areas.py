"""The area registry: the Status node's areas in IceWarp's order. The app, the
navigation, help and the palette all read it, so adding an area is one entry here (and
its binding ``app.area.<id>`` in keymaps/default.yaml)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.widget import Widget

    from iwtui.config import LoadedConfig
    from iwtui.icewarp.install import Install

PENDING = "iwtui.tui.screens.pending:PendingArea"


@dataclass(frozen=True)
class AreaInfo:
    id: str
    title: str
    key: str
    issue: int | None
    summary: str
    widget: str = PENDING
    """``module:Class``; the app builds it as ``Class.from_app(info, install, loaded)``.
    An area widget may define ``files_changed(areas)``, called on every watcher event."""
    css: str | None = None
    """A file in styles/ for this area, or None."""

    def widget_class(self) -> Any:
        module, _, name = self.widget.partition(":")
        return getattr(importlib.import_module(module), name)

    def build(self, install: Install, loaded: LoadedConfig) -> Widget:
        widget: Widget = self.widget_class().from_app(self, install, loaded)
        return widget

    @property
    def built(self) -> bool:
        return self.widget != PENDING


AREAS: tuple[AreaInfo, ...] = (
    AreaInfo(
        "queue",
        "Message Queue",
        "1",
        4,
        "Outgoing, priority, retry, incoming, MDA and SMS queues and user mailboxes: "
        "filter, sort and mark 100,000 items; delete (undoable), send now, bounce back, "
        "whitelist or blacklist the sender; deferral reasons of the retry queue.",
        widget="iwtui.tui.screens.queue.area:QueueArea",
    ),
    AreaInfo(
        "spam",
        "Spam Queues",
        "2",
        5,
        "Quarantine, whitelist, blacklist, greylisting and intrusion prevention with "
        "reason codes and expiry countdowns; add, deliver, authorize, remove.",
        widget="iwtui.tui.screens.spam.area:SpamArea",
        css="spam.tcss",
    ),
    AreaInfo(
        "charts",
        "Traffic Charts",
        "3",
        None,
        "Per-service traffic from the logs: connections, data, received, sent, spam "
        "refused; 1 day, 1 week, 1 month or a range.",
        widget="iwtui.tui.screens.charts.area:ChartsArea",
        css="charts.tcss",
    ),
    AreaInfo(
        "logs",
        "Logs",
        "4",
        3,
        "Any log of any size opened at once, live tail across rotation, ';'-AND filter, "
        "find, time range, save and delete; the seed's 5xx explanations beside replies.",
        widget="iwtui.tui.screens.logs:LogsArea",
        css="logs.tcss",
    ),
    AreaInfo(
        "analyzer",
        "Log Analyzer",
        "5",
        None,
        "Import SMTP, POP3, anti-spam and anti-virus logs into SQL; preset and custom "
        "reports; e-mailed statistics; server IDs.",
        widget="iwtui.tui.screens.analyzer.area:AnalyzerArea",
        css="analyzer.tcss",
    ),
    AreaInfo(
        "statistics",
        "Statistics",
        "6",
        None,
        "Counters per service since the start of the day: connections, data, messages, "
        "anti-spam results.",
        widget="iwtui.tui.screens.statistics.area:StatisticsArea",
        css="statistics.tcss",
    ),
    AreaInfo(
        "sessions",
        "Sessions",
        "7",
        3,
        "Active and history sessions per service (S/C, state colours), each with its "
        "whole protocol log.",
        widget="iwtui.tui.screens.sessions.area:SessionsArea",
        css="logs.tcss",
    ),
    AreaInfo(
        "accounts",
        "Account Statistics",
        "8",
        None,
        "Per account: received, sent, sent out, last login, mailbox size; export.",
        widget="iwtui.tui.screens.accounts.area:AccountsArea",
        css="accounts.tcss",
    ),
    AreaInfo(
        "volume",
        "Volume",
        "9",
        None,
        "Bytes and files per account, domain and server, with progress and cancel.",
        widget="iwtui.tui.screens.volume.area:VolumeArea",
        css="volume.tcss",
    ),
)
BY_ID = {a.id: a for a in AREAS}
